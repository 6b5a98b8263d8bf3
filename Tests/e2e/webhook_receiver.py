"""A real HTTP receiver for outbound webhooks: answers with the statuses given on the
command line in turn (the last one repeats) and appends every request (headers and the
exact body, base64) to a JSON-lines file. Usage: webhook_receiver.py PORT LOG STATUS[,STATUS…]"""
import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path, statuses = int(sys.argv[1]), sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
served = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global served
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        status = statuses[min(served, len(statuses) - 1)]
        served += 1
        with open(log_path, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": base64.b64encode(body).decode(), "answered": status}) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
