"""Reliability and security under faults, load and hostile input. Short by default (make
test); SOAK=1 (make soak) runs the long versions. Every load goes to 127.0.0.1 only and
every loop is bounded in count and time."""
import json
import os
import random
import signal
import socket
import struct
import threading
import time
import uuid

import pytest
import requests

import fcgi_client as fcgi
from conftest import assert_problem, wait_until
from sql_support import scalar, sql
from test_database_outage import backend_pid, pg_ctl

SOAK = os.environ.get("SOAK") == "1"


def threads_of(pid):
    return int(next(line.split()[1] for line in open(f"/proc/{pid}/status") if line.startswith("Threads")))


def fds_by_kind(pid, fastcgi_socket):
    """The process's descriptors as FastCGI connections (unix sockets bound to the listen path:
    the listener and every connection nginx keeps), PostgreSQL and other sockets, and the rest."""
    paths = {}
    with open("/proc/net/unix") as table:
        next(table)
        for line in table:
            fields = line.split()
            paths[fields[6]] = fields[7] if len(fields) > 7 else ""
    kinds = {"fastcgi": 0, "other_sockets": 0, "rest": 0}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            kinds["fastcgi" if paths.get(target[8:-1]) == fastcgi_socket else "other_sockets"] += 1
        else:
            kinds["rest"] += 1
    return kinds


def log_count(env, text):
    with open(env["CONTROLPLANE_LOG"], errors="replace") as f:
        return f.read().count(text)


