"""controlplane-sync against a fake regional registry (a real HTTP server): exact bytes,
PREFLIGHT_JWT, metering, faults, kill -9 resume, concurrency, commands, admin jobs."""
import base64
import hashlib
import json
import os
import signal
import subprocess
import time
import uuid

import jwt as pyjwt
import pytest
import requests

from conftest import assert_problem, wait_until
from governance_support import control, registry, Control, FakeRegistry, output_log, payload_item, run_sync, sql, sync_environment

# Payloads that JSON normalizers (and PostgreSQL's jsonb) would change.
NASTY = {
    "reordered": b'{"z":1,"a":2,"m":{"y":[3,2,1],"b":null}}',
    "duplicate-keys": b'{"a":1,"a":2,"a":{"a":3}}',
    "numbers": b'{"one":1.0,"int":1,"huge":1e400,"twenty":12345678901234567890,"neg0":-0,"exp":1E+2}',
    "escapes": b'{"escaped":"\\u00e9","raw":"\xc3\xa9","slash":"\\/","emoji":"\\ud83d\\ude00","ctl":"\\u0000"}',
    "whitespace": b'{\n\t"a" :  [ 1 ,\r\n 2 ] ,  "b":"  " }',  # spaces around the value belong to the page
    "deep": b"[" * 200 + b"1" + b"]" * 200,
    "big-string": b'{"blob":"' + b"x" * (1 << 20) + b'"}',
    "scalar": b"42",
    "string": b'"just a string"',
    "empty": b"{}",
}



def test_every_payload_is_served_byte_identical(env, registry, control):
    registry.add_items([payload_item(f"nasty-{name}", payload, status="COMPLETED_WITH_FINDINGS") for name, payload in NASTY.items()])
    region = control.add_region(registry.url)
    r = run_sync(env, "registry-sweep", "--region", region)
    assert r.returncode == 0, r.stderr
    for name, payload in NASTY.items():
        served = control.get(f"/control/v1/regions/{region}/jobs/nasty-{name}/canonical-payload")
        assert served.status_code == 200
        assert served.content == payload, name
        digest = base64.b64encode(hashlib.sha256(payload).digest()).decode()
        assert served.headers["repr-digest"] == f"sha-256=:{digest}:"
        assert served.headers["content-type"] == "application/json"
        job = control.get(f"/control/v1/regions/{region}/jobs/nasty-{name}")
        assert job.status_code == 200
        # Inside the job document the payload appears verbatim, between its neighbours.
        assert b'"canonicalPayload":' + payload + b"}" in job.content, name
        assert job.json()["payloadSha256"] == hashlib.sha256(payload).hexdigest()
    listed = control.get("/control/v1/jobs", params={"region": region, "limit": 1000}).json()["items"]
    assert {j["jobId"] for j in listed} == {f"nasty-{n}" for n in NASTY}
    assert all(j["status"] == "COMPLETED_WITH_FINDINGS" for j in listed)


def test_new_status_or_payload_makes_a_new_revision_and_repeats_do_not(env, registry, control):
    region = control.add_region(registry.url)
    registry.add_items([payload_item("j1", b'{"v":1}', status="RUNNING")])
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    registry.add_items([payload_item("j1", b'{"v":1}', status="RUNNING"),                       # same again: no revision
                        payload_item("j1", b'{"v":2}', status="SOME_FUTURE_STATUS"),            # unknown status kept
                        payload_item("j1", b'{"v":2}', status="SOME_FUTURE_STATUS")])
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    job = control.get(f"/control/v1/regions/{region}/jobs/j1").json()
    assert [(r["revision"], r["status"], r["canonicalPayload"]) for r in job["revisions"]] == [
        (1, "RUNNING", {"v": 1}), (2, "SOME_FUTURE_STATUS", {"v": 2})]
    assert job["status"] == "SOME_FUTURE_STATUS"
    first = control.get(f"/control/v1/regions/{region}/jobs/j1/canonical-payload", params={"revision": 1})
    assert first.content == b'{"v":1}'


