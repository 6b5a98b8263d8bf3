"""Through the real nginx to the real backend: routing, problems, caps, CORS, TLS, headers."""
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import uuid

import pytest
import requests

from conftest import REPO, assert_problem, free_port, wait_until
from sql_support import sql

ALLOWED_ORIGIN = "http://localhost:3000"


def test_health_through_the_internal_server(internal):
    r = requests.get(f"{internal}/internal/health")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"status": "ok", "database": "ok"}


def test_head_answers_without_a_body(internal):
    r = requests.head(f"{internal}/internal/health")
    assert r.status_code == 200
    assert r.content == b""


def test_https_public_server_with_the_self_signed_certificate(env, public_tls):
    r = requests.get(f"{public_tls}/", verify=env["CONTROLPLANE_TLS_CERT"])
    assert_problem(r, 404)
    assert r.headers["strict-transport-security"].startswith("max-age=")


def tls_handshake(public_tls, version):
    """A handshake from a client capped at exactly `version` (its own security level lowered
    so that it offers old protocols at all): the negotiated version, or the SSL error."""
    import ssl
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1_1 is deprecated: that is the point
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        ctx.minimum_version = ctx.maximum_version = version
    host, port = public_tls.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.version()
        except ssl.SSLError as error:
            return error


def test_tls_below_1_2_is_refused_by_the_server(public_tls):
    import ssl
    old = tls_handshake(public_tls, ssl.TLSVersion.TLSv1_1)
    # The server's protocol_version alert, not the client giving up on its own.
    assert isinstance(old, ssl.SSLError) and old.reason == "TLSV1_ALERT_PROTOCOL_VERSION", old
    assert tls_handshake(public_tls, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert tls_handshake(public_tls, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"


def test_public_server_never_serves_internal_or_control(public, public_tls, env):
    for base, kwargs in ((public, {}), (public_tls, {"verify": env["CONTROLPLANE_TLS_CERT"]})):
        for path in ("/internal/health", "/control/v1/jobs", "/v1/trial/email/check", "/internal/../internal/health"):
            r = requests.get(f"{base}{path}", **kwargs)
            assert_problem(r, 404)


def test_unknown_route_is_a_404_problem(internal):
    body = assert_problem(requests.get(f"{internal}/internal/no-such-thing"), 404)
    assert body["traceId"]
    assert_problem(requests.get(f"{internal}/elsewhere"), 404)


def test_wrong_method_is_a_405_problem_with_allow(internal):
    r = requests.delete(f"{internal}/internal/health")
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD"


def test_body_over_the_backend_cap_is_413_without_being_read(internal):
    # The internal server lets 8 MiB through; the backend's cap is 1 MiB.
    r = requests.post(f"{internal}/internal/health", data=b"x" * (2 << 20), headers={"content-type": "application/json"})
    body = assert_problem(r, 413)
    assert body["type"] == "urn:controlplane:problem:body-too-large"


def test_body_over_the_public_cap_is_413_from_nginx_as_a_problem(public):
    r = requests.post(f"{public}/api/trial/email/check", data=b"{" + b" " * (20 << 10) + b"}",
                      headers={"content-type": "application/json", "origin": ALLOWED_ORIGIN})
    assert_problem(r, 413)
    assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_trace_id_from_the_client_reaches_the_backend_log(env, internal):
    r = requests.get(f"{internal}/internal/health", headers={"x-trace-id": "e2e-trace-0001"})
    assert r.headers["x-trace-id"] == "e2e-trace-0001"
    with open(env["CONTROLPLANE_LOG"]) as f:
        lines = [line for line in f if '"traceId":"e2e-trace-0001"' in line]
    assert lines and '"route":"/internal/health"' in lines[-1] and '"status":200' in lines[-1]


def test_a_malformed_trace_id_is_replaced(internal):
    r = requests.get(f"{internal}/internal/health", headers={"x-trace-id": "bad id\"{}"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-trace-id"])


def test_cors_preflight_from_an_allowed_origin(public):
    r = requests.options(f"{public}/api/trial/email/check", headers={
        "origin": ALLOWED_ORIGIN, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-trace-id"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "x-trace-id" in r.headers["access-control-allow-headers"]
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Origin" in r.headers["vary"]


def test_cors_preflight_from_a_foreign_origin_gets_no_allowance(public):
    r = requests.options(f"{public}/api/trial/email/check", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-methods" not in r.headers
    r = requests.post(f"{public}/api/trial/email/check", json={}, headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_public_trial_routes_reach_the_backend_rewritten(public):
    # /api/trial/* maps onto the backend's /v1/trial/*: the backend answers (its own problem body).
    r = requests.post(f"{public}/api/trial/no-such-step", json={}, headers={"origin": ALLOWED_ORIGIN})
    body = assert_problem(r, 404)
    assert body["type"] == "urn:controlplane:problem:not-found"  # the backend's, not nginx's
    assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_security_headers_and_no_server_version(internal, public):
    for r in (requests.get(f"{internal}/internal/health"), requests.get(f"{public}/")):
        assert r.headers["server"] == "nginx"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS


def test_rate_limited_requests_get_a_429_problem_with_cors(public):
    # The probe location shares the trial routes' mechanism with a tiny limit (1/min, burst 1).
    statuses = [requests.get(f"{public}/api/trial/rate-limit-probe", headers={"origin": ALLOWED_ORIGIN}) for _ in range(4)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    body = assert_problem(limited[0], 429)
    assert body["type"] == "urn:controlplane:problem:rate-limited"
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_the_production_nginx_config_passes_nginx_t(env, tmp_path):
    """nginx/controlplane.conf as operators install it (conf.d + snippets), with only the
    certificates, log directory and listen addresses pointed at this machine."""
    tls = os.path.dirname(env["CONTROLPLANE_TLS_CERT"])
    text = open(os.path.join(REPO, "nginx", "controlplane.conf")).read()
    for name in ("fullchain", "internal-fullchain"):
        text = text.replace(f"/etc/ssl/controlplane/{name}.pem", f"{tls}/cert.pem")
    for name in ("privkey", "internal-privkey"):
        text = text.replace(f"/etc/ssl/controlplane/{name}.pem", f"{tls}/key.pem")
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    text = re.sub(r"listen [^\s;]+", lambda _: f"listen 127.0.0.1:{free_port()}", text)
    shutil.copytree(os.path.join(REPO, "nginx", "snippets"), tmp_path / "snippets")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "controlplane.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
                                         "events {}\nhttp { include conf.d/controlplane.conf; }\n")
    r = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-c", str(tmp_path / "nginx.conf"),
                        "-p", str(tmp_path), "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_access_log_lines_carry_the_trace_id_and_no_query_string(env, internal):
    log = os.path.join(os.path.dirname(env["CONTROLPLANE_FCGI_SOCKET"]), "nginx", "access.log")
    requests.get(f"{internal}/internal/nope?cursor=do-not-log-me", headers={"x-trace-id": "access-log-check-1"})
    line = lambda: next((l for l in open(log) if "trace=access-log-check-1" in l), None)
    assert wait_until(lambda: line() is not None, timeout=5), "buffered lines reach the file within flush=1s"
    assert '"GET /internal/nope HTTP/1.1" 404' in line() and "do-not-log-me" not in line()


@pytest.mark.parametrize("path", ["/internal/tenants/./resume", "/internal/tenants/x/../y", "/internal/tenants/%2e/resume",
                                  "/internal/tenants/%2E%2E/x", "/control/v1/regions/.", "/control/v1/regions/..?x=1"])
def test_dot_segments_are_refused_not_resolved(env, internal, path):
    """nginx would resolve them into another resource (schemathesis found `./resume` → 405)."""
    host, port = internal.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("POST", path, body="{}", headers={"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}",
                                                         "content-type": "application/json"})
    answer = connection.getresponse()
    assert answer.status == 400 and answer.getheader("content-type").startswith("application/problem+json")
    assert json.loads(answer.read())["type"] == "about:blank"  # nginx's own answer: the backend never saw it
    connection.close()


def test_dots_that_are_not_segments_pass(env, internal, public):
    auth = {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    for url in (f"{internal}/internal/tenants/..x", f"{internal}/internal/tenants-directory?cursor=/./"):
        r = requests.get(url, headers=auth)  # the backend's own answers about these values
        assert r.status_code in (400, 404) and r.json()["type"].startswith("urn:controlplane:problem:"), (url, r.text)
    assert requests.get(f"{internal}/internal/health?x=/../").status_code == 200
    host, port = public.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("POST", "/api/trial/manual-approval/./draft", body="{}", headers={"content-type": "application/json"})
    assert connection.getresponse().status == 400


def test_tls_meets_mozilla_intermediate_but_for_the_self_signed_chain(env, public_tls):
    """sslyze's own compliance check against Mozilla's intermediate profile: the only finding
    left is the test certificate's chain (self-signed, by design of the test stack)."""
    import subprocess
    import shutil
    sslyze = shutil.which("sslyze")
    assert sslyze, "sslyze is a test tool (requirements-dev.txt)"
    host_port = public_tls.removeprefix("https://")
    r = subprocess.run([sslyze, "--mozilla_config=intermediate", host_port], capture_output=True, text=True, timeout=180)
    report = r.stdout[r.stdout.index("COMPLIANCE AGAINST"):]
    findings = {line.strip()[2:].split(":", 1)[0] for line in report.splitlines() if line.strip().startswith("* ")}
    assert findings == {"certificate_path_validation"}, report


# --- real client addresses behind a gateway (TRUSTED_PROXIES=127.0.0.3 in the test stack) ---

def call(host, port, method, path, source, headers=None, body=None):
    """One request from a chosen loopback source address: (status, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def gateway(env, tmp_path):
    """A second nginx playing the platform gateway: it proxies to the public server from
    127.0.0.3 (the trusted address) and appends the visitor to X-Forwarded-For."""
    public = re.match(r"http://([^:/]+):(\d+)", env["CONTROLPLANE_URL"])
    port = free_port()
    (tmp_path / "gw").mkdir()
    config = tmp_path / "gw" / "nginx.conf"
    config.write_text(f"""
        pid {tmp_path}/gw/nginx.pid;
        error_log {tmp_path}/gw/error.log warn;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
            client_body_temp_path {tmp_path}/gw/body;
            proxy_temp_path {tmp_path}/gw/proxy;
            server {{
                listen 127.0.0.1:{port};
                location / {{
                    proxy_pass http://{public.group(1)}:{public.group(2)};
                    proxy_bind 127.0.0.3;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                }}
            }}
        }}""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run([nginx, "-c", str(config), "-p", str(tmp_path / "gw"), "-e", str(tmp_path / "gw" / "error.log")], check=True)
    assert wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
    yield port
    subprocess.run([nginx, "-c", str(config), "-p", str(tmp_path / "gw"), "-e", str(tmp_path / "gw" / "error.log"), "-s", "stop"],
                   check=False)


def ip_hash_of(env, trace):
    return sql(env, f"SELECT encode(ip_hash, 'hex') FROM signup_attempts WHERE trace_id = '{trace}'").stdout.strip()


def test_behind_the_gateway_each_visitor_has_its_own_address_and_bucket(env, gateway):
    keyed = lambda value: hmac.new(env["CONTROLPLANE_HASH_KEY"].encode(), value.encode(), hashlib.sha256).hexdigest()  # noqa: E731
    traces = {}
    for visitor, extra in (("127.0.0.4", {}), ("127.0.0.5", {}), ("127.0.0.4", {"x-forwarded-for": "203.0.113.9"})):
        trace = "gw-" + uuid.uuid4().hex[:10]
        status, body = call("127.0.0.1", gateway, "POST", "/api/trial/email/check", visitor,
                            {"content-type": "application/json", "x-trace-id": trace, **extra}, json.dumps({"email": "a@gmail.com"}))
        assert status == 200, body
        traces[trace] = visitor
    # Each attempt is hashed with the visitor's own address, not the gateway's; what a visitor
    # claims in X-Forwarded-For is not believed (it did not come from a trusted gateway).
    assert [ip_hash_of(env, t) for t in traces] == [keyed(v) for v in traces.values()]
    assert keyed("127.0.0.3") not in [ip_hash_of(env, t) for t in traces]
    # Separate rate-limit buckets: the probe allows 1/min with a burst of 1.
    first = [call("127.0.0.1", gateway, "GET", "/api/trial/rate-limit-probe", "127.0.0.4")[0] for _ in range(3)]
    assert first == [404, 404, 429], first
    assert call("127.0.0.1", gateway, "GET", "/api/trial/rate-limit-probe", "127.0.0.5")[0] == 404


def test_ipv6_clients_in_one_slash_64_share_a_bucket(env):
    """From the trusted gateway address, with the visitor in X-Forwarded-For."""
    public = re.match(r"http://([^:/]+):(\d+)", env["CONTROLPLANE_URL"])
    probe = lambda visitor: call(public.group(1), int(public.group(2)), "GET", "/api/trial/rate-limit-probe", "127.0.0.3",  # noqa: E731
                                 {"x-forwarded-for": visitor})[0]
    assert [probe("2001:db8:1:2::10"), probe("2001:db8:1:2::20")] == [404, 404]
    assert probe("2001:db8:1:2:ffff:ffff:ffff:ffff") == 429   # the same /64: one bucket
    assert probe("2001:db8:1:3::10") == 404                   # the next /64: its own
    assert [probe("198.51.100.7"), probe("198.51.100.7"), probe("198.51.100.7")] == [404, 404, 429]
    assert probe("198.51.100.8") == 404                       # IPv4: each address its own
