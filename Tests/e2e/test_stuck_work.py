"""Nothing waits forever: the health sweep fails admin jobs whose runner died (lease past),
delivers unacknowledged commands again under the same commandId, and times out tenants stuck
provisioning — each with an audit entry, and nothing younger than its deadline touched."""
import base64
import json
import subprocess
import time

from conftest import wait_until
from governance_support import control, registry, run_sync, sql, sync_environment  # noqa: F401 (fixtures)
from tenants_support import Internal, make_token


def operations(env):
    return Internal(env["CONTROLPLANE_INTERNAL_URL"], make_token(env, "operations:read")[1])


def metric(text, name):
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, (name, values)
    return values[0]


def health_sweep(env, **extra):
    r = run_sync(env, "health-sweep", extra=extra)
    assert r.returncode == 0, r.stderr
    return r


def test_an_admin_job_whose_runner_died_fails_as_runner_lost(env, registry, control):
    region = control.add_region(registry.url)
    ids = [control.post("/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": region, "reason": "stuck test"}).json()["id"]
           for _ in range(2)]
    lost, alive = ids
    # Both claimed by runners; one runner died an hour ago (lease past), one is still within its lease.
    sql(env, f"UPDATE admin_jobs SET status = 'RUNNING', started_at = now() - interval '2 hours', "
             f"lease_expires_at = now() - interval '1 minute' WHERE id = '{lost}'")
    sql(env, f"UPDATE admin_jobs SET status = 'RUNNING', started_at = now(), "
             f"lease_expires_at = now() + interval '1 hour' WHERE id = '{alive}'")
    r = health_sweep(env)
    assert "runner lost" in r.stderr
    failed = control.get(f"/control/v1/admin-jobs/{lost}").json()
    assert failed["status"] == "FAILED" and failed["result"] == {"error": "runner lost"}, failed
    assert control.get(f"/control/v1/admin-jobs/{alive}").json()["status"] == "RUNNING"
    audited = sql(env, f"SELECT actor, action, target FROM audit_log WHERE target IN ('admin_job:{lost}', 'admin_job:{alive}')").stdout.split()
    assert audited == [f"rule:admin-job-lease|admin_job.fail|admin_job:{lost}"], audited
    metrics = operations(env).get("/internal/metrics")
    assert metrics.status_code == 200
    assert metric(metrics.text, 'controlplane_admin_jobs{status="FAILED"}') >= 1
    assert metric(metrics.text, 'controlplane_admin_jobs{status="RUNNING"}') >= 1


def test_a_running_admin_job_renews_its_lease(env, registry, control):
    registry.control("generate", {"count": 20, "prefix": "lease"})
    region = control.add_region(registry.url, pageSize=5, requestsPerSecond=2)  # five pages: two seconds at least
    job = control.post("/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": region, "reason": "lease"}).json()["id"]
    r = run_sync(env, "deliver", extra={"CONTROLPLANE_ADMIN_JOB_LEASE_SECONDS": "100"})
    assert r.returncode == 0, r.stderr
    row = sql(env, f"SELECT status, extract(epoch FROM lease_expires_at - started_at) >= 101, lease_expires_at > finished_at "
                   f"FROM admin_jobs WHERE id = '{job}'").stdout.strip()
    assert row == "SUCCEEDED|t|t", row  # taken for 100 s at the claim, then renewed while it worked


def test_a_lease_shorter_than_one_wait_is_refused(env):
    r = run_sync(env, "deliver", extra={"CONTROLPLANE_ADMIN_JOB_LEASE_SECONDS": "60"})
    assert r.returncode == 78 and "CONTROLPLANE_ADMIN_JOB_LEASE_SECONDS" in r.stderr, (r.returncode, r.stderr)


def test_a_runner_whose_lease_was_given_up_does_not_overwrite_the_outcome(env, registry, control):
    registry.control("generate", {"count": 3, "prefix": "late"})
    registry.control("faults", [{"kind": "slow", "delay": 3, "count": 1, "path": "jobs"}])
    region = control.add_region(registry.url)
    job = control.post("/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": region, "reason": "late"}).json()["id"]
    runner = subprocess.Popen([env["CONTROLPLANE_SYNC"], "deliver"], env=sync_environment(env), stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: sql(env, f"SELECT status FROM admin_jobs WHERE id = '{job}'").stdout.strip() == "RUNNING", timeout=10)
        time.sleep(0.5)  # the runner now waits on the slow page
        # The host looks gone (lease past): the health sweep gives the job up.
        sql(env, f"UPDATE admin_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = '{job}'")
        health_sweep(env)
        assert sql(env, f"SELECT status FROM admin_jobs WHERE id = '{job}'").stdout.strip() == "FAILED"
        _, errors = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert runner.returncode == 0, errors
    assert "admin job outcome dropped" in errors
    done = control.get(f"/control/v1/admin-jobs/{job}").json()
    assert done["status"] == "FAILED" and done["result"] == {"error": "runner lost"}, done


