"""controlplaned as a process: graceful stop with a request in flight, transport-level
bad input straight over FastCGI, configuration errors, TCP listening."""
import json
import os
import signal
import socket
import time

import pytest

import fcgi_client as fcgi
from conftest import output_log, wait_until


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(backend_factory):
    backend = backend_factory()
    conn = fcgi.Connection(backend.socket_path)
    body = b'{"hello":"world"}'
    conn.begin(fcgi.request_params("POST", "/internal/health", body_length=len(body), content_type="application/json"))
    conn.send_stdin(body[:5])                      # the worker is now inside this request
    time.sleep(0.3)
    backend.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert backend.process.poll() is None, "must not exit while a request is in flight"
    # New connections are no longer served once the stop began.
    conn.send_stdin(body[5:], end=True)
    status, headers, payload = conn.read_response()
    conn.close()
    assert status == 405 and headers["allow"] == "GET, HEAD"  # the request completed normally
    assert backend.process.wait(10) == 0
    log = backend.log_text()
    assert '"msg":"stopping: draining in-flight requests"' in log and '"msg":"stopped"' in log
    assert not os.path.exists(backend.socket_path)


def test_sigterm_when_idle_exits_promptly(backend_factory):
    backend = backend_factory()
    started = time.monotonic()
    backend.process.send_signal(signal.SIGTERM)
    assert backend.process.wait(5) == 0
    assert time.monotonic() - started < 2


def test_oversized_content_length_is_refused_without_reading_the_body(backend_factory):
    backend = backend_factory()
    conn = fcgi.Connection(backend.socket_path)
    conn.begin(fcgi.request_params("POST", "/internal/health", body_length=50 << 20, content_type="application/json"))
    # Not one body byte sent: the answer comes anyway.
    status, headers, payload = conn.read_response()
    conn.close()
    assert status == 413
    assert headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("length", ["abc", "-1", "99999999999999999999999"])
def test_invalid_content_length_is_400(backend_factory, length):
    backend = backend_factory()
    status, headers, _ = fcgi.roundtrip(backend.socket_path, fcgi.request_params("POST", "/internal/health", body_length=length))
    assert status == 400, length


def test_a_client_that_vanishes_mid_body_costs_no_thread(backend_factory):
    backend = backend_factory()
    threads = backend.threads()
    for _ in range(10):
        conn = fcgi.Connection(backend.socket_path)
        conn.begin(fcgi.request_params("POST", "/internal/health", body_length=1000, content_type="application/json"))
        conn.send_stdin(b"{" * 10)
        conn.close()
    # Garbage that is not FastCGI at all.
    for junk in (b"\x00" * 64, b"GET / HTTP/1.1\r\n\r\n", os.urandom(4096)):
        s = socket.socket(socket.AF_UNIX)
        s.connect(backend.socket_path)
        s.sendall(junk)
        s.close()
    status, _, body = fcgi.roundtrip(backend.socket_path, fcgi.request_params("GET", "/internal/health"))
    assert status == 200
    assert backend.process.poll() is None
    assert wait_until(lambda: backend.threads() == threads, timeout=5)


def test_every_worker_serves_after_many_requests(backend_factory):
    backend = backend_factory()
    for _ in range(200):
        status, _, _ = fcgi.roundtrip(backend.socket_path, fcgi.request_params("GET", "/internal/health"))
        assert status == 200


def test_configuration_errors_stop_startup_with_ex_config(backend_factory):
    backend = backend_factory(listen=":9000", expect_start=False)
    assert backend.process.wait(5) == 78
    assert "CONTROLPLANE_LISTEN" in backend.log_text()
    backend = backend_factory(extra={"CONTROLPLANE_THREADS": "zero"}, expect_start=False)
    assert backend.process.wait(5) == 78
    assert "CONTROLPLANE_THREADS" in backend.log_text()


