"""The governance hub: database-enforced diagnostic truth, the rule table, the control API's
authentication and bad inputs."""
import time
import uuid

import pytest
import requests

from conftest import assert_problem
from governance_support import control, registry, Control, FakeRegistry, payload_item, run_sync, sql, sql_refused
from tenants_support import make_token



@pytest.fixture
def synced_region(env, registry, control):
    registry.add_items([payload_item("truth", b'{"finding":"x"}', status="FAILED")])
    region = control.add_region(registry.url)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    return region


# --- invariant 2: only the sync writes job data; revisions are append-only ---------------

@pytest.mark.parametrize("url_key,refusal", [("DATABASE_URL", "append-only"), ("CONTROLPLANE_DATABASE_URL", "permission denied"),
                                             ("CONTROLPLANE_SYNC_DATABASE_URL", "permission denied")])
def test_nobody_updates_or_deletes_a_revision(env, synced_region, url_key, refusal):
    """The owner (who holds every grant) is stopped by the append-only trigger; the service
    roles by their grants. Each statement is otherwise valid (the payload update keeps the
    hash check true), so only the guard under test can refuse it."""
    for statement in (f"UPDATE job_revisions SET status = 'COMPLETED' WHERE region_id = '{synced_region}'",
                      f"UPDATE job_revisions SET payload = 'x', payload_sha256 = sha256('x') WHERE region_id = '{synced_region}'",
                      f"DELETE FROM job_revisions WHERE region_id = '{synced_region}'",
                      "TRUNCATE job_revisions CASCADE"):
        r = sql_refused(env, statement, url_key=url_key)
        assert refusal in r.stderr, (url_key, statement, r.stderr)
    assert sql(env, f"SELECT status FROM job_revisions WHERE region_id = '{synced_region}'").stdout.strip() == "FAILED"


@pytest.mark.parametrize("url_key", ["DATABASE_URL", "CONTROLPLANE_DATABASE_URL"])
def test_only_the_sync_role_writes_jobs(env, synced_region, url_key):
    for statement in (f"UPDATE jobs SET status = 'COMPLETED' WHERE region_id = '{synced_region}'",
                      f"DELETE FROM jobs WHERE region_id = '{synced_region}'",
                      f"INSERT INTO jobs (region_id, job_id, status, updated_at, current_revision, payload_sha256) "
                      f"VALUES ('{synced_region}', 'forged', 'COMPLETED', now(), 1, sha256('x'))"):
        r = sql_refused(env, statement, url_key=url_key)
        assert "permission denied" in r.stderr or "only the sync" in r.stderr or "never deleted" in r.stderr
    assert sql(env, f"SELECT status FROM jobs WHERE region_id = '{synced_region}'").stdout.strip() == "FAILED"
    # The sync role may update (it does so on every sweep), but never delete: it holds no DELETE grant.
    assert "permission denied" in sql_refused(env, f"DELETE FROM jobs WHERE region_id = '{synced_region}'",
                                              url_key="CONTROLPLANE_SYNC_DATABASE_URL").stderr


def test_a_revision_whose_hash_does_not_match_its_bytes_is_refused(env, synced_region):
    r = sql_refused(env, f"""INSERT INTO job_revisions (region_id, job_id, revision, status, updated_at, updated_at_text, payload, payload_sha256)
                             VALUES ('{synced_region}', 'truth', 9, 'X', now(), 'x', 'abc', sha256('abd'))""",
                    url_key="CONTROLPLANE_SYNC_DATABASE_URL")
    assert "check" in r.stderr


# --- rules ----------------------------------------------------------------------------------

