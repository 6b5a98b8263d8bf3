"""Queue capacities as managed state: desired (QUEUE_CAPACITY commands), acknowledged, and
reported by the registry's optional GET /v1/registry/queues; the drift, its metric and the
rule that asks again, with its brake; hostile queue lists."""
import json

from conftest import assert_problem
from governance_support import control, registry, run_sync, sql  # noqa: F401 (fixtures)
from tenants_support import Internal, cpctl, make_token


def queues(control, region):
    r = control.get(f"/control/v1/regions/{region}/queues")
    assert r.status_code == 200, r.text
    return {q["queue"]: q for q in r.json()["items"]}


def set_capacity(control, region, queue, capacity):
    r = control.post("/control/v1/commands", {"region": region, "kind": "QUEUE_CAPACITY", "target": queue,
                                              "params": {"capacity": capacity}, "reason": "operator sets the queue"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def sweep(env, region, status=0, **extra):
    r = run_sync(env, "registry-sweep", "--region", region, extra=extra)
    assert r.returncode == status, r.stderr
    return r


def deliver(env):
    r = run_sync(env, "deliver", "--outbox", "commands")
    assert r.returncode == 0, r.stderr


def drift_metric(env, region, queue):
    text = Internal(env["CONTROLPLANE_INTERNAL_URL"], make_token(env, "operations:read")[1]).get("/internal/metrics").text
    name = f'controlplane_queue_capacity_drift{{region="{region}",queue="{queue}"}} '
    values = [float(line[len(name):]) for line in text.splitlines() if line.startswith(name)]
    return values[0] if values else None


def rule_commands(control, region):
    items = control.get("/control/v1/commands", params={"region": region, "limit": 1000}).json()["items"]
    return [c for c in items if c["kind"] == "QUEUE_CAPACITY" and c["actor"] == "rule-engine"]


def test_desired_acknowledged_and_reported_side_by_side(env, registry, control):
    region = control.add_region(registry.url)
    registry.control("queues", {"items": [{"queue": "builds", "capacity": 10, "depth": 3},
                                          {"queue": "deploys", "capacity": 5, "depth": 0}]})
    sweep(env, region)
    listed = queues(control, region)
    assert listed["builds"]["reported"]["capacity"] == 10 and listed["builds"]["reported"]["depth"] == 3
    assert listed["builds"]["desired"] is None and listed["builds"]["drift"] is None

    command = set_capacity(control, region, "builds", 20)
    listed = queues(control, region)
    assert listed["builds"]["desired"] == {**listed["builds"]["desired"], "capacity": 20, "commandId": command, "status": "PENDING"}
    assert listed["builds"]["drift"] == -10  # asked, not yet applied
    deliver(env)
    sweep(env, region)
    listed = queues(control, region)
    assert listed["builds"]["reported"]["capacity"] == 20 and listed["builds"]["drift"] == 0
    assert listed["builds"]["desired"]["status"] == "DELIVERED" and listed["builds"]["acknowledged"] is None
    assert drift_metric(env, region, "builds") == 0
    assert drift_metric(env, region, "deploys") is None  # nothing asked: no drift to speak of

    assert control.post(f"/control/v1/commands/{command}/acknowledge", {"detail": "applied"}).status_code == 200
    acknowledged = queues(control, region)["builds"]["acknowledged"]
    assert acknowledged["capacity"] == 20 and acknowledged["commandId"] == command and acknowledged["acknowledgedAt"]

    # A refused command changes nothing: the desired capacity stays 20.
    registry.control("faults", [{"kind": "400", "path": "commands", "count": 1}])
    refused = set_capacity(control, region, "builds", 99)
    deliver(env)
    assert control.get(f"/control/v1/commands/{refused}").json()["status"] == "FAILED"
    assert queues(control, region)["builds"]["desired"]["commandId"] == command

    # A queue the registry stops reporting is dropped from the reports.
    registry.control("queues", {"items": [{"queue": "builds", "capacity": 20, "depth": 0}]})
    sweep(env, region)
    assert "deploys" not in queues(control, region)
    # cpctl shows operators the same view.
    shown = cpctl(env, "regions", "queues", region, "--json")
    assert shown.returncode == 0, shown.stderr
    assert [json.loads(line) for line in shown.stdout.splitlines()] == control.get(f"/control/v1/regions/{region}/queues").json()["items"]
    table = cpctl(env, "regions", "queues", region).stdout.splitlines()
    assert table[0].split() == ["QUEUE", "DESIRED", "ACKNOWLEDGED", "REPORTED", "DEPTH", "DRIFT"] and len(table) == 1 + len(shown.stdout.splitlines())
    missing = cpctl(env, "regions", "queues", "no-such-region")
    assert missing.returncode == 65 and "no such region" in missing.stderr
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_a_drift_that_outlasts_the_command_is_asked_again_with_a_brake(env, registry, control):
    region = control.add_region(registry.url)
    registry.control("queues", {"items": [{"queue": "builds", "capacity": 10, "depth": 0}]})
    registry.control("options", {"ignoreQueueCapacity": True})  # accepts the command, keeps 10
    first = set_capacity(control, region, "builds", 20)
    deliver(env)
    sweep(env, region)  # the default hold (10 minutes) has not passed: nothing asked again
    assert rule_commands(control, region) == []
    assert drift_metric(env, region, "builds") == -10

    rules = {"CONTROLPLANE_RULE_QUEUE_DRIFT_MINUTES": "0", "CONTROLPLANE_RULE_QUEUE_REISSUE_MAX": "2"}
    sweep(env, region, **rules)
    again = rule_commands(control, region)
    assert [(c["target"], c["params"], c["ruleId"]) for c in again] == [("builds", {"capacity": 20}, "queue-capacity-drift")]
    assert first in again[0]["reason"]
    sweep(env, region, **rules)  # the re-issued command is not delivered yet: wait for it
    assert len(rule_commands(control, region)) == 1
    deliver(env)
    sweep(env, region, **rules)
    assert len(rule_commands(control, region)) == 2
    deliver(env)
    sweep(env, region, **rules)  # two re-issues in a row without effect: the brake holds
    sweep(env, region, **rules)
    assert len(rule_commands(control, region)) == 2
    held = control.get(f"/control/v1/regions/{region}/suppressions").json()["items"]
    assert [(h["status"], h["rule"], h["target"]) for h in held] == [("REMEDIATION_SUPPRESSED", "queue-capacity-drift", "builds")]

    # The registry applies commands again; an operator sets the queue: in line, nothing more fires.
    registry.control("options", {"ignoreQueueCapacity": False})
    set_capacity(control, region, "builds", 30)
    deliver(env)
    sweep(env, region, **rules)
    assert queues(control, region)["builds"]["drift"] == 0
    assert len(rule_commands(control, region)) == 2
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_a_region_in_dry_run_only_records_the_drift_rule(env, registry, control):
    region = control.add_region(registry.url, dryRun=True)
    registry.control("queues", {"items": [{"queue": "builds", "capacity": 10, "depth": 0}]})
    registry.control("options", {"ignoreQueueCapacity": True})
    set_capacity(control, region, "builds", 20)
    deliver(env)
    for _ in range(2):
        sweep(env, region, CONTROLPLANE_RULE_QUEUE_DRIFT_MINUTES="0")
    assert rule_commands(control, region) == []
    recorded = control.get(f"/control/v1/regions/{region}/suppressions").json()["items"]
    assert [(r["status"], r["rule"], r["kind"]) for r in recorded] == [("DRY_RUN", "queue-capacity-drift", "QUEUE_CAPACITY")]
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_a_registry_without_queue_reporting_is_fine(env, registry, control):
    region = control.add_region(registry.url)
    sweep(env, region)  # the fake answers 404 until queues are set
    assert queues(control, region) == {}
    assert control.get(f"/control/v1/regions/{region}").json()["health"] == "HEALTHY"
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_hostile_queue_lists_change_no_report(env, registry, control):
    region = control.add_region(registry.url)
    good = {"items": [{"queue": "builds", "capacity": 10, "depth": 1}]}
    registry.control("queues", good)
    sweep(env, region)
    before = sql(env, f"SELECT queue, capacity, depth, reported_at FROM queue_reports WHERE region_id = '{region}'").stdout
    hostile = [
        {"items": [{"queue": "builds", "capacity": -1, "depth": 0}]},
        {"items": [{"queue": "builds", "capacity": 1.5, "depth": 0}]},
        {"items": [{"queue": "builds", "capacity": "10", "depth": 0}]},
        {"items": [{"queue": "builds", "capacity": 10, "depth": 0}, {"queue": "builds", "capacity": 11, "depth": 0}]},
        {"items": [{"queue": "", "capacity": 10, "depth": 0}]},
        {"items": [{"queue": "x" * 201, "capacity": 10, "depth": 0}]},
        {"items": [{"queue": "builds", "capacity": 2 ** 31, "depth": 0}]},
        {"items": [{"queue": "builds", "depth": 0}]},
        {"queues": []},
    ]
    for document in hostile:
        registry.control("queues", document)
        r = sweep(env, region, status=2)
        assert "queues:" in r.stderr, (document, r.stderr)
        assert sql(env, f"SELECT queue, capacity, depth, reported_at FROM queue_reports WHERE region_id = '{region}'").stdout == before
    registry.control("faults", [{"kind": "malformed", "path": "queues", "count": 1}])
    registry.control("queues", good)
    sweep(env, region, status=2)
    assert sql(env, f"SELECT queue, capacity, depth, reported_at FROM queue_reports WHERE region_id = '{region}'").stdout == before
    assert control.get(f"/control/v1/regions/{region}").json()["health"] == "PARTIAL"
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_the_queue_view_needs_the_control_token_and_a_known_region(env, control):
    assert_problem(control.get("/control/v1/regions/no-such-region/queues"), 404)
    r = Internal(env["CONTROLPLANE_INTERNAL_URL"], "wrong").get("/control/v1/regions/no-such-region/queues")
    assert_problem(r, 401)
    assert json.loads(r.text)["status"] == 401
