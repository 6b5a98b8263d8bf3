"""A fake Turnstile/hCaptcha-compatible `siteverify`: a real HTTP server on loopback. Tokens:
`pass-…` succeed, `fail-…` fail, `garbage-…` get a body that is not JSON, `slow-…` an answer
after 5 s; a wrong secret fails. Each request's form is appended to a JSON-lines log.
Usage: bot_verifier.py PORT SECRET LOG"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

port, secret, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers.get("content-length", "0"))).decode()).items()}
        with open(log_path, "a") as f:
            f.write(json.dumps({"path": self.path, "contentType": self.headers.get("content-type"), "form": form}) + "\n")
        token = form.get("response", "")
        if token.startswith("slow-"):
            time.sleep(5)
        if token.startswith("garbage-"):
            body = b"<html>not json</html>"
        else:
            ok = form.get("secret") == secret and token.startswith("pass-")
            body = json.dumps({"success": ok, "error-codes": [] if ok else ["invalid-input-response"]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
