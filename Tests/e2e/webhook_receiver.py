"""A real HTTP receiver for outbound webhooks: answers with the statuses given on the
command line in turn (the last one repeats), optionally after a delay, and appends every
request (headers, the exact body in base64, when it arrived and when it was answered) to a
JSON-lines file. Usage: webhook_receiver.py PORT LOG STATUS[,STATUS…] [DELAY_SECONDS]
Environment: RECEIVER_BIND (127.0.0.1), RECEIVER_TLS_CERT and RECEIVER_TLS_KEY (https when set)."""
import base64
import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path, statuses = int(sys.argv[1]), sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
served = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global served
        arrived = time.time()
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        status = statuses[min(served, len(statuses) - 1)]
        served += 1
        time.sleep(delay)
        with open(log_path, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": base64.b64encode(body).decode(), "answered": status,
                                "arrivedAt": arrived, "answeredAt": time.time(),
                                "from": self.client_address[0]}) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer((os.environ.get("RECEIVER_BIND", "127.0.0.1"), port), Handler)
if os.environ.get("RECEIVER_TLS_CERT"):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.environ["RECEIVER_TLS_CERT"], os.environ["RECEIVER_TLS_KEY"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
