"""A fake regional preflight registry: a real HTTP server implementing openapi/registry.yaml
from in-memory fixtures, for tests and benchmarks.

    fake_registry.py --port PORT [--host ADDRESS]   (127.0.0.1 by default)

Registry API (what controlplane-sync consumes):
  GET  /v1/registry/jobs?after=CURSOR&limit=N   items in cursor order, canonicalPayload as raw bytes
  GET  /v1/registry/nodes
  GET  /v1/registry/queues                      404 until queues are set; a QUEUE_CAPACITY command sets its queue's capacity
  POST /v1/registry/commands                    202; the same commandId is applied once
Test control API (never used by the sync):
  POST /_control/items      [{"jobId","status","updatedAt","payload": "<raw JSON text>"} | "payloadB64"]
  POST /_control/generate   {"count", "minSize", "maxSize", "statuses", "prefix", "seed"}
  POST /_control/nodes      {"items": [...]}    (stored and served as sent)
  POST /_control/queues     {"items": [{"queue","capacity","depth"}]}  (stored and served as sent)
  POST /_control/faults     [{"kind": "429"|"503"|"500"|"malformed"|"truncated"|"slow"|"down"|"400"|"drip"|"big",
                              "retryAfter": s, "delay": s, "interval": s, "size": bytes, "count": n,
                              "path": "jobs"|"nodes"|"queues"|"commands"}]
  POST /_control/options    {"nullLastCursor": true, "ignoreQueueCapacity": true}
  GET  /_control/requests   every registry request: method, path, query, headers, body (base64), from (address)
  GET  /_control/commands   commands applied (once each), with "_appliedAt" (Unix time)
  POST /_control/reset
"""
import argparse
import base64
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
items = []          # raw bytes of each item object, in cursor order
nodes = b'{"items":[]}'
queues = None       # bytes of the queue list once set; None: the optional route answers 404
faults = []
requests_seen = []
commands = {}
options = {}        # nullLastCursor: the last page says nextCursor null (the contract allows it);
                    # ignoreQueueCapacity: QUEUE_CAPACITY is accepted but changes no queue (drift)


def item_bytes(job_id, status, updated_at, payload):
    head = json.dumps({"jobId": job_id, "status": status, "updatedAt": updated_at}, separators=(",", ":"))[:-1]
    return head.encode() + b',"canonicalPayload":' + payload + b"}"


def cursor_for(index):
    return base64.urlsafe_b64encode(f"pos:{index}".encode()).decode().rstrip("=")


def index_for(cursor):
    padded = cursor + "=" * (-len(cursor) % 4)
    text = base64.urlsafe_b64decode(padded.encode()).decode()
    assert text.startswith("pos:")
    return int(text[4:])


def generate(spec):
    rng = random.Random(spec.get("seed", 1))
    count, low, high = spec["count"], spec.get("minSize", 200), spec.get("maxSize", 200)
    statuses = spec.get("statuses", ["COMPLETED"])
    prefix = spec.get("prefix", "job")
    out = []
    base = len(items)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "
    pool = "".join(rng.choice(alphabet) for _ in range(65536))  # sliced per item: fast and varied
    for i in range(count):
        size = rng.randint(low, high)
        start = rng.randrange(0, 65536 - max(0, size - 120) or 1)
        filler = pool[start:start + max(0, size - 120)]
        payload = ('{"jobId":"%s-%d","nodeId":"node-%d","findings":[{"code":"F%d","severity":"info"}],"log":"%s"}'
                   % (prefix, base + i, i % 7, i % 13, filler)).encode()
        out.append(item_bytes(f"{prefix}-{base + i}", rng.choice(statuses), "2026-11-21T10:00:00.000Z", payload))
    return out