def now_iso(offset=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def failures(node, count, start=0, status="FAILED_RUNTIME_ENVIRONMENT"):
    return [payload_item(f"{node}-fail-{start + i}", b'{"nodeId":"%s","error":"runtime"}' % node.encode(), status=status,
                         updated=now_iso(-60)) for i in range(count)]


def commands(control, region, kind=None):
    items = control.get("/control/v1/commands", params={"region": region, "limit": 1000}).json()["items"]
    return [c for c in items if kind is None or c["kind"] == kind]


NO_BRAKE = {"CONTROLPLANE_RULE_REIMAGE_MAX_SHARE": "1"}  # the threshold alone (the brake has its own test)


def test_reimage_rule_fires_once_per_node_and_not_below_the_threshold(env, registry, control):
    region = control.add_region(registry.url)
    registry.add_items(failures("node-a", 2) + failures("node-b", 3))
    assert run_sync(env, "registry-sweep", "--region", region, extra=NO_BRAKE).returncode == 0
    reimages = commands(control, region, "REIMAGE_NODE")
    assert [c["target"] for c in reimages] == ["node-b"]
    assert reimages[0]["ruleId"] == "reimage-node-on-runtime-failures" and reimages[0]["actor"] == "rule-engine"
    registry.add_items(failures("node-b", 4, start=10) + failures("node-a", 1, start=10))
    assert run_sync(env, "registry-sweep", "--region", region, extra=NO_BRAKE).returncode == 0
    reimages = commands(control, region, "REIMAGE_NODE")
    assert sorted(c["target"] for c in reimages) == ["node-a", "node-b"]  # node-a reached 3; node-b not issued again
    audited = sql(env, f"SELECT actor, action, summary FROM audit_log WHERE target = 'region:{region}' AND action = 'command.issue' "
                       "ORDER BY id").stdout.split("\n")[:-1]
    assert audited == ["rule:reimage-node-on-runtime-failures|command.issue|REIMAGE_NODE node-b",
                       "rule:reimage-node-on-runtime-failures|command.issue|REIMAGE_NODE node-a"]  # once each, by the rule
    # Old failures (outside the window) do not count.
    other = control.add_region(registry.url)
    old = [payload_item(f"old-{i}", b'{"nodeId":"node-c"}', status="FAILED_RUNTIME_ENVIRONMENT", updated="2020-01-01T00:00:00Z")
           for i in range(5)]
    registry.control("reset", {})
    registry.add_items(old)
    assert run_sync(env, "registry-sweep", "--region", other, extra=NO_BRAKE).returncode == 0
    assert commands(control, other, "REIMAGE_NODE") == []


def test_the_brake_reimages_at_most_its_share_and_records_the_rest(env, registry, control):
    """Ten nodes, all failing: 20 % (two) are re-imaged, eight firings are held back and shown,
    once each — a second sweep issues and records nothing more."""
    nodes = [f"bn-{i}" for i in range(10)]
    registry.control("nodes", {"items": [{"nodeId": n, "containerVersion": "2.0.0", "readiness": "READY",
                                          "lastHeartbeatAt": now_iso()} for n in nodes]})
    registry.add_items([item for n in nodes for item in failures(n, 3)])
    region = control.add_region(registry.url)
    r = run_sync(env, "registry-sweep", "--region", region)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("REMEDIATION_SUPPRESSED") == 8, r.stderr
    reimaged = sorted(c["target"] for c in commands(control, region, "REIMAGE_NODE"))
    assert len(reimaged) == 2, reimaged
    held = control.get(f"/control/v1/regions/{region}/suppressions")
    assert held.status_code == 200
    items = held.json()["items"]
    assert sorted(i["target"] for i in items) == sorted(set(nodes) - set(reimaged)), items
    assert {(i["status"], i["rule"], i["kind"]) for i in items} == {("REMEDIATION_SUPPRESSED", "reimage-node-on-runtime-failures", "REIMAGE_NODE")}
    assert "at most 2" in items[0]["reason"], items[0]
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    assert len(commands(control, region, "REIMAGE_NODE")) == 2
    assert len(control.get(f"/control/v1/regions/{region}/suppressions").json()["items"]) == 8
    assert_problem(control.get("/control/v1/regions/no-such-region/suppressions"), 404)


def test_a_region_in_dry_run_records_what_would_fire_and_issues_nothing(env, registry, control):
    region = control.add_region(registry.url, dryRun=True)
    assert control.get(f"/control/v1/regions/{region}").json()["dryRun"] is True
    registry.add_items(failures("dry-a", 3))
    for _ in range(2):
        assert run_sync(env, "registry-sweep", "--region", region, extra=NO_BRAKE).returncode == 0
    assert commands(control, region) == []
    recorded = control.get(f"/control/v1/regions/{region}/suppressions").json()["items"]
    assert [(i["status"], i["rule"], i["kind"], i["target"]) for i in recorded] == [
        ("DRY_RUN", "reimage-node-on-runtime-failures", "REIMAGE_NODE", "dry-a")], recorded  # once, not per sweep
    assert recorded[0]["reason"].startswith("dry run: would issue REIMAGE_NODE dry-a")
    # Out of dry run, the same firing issues its command.
    assert control.patch(f"/control/v1/regions/{region}", {"dryRun": False}).json()["dryRun"] is False
    assert run_sync(env, "registry-sweep", "--region", region, extra=NO_BRAKE).returncode == 0
    assert [c["target"] for c in commands(control, region, "REIMAGE_NODE")] == ["dry-a"]
    assert_problem(control.patch(f"/control/v1/regions/{region}", {"dryRun": "yes"}), 400)
    assert control.get(f"/control/v1/regions/{region}").json()["dryRun"] is False


def test_a_brake_share_outside_zero_to_one_is_refused(env, registry, control):
    region = control.add_region(registry.url)
    r = run_sync(env, "registry-sweep", "--region", region, extra={"CONTROLPLANE_RULE_REIMAGE_MAX_SHARE": "1.5"})
    assert r.returncode == 78 and "CONTROLPLANE_RULE_REIMAGE_MAX_SHARE" in r.stderr, (r.returncode, r.stderr)


def no_region_routed_away(env):
    """The brake routes one region's partners at a time: regions earlier tests left routed
    away are set aside (disabled), so each routing test starts from a quiet fleet."""
    sql(env, "UPDATE regions SET enabled = false WHERE partner_routing_to IS NOT NULL")


def sick_items(prefix):
    return ([payload_item(f"{prefix}-d-{i}", b"{}", status="DEGRADED", updated=now_iso(-30)) for i in range(12)]
            + [payload_item(f"{prefix}-ok-{i}", b"{}", status="COMPLETED", updated=now_iso(-30)) for i in range(3)])


def test_mostly_degraded_region_fails_over_partner_routing_once_then_returns_after_the_hold(env, control):
    no_region_routed_away(env)
    degraded, healthy = FakeRegistry(), FakeRegistry()
    try:
        healthy_region = control.add_region(healthy.url, region="a-" + uuid.uuid4().hex[:6])
        sick_region = control.add_region(degraded.url, region="b-" + uuid.uuid4().hex[:6])
        degraded.add_items([payload_item(f"d-{i}", b"{}", status="DEGRADED", updated=now_iso(-30)) for i in range(12)]
                           + [payload_item(f"ok-{i}", b"{}", status="COMPLETED", updated=now_iso(-30)) for i in range(3)])
        for region in (healthy_region, sick_region):
            run_sync(env, "registry-sweep", "--region", region)
        state = control.get(f"/control/v1/regions/{sick_region}").json()
        assert state["health"] == "DEGRADED" and "12 of 15" in state["healthReason"]
        assert state["partnerRoutingTo"] == healthy_region
        routed = commands(control, healthy_region, "PARTNER_ROUTING")
        assert len(routed) == 1 and routed[0]["target"] == sick_region and routed[0]["params"] == {"routeTo": healthy_region}
        run_sync(env, "registry-sweep", "--region", sick_region)   # still degraded: no second command
        assert len(commands(control, healthy_region, "PARTNER_ROUTING")) == 1
        # The jobs recover: the region is healthy again, but its partners stay away for the
        # hold (15 minutes by default) — held once, shown — and then come back.
        degraded.add_items([payload_item(f"d-{i}", b'{"v":2}', status="COMPLETED", updated=now_iso(-10)) for i in range(12)])
        for _ in range(2):
            assert run_sync(env, "registry-sweep", "--region", sick_region).returncode == 0
        state = control.get(f"/control/v1/regions/{sick_region}").json()
        assert state["health"] == "HEALTHY" and state["partnerRoutingTo"] == healthy_region
        assert commands(control, sick_region, "PARTNER_ROUTING") == []
        held = control.get(f"/control/v1/regions/{sick_region}/suppressions").json()["items"]
        assert [(h["rule"], h["kind"], h["target"]) for h in held] == [("partner-routing-return", "PARTNER_ROUTING", sick_region)], held
        assert run_sync(env, "registry-sweep", "--region", sick_region,
                        extra={"CONTROLPLANE_RULE_ROUTING_HOLD_MINUTES": "0"}).returncode == 0
        state = control.get(f"/control/v1/regions/{sick_region}").json()
        assert state["health"] == "HEALTHY" and state["partnerRoutingTo"] is None
        back = commands(control, sick_region, "PARTNER_ROUTING")
        assert len(back) == 1 and back[0]["params"] == {"routeTo": sick_region}
        # Rules never touched job data: every revision came from the registry.
        assert sql(env, f"SELECT count(*) FROM job_revisions WHERE region_id = '{sick_region}'").stdout.strip() == "27"
    finally:
        degraded.stop()
        healthy.stop()
        for region in (locals().get("healthy_region"), locals().get("sick_region")):
            if region:
                control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_only_one_region_is_routed_away_at_a_time(env, control):
    no_region_routed_away(env)
    healthy, first, second = FakeRegistry(), FakeRegistry(), FakeRegistry()
    regions = []
    try:
        healthy_region = control.add_region(healthy.url, region="a-" + uuid.uuid4().hex[:6])
        regions = [healthy_region, control.add_region(first.url), control.add_region(second.url)]
        first.add_items(sick_items("f"))
        second.add_items(sick_items("s"))
        for region in regions:
            assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
        states = {r: control.get(f"/control/v1/regions/{r}").json() for r in regions[1:]}
        assert all(s["health"] == "DEGRADED" for s in states.values())
        assert [s["partnerRoutingTo"] for s in states.values()] == [healthy_region, None]
        assert [c["target"] for c in commands(control, healthy_region, "PARTNER_ROUTING")] == [regions[1]]
        held = control.get(f"/control/v1/regions/{regions[2]}/suppressions").json()["items"]
        assert [(h["rule"], h["target"]) for h in held] == [("partner-routing-failover", regions[2])], held
        assert regions[1] in held[0]["reason"]
    finally:
        for fake in (healthy, first, second):
            fake.stop()
        for region in regions:
            control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_healthy_region_with_few_degraded_jobs_stays_healthy(env, registry, control):
    registry.add_items([payload_item(f"x-{i}", b"{}", status="DEGRADED", updated=now_iso(-30)) for i in range(5)])
    region = control.add_region(registry.url)
    # Past health: DEGRADED, so "HEALTHY" afterwards is the rule's verdict, not a new region's default.
    sql(env, f"UPDATE regions SET health = 'DEGRADED', health_reason = 'set by the test' WHERE id = '{region}'")
    r = run_sync(env, "registry-sweep", "--region", region)
    assert r.returncode == 0, r.stderr
    assert sql(env, f"SELECT count(*) FROM jobs WHERE region_id = '{region}'").stdout.strip() == "5"
    state = control.get(f"/control/v1/regions/{region}").json()
    assert state["lastSweepOutcome"] == "OK"
    assert state["health"] == "HEALTHY", state  # 5 of 5 DEGRADED, but below the minimum count of 10


def test_rules_are_listed(control):
    rules = control.get("/control/v1/rules").json()["items"]
    assert [r["id"] for r in rules] == ["reimage-node-on-runtime-failures", "region-health", "partner-routing-failover",
                                         "partner-routing-return", "queue-capacity-drift"]


def test_completed_with_findings_is_counted_per_node_and_partner_and_drives_no_command(env, registry, control):
    def finding(job, payload, status="COMPLETED_WITH_FINDINGS", minutes_ago=1):
        return payload_item(job, payload, status=status, updated=now_iso(-60 * minutes_ago))
    registry.add_items(
        [finding(f"fa-{i}", b'{"nodeId":"node-a","partnerId":"acme","findings":[1]}') for i in range(3)]
        + [finding(f"fb-{i}", b'{ "partnerId" : "globex", "nodeId":"node-b"}') for i in range(2)]
        + [finding("fn", b'{"findings":[]}'),                                        # names neither
           finding("flong", b'{"nodeId":"node-a","partnerId":"%s"}' % (b"p" * 201)),  # too long: no partner
           finding("fnum", b'{"nodeId":"node-a","partnerId":42}'),                    # not a string: no partner
           finding("ok", b'{"nodeId":"node-a","partnerId":"acme"}', status="COMPLETED"),
           finding("old", b'{"nodeId":"node-c","partnerId":"initech"}', minutes_ago=120)])
    region = control.add_region(registry.url)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    counted = control.get(f"/control/v1/regions/{region}/findings")
    assert counted.status_code == 200, counted.text
    body = counted.json()
    assert body["windowMinutes"] == 30 and body["total"] == 8
    assert body["byNode"] == [{"nodeId": "node-a", "count": 5}, {"nodeId": "node-b", "count": 2}, {"nodeId": None, "count": 1}]
    assert body["byPartner"] == [{"partnerId": "acme", "count": 3}, {"partnerId": None, "count": 3},
                                 {"partnerId": "globex", "count": 2}]  # ties by name, none last
    wider = control.get(f"/control/v1/regions/{region}/findings", params={"windowMinutes": 180}).json()
    assert wider["total"] == 9 and {"partnerId": "initech", "count": 1} in wider["byPartner"]
    assert commands(control, region) == []  # counted and shown, nothing issued
    # The payload is still exactly as sent.
    raw = control.get(f"/control/v1/regions/{region}/jobs/fb-0/canonical-payload")
    assert raw.content == b'{ "partnerId" : "globex", "nodeId":"node-b"}'
    for params in ({"windowMinutes": "abc"}, {"windowMinutes": 0}, {"windowMinutes": 10081}, {"window": 5}):
        assert_problem(control.get(f"/control/v1/regions/{region}/findings", params=params), 400)
    assert_problem(control.get("/control/v1/regions/no-such-region/findings"), 404)


# --- control API auth and bad inputs ------------------------------------------------------

def test_control_api_refuses_missing_wrong_and_service_tokens(env, internal):
    _, service_token = make_token(env, "all")
    for headers in ({}, {"authorization": "Bearer wrong-token-wrong-token-wrong-token"},
                    {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"},
                    {"authorization": f"Bearer {service_token}"},
                    {"authorization": f"Basic {env['PPOS_CONTROL_TOKEN']}"}):
        for path in ("/control/v1/regions", "/control/v1/jobs", "/control/v1/commands", "/control/v1/nodes"):
            r = requests.get(internal + path, headers=headers)
            body = assert_problem(r, 401)
            assert env["PPOS_CONTROL_TOKEN"] not in r.text
    # And the control token is no service token.
    r = requests.get(internal + "/internal/tenants-directory", headers={"authorization": f"Bearer {env['PPOS_CONTROL_TOKEN']}"})
    assert_problem(r, 401)


def test_control_token_never_reaches_logs(env):
    with open(env["CONTROLPLANE_LOG"]) as f:
        assert env["PPOS_CONTROL_TOKEN"] not in f.read()


@pytest.mark.parametrize("body,field", [
    ({"region": "nowhere", "kind": "QUEUE_CAPACITY", "target": "q", "params": {"capacity": 1}, "reason": "r"}, "region"),
    ({"region": "x", "kind": "SELF_DESTRUCT", "target": "q", "reason": "r"}, "kind"),
    ({"region": "x", "kind": "QUEUE_CAPACITY", "target": "q", "params": {"capacity": -1}, "reason": "r"}, "params.capacity"),
    ({"region": "x", "kind": "QUEUE_CAPACITY", "target": "q", "params": {"capacity": 1}, "reason": ""}, "reason"),
    ({"region": "x", "kind": "PARTNER_ROUTING", "target": "q", "params": {"routeTo": "Not A Region"}, "reason": "r"}, "params.routeTo"),
    ({"region": "x", "kind": "REIMAGE_NODE", "target": "", "reason": "r"}, "target"),
])
def test_bad_commands_are_422(control, body, field):
    problem = assert_problem(control.post("/control/v1/commands", body), 422)
    assert field in [p["name"] for p in problem["invalidParams"]]


def test_bad_region_and_job_requests(control, registry):
    assert_problem(control.post("/control/v1/regions", {"id": "Bad_Id", "baseUrl": "http://x"}), 422)
    assert_problem(control.post("/control/v1/regions", {"id": "ok-id", "baseUrl": "ftp://x"}), 422)
    assert_problem(control.post("/control/v1/regions", {"id": "ok-id", "baseUrl": "http://x", "pageSize": 0}), 422)
    region = control.add_region(registry.url)
    assert_problem(control.post("/control/v1/regions", {"id": region, "baseUrl": registry.url}), 409)
    assert_problem(control.get("/control/v1/regions/nowhere"), 404)
    assert_problem(control.get(f"/control/v1/regions/{region}/jobs/none"), 404)
    assert_problem(control.get(f"/control/v1/regions/{region}/jobs/none/canonical-payload"), 404)
    assert_problem(control.get("/control/v1/jobs", params={"limit": 0}), 400)
    assert_problem(control.get("/control/v1/jobs", params={"cursor": "!!"}), 400)
    assert control.get("/control/v1/jobs", params={"region": "x' OR '1'='1"}).json()["items"] == []
    assert_problem(control.get("/control/v1/nodes", params={"readiness": "HAPPY"}), 400)
    assert_problem(control.post("/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": "nowhere", "reason": "r"}), 422)
    assert_problem(control.get(f"/control/v1/admin-jobs/{uuid.uuid4()}"), 404)
    assert_problem(control.get("/control/v1/commands/not-a-uuid"), 404)


def test_region_with_jobs_cannot_be_removed_only_disabled(env, synced_region, control):
    assert_problem(control.delete(f"/control/v1/regions/{synced_region}"), 409)
    assert control.patch(f"/control/v1/regions/{synced_region}", {"enabled": False}).json()["enabled"] is False
    empty = control.add_region("http://127.0.0.1:9")
    assert control.delete(f"/control/v1/regions/{empty}").status_code == 204


def test_jobs_list_paginates(env, registry, control):
    registry.control("generate", {"count": 25, "prefix": "pg"})
    region = control.add_region(registry.url)
    run_sync(env, "registry-sweep", "--region", region)
    seen, cursor = [], None
    while True:
        page = control.get("/control/v1/jobs", params={"region": region, "limit": 10, **({"cursor": cursor} if cursor else {})}).json()
        seen += [j["jobId"] for j in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 25 == len(set(seen))


def test_cpctl_regions_and_keys(env, tmp_path):
    import subprocess, json
    cp = lambda *a: subprocess.run([env["CPCTL"], *a, "--database-url", env["DATABASE_URL"]], capture_output=True, text=True)
    rid = "cli-" + uuid.uuid4().hex[:6]
    r = cp("regions", "add", "--id", rid, "--base-url", "http://127.0.0.1:9", "--rate", "2", "--page-size", "50")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["requestsPerSecond"] == 2.0
    r = cp("regions", "set", rid, "--disable-sweep")
    assert json.loads(r.stdout)["enabled"] is False
    assert cp("regions", "add", "--id", "Bad", "--base-url", "http://x").returncode != 0
    assert cp("regions", "remove", rid).returncode == 0
    out = tmp_path / "k.pem"
    r = subprocess.run([env["CPCTL"], "keys", "generate", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["keys"][0]["crv"] == "Ed25519"
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    public = tmp_path / "k.pub.pem"
    assert "PUBLIC KEY" in public.read_text() and "PRIVATE" not in public.read_text()
    before = out.read_bytes()
    assert subprocess.run([env["CPCTL"], "keys", "generate", "--out", str(out)], capture_output=True).returncode != 0
    assert out.read_bytes() == before  # never overwritten
    # A symlink planted at the path is refused, not followed to create a key elsewhere.
    planted = tmp_path / "planted.pem"
    target = tmp_path / "elsewhere.pem"
    planted.symlink_to(target)
    assert subprocess.run([env["CPCTL"], "keys", "generate", "--out", str(planted)], capture_output=True).returncode != 0
    assert not target.exists()