def test_requests_carry_a_fresh_preflight_jwt_and_no_other_token(env, registry, control):
    registry.add_items([payload_item("a", b"{}")])
    region = control.add_region(registry.url)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    jwks = requests.get(env["CONTROLPLANE_JWKS_URL"]).json()
    seen = registry.requests()
    scopes = {"/v1/registry/jobs": "registry:jobs:read", "/v1/registry/nodes": "registry:nodes:read",
              "/v1/registry/queues": "registry:queues:read"}
    assert {s["path"] for s in seen} == set(scopes)
    jtis = set()
    for s in seen:
        text = json.dumps(s)
        for secret in (env["PPOS_CONTROL_TOKEN"], env["CONTROLPLANE_INTERNAL_TOKEN"], env["CONTROLPLANE_PROVISIONER_SECRET"]):
            assert secret not in text
        auth = s["headers"]["authorization"]
        assert auth.startswith("Bearer ")
        token = auth.split(" ", 1)[1]
        header = pyjwt.get_unverified_header(token)
        assert header["alg"] == "EdDSA" and header["typ"] == "preflight+jwt"
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        claims = pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=["EdDSA"], audience=region, issuer="controlplane",
                              options={"require": ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]})
        assert 0 < claims["exp"] - claims["iat"] <= 300
        assert claims["exp"] - time.time() <= 300
        assert claims["scope"] == scopes[s["path"]]
        jtis.add(claims["jti"])
        with pytest.raises(pyjwt.InvalidAudienceError):
            pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=["EdDSA"], audience="another-region")
    assert len(jtis) == len(seen)  # minted fresh for each call


def test_metering_spaces_requests_at_the_region_rate(env, registry, control):
    registry.control("generate", {"count": 50, "prefix": "m"})
    region = control.add_region(registry.url, pageSize=10, requestsPerSecond=5)
    started = time.monotonic()
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    elapsed = time.monotonic() - started
    calls = len(registry.requests())  # 5 job pages, the nodes, the queues
    assert calls == 7
    assert elapsed >= calls / 5 - 0.05, f"{calls} requests at 5/s took {elapsed:.2f}s"
    times = [s["at"] for s in registry.requests()]
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.18


def test_per_run_cap_and_resume_from_the_cursor(env, registry, control):
    registry.control("generate", {"count": 95, "prefix": "cap"})
    region = control.add_region(registry.url, pageSize=20, maxRecordsPerRun=50)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "50"
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "95"


def test_retry_after_is_honoured(env, registry, control):
    registry.add_items([payload_item("ra", b"{}")])
    registry.control("faults", [{"kind": "429", "retryAfter": 1, "count": 1}])
    region = control.add_region(registry.url)
    started = time.monotonic()
    r = run_sync(env, "registry-sweep", "--region", region)
    elapsed = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    times = [s["at"] for s in registry.requests() if s["path"] == "/v1/registry/jobs"]
    assert len(times) == 2 and times[1] - times[0] >= 0.95 and elapsed >= 1
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "1"


def test_server_errors_then_success(env, registry, control):
    registry.add_items([payload_item("e", b"{}")])
    registry.control("faults", [{"kind": "500", "count": 2}])
    region = control.add_region(registry.url)
    r = run_sync(env, "registry-sweep", "--region", region)
    assert r.returncode == 0, r.stderr
    assert len([s for s in registry.requests() if s["path"] == "/v1/registry/jobs"]) == 3  # the two 500s happened
    assert r.stderr.count("registry page failed; retrying") == 2
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "1"
    assert control.get(f"/control/v1/regions/{region}").json()["health"] == "HEALTHY"


