"""cpctl as operators script it (issue #19 item 5): every list prints a table by default and one
JSON object per line with --json; failures exit with sysexits(3) codes."""
import json
import os
import subprocess
import uuid

import pytest

from console_support import operator
from sql_support import sql
from tenants_support import Internal, cpctl, make_token
from test_trial import new_draft


def run(env, *args, database=True, extra_env=None):
    environment = {**os.environ, **(extra_env or {})}
    return subprocess.run([env["CPCTL"], *args, *(["--database-url", env["DATABASE_URL"]] if database else [])],
                          capture_output=True, text=True, timeout=60, env=environment)


@pytest.fixture(scope="module")
def fleet(env):
    """One row at least in every list."""
    region = "cli-" + uuid.uuid4().hex[:6]
    assert run(env, "regions", "add", "--id", region, "--base-url", "https://registry.example").returncode == 0
    sql(env, f"INSERT INTO nodes (region_id, node_id, container_version, readiness, last_heartbeat_at) "
             f"VALUES ('{region}', 'node-a', 'v1.2.3', 'READY', now())", url_key="CONTROLPLANE_SYNC_DATABASE_URL")
    issued = run(env, "commands", "issue", "--region", region, "--kind", "QUEUE_CAPACITY", "--target", "q", "--capacity", "3",
                 "--reason", "from the cli")
    assert issued.returncode == 0, issued.stderr
    job = run(env, "admin-jobs", "create", "--kind", "SYNC_REGION", "--region", region, "--reason", "from the cli")
    assert job.returncode == 0, job.stderr
    make_token(env, "tenants:read")
    operator(env, "viewer")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])
    api.create_tenant(slug="cli-" + uuid.uuid4().hex[:6])
    assert api.post("/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/cli", "events": ["tenant.created"]}).status_code == 201
    assert run(env, "domains", "add", f"cli-{uuid.uuid4().hex[:6]}.example", "--kind", "free").returncode == 0
    new_draft(env["CONTROLPLANE_URL"])
    return {"region": region, "command": json.loads(issued.stdout), "job": json.loads(job.stdout)}


LISTS = [("tokens", "list"), ("webhooks", "list"), ("tenants", "list"), ("nodes", "list"), ("commands", "list"),
         ("admin-jobs", "list"), ("regions", "list"), ("operators", "list"), ("audit",), ("trials", "list", "--status", "all"),
         ("trials", "attempts"), ("domains", "list", "--kind", "free")]


@pytest.mark.parametrize("command", LISTS, ids=lambda c: " ".join(c))
def test_every_list_prints_a_table_and_json_lines(env, fleet, command):
    table = run(env, *command)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header == header.upper() and len(header.split()) >= 3 and rows, table.stdout[:300]
    listed = run(env, *command, "--json")
    assert listed.returncode == 0, listed.stderr
    objects = [json.loads(line) for line in listed.stdout.splitlines()]
    assert objects and all(isinstance(o, dict) for o in objects)
    assert len(objects) == len(rows)


def test_the_fleet_commands_issue_and_list(env, fleet):
    command, job = fleet["command"], fleet["job"]
    assert command["kind"] == "QUEUE_CAPACITY" and command["params"] == {"capacity": 3} and command["status"] == "PENDING"
    listed = [json.loads(line) for line in run(env, "commands", "list", "--region", fleet["region"], "--json").stdout.splitlines()]
    assert [c["id"] for c in listed] == [command["id"]]
    assert [j["id"] for j in map(json.loads, run(env, "admin-jobs", "list", "--region", fleet["region"], "--json").stdout.splitlines())] == [job["id"]]
    nodes = [json.loads(line) for line in run(env, "nodes", "list", "--region", fleet["region"], "--json").stdout.splitlines()]
    assert [(n["nodeId"], n["readiness"]) for n in nodes] == [("node-a", "READY")]
    actor = "operator:" + subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    assert sql(env, f"SELECT actor, action FROM audit_log WHERE target = 'region:{fleet['region']}' ORDER BY id").stdout.split() == \
        [f"{actor}|region.create", f"{actor}|command.issue", f"{actor}|admin_job.create"]
    bad = run(env, "commands", "issue", "--region", fleet["region"], "--kind", "QUEUE_CAPACITY", "--target", "q", "--reason", "r")
    assert bad.returncode == 65 and "params.capacity" in bad.stderr


