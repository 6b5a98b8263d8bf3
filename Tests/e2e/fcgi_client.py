"""A minimal FastCGI client (FastCGI 1.0 spec): enough to talk to controlplaned directly,
send bodies slowly or lie about their length, and read the whole answer."""
import socket
import struct

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
RESPONDER = 1


def record(kind, content=b"", request_id=1, version=1):
    padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", version, kind, request_id, len(content), padding) + content + b"\0" * padding


def encode_length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    out = b""
    for name, value in params.items():
        name, value = name.encode(), value.encode() if isinstance(value, str) else value
        out += encode_length(len(name)) + encode_length(len(value)) + name + value
    return out


def request_params(method="GET", path="/internal/health", body_length=None, content_type=None, extra=None):
    params = {"REQUEST_METHOD": method, "DOCUMENT_URI": path, "REQUEST_URI": path, "QUERY_STRING": "",
              "REMOTE_ADDR": "127.0.0.1", "TRACE_ID": "fcgi-test", "SERVER_PROTOCOL": "HTTP/1.1"}
    if body_length is not None:
        params["CONTENT_LENGTH"] = str(body_length)
    if content_type:
        params["CONTENT_TYPE"] = content_type
    params.update(extra or {})
    return params


class Connection:
    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def begin(self, params, request_id=1, keep=False):
        content = struct.pack(">HB5x", RESPONDER, 1 if keep else 0)  # FCGI_KEEP_CONN
        self.sock.sendall(record(BEGIN_REQUEST, content, request_id))
        encoded = encode_params(params)
        for i in range(0, len(encoded), 65535):
            self.sock.sendall(record(PARAMS, encoded[i:i + 65535], request_id))
        self.sock.sendall(record(PARAMS, b"", request_id))

    def send_stdin(self, data, request_id=1, end=False):
        for i in range(0, len(data), 65535):
            self.sock.sendall(record(STDIN, data[i:i + 65535], request_id))
        if end:
            self.sock.sendall(record(STDIN, b"", request_id))

    def read_response(self):
        """Returns (status, headers, body) once END_REQUEST arrives; the content length of each
        STDOUT record is left in `stdout_records`."""
        stdout = b""
        buffer = b""
        self.stdout_records = []
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before END_REQUEST")
            buffer += chunk
            while len(buffer) >= 8:
                _, kind, _, length, padding = struct.unpack(">BBHHBx", buffer[:8])
                if len(buffer) < 8 + length + padding:
                    break
                content = buffer[8:8 + length]
                buffer = buffer[8 + length + padding:]
                if kind == STDOUT:
                    stdout += content
                    self.stdout_records.append(length)
                elif kind == END_REQUEST:
                    return parse_cgi(stdout)

    def close(self):
        self.sock.close()


def parse_cgi(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = {}
    status = 200
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers[name.strip().lower()] = value.strip()
    return status, headers, body


def roundtrip(path, params, body=b""):
    conn = Connection(path)
    try:
        conn.begin(params)
        conn.send_stdin(body, end=True)
        return conn.read_response()
    finally:
        conn.close()