def test_a_malformed_page_is_never_partly_applied_and_the_region_is_partial(env, registry, control):
    registry.control("generate", {"count": 30, "prefix": "mal"})
    region = control.add_region(registry.url, pageSize=10)
    # Page 1 fine; page 2 malformed on every attempt.
    registry.control("faults", [{"kind": "slow", "delay": 0, "count": 1}, {"kind": "malformed", "count": 10}])
    r = run_sync(env, "registry-sweep", "--region", region, extra={"CONTROLPLANE_SYNC_MAX_ATTEMPTS": "3"})
    assert r.returncode == 2
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "10"
    state = control.get(f"/control/v1/regions/{region}").json()
    assert state["health"] == "PARTIAL" and state["lastSweepOutcome"] == "PARTIAL"
    run = sql(env, f"SELECT pages, records, outcome, error FROM sweep_runs WHERE region_id = '{region}'").stdout
    assert run.startswith("1|10|PARTIAL|malformed page")
    # Truncated bodies are the same kind of failure.
    registry.control("faults", [{"kind": "truncated", "count": 10}])
    assert run_sync(env, "registry-sweep", "--region", region, extra={"CONTROLPLANE_SYNC_MAX_ATTEMPTS": "2"}).returncode == 2
    registry.control("faults", [])
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "30"
    assert control.get(f"/control/v1/regions/{region}").json()["health"] == "HEALTHY"