def test_listens_on_tcp_with_an_explicit_host(backend_factory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = backend_factory(listen=f"127.0.0.1:{port}")

    def connect():
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return None

    sock = wait_until(connect)
    assert sock, backend.log_text()
    conn = fcgi.Connection.__new__(fcgi.Connection)
    conn.sock = sock
    conn.begin(fcgi.request_params("GET", "/internal/health"))
    conn.send_stdin(b"", end=True)
    status, _, body = conn.read_response()
    conn.close()
    assert status == 200


def test_serves_the_listening_socket_passed_on_fd_0(env, tmp_path):
    """As under systemd socket activation (StandardInput=socket)."""
    import subprocess
    path = str(tmp_path / "activated.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    environment = {"PATH": os.environ.get("PATH", ""), "CONTROLPLANE_DATABASE_URL": env["CONTROLPLANE_DATABASE_URL"],
                   "CONTROLPLANE_THREADS": "2"}
    output = open(output_log(env, "controlplaned"), "wb")
    process = subprocess.Popen([env["CONTROLPLANED"]], stdin=listener.fileno(), env=environment,
                               stdout=output, stderr=subprocess.STDOUT)
    listener.close()
    try:
        status, _, body = fcgi.roundtrip(path, fcgi.request_params("GET", "/internal/health"))
        assert status == 200 and b'"ok"' in body
    finally:
        process.terminate()
        assert process.wait(10) == 0
    # The socket belongs to whoever passed it (systemd): the backend leaves the path alone.
    assert os.path.exists(path)


def test_kept_connections_serve_many_requests_and_pin_no_thread(backend_factory):
    backend = backend_factory(extra={"CONTROLPLANE_THREADS": "2"})
    kept = [fcgi.Connection(backend.socket_path) for _ in range(6)]  # more kept connections than threads
    for round_ in range(3):
        for conn in kept:
            conn.begin(fcgi.request_params("GET", "/internal/live"), keep=True)
            conn.send_stdin(b"", end=True)
            status, _, body = conn.read_response()
            assert status == 200 and body == b'{"status":"ok"}'
    # Idle kept connections do not stop a new connection from being served.
    status, _, _ = fcgi.roundtrip(backend.socket_path, fcgi.request_params("GET", "/internal/live"))
    assert status == 200
    started = time.monotonic()
    backend.process.send_signal(signal.SIGTERM)
    assert backend.process.wait(10) == 0
    assert time.monotonic() - started < 3, "idle kept connections must not hold up the stop"
    for conn in kept:
        assert conn.sock.recv(1) == b""  # closed by the backend
        conn.close()


def test_slow_requests_are_logged_with_their_trace_id(backend_factory):
    backend = backend_factory(extra={"CONTROLPLANE_SLOW_REQUEST_MS": "1"})
    conn = fcgi.Connection(backend.socket_path)
    conn.begin(fcgi.request_params("POST", "/internal/live", body_length=4, content_type="application/json"))
    conn.send_stdin(b"{}")
    time.sleep(0.05)  # the body arrives late: the request takes > 1 ms
    conn.send_stdin(b"  ", end=True)
    conn.read_response()
    conn.close()
    def slow_lines():
        lines = [json.loads(line) for line in backend.log_text().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("msg") == "slow request"]
    assert wait_until(slow_lines, timeout=5)
    # The slow line itself names the request (the access line carries the trace id anyway).
    slow = slow_lines()[0]
    assert slow["traceId"] == "fcgi-test" and slow["level"] == "warning", slow
    assert slow["durationMs"] >= 1, slow


def test_controlplaned_serves_the_jwks_from_public_keys_and_refuses_private_ones(env, backend_factory):
    """The internet-facing process holds public keys only: the stack gives it the public file,
    and a private key (or the sync's private setting) stops it at start with EX_CONFIG."""
    config = open(os.path.join(os.path.dirname(env["CONTROLPLANE_LOG"]), "controlplaned.env")).read()
    assert "CONTROLPLANE_JWT_KEY_FILES" not in config
    public_files = env["CONTROLPLANE_JWT_PUBLIC_KEY_FILES"]
    assert f"CONTROLPLANE_JWT_PUBLIC_KEY_FILES={public_files}" in config
    for path in public_files.split(","):
        assert "PRIVATE" not in open(path).read()
    served = backend_factory(extra={"CONTROLPLANE_JWT_PUBLIC_KEY_FILES": public_files})
    status, _, body = fcgi.roundtrip(served.socket_path, fcgi.request_params("GET", "/internal/.well-known/jwks.json"))
    assert status == 200 and json.loads(body)["keys"][0]["crv"] == "Ed25519"
    private = env["CONTROLPLANE_JWT_KEY_FILES"]
    refused = backend_factory(extra={"CONTROLPLANE_JWT_PUBLIC_KEY_FILES": private}, expect_start=False)
    assert refused.process.wait(5) == 78 and "is a private key" in refused.log_text()
    refused = backend_factory(extra={"CONTROLPLANE_JWT_KEY_FILES": private}, expect_start=False)
    assert refused.process.wait(5) == 78 and "controlplaned takes public keys only" in refused.log_text()


def test_a_large_body_goes_out_in_64k_records_byte_exact(env, backend_factory, internal):
    """Issue #20: above libfcgi's 8 KB stream buffer a response is written as 64 KB FastCGI
    records (one writev), not one 8 KB record per write; the body is the same byte for byte,
    on a kept connection too, and through nginx."""
    import requests
    import uuid
    from sql_support import sql
    run = uuid.uuid4().hex[:8]
    sql(env, "INSERT INTO tenants_master (slug, display_name, status, plan, contact_email) "
             f"SELECT 'rec-{run}-' || i, 'Record Test ' || i, 'active', 'trial', 'ops@rec.example' FROM generate_series(1, 400) i")
    backend = backend_factory()
    params = fcgi.request_params("GET", "/internal/tenants-directory", extra={
        "QUERY_STRING": "limit=500", "HTTP_AUTHORIZATION": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"})
    conn = fcgi.Connection(backend.socket_path)
    answers = []
    try:
        for request_id in (1, 2):  # FCGI_KEEP_CONN: the second request on the same connection
            conn.begin(params, request_id=request_id, keep=True)
            conn.send_stdin(b"", request_id=request_id, end=True)
            answers.append((conn.read_response(), list(conn.stdout_records)))
    finally:
        conn.close()
    (status, headers, body), records = answers[0]
    assert status == 200 and len(body) > 100_000
    assert int(headers["content-length"]) == len(body) and len(json.loads(body)["items"]) >= 400
    assert answers[1][0][2] == body
    # Whole 64 KB records, then the rest, then the empty record that ends the stream.
    full = len(body) // 65535
    assert records[:full] == [65535] * full and records[-1] == 0 and len(records) <= full + 2, records
    via_nginx = requests.get(f"{internal}/internal/tenants-directory?limit=500",
                             headers={"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"})
    assert via_nginx.status_code == 200 and via_nginx.content == body