def rss_mb(pid):
    return int(next(line.split()[1] for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS"))) / 1024


def db_sessions(env):
    return int(scalar(env, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'controlplaned'",
                      url_key="CONTROLPLANE_ADMIN_DATABASE_URL"))


def worker_threads(env, internal):
    """The backend's worker count (each holds at most one database session)."""
    return requests.get(f"{internal}/internal/status",
                        headers={"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}).json()["threads"]


class Load:
    """`workers` threads sending `request()` until stopped; records (time, status, seconds, body)."""

    def __init__(self, request, workers=6):
        self.request, self.results, self.stop = request, [], threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(workers)]

    def run(self):
        session = requests.Session()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                r = self.request(session)
                outcome = (r.status_code, r.headers.get("content-type", ""), r.text)
            except requests.RequestException as error:
                outcome = (0, "", str(error))
            with self.lock:
                self.results.append((started, outcome[0], time.monotonic() - started, outcome[1], outcome[2]))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test_steady_load_through_a_database_restart(env, internal):
    pid = backend_pid(env)
    threads_before = threads_of(pid)
    token = env["CONTROLPLANE_INTERNAL_TOKEN"]
    created = []

    def request(session):
        if random.random() < 0.3:
            slug = "load-" + uuid.uuid4().hex[:12]
            r = session.post(f"{internal}/internal/tenants", json={"slug": slug, "displayName": "L", "contactEmail": "a@load.example"},
                             headers={"authorization": f"Bearer {token}"}, timeout=30)
            created.append((slug, r.status_code))
            return r
        return session.get(f"{internal}/internal/health", timeout=30)

    outage = 6 if SOAK else 2
    with Load(request) as load:
        time.sleep(1)
        down_at = time.monotonic()
        pg_ctl(env, "stop")
        time.sleep(outage)
        pg_ctl(env, "start")
        up_at = time.monotonic()
        assert wait_until(lambda: requests.get(f"{internal}/internal/health").status_code == 200, timeout=15)
        recovered_at = time.monotonic()
        time.sleep(1)
    results = load.results
    statuses = {}
    for _, status, _, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    assert set(statuses) <= {200, 201, 503}, statuses
    for _, status, _, content_type, _ in results:
        if status == 503:
            assert content_type.startswith("application/problem+json")
    assert max(r[2] for r in results) < 10, "a request hung past the deadline"
    assert statuses.get(503, 0) > 0 and statuses.get(200, 0) > 0
    # No thread lost, no connection leaked, same process.
    assert backend_pid(env) == pid
    assert wait_until(lambda: threads_of(pid) == threads_before, timeout=5)
    assert db_sessions(env) <= worker_threads(env, internal)
    # Nothing written was lost or doubled: every 201 is there once, every failure left nothing.
    rows = sql(env, "SELECT slug FROM tenants_master WHERE slug LIKE 'load-%'").stdout.split()
    ok = {slug for slug, status in created if status == 201}
    failed = {slug for slug, status in created if status != 201}
    assert ok <= set(rows) and not (failed & set(rows)) and len(rows) == len(set(rows))
    print(f"\nDB restart under load: {len(results)} requests, {statuses}, outage {up_at - down_at:.1f}s, "
          f"recovered {recovered_at - up_at:.2f}s after PostgreSQL was back")


def test_sigkill_under_load_restarts_and_nginx_answers_problems(env, internal):
    old = backend_pid(env)
    with Load(lambda s: s.get(f"{internal}/internal/live", timeout=10), workers=4) as load:
        time.sleep(0.5)
        killed_at = time.monotonic()
        restarts_before = log_count(env, "child exited; restarting")
        os.kill(old, signal.SIGKILL)
        new = wait_until(lambda: (p := backend_pid(env)) != old and p, timeout=10)
        assert new, "the supervisor did not restart the backend"
        assert wait_until(lambda: requests.get(f"{internal}/internal/live").status_code == 200, timeout=10)
        back_at = time.monotonic()
        time.sleep(0.5)
    statuses = {}
    for _, status, _, content_type, body in load.results:
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200:
            assert status in (502, 503), (status, body)
            assert content_type.startswith("application/problem+json") and json.loads(body)["status"] == status
    assert statuses.get(502, 0) > 0, f"no request saw the backend gone, so no 502 body was checked: {statuses}"
    assert log_count(env, "child exited; restarting") == restarts_before + 1, "the supervisor did not restart it exactly once"
    assert backend_pid(env) == new
    print(f"\nSIGKILL under load: {len(load.results)} requests, {statuses}, back after {back_at - killed_at:.2f}s")


FUZZ_CASES = 50_000 if SOAK else 1_500


def fuzz_case(rng, socket_path):
    """One hostile exchange on a fresh connection: never waits more than 1 s."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(0.02)
    try:
        s.connect(socket_path)
        kind = rng.randrange(10)
        params = fcgi.request_params(rng.choice(["GET", "POST", "PUT", "X" * rng.randrange(1, 300)]),
                                     rng.choice(["/internal/live", "/internal/tenants", "/" + "a/" * rng.randrange(200), "\x00", ""]),
                                     body_length=rng.choice([None, 0, 5, 10**12, -3, "x"]))
        if kind == 0:    # wrong version
            s.sendall(fcgi.record(fcgi.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0), version=rng.randrange(256)))
        elif kind == 1:  # truncated record header
            s.sendall(fcgi.record(fcgi.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0))[: rng.randrange(1, 8)])
        elif kind == 2:  # huge params
            s.sendall(fcgi.record(fcgi.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)))
            big = fcgi.encode_params({"HTTP_X": "v" * rng.randrange(60_000, 65_000)})
            for _ in range(rng.randrange(1, 20)):
                s.sendall(fcgi.record(fcgi.PARAMS, big[:65535]))
        elif kind == 3:  # lying name/value lengths
            s.sendall(fcgi.record(fcgi.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)))
            s.sendall(fcgi.record(fcgi.PARAMS, struct.pack(">BI", 5, 0x80FFFFFF) + b"abc"))
        elif kind == 4:  # abort mid-body
            s.sendall(fcgi.record(fcgi.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)))
            s.sendall(fcgi.record(fcgi.PARAMS, fcgi.encode_params(fcgi.request_params("POST", "/internal/tenants", body_length=100))))
            s.sendall(fcgi.record(fcgi.PARAMS, b""))
            s.sendall(fcgi.record(fcgi.STDIN, b"{" * 10))
            s.sendall(fcgi.record(fcgi.ABORT_REQUEST, b""))
        elif kind == 5:  # random bytes
            s.sendall(os.urandom(rng.randrange(1, 4096)))
        elif kind == 6:  # unknown record types and request ids
            for _ in range(rng.randrange(1, 10)):
                s.sendall(fcgi.record(rng.randrange(256), os.urandom(rng.randrange(0, 64)), request_id=rng.randrange(65536)))
        else:            # a plausible request with mangled params, maybe complete
            s.sendall(fcgi.record(fcgi.BEGIN_REQUEST, struct.pack(">HB5x", 1, rng.randrange(2))))
            encoded = fcgi.encode_params(params)
            cut = rng.randrange(len(encoded) + 1)
            s.sendall(fcgi.record(fcgi.PARAMS, encoded[:cut]))
            if rng.random() < 0.5:
                s.sendall(fcgi.record(fcgi.PARAMS, b""))
                s.sendall(fcgi.record(fcgi.STDIN, b'{"email":"\xff\x00"}'))
                s.sendall(fcgi.record(fcgi.STDIN, b""))
        try:
            s.recv(65536)
        except (socket.timeout, OSError):
            pass
    except OSError:
        pass
    finally:
        s.close()


def test_raw_fastcgi_fuzzing_neither_crashes_nor_wedges(backend_factory):
    backend = backend_factory(extra={"CONTROLPLANE_THREADS": "4"})
    threads = backend.threads()
    rng = random.Random(20261121)
    started = time.monotonic()
    for i in range(FUZZ_CASES):
        fuzz_case(rng, backend.socket_path)
        if i % 250 == 0:
            assert backend.process.poll() is None, f"crashed at case {i}: {backend.log_text()[-2000:]}"
    assert backend.process.poll() is None
    status, _, _ = fcgi.roundtrip(backend.socket_path, fcgi.request_params("GET", "/internal/live"))
    assert status == 200
    assert wait_until(lambda: backend.threads() == threads, timeout=10)
    fds = len(os.listdir(f"/proc/{backend.process.pid}/fd"))
    assert fds < 40, f"{fds} descriptors open after fuzzing"
    print(f"\nFastCGI fuzzing: {FUZZ_CASES} cases in {time.monotonic() - started:.1f}s, no crash, {fds} fds")


HOSTILE_JSON = [
    ("many keys", "{" + ",".join(f'"k{i}":{i}' for i in range(60_000)) + "}", 400, "malformed-json"),
    ("deep nesting", "[" * 200_000 + "]" * 200_000, 400, "malformed-json"),
    ("invalid UTF-8", b'{"slug":"\xc3\x28","displayName":"x","contactEmail":"a@b.co"}', 400, "malformed-json"),
    ("NUL in a string", '{"slug":"a\\u0000b","displayName":"x","contactEmail":"a@b.co"}', 422, "validation-failed"),
    ("raw NUL", b'{"slug":"a\x00b","displayName":"x","contactEmail":"a@b.co"}', 400, "malformed-json"),
    ("huge number", '{"slug":1e999999999,"displayName":"x","contactEmail":"a@b.co"}', 400, "malformed-json"),
    ("lone surrogate", '{"slug":"\\ud800","displayName":"x","contactEmail":"a@b.co"}', 400, "malformed-json"),
]


# Named ids: a body as the id would land in PYTEST_CURRENT_TEST and overflow every child's environment.
@pytest.mark.parametrize("name,body,status,problem", HOSTILE_JSON, ids=[case[0] for case in HOSTILE_JSON])
def test_hostile_json_gets_a_clear_4xx(env, internal, name, body, status, problem):
    before = scalar(env, "SELECT count(*) FROM tenants_master")
    r = requests.post(f"{internal}/internal/tenants", data=body,
                      headers={"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}", "content-type": "application/json"}, timeout=30)
    assert assert_problem(r, status)["type"] == "urn:controlplane:problem:" + problem, (name, r.text[:200])
    assert scalar(env, "SELECT count(*) FROM tenants_master") == before
    assert requests.get(f"{internal}/internal/live").status_code == 200


def test_a_million_key_object_is_refused_at_the_cap(env, internal):
    body = "{" + ",".join(f'"k{i}":1' for i in range(1_000_000)) + "}"
    r = requests.post(f"{internal}/internal/tenants", data=body,
                      headers={"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}", "content-type": "application/json"}, timeout=60)
    assert_problem(r, 413)


def test_nul_and_control_bytes_in_headers_are_refused_by_nginx(internal):
    with socket.create_connection(("127.0.0.1", int(internal.rsplit(":", 1)[1]))) as s:
        s.sendall(b"GET /internal/live HTTP/1.1\r\nHost: x\r\nX-Trace-Id: a\x00b\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")


def test_no_descriptor_or_connection_leaks_after_many_requests(env, internal):
    pid = backend_pid(env)
    count = 100_000 if SOAK else 5_000
    token = env["CONTROLPLANE_INTERNAL_TOKEN"]
    paths = ["/internal/health", "/internal/live", "/internal/tenants-directory?limit=5", "/internal/nope", "/internal/tenants/x"]

    def worker(n):
        s = requests.Session()
        for i in range(n):
            s.get(internal + paths[i % len(paths)], headers={"authorization": f"Bearer {token}"})

    def burst(n):
        threads = [threading.Thread(target=worker, args=(n // 8,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)

    # Workers connect lazily and nginx opens kept FastCGI connections as its workers need them, so
    # both may grow up to their bounds, never past them: one PostgreSQL session per worker thread
    # plus the dictionary's LISTEN watcher; the listener plus nginx's kept connections (keepalive
    # 32 per nginx worker, 2 workers) plus the requests in flight. Everything else stays put.
    pool = requests.get(f"{internal}/internal/status", headers={"authorization": f"Bearer {token}"}).json()["threads"]
    fastcgi_socket = env["CONTROLPLANE_FCGI_SOCKET"]
    burst(800)
    before, sessions = fds_by_kind(pid, fastcgi_socket), db_sessions(env)
    assert before["fastcgi"] >= 1, before  # the listener: the classification works
    for _ in range(2):
        burst(count // 2)
        now, after = fds_by_kind(pid, fastcgi_socket), db_sessions(env)
        assert 1 <= after <= pool + 1, (sessions, after, pool)
        assert now["other_sockets"] <= pool + 1 + 2, (before, now)  # PostgreSQL sessions (+ a closing one)
        assert now["fastcgi"] <= 1 + 2 * 32 + 8, (before, now)
        assert now["rest"] <= before["rest"] + 2, (before, now)
    print(f"\n{count} requests: descriptors {before} → {now}, database sessions {sessions} → {after} (pool {pool})")


def test_slow_clients_keep_backend_memory_bounded(env, public, internal):
    """64 clients trickle bodies through nginx (which buffers them); meanwhile real backend
    requests keep being answered, and no worker or FastCGI connection is held by a trickler."""
    pid = backend_pid(env)
    auth = {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    fastcgi_socket = env["CONTROLPLANE_FCGI_SOCKET"]
    before = fds_by_kind(pid, fastcgi_socket)
    host, port = public.removeprefix("http://").split(":")
    clients = []
    for _ in range(64):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /api/trial/email/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{")
        clients.append(s)
    deadline = time.monotonic() + (20 if SOAK else 3)
    answered, busiest, most_fastcgi = 0, 0, 0
    while time.monotonic() < deadline:
        for s in clients:
            try:
                s.sendall(b" ")
            except OSError:
                pass
        # The backend itself (not nginx's own rate-limit answer): a check that writes a log row.
        # The tricklers' requests spend the address's burst (10 r/s, burst 20): nginx may answer a
        # probe 429 by itself until the bucket drains; that is nginx, so the probe waits and asks again.
        r = requests.post(f"{public}/api/trial/email/check", json={"email": "probe@gmail.com"}, timeout=5)
        if r.status_code == 429 and "rate-limited" in r.text:
            time.sleep(0.2)
            continue
        assert r.status_code == 200 and r.json()["classification"] == "free", r.text
        answered += 1
        busiest = max(busiest, requests.get(f"{internal}/internal/status", headers=auth, timeout=5).json()["busy"])
        most_fastcgi = max(most_fastcgi, fds_by_kind(pid, fastcgi_socket)["fastcgi"])
        time.sleep(0.2)
    for s in clients:
        s.close()
    # Busy: the status request itself, and at most the probe a keepalive thread finishes.
    assert busiest <= 2, busiest
    # The tricklers hold nginx's buffers, never a FastCGI connection: at most the kept ones.
    assert most_fastcgi <= max(before["fastcgi"], 1) + 2 * 32, (before, most_fastcgi)
    assert answered >= 5
    assert rss_mb(pid) < 64, rss_mb(pid)


INJECTIONS = ["' OR '1'='1", "'; DROP TABLE tenants_master; --", "\" OR 1=1 --", "1; SELECT pg_sleep(5)", "$1", "%27%20OR%201=1",
              "\\x27", "' UNION SELECT token_hash FROM service_tokens --"]


ROW_COUNTS = """SELECT string_agg(c.relname || '=' || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I',
                 c.relname), false, true, '')))[1]::text, ' ' ORDER BY c.relname)
                 FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = 'public' AND c.relkind = 'r'"""


def row_counts(env):
    return dict(pair.split("=") for pair in scalar(env, ROW_COUNTS).split())


def test_sql_injection_on_every_parameter_changes_nothing(env, internal, public):
    """Every operation with each injection in every path and query parameter and in each of
    its own body fields (other fields valid, so the request gets past the decoder to the
    statements): never a 5xx, never slower than the pg_sleep(5) payload would make it, and no
    table changes (but for the attempt log, which records each email check by design)."""
    import yaml
    spec = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "..", "openapi", "controlplane.yaml")))

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            section, name = node["$ref"].split("/")[-2:]
            node = spec["components"][section][name]
        return node

    def body_for(op, attack):
        schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])
        body = {}
        for name, prop in resolve(schema).get("properties", {}).items():
            prop = resolve(prop)
            kind = prop.get("type", "string")
            kind = kind[0] if isinstance(kind, list) else kind
            body[name] = {"integer": 1, "number": 1, "boolean": True, "array": [attack], "object": {}}.get(kind, attack)
        return body

    headers_for = lambda path: {"authorization": f"Bearer {env['PPOS_CONTROL_TOKEN'] if path.startswith('/control') else env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    before = row_counts(env)
    sent, checks, slowest = 0, 0, 0.0
    for path, item in spec["paths"].items():
        base = public if path.startswith("/api/") else internal
        for method, op in item.items():
            if method not in ("get", "post", "patch", "delete"):
                continue
            params = [resolve(p) for p in op.get("parameters", []) + item.get("parameters", [])]
            for attack in INJECTIONS:
                url = path
                for p in params:
                    if p.get("in") == "path":
                        url = url.replace("{" + p["name"] + "}", requests.utils.quote(attack, safe=""))
                query = {p["name"]: attack for p in params if p.get("in") == "query"}
                body = body_for(op, attack) if "requestBody" in op and "application/json" in op["requestBody"]["content"] else None
                started = time.monotonic()
                r = requests.request(method.upper(), base + url, params=query, json=body, headers=headers_for(path), timeout=10)
                elapsed = time.monotonic() - started
                slowest = max(slowest, elapsed)
                sent += 1
                checks += path == "/api/trial/email/check" and r.status_code == 200
                assert r.status_code < 500, (method, path, attack, r.status_code, r.text[:200])
                assert elapsed < 4, (method, path, attack, elapsed)  # pg_sleep(5) would have run here
    after = row_counts(env)
    assert int(after.pop("signup_attempts")) - int(before.pop("signup_attempts")) == checks
    assert after == before
    print(f"\nSQL injection: {sent} requests, no 5xx, slowest {slowest:.2f}s, no table changed ({checks} checks logged)")


def test_metrics_and_status_for_operators(env, internal):
    auth = {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    requests.get(f"{internal}/internal/live")
    text = requests.get(f"{internal}/internal/metrics", headers=auth).text
    for family in ("controlplane_http_requests_total{method=\"GET\",route=\"/internal/live\",status=\"200\"}",
                   "controlplane_http_request_duration_seconds_bucket", "controlplane_workers{state=\"busy\"}",
                   "controlplane_database_reconnects_total", "controlplane_outbox_pending{outbox=\"webhook\"}",
                   "controlplane_outbox_dead{outbox=\"email\"}", "controlplane_slow_requests_total", "process_resident_memory_bytes",
                   "controlplane_build_info{version="):
        assert family in text, family
    assert env["CONTROLPLANE_INTERNAL_TOKEN"] not in text and env["PPOS_CONTROL_TOKEN"] not in text
    status = requests.get(f"{internal}/internal/status", headers=auth).json()
    assert status["threads"] >= 1 and status["accepted"] > 0 and status["idle"] + status["busy"] == status["threads"]
    assert_problem(requests.get(f"{internal}/internal/metrics"), 401)