def set_capacity(listed, queue, capacity):
    """The queue list with `queue` at `capacity` (added when new); unparseable lists stay as they are."""
    try:
        document = json.loads(listed)
    except ValueError:
        return listed
    for entry in document["items"]:
        if entry.get("queue") == queue:
            entry["capacity"] = capacity
            break
    else:
        document["items"].append({"queue": queue, "capacity": capacity, "depth": 0})
    return json.dumps(document).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, body=b"", content_type="application/json", headers=None):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def record(self, body):
        url = urlparse(self.path)
        with lock:
            requests_seen.append({"method": self.command, "path": url.path, "query": url.query,
                                  "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "body": base64.b64encode(body).decode(), "at": time.time(),
                                  "from": self.client_address[0]})

    def take_fault(self, path):
        with lock:
            for fault in faults:
                if fault.get("path", "jobs") == path and fault.get("count", 1) > 0:
                    fault["count"] = fault.get("count", 1) - 1
                    return dict(fault)
        return None

    def apply_fault(self, fault, good_body):
        kind = fault["kind"]
        if kind in ("429", "503"):
            headers = {"retry-after": str(fault["retryAfter"])} if "retryAfter" in fault else {}
            self.answer(int(kind), b'{"error":"slow down"}', headers=headers)
        elif kind in ("500", "400"):
            self.answer(int(kind), b'{"error":"injected"}')
        elif kind == "malformed":
            self.answer(200, good_body[: max(1, len(good_body) // 2)] + b"}{")
        elif kind == "truncated":
            # Promise the whole body, send half, then hang up.
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(good_body)))
            self.end_headers()
            self.wfile.write(good_body[: len(good_body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif kind == "down":
            self.close_connection = True
            self.connection.shutdown(2)
        elif kind == "slow":
            time.sleep(fault.get("delay", 2))
            return False
        elif kind == "drip":
            # Promise a large body and send one byte every `interval` seconds: never idle long
            # enough for an idle timer, never done (bounded at 120 s, or until the client leaves).
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "1000000")
            self.end_headers()
            deadline = time.time() + 120
            try:
                while time.time() < deadline:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(fault.get("interval", 1))
            except OSError:
                pass
            self.close_connection = True
        elif kind == "big":
            size = fault.get("size", 200_000_000)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(size))
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
        return True

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/_control/requests":
            with lock:
                return self.answer(200, json.dumps(requests_seen).encode())
        if url.path == "/_control/commands":
            with lock:
                return self.answer(200, json.dumps(list(commands.values())).encode())
        self.record(b"")
        if url.path == "/v1/registry/jobs":
            query = parse_qs(url.query)
            try:
                start = index_for(query["after"][0]) if "after" in query else 0
                limit = int(query.get("limit", ["100"])[0])
            except Exception:
                return self.answer(400, b'{"error":"bad cursor or limit"}')
            with lock:
                page = items[start:start + limit]
                end = start + len(page)
                more = end < len(items)
            next_cursor = None if (not more and options.get("nullLastCursor")) else cursor_for(end)
            body = (b'{"items":[' + b",".join(page) + b'],"nextCursor":'
                    + json.dumps(next_cursor).encode() + b',"hasMore":' + (b"true" if more else b"false") + b"}")
            fault = self.take_fault("jobs")
            if fault and self.apply_fault(fault, body):
                return
            return self.answer(200, body)
        if url.path == "/v1/registry/nodes":
            fault = self.take_fault("nodes")
            if fault and self.apply_fault(fault, nodes):
                return
            return self.answer(200, nodes)
        if url.path == "/v1/registry/queues":
            with lock:
                listed = queues
            if listed is None:
                return self.answer(404, b'{"error":"not found"}')
            fault = self.take_fault("queues")
            if fault and self.apply_fault(fault, listed):
                return
            return self.answer(200, listed)
        self.answer(404, b'{"error":"not found"}')

    def do_POST(self):
        global nodes, queues, items, faults, requests_seen, commands
        url = urlparse(self.path)
        body = self.body()
        if url.path.startswith("/_control/"):
            with lock:
                if url.path == "/_control/items":
                    for item in json.loads(body):
                        payload = base64.b64decode(item["payloadB64"]) if "payloadB64" in item else item["payload"].encode()
                        items.append(item_bytes(item["jobId"], item["status"], item["updatedAt"], payload))
                elif url.path == "/_control/generate":
                    spec = json.loads(body)
                    lock.release()
                    try:
                        generated = generate(spec)
                    finally:
                        lock.acquire()
                    items.extend(generated)
                elif url.path == "/_control/nodes":
                    nodes = body
                elif url.path == "/_control/queues":
                    queues = body
                elif url.path == "/_control/faults":
                    faults = json.loads(body)
                elif url.path == "/_control/options":
                    options.update(json.loads(body))
                elif url.path == "/_control/reset":
                    items, faults, requests_seen, commands = [], [], [], {}
                    nodes, queues = b'{"items":[]}', None
                count = len(items)
            return self.answer(200, json.dumps({"items": count}).encode())
        self.record(body)
        if url.path == "/v1/registry/commands":
            fault = self.take_fault("commands")
            if fault and self.apply_fault(fault, b""):
                return
            try:
                command = json.loads(body)
                assert isinstance(command["commandId"], str) and command["kind"] in ("QUEUE_CAPACITY", "REIMAGE_NODE", "PARTNER_ROUTING")
            except Exception:
                return self.answer(400, b'{"error":"bad command"}')
            with lock:
                if command["commandId"] not in commands:
                    commands[command["commandId"]] = {**command, "_appliedAt": time.time()}
                    if command["kind"] == "QUEUE_CAPACITY" and queues is not None and not options.get("ignoreQueueCapacity"):
                        queues = set_capacity(queues, command["target"], command["params"]["capacity"])
            return self.answer(202, b'{"accepted":true}')
        self.answer(404, b'{"error":"not found"}')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