def test_registry_down_degrades_the_region_with_exit_status_2(env, control):
    region = control.add_region("http://127.0.0.1:9")  # nothing listens on the discard port
    r = run_sync(env, "registry-sweep", "--region", region, extra={"CONTROLPLANE_SYNC_MAX_ATTEMPTS": "2"})
    assert r.returncode == 2
    state = control.get(f"/control/v1/regions/{region}").json()
    assert state["health"] == "DEGRADED" and state["lastSweepOutcome"] == "FAILED"
    assert "sweep failed" in state["healthReason"]
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_kill_9_mid_backlog_then_resume_loses_and_duplicates_nothing(env, registry, control):
    registry.control("generate", {"count": 50000, "minSize": 100, "maxSize": 300, "prefix": "bk"})
    region = control.add_region(registry.url, pageSize=500, maxRecordsPerRun=100000)
    with open(output_log(env, "sync"), "wb") as output:
        process = subprocess.Popen([env["CONTROLPLANE_SYNC"], "registry-sweep", "--region", region], env=sync_environment(env),
                                   stdout=output, stderr=subprocess.STDOUT)
    count = lambda: int(sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout or 0)
    assert wait_until(lambda: count() >= 5000, timeout=120, interval=0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = count()
    assert killed_at < 50000, "the sweep finished before it could be killed"
    # The killed process's server session lets go of the region's advisory lock only once it
    # notices the closed socket; a sweep started before that rightly skips the region.
    assert wait_until(lambda: sql(env, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").stdout.strip() == "0", timeout=30)
    r = run_sync(env, "registry-sweep", "--region", region)
    assert r.returncode == 0, r.stderr
    totals = sql(env, f"""SELECT count(*), count(DISTINCT job_id) FROM jobs WHERE region_id = '{region}';
                          SELECT count(*), count(DISTINCT (job_id, revision)), max(revision) FROM job_revisions WHERE region_id = '{region}'""").stdout.split()
    assert totals == ["50000|50000", "50000|50000|1"], (killed_at, totals)


def position(cursor):
    """The fake registry's cursor is base64url("pos:N")."""
    return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()[4:])


def test_a_sweeper_that_lost_its_session_never_moves_the_cursor_back(env, registry, control):
    """Sweeper A's database session is terminated mid-backlog: its session lock is gone, it
    reconnects and goes on, while sweeper B takes the lock and sweeps too. Every cursor the
    region ever stores (logged by a test trigger) moves forward only, and each of the 50,000
    records is there exactly once."""
    registry.control("generate", {"count": 50000, "minSize": 100, "maxSize": 300, "prefix": "fx"})
    # Metered (25 pages/s per sweeper) so that, unfenced, both would keep writing side by side.
    region = control.add_region(registry.url, pageSize=250, requestsPerSecond=25, maxRecordsPerRun=100000)
    sql(env, f"""CREATE TABLE test_cursor_log (id bigserial PRIMARY KEY, cursor text);
                 CREATE FUNCTION test_log_cursor() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
                 BEGIN INSERT INTO test_cursor_log (cursor) VALUES (NEW.cursor); RETURN NEW; END $$;
                 CREATE TRIGGER test_log_cursor AFTER UPDATE OF cursor ON regions FOR EACH ROW
                     WHEN (NEW.id = '{region}' AND NEW.cursor IS DISTINCT FROM OLD.cursor) EXECUTE FUNCTION test_log_cursor();""")
    try:
        environment = sync_environment(env)
        start = lambda: subprocess.Popen([env["CONTROLPLANE_SYNC"], "registry-sweep", "--region", region], env=environment,  # noqa: E731
                                         stderr=subprocess.PIPE, text=True)
        first = start()
        count = lambda: int(sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout or 0)  # noqa: E731
        assert wait_until(lambda: count() >= 2500, timeout=120, interval=0.02)
        terminated = sql(env, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = 'controlplane-sync'", url_key="CONTROLPLANE_ADMIN_DATABASE_URL").stdout.strip()
        assert terminated != "0"
        second = start()
        outputs = [p.communicate(timeout=300)[1] for p in (first, second)]
        for output in outputs:
            with open(output_log(env, "sync"), "a") as f:
                f.write(output)
        assert first.returncode in (0, 75) and second.returncode == 0, outputs
        positions = [position(c) for c in sql(env, "SELECT cursor FROM test_cursor_log ORDER BY id").stdout.split()]
        assert positions and positions[-1] == 50000
        assert all(a < b for a, b in zip(positions, positions[1:])), positions  # forward only, never the same page twice
    finally:
        sql(env, "DROP TRIGGER test_log_cursor ON regions; DROP FUNCTION test_log_cursor(); DROP TABLE test_cursor_log")
    totals = sql(env, f"""SELECT count(*), count(DISTINCT job_id) FROM jobs WHERE region_id = '{region}';
                          SELECT count(*), count(DISTINCT (job_id, revision)), max(revision) FROM job_revisions WHERE region_id = '{region}'""").stdout.split()
    assert totals == ["50000|50000", "50000|50000|1"], totals
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_two_sweeps_at_once_each_region_swept_by_one(env, registry, control):
    registry.control("generate", {"count": 40, "prefix": "cc"})
    region = control.add_region(registry.url, pageSize=10, requestsPerSecond=4)
    environment = sync_environment(env)
    procs = [subprocess.Popen([env["CONTROLPLANE_SYNC"], "registry-sweep", "--region", region], env=environment,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[1] for p in procs]
    for output in outputs:
        with open(output_log(env, "sync"), "w") as f:
            f.write(output)
    assert all(p.returncode == 0 for p in procs)
    assert sum("another sweep holds it" in o for o in outputs) == 1
    assert sql(env, f"SELECT count(*) FROM sweep_runs WHERE region_id = '{region}'").stdout.strip() == "1"
    assert sql(env, f"SELECT count(*) FROM job_revisions WHERE region_id = '{region}'").stdout.strip() == "40"


def test_nodes_are_tracked_with_staleness_and_a_version_census(env, registry, control):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    registry.control("nodes", {"items": [
        {"nodeId": "n-1", "containerVersion": "2.0.0", "readiness": "READY", "lastHeartbeatAt": now},
        {"nodeId": "n-2", "containerVersion": "2.0.0", "readiness": "DRAINING", "lastHeartbeatAt": now},
        {"nodeId": "n-3", "containerVersion": "1.9.0", "readiness": "READY", "lastHeartbeatAt": "2020-01-01T00:00:00Z"}]})
    region = control.add_region(registry.url)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    nodes = {n["nodeId"]: n["readiness"] for n in control.get("/control/v1/nodes", params={"region": region}).json()["items"]}
    assert nodes == {"n-1": "READY", "n-2": "DRAINING", "n-3": "STALE"}
    stale = control.get("/control/v1/nodes", params={"region": region, "readiness": "STALE"}).json()["items"]
    assert [n["nodeId"] for n in stale] == ["n-3"]
    census = control.get(f"/control/v1/regions/{region}/versions").json()["items"]
    assert census == [{"containerVersion": "2.0.0", "nodes": 2, "ready": 1}, {"containerVersion": "1.9.0", "nodes": 1, "ready": 0}]
    r = run_sync(env, "health-sweep")
    assert r.returncode == 0
    assert sql(env, f"SELECT stale_since IS NOT NULL FROM nodes WHERE region_id = '{region}' AND node_id = 'n-3'").stdout.strip() == "t"


def test_commands_are_delivered_once_with_a_jwt_and_audited(env, registry, control):
    region = control.add_region(registry.url)
    body = {"region": region, "kind": "QUEUE_CAPACITY", "target": "queue-a", "params": {"capacity": 40},
            "reason": "campaign", "idempotencyKey": "cap-" + region}
    created = control.post("/control/v1/commands", body)
    assert created.status_code == 201 and created.json()["status"] == "PENDING"
    again = control.post("/control/v1/commands", body)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    conflict = control.post("/control/v1/commands", {**body, "params": {"capacity": 41}})
    assert_problem(conflict, 409)
    registry.control("faults", [{"kind": "503", "path": "commands", "count": 1}])
    r = run_sync(env, "deliver")
    assert r.returncode == 0, r.stderr
    cid = created.json()["id"]
    assert control.get(f"/control/v1/commands/{cid}").json()["status"] == "PENDING"  # rescheduled after the 503
    sql(env, f"UPDATE governance_commands SET next_attempt_at = now() WHERE id = '{cid}'")
    assert run_sync(env, "deliver").returncode == 0
    command = control.get(f"/control/v1/commands/{cid}").json()
    assert command["status"] == "DELIVERED" and command["attempts"] == 2
    assert [a["toStatus"] for a in command["audit"]] == ["PENDING", "DELIVERED"]
    applied = registry.commands()
    assert [c["commandId"] for c in applied] == [cid]
    assert applied[0]["params"] == {"capacity": 40} and applied[0]["kind"] == "QUEUE_CAPACITY"
    # Sent exactly twice (the 503, then the delivery): the registry's own dedup of repeated
    # command ids cannot hide a double send here.
    posts = [s for s in registry.requests() if s["method"] == "POST" and s["path"] == "/v1/registry/commands"]
    assert len(posts) == 2, posts
    assert all(s["headers"]["authorization"].startswith("Bearer ey") for s in posts)
    assert run_sync(env, "deliver").returncode == 0  # nothing left to send
    assert len([s for s in registry.requests() if s["method"] == "POST"]) == 2
    ack = control.post(f"/control/v1/commands/{cid}/acknowledge", {"detail": "capacity visible"})
    assert ack.json()["status"] == "ACKNOWLEDGED"
    assert_problem(control.post(f"/control/v1/commands/{cid}/acknowledge"), 409)


def test_a_command_the_registry_refuses_fails_without_retries(env, registry, control):
    region = control.add_region(registry.url)
    cid = control.post("/control/v1/commands", {"region": region, "kind": "REIMAGE_NODE", "target": "n-9",
                                                "reason": "manual"}).json()["id"]
    registry.control("faults", [{"kind": "400", "path": "commands", "count": 1}])
    assert run_sync(env, "deliver").returncode == 0
    command = control.get(f"/control/v1/commands/{cid}").json()
    assert command["status"] == "FAILED" and "HTTP 400" in command["lastError"]


def test_a_hanging_registry_holds_one_worker_and_a_regions_commands_keep_their_order(env, registry, control):
    hanging = FakeRegistry()
    try:
        slow, fast = control.add_region(hanging.url), control.add_region(registry.url)
        hanging.control("faults", [{"kind": "slow", "delay": 1, "path": "commands", "count": 3}])
        issue = lambda region, i: control.post("/control/v1/commands", {
            "region": region, "kind": "QUEUE_CAPACITY", "target": f"queue-{i}", "params": {"capacity": i}, "reason": "order"}).json()["id"]
        slow_ids = [issue(slow, i) for i in range(3)]  # issued first: a single worker would wait on these
        fast_ids = [issue(fast, i) for i in range(3)]
        assert run_sync(env, "deliver").returncode == 0
        for cid in slow_ids + fast_ids:
            assert control.get(f"/control/v1/commands/{cid}").json()["status"] == "DELIVERED"
        applied_slow = hanging.commands()
        applied_fast = [c for c in registry.commands() if c["commandId"] in fast_ids]
        assert [c["commandId"] for c in applied_slow] == slow_ids  # one region: in order
        # Every command to the healthy region was applied before the hanging one answered its first.
        assert max(c["_appliedAt"] for c in applied_fast) < min(c["_appliedAt"] for c in applied_slow)
        # The hanging registry got one request at a time: each arrived after the previous was applied.
        arrivals = [s["at"] for s in hanging.requests() if s["path"] == "/v1/registry/commands"]
        assert len(arrivals) == 3
        assert all(arrived >= done["_appliedAt"] for arrived, done in zip(arrivals[1:], applied_slow))
    finally:
        hanging.stop()
        control.patch(f"/control/v1/regions/{slow}", {"enabled": False})


def test_admin_jobs_sync_a_region_now(env, registry, control):
    registry.control("generate", {"count": 5, "prefix": "adm"})
    region = control.add_region(registry.url)
    job = control.post("/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": region, "reason": "operator asked"})
    assert job.status_code == 201 and job.json()["status"] == "PENDING"
    assert run_sync(env, "deliver").returncode == 0
    done = control.get(f"/control/v1/admin-jobs/{job.json()['id']}").json()
    assert done["status"] == "SUCCEEDED" and done["result"]["records"] == 5
    assert sql(env, f"SELECT trigger FROM sweep_runs WHERE region_id = '{region}'").stdout.strip() == "admin_job"


def test_a_last_page_without_a_cursor_keeps_the_stored_position(env, registry, control):
    """The contract allows `nextCursor: null` on the last page: the stored cursor stays where
    the last page began, and the next sweep asks from there (not from the start)."""
    registry.control("options", {"nullLastCursor": True})
    registry.add_items([payload_item(f"nc-{i}", b"{}") for i in range(3)])
    region = control.add_region(registry.url, pageSize=2)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    stored = sql(env, f"SELECT cursor FROM regions WHERE id = '{region}'").stdout.strip()
    assert stored and stored != "", stored  # the first page's cursor, kept
    registry.add_items([payload_item("nc-3", b"{}")])
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    last = [r for r in registry.requests() if r["path"] == "/v1/registry/jobs"][-1]
    assert f"after={stored}" in last["query"], last["query"]
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "4"
    assert sql(env, f"SELECT count(*) FROM job_revisions WHERE region_id = '{region}'").stdout.strip() == "4"


def test_a_registry_over_plain_http_beyond_loopback_is_never_called(env, control):
    """A region stored with an http URL that is not loopback (the API refuses it; here it is
    written straight into the table): the sweep refuses to send a token in clear."""
    region = "clear-" + uuid.uuid4().hex[:6]
    sql(env, f"INSERT INTO regions (id, base_url) VALUES ('{region}', 'http://registry.invalid:8080')")
    r = run_sync(env, "registry-sweep", "--region", region)
    assert r.returncode == 2, r.stderr
    error = sql(env, f"SELECT outcome || '|' || error FROM sweep_runs WHERE region_id = '{region}'").stdout.strip()
    assert error.startswith("FAILED|") and "not https" in error, error
    sql(env, f"UPDATE regions SET enabled = false WHERE id = '{region}'")


def test_a_dripping_registry_costs_its_own_budget_not_the_run(env, control):
    """Two regions swept in parallel, one registry sending a byte a second forever: the healthy
    region is swept and stays healthy, the dripping one stops at its budget, and the run ends
    within that budget plus a margin (an idle timer alone would wait for minutes)."""
    healthy, dripping = FakeRegistry(), FakeRegistry()
    try:
        sql(env, "UPDATE regions SET enabled = false")  # only this test's regions take part
        healthy.add_items([payload_item(f"ok-{i}", b"{}") for i in range(5)])
        dripping.control("faults", [{"kind": "drip", "interval": 1, "count": 100}])
        good = control.add_region(healthy.url, requestsPerSecond=0)
        bad = control.add_region(dripping.url, requestsPerSecond=0, sweepBudgetSeconds=3)
        started = time.monotonic()
        r = run_sync(env, "registry-sweep", "--parallel", "2")
        elapsed = time.monotonic() - started
        assert r.returncode == 2, r.stderr  # one region did not end OK
        assert elapsed < 3 + 8, elapsed
        assert control.get(f"/control/v1/regions/{good}").json()["lastSweepOutcome"] == "OK"
        assert control.get(f"/control/v1/regions/{good}").json()["health"] == "HEALTHY"
        assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{good}'").stdout.strip() == "5"
        run = sql(env, f"SELECT outcome || '|' || error FROM sweep_runs WHERE region_id = '{bad}'").stdout.strip()
        assert run.startswith("FAILED|") and "sweep budget of 3 s spent" in run, run
        routed = sql(env, f"SELECT count(*) FROM governance_commands WHERE kind = 'PARTNER_ROUTING' AND target = '{good}'").stdout.strip()
        assert routed == "0"
    finally:
        healthy.stop()
        dripping.stop()
        sql(env, "UPDATE regions SET enabled = false")


def test_retry_after_beyond_the_budget_and_oversized_answers_stop_the_region(env, registry, control):
    registry.control("faults", [{"kind": "429", "retryAfter": 60, "count": 100}])
    waiting = control.add_region(registry.url, sweepBudgetSeconds=2)
    started = time.monotonic()
    r = run_sync(env, "registry-sweep", "--region", waiting)
    assert r.returncode == 2 and time.monotonic() - started < 2 + 8
    error = sql(env, f"SELECT error FROM sweep_runs WHERE region_id = '{waiting}'").stdout.strip()
    assert "the registry asked to wait 60 s" in error, error
    registry.control("faults", [{"kind": "big", "size": 5_000_000, "count": 100}])
    large = control.add_region(registry.url)
    r = run_sync(env, "registry-sweep", "--region", large, extra={"CONTROLPLANE_SYNC_MAX_RESPONSE_BYTES": "1048576"})
    assert r.returncode == 2
    error = sql(env, f"SELECT error FROM sweep_runs WHERE region_id = '{large}'").stdout.strip()
    assert "answer larger than 1048576 bytes" in error, error
    for region in (waiting, large):
        control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_a_long_sweep_shows_its_progress(env, registry, control, tmp_path):
    """The run's row moves after each page, and about every CONTROLPLANE_SYNC_PROGRESS_SECONDS a
    log line and a systemd STATUS= datagram (to $NOTIFY_SOCKET) say how far it got."""
    import socket as sockets
    registry.add_items([payload_item(f"pr-{i}", b"{}") for i in range(12)])
    region = control.add_region(registry.url, pageSize=2, requestsPerSecond=4)  # 6 pages over ~1.5 s
    listener = sockets.socket(sockets.AF_UNIX, sockets.SOCK_DGRAM)
    path = str(tmp_path / "notify.sock")
    listener.bind(path)
    listener.settimeout(0.2)
    output = output_log(env, "sync")
    with open(output, "wb") as log:
        process = subprocess.Popen([env["CONTROLPLANE_SYNC"], "registry-sweep", "--region", region],
                                   env=sync_environment(env, {"NOTIFY_SOCKET": path, "CONTROLPLANE_SYNC_PROGRESS_SECONDS": "0.3"}),
                                   stdout=log, stderr=subprocess.STDOUT)
        mid_run = wait_until(lambda: sql(env, f"SELECT pages FROM sweep_runs WHERE region_id = '{region}' "
                                              "AND finished_at IS NULL AND pages >= 1").stdout.strip(), timeout=20, interval=0.05)
        assert process.wait(60) == 0
    assert mid_run, "the run's row showed no page before the run ended"
    statuses = []
    try:
        while True:
            statuses.append(listener.recv(4096).decode())
    except (sockets.timeout, BlockingIOError):
        pass
    listener.close()
    assert any(s.startswith(f"STATUS=registry-sweep: {region} ") and "records" in s for s in statuses), statuses
    progress = [json.loads(line) for line in open(output) if '"sweep progress"' in line]
    assert len(progress) >= 2 and progress[-1]["region"] == region, progress
    assert sql(env, f"SELECT pages, records FROM sweep_runs WHERE region_id = '{region}'").stdout.strip() == "6|12"
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})