def test_an_unacknowledged_command_is_delivered_again_under_the_same_id(env, registry, control):
    region = control.add_region(registry.url)
    ids = []
    for capacity in (10, 20):
        created = control.post("/control/v1/commands", {"region": region, "kind": "QUEUE_CAPACITY", "target": "queue-a",
                                                        "params": {"capacity": capacity}, "reason": "stuck test"})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    old, recent = ids
    assert run_sync(env, "deliver").returncode == 0
    assert all(control.get(f"/control/v1/commands/{i}").json()["status"] == "DELIVERED" for i in ids)
    sql(env, f"UPDATE governance_commands SET delivered_at = now() - interval '2 hours' WHERE id = '{old}'")

    health_sweep(env)
    assert control.get(f"/control/v1/commands/{old}").json()["status"] == "UNACKNOWLEDGED"
    assert control.get(f"/control/v1/commands/{recent}").json()["status"] == "DELIVERED"
    audited = sql(env, f"SELECT actor, action FROM audit_log WHERE target IN ('command:{old}', 'command:{recent}')").stdout.split()
    assert audited == ["rule:command-ack-timeout|command.unacknowledged"], audited
    listed = control.get("/control/v1/commands", params={"region": region, "status": "UNACKNOWLEDGED"})
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["items"]] == [old]
    assert metric(operations(env).get("/internal/metrics").text, "controlplane_commands_unacknowledged") >= 1

    assert run_sync(env, "deliver").returncode == 0
    command = control.get(f"/control/v1/commands/{old}").json()
    assert command["status"] == "DELIVERED" and command["attempts"] == 2, command
    assert [(a["fromStatus"], a["toStatus"]) for a in command["audit"]] == [
        (None, "PENDING"), ("PENDING", "DELIVERED"), ("DELIVERED", "UNACKNOWLEDGED"), ("UNACKNOWLEDGED", "DELIVERED")], command["audit"]
    posts = [json.loads(base64.b64decode(s["body"]))["commandId"] for s in registry.requests()
             if s["method"] == "POST" and s["path"] == "/v1/registry/commands"]
    assert sorted(posts) == sorted([old, recent, old]), posts  # the same id again; the recent one once
    acknowledged = control.post(f"/control/v1/commands/{old}/acknowledge", {"detail": "applied"})
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "ACKNOWLEDGED"


def test_a_tenant_stuck_provisioning_times_out(env, internal):
    api = Internal(internal, env["CONTROLPLANE_INTERNAL_TOKEN"])
    stuck, fresh = api.create_tenant(), api.create_tenant()
    sql(env, f"UPDATE tenants_master SET updated_at = now() - interval '2 hours' WHERE id = '{stuck['id']}'")
    # An integrator subscribed to failures hears about it (nothing listens on the port: only
    # the outbox row matters here, and the endpoint goes before anything delivers).
    endpoint = api.post("/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/hook", "events": ["tenant.provisioning_failed"]})
    assert endpoint.status_code == 201, endpoint.text
    try:
        health_sweep(env)
        outbox = sql(env, f"SELECT event_type FROM webhook_outbox WHERE endpoint_id = '{endpoint.json()['id']}'").stdout.split()
    finally:
        assert api.delete(f"/internal/webhook-endpoints/{endpoint.json()['id']}").status_code in (200, 204)
    assert outbox == ["tenant.provisioning_failed"], outbox
    assert api.get(f"/internal/tenants/{stuck['id']}").json()["status"] == "provisioning_failed"
    assert api.get(f"/internal/tenants/{fresh['id']}").json()["status"] == "provisioning"
    last = api.get(f"/internal/tenants/{stuck['id']}/events").json()["items"][-1]
    assert (last["fromStatus"], last["toStatus"], last["reason"], last["actor"]) == \
        ("provisioning", "provisioning_failed", "timeout", "rule:provisioning-timeout"), last
    # The operator's retry works as after any failure.
    assert api.post(f"/internal/tenants/{stuck['id']}/provision").json()["status"] == "provisioning"
    # A shorter deadline applies to the fresh one too.
    sql(env, f"UPDATE tenants_master SET updated_at = now() - interval '10 seconds' WHERE id = '{fresh['id']}'")
    health_sweep(env, CONTROLPLANE_PROVISIONING_TIMEOUT_SECONDS="5")
    assert api.get(f"/internal/tenants/{fresh['id']}").json()["status"] == "provisioning_failed"
