"""Documented operational behaviour: the operations:read scope, the statement timeout under
nginx's read timeout, the drain timeout, control-token rotation, the sync's exit codes, the
health sweep's stale-region marking and attempt-log purge, SMTP TLS=required."""
import glob
import json
import os
import re
import signal
import subprocess
import time
import uuid

import requests

import fcgi_client as fcgi
from conftest import REPO, assert_problem
from governance_support import Control, run_sync
from sql_support import scalar, sql
from tenants_support import Internal, make_token


def test_operations_read_scope_guards_metrics_and_status(env, internal):
    _, only_ops = make_token(env, "operations:read")
    _, no_ops = make_token(env, "tenants:read,trial:read")
    for path in ("/internal/metrics", "/internal/status"):
        assert Internal(internal, only_ops).get(path).status_code == 200, path
        problem = assert_problem(Internal(internal, no_ops).get(path), 403)
        assert problem["type"] == "urn:controlplane:problem:insufficient-scope"
        assert_problem(requests.get(internal + path), 401)


def nginx_read_timeout_seconds():
    text = open(os.path.join(REPO, "nginx", "snippets", "controlplane-fastcgi.conf")).read()
    return int(re.search(r"fastcgi_read_timeout\s+(\d+)s;", text).group(1))


def test_a_statement_past_the_default_timeout_is_a_problem_before_nginx_gives_up(env, backend_factory):
    """The default statement_timeout (5 s) lies under nginx's fastcgi_read_timeout, so a stuck
    statement becomes the backend's 503 problem, never nginx's 504 with a worker still busy."""
    backend = backend_factory()  # default CONTROLPLANE_STATEMENT_TIMEOUT_MS
    tenant = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"]).create_tenant()
    holder = subprocess.Popen(["psql", env["DATABASE_URL"], "-qAtX", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Another session holds the tenant's row: the retry below waits on the lock.
        holder.stdin.write(f"BEGIN; SELECT 1 FROM tenants_master WHERE id = '{tenant['id']}' FOR UPDATE; SELECT 'locked';\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() in ("1", "locked")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
        started = time.monotonic()
        status, headers, body = fcgi.roundtrip(backend.socket_path, fcgi.request_params(
            "POST", f"/internal/tenants/{tenant['id']}/provision", extra=auth))
        elapsed = time.monotonic() - started
    finally:
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(10)
    assert status == 503 and json.loads(body)["type"] == "urn:controlplane:problem:deadline-exceeded", body
    assert headers["retry-after"] == "1"
    assert 4 <= elapsed < nginx_read_timeout_seconds(), elapsed
    assert scalar(env, f"SELECT status FROM tenants_master WHERE id = '{tenant['id']}'") == "provisioning"


def test_drain_timeout_exits_1_with_a_request_still_in_flight(backend_factory):
    backend = backend_factory(extra={"CONTROLPLANE_DRAIN_TIMEOUT_SECONDS": "1"})
    conn = fcgi.Connection(backend.socket_path)
    conn.begin(fcgi.request_params("POST", "/internal/health", body_length=100, content_type="application/json"))
    conn.send_stdin(b"{")  # the rest of the body never comes
    time.sleep(0.3)
    backend.process.send_signal(signal.SIGTERM)
    try:
        assert backend.process.wait(10) == 1
    finally:
        conn.close()
    assert "drain deadline passed with requests in flight" in backend.log_text()


def test_control_token_rotation_accepts_old_and_new_then_only_new(env, backend_factory):
    old, new = "cpct_" + uuid.uuid4().hex * 2, "cpct_" + uuid.uuid4().hex * 2

    def status(backend, token):
        code, _, _ = fcgi.roundtrip(backend.socket_path, fcgi.request_params(
            "GET", "/control/v1/rules", extra={"HTTP_AUTHORIZATION": f"Bearer {token}"}))
        return code

    during = backend_factory(extra={"PPOS_CONTROL_TOKEN": new, "PPOS_CONTROL_TOKENS": old})
    assert (status(during, old), status(during, new)) == (200, 200)
    during.stop()
    after = backend_factory(extra={"PPOS_CONTROL_TOKEN": new})
    assert (status(after, old), status(after, new)) == (401, 200)


def test_sync_exit_codes_for_an_unreachable_database_and_bad_configuration(env):
    unreachable = run_sync(env, "health-sweep", extra={"CONTROLPLANE_SYNC_DATABASE_URL": "postgresql:///x?host=/nonexistent"})
    assert unreachable.returncode == 75, unreachable.stderr
    assert "database unreachable" in unreachable.stderr
    for setting, value in (("CONTROLPLANE_SYNC_MAX_ATTEMPTS", "0"), ("CONTROLPLANE_REGION_STALE_SECONDS", "soon")):
        misconfigured = run_sync(env, "health-sweep", extra={setting: value})
        assert misconfigured.returncode == 78, (setting, misconfigured.stderr)
        assert setting in misconfigured.stderr
    no_key = run_sync(env, "registry-sweep", extra={"CONTROLPLANE_JWT_KEY_FILES": ""})
    assert no_key.returncode == 78 and "CONTROLPLANE_JWT_KEY_FILES" in no_key.stderr


def test_health_sweep_marks_stale_regions_and_nodes_and_purges_old_attempts(env):
    control = Control(env)
    region = control.add_region("http://127.0.0.1:9/unused")
    sql(env, f"UPDATE regions SET created_at = now() - interval '1 hour' WHERE id = '{region}'")
    sql(env, f"""INSERT INTO nodes (region_id, node_id, container_version, readiness, last_heartbeat_at)
                 VALUES ('{region}', 'quiet-node', 'v1', 'READY', now() - interval '10 minutes')""")
    trace_old, trace_new = "purge-old-" + uuid.uuid4().hex[:6], "purge-new-" + uuid.uuid4().hex[:6]
    sql(env, f"""INSERT INTO signup_attempts (trace_id, step, outcome, occurred_at)
                 VALUES ('{trace_old}', 'email_check', 'work', now() - interval '91 days'),
                        ('{trace_new}', 'email_check', 'work', now() - interval '89 days')""")
    r = run_sync(env, "health-sweep", extra={"CONTROLPLANE_REGION_STALE_SECONDS": "600",
                                             "CONTROLPLANE_SIGNUP_ATTEMPT_RETENTION_DAYS": "90"})
    assert r.returncode == 0, r.stderr
    state = control.get(f"/control/v1/regions/{region}").json()
    assert state["health"] == "DEGRADED" and state["healthReason"] == "no good sweep since never", state
    assert scalar(env, f"SELECT stale_since IS NOT NULL FROM nodes WHERE region_id = '{region}'") == "t"
    assert scalar(env, f"SELECT count(*) FROM signup_attempts WHERE trace_id IN ('{trace_old}', '{trace_new}')") == "1"
    assert scalar(env, f"SELECT count(*) FROM signup_attempts WHERE trace_id = '{trace_new}'") == "1"
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_smtp_tls_required_refuses_a_server_without_starttls(env):
    """The dev sink offers no STARTTLS: with TLS=required nothing is sent in clear."""
    public = env["CONTROLPLANE_URL"]
    draft = requests.post(f"{public}/api/trial/manual-approval/draft", json={"email": "tls@gmail.com"}).json()
    address = f"tls.{uuid.uuid4().hex[:8]}@acme-{uuid.uuid4().hex[:6]}.com"
    r = requests.post(f"{public}/api/trial/manual-approval/{draft['draftId']}/work-email/otp", json={"workEmail": address},
                      headers={"authorization": f"Bearer {draft['draftSecret']}"})
    assert r.status_code == 202, r.text
    mail = {"CONTROLPLANE_SMTP_URL": env["CONTROLPLANE_SMTP_URL"], "CONTROLPLANE_HASH_KEY": env["CONTROLPLANE_HASH_KEY"],
            "CONTROLPLANE_MAIL_FROM": env["CONTROLPLANE_MAIL_FROM"]}
    refused = run_sync(env, "deliver", extra={**mail, "CONTROLPLANE_SMTP_TLS": "required"})
    assert refused.returncode == 0, refused.stderr
    row = scalar(env, f"SELECT status || '|' || attempts || '|' || (last_error IS NOT NULL) FROM email_outbox "
                      f"WHERE draft_id = '{draft['draftId']}'")
    assert row in ("pending|1|true", "dead|1|true"), row
    assert scalar(env, f"SELECT otp_hash IS NULL FROM trial_drafts WHERE id = '{draft['draftId']}'") == "t"
    time.sleep(0.5)
    sent = [p for p in glob.glob(os.path.join(env["CONTROLPLANE_MAIL_DIR"], "*.eml")) if address in open(p, errors="replace").read()]
    assert sent == [], "a message went out without TLS"