def test_exit_codes_follow_sysexits(env, tmp_path):
    assert run(env, "tenants", "list", "--no-such-flag").returncode == 64                      # usage
    assert run(env, "tenants", "show", "no-such-tenant").returncode == 65                      # data refused
    missing = run(env, "keys", "show", str(tmp_path / "missing.pem"), database=False)
    assert missing.returncode == 66 and "cannot read" in missing.stderr                         # input file missing
    unreachable = subprocess.run([env["CPCTL"], "tenants", "list", "--database-url", f"postgresql:///x?host={tmp_path}"],
                                 capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 69 and "cannot connect" in unreachable.stderr             # database unreachable
    key = tmp_path / "key.pem"
    assert run(env, "keys", "generate", "--out", str(key), database=False).returncode == 0
    assert run(env, "keys", "generate", "--out", str(key), database=False).returncode == 73    # cannot create (never overwritten)
    bad_keys = run(env, "webhooks", "create", "--url", "https://receiver.example/h", "--events", "tenant.created",
                   extra_env={"CONTROLPLANE_SECRETS_KEYS": "not-a-key"})
    assert bad_keys.returncode == 78 and "CONTROLPLANE_SECRETS_KEYS" in bad_keys.stderr        # configuration


def test_manual_pages_and_completions_install(tmp_path):
    """The README's production step: a page per subcommand and bash, zsh and fish completions."""
    from conftest import REPO
    r = subprocess.run([os.path.join(REPO, "scripts", "install-cli-docs.sh"), str(tmp_path)], capture_output=True, text=True,
                       timeout=600, env={**os.environ, "BUILD_CONFIG": "debug"})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    pages = os.listdir(tmp_path / "share" / "man" / "man1")
    assert {"cpctl.1", "cpctl.tokens.roll.1", "cpctl.webhooks.rotate-secret.1", "controlplane-sync.deliver.1"} <= set(pages)
    page = (tmp_path / "share" / "man" / "man1" / "cpctl.tokens.roll.1").read_text()
    assert ".Dt CPCTL.TOKENS.ROLL 1" in page and "Fl -grace" in page
    bash = (tmp_path / "share" / "bash-completion" / "completions" / "cpctl").read_text()
    assert "rotate-secret" in bash and "admin-jobs" in bash
    assert (tmp_path / "share" / "zsh" / "site-functions" / "_cpctl").exists()
    assert (tmp_path / "share" / "fish" / "vendor_completions.d" / "controlplane-sync.fish").exists()


def test_node_census_and_an_endpoint_s_delivery_log(env, fleet):
    from test_tenants import deliver
    census = run(env, "nodes", "census", fleet["region"])
    assert census.returncode == 0 and census.stdout.splitlines()[1].split() == ["v1.2.3", "1", "1"], census.stdout
    assert [json.loads(line) for line in run(env, "nodes", "census", fleet["region"], "--json").stdout.splitlines()] == \
        [{"containerVersion": "v1.2.3", "nodes": 1, "ready": 1}]
    assert run(env, "nodes", "census", "no-such-region").returncode == 65
    sql(env, "UPDATE webhook_endpoints SET deleted_at = now() WHERE deleted_at IS NULL")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])
    endpoint = api.post("/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/nobody", "events": ["tenant.created"]}).json()["id"]
    api.create_tenant(slug="cli-" + uuid.uuid4().hex[:6])
    deliver(env)
    attempts = [json.loads(line) for line in run(env, "webhooks", "deliveries", endpoint, "--json").stdout.splitlines()]
    # The test's schedule retries at once: every attempt, newest first, none answered.
    assert [(a["eventType"], a["attempt"], a["statusCode"]) for a in attempts] == [("tenant.created", n, None) for n in (4, 3, 2, 1)]
    assert all(a["error"] for a in attempts)
    table = run(env, "webhooks", "deliveries", endpoint).stdout.splitlines()
    assert table[0].split()[:3] == ["TIME", "MESSAGE", "EVENT"] and len(table) == 1 + len(attempts)
    assert run(env, "webhooks", "deliveries", str(uuid.uuid4())).returncode == 65
