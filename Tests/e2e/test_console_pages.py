"""The console's pages beyond the review queue, over real HTTP through nginx's internal server:
tenants, webhooks, governance (after a real sweep of the fake registry), access. Each change
is checked for its effect, its single audit row (actor, trace id) and the refusals that must
change nothing: a role too low, a missing confirmation, a bad value."""
import base64
import hashlib
import json
import re
import time
import uuid

import pytest
import requests

from console_support import csrf_of, signed_in, submitted_draft
from governance_support import control, payload_item, registry, run_sync  # noqa: F401 (fixtures)
from sql_support import sql
from tenants_support import Internal, make_token

HOSTILE = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def page(env, browser, path, status=200):
    r = browser.get(env["CONTROLPLANE_CONSOLE_URL"] + path, allow_redirects=False)
    assert r.status_code == status, (path, r.status_code, r.text[:500])
    return r


def post(env, browser, path, fields, csrf, trace=None):
    headers = {"x-trace-id": trace} if trace else {}
    return browser.post(env["CONTROLPLANE_CONSOLE_URL"] + path, data={"csrf": csrf, **fields}, headers=headers, allow_redirects=False)


def audit_rows(env, target):
    return sql(env, f"SELECT actor, action, trace_id, reason FROM audit_log WHERE target = '{target}' ORDER BY id").stdout.splitlines()


def new_tenant(env, name="Console Co"):
    _, token = make_token(env, "tenants:write")
    r = Internal(env["CONTROLPLANE_INTERNAL_URL"], token).post(
        "/internal/tenants", {"slug": "con-" + uuid.uuid4().hex[:8], "displayName": name, "contactEmail": "ops@console-test.example"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def activate(env, tenant):
    sql(env, f"UPDATE tenants_master SET status = 'active' WHERE id = '{tenant}'")


def status_of(env, tenant):
    return sql(env, f"SELECT status FROM tenants_master WHERE id = '{tenant}'").stdout.strip()


def test_every_page_renders_for_a_viewer_escaped_small_and_with_its_nav(env, registry, control):  # noqa: F811
    tenant = new_tenant(env, HOSTILE)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    registry.control("nodes", {"items": [{"nodeId": HOSTILE, "containerVersion": "2.0.0", "readiness": "READY", "lastHeartbeatAt": now}]})
    hostile_payload = json.dumps({"note": HOSTILE}).encode()  # a registry sends JSON; a hostile string inside
    registry.add_items([payload_item("job-xss", hostile_payload)])
    region = control.add_region(registry.url)
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    _, viewer = signed_in(env, "viewer")
    paths = ["", "trials", "signup-attempts", "domains", "tenants", f"tenants/{tenant}", "tenants?q=console", "webhooks", "regions", f"regions/{region}",
             f"nodes?region={region}", f"jobs?region={region}", f"jobs/{region}/job-xss", "commands", "admin-jobs", "rules", "access", "audit"]
    for path in paths:
        r = page(env, viewer, path)
        assert r.headers["content-type"] == "text/html; charset=utf-8" and "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert len(r.content) < 100_000, (path, len(r.content))
        assert '<a href="/console/access"' in r.text, path  # the nav bar
        assert "<script" not in r.text and "<img" not in r.text, path  # nothing injected
    assert ESCAPED in page(env, viewer, f"tenants/{tenant}").text
    assert ESCAPED in page(env, viewer, f"nodes?region={region}").text
    job = page(env, viewer, f"jobs/{region}/job-xss").text
    assert ESCAPED in job and hashlib.sha256(hostile_payload).hexdigest() in job
    # Unknown filters and forged cursors are refused with a page (no nav: it is not an answer).
    for path in ("tenants?colour=red", "tenants?status=sleeping", "audit?cursor=AAAA", "nodes?readiness=SLEEPY"):
        r = page(env, viewer, path, status=400)
        assert '<a href="/console/access"' not in r.text, path
    page(env, viewer, f"tenants/{uuid.uuid4()}", status=404)
    page(env, viewer, "tenants/not-a-uuid", status=404)
    page(env, viewer, f"jobs/{region}/no-such-job", status=404)


def test_lists_are_keyset_paginated_and_keep_their_filters(env):
    marker = "pager" + uuid.uuid4().hex[:6]
    made = {n: new_tenant(env, f"{marker} {n}") for n in range(53)}
    ids = sorted(made.values())
    _, viewer = signed_in(env, "viewer")
    first = page(env, viewer, f"tenants?q={marker}").text
    shown = re.findall(r'href="/console/tenants/([0-9a-f-]{36})"', first)
    assert shown == ids[:50]
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert f"q={marker}" in next_link and "cursor=" in next_link
    second = viewer.get(env["CONTROLPLANE_INTERNAL_URL"] + next_link).text
    assert re.findall(r'href="/console/tenants/([0-9a-f-]{36})"', second) == ids[50:]
    assert 'rel="next"' not in second
    # A search's % and _ are characters, not wildcards.
    assert "No tenant matches." in page(env, viewer, "tenants?q=pager%25").text
    assert "No tenant matches." in page(env, viewer, "tenants?q=pager_" + marker[6:]).text
    assert re.findall(r'href="/console/tenants/([0-9a-f-]{36})"', page(env, viewer, f"tenants?q={marker.upper()} 5").text) == \
        sorted(made[n] for n in made if str(n).startswith("5"))  # any case; "… 5", "… 50" to "… 52"


def test_an_operator_suspends_a_tenant_and_deprovisions_it_after_a_confirmation(env):
    tenant = new_tenant(env)
    activate(env, tenant)
    name, operator = signed_in(env, "operator")
    csrf = csrf_of(page(env, operator, f"tenants/{tenant}").text)
    assert post(env, operator, f"tenants/{tenant}/suspend", {"reason": " "}, csrf).status_code == 422  # a reason is required
    assert status_of(env, tenant) == "active"
    r = post(env, operator, f"tenants/{tenant}/suspend", {"reason": "unpaid invoice"}, csrf, trace="con-suspend-1")
    assert r.status_code == 303 and r.headers["location"] == f"/console/tenants/{tenant}?done=suspend"
    assert status_of(env, tenant) == "suspended"
    assert audit_rows(env, f"tenant:{tenant}")[-1] == f"operator:{name}|tenant.suspend|con-suspend-1|unpaid invoice"
    shown = page(env, operator, f"tenants/{tenant}?done=suspend").text
    assert "Suspended." in shown and "unpaid invoice" in shown  # the timeline
    # Deprovisioning: the first post only asks again; nothing changes, nothing is audited.
    before = len(audit_rows(env, f"tenant:{tenant}"))
    asked = post(env, operator, f"tenants/{tenant}/deprovision", {"reason": "closed account"}, csrf)
    assert asked.status_code == 200 and "Deprovision this tenant?" in asked.text and 'name="confirm" value="yes"' in asked.text
    assert status_of(env, tenant) == "suspended" and len(audit_rows(env, f"tenant:{tenant}")) == before
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', asked.text))
    done = operator.post(env["CONTROLPLANE_CONSOLE_URL"] + f"tenants/{tenant}/deprovision", data=fields,
                         headers={"x-trace-id": "con-deprov-1"}, allow_redirects=False)
    assert done.status_code == 303 and status_of(env, tenant) == "deprovisioning"
    assert audit_rows(env, f"tenant:{tenant}")[-1] == f"operator:{name}|tenant.deprovision|con-deprov-1|closed account"
    assert len(audit_rows(env, f"tenant:{tenant}")) == before + 1
    # An illegal transition is a 409 page, and changes nothing.
    assert post(env, operator, f"tenants/{tenant}/resume", {}, csrf).status_code == 409
    assert status_of(env, tenant) == "deprovisioning"


def test_a_reviewer_cannot_act_on_tenants(env):
    tenant = new_tenant(env)
    activate(env, tenant)
    _, reviewer = signed_in(env, "reviewer")
    shown = page(env, reviewer, f"tenants/{tenant}").text
    assert f"/console/tenants/{tenant}/suspend" not in shown
    refused = post(env, reviewer, f"tenants/{tenant}/suspend", {"reason": "x"}, csrf_of(shown))
    assert refused.status_code == 403 and "operator role" in refused.text
    assert status_of(env, tenant) == "active" and not any("tenant.suspend" in row for row in audit_rows(env, f"tenant:{tenant}"))


def test_webhook_endpoints_are_disabled_enabled_and_dead_messages_resent(env):
    _, token = make_token(env, "webhooks:manage")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], token)
    created = api.post("/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks", "events": ["tenant.created"]})
    assert created.status_code == 201, created.text
    endpoint = created.json()["id"]
    tenant = new_tenant(env)
    message = sql(env, f"SELECT id, message_id FROM webhook_outbox WHERE endpoint_id = '{endpoint}'").stdout.strip().split("|")
    sql(env, f"UPDATE webhook_outbox SET status = 'dead', attempts = 8, last_error = 'HTTP 500' WHERE id = {message[0]}")
    name, operator = signed_in(env, "operator")
    shown = page(env, operator, f"webhooks/{endpoint}").text
    assert message[1] in shown and f"/messages/{message[0]}/resend" in shown
    assert message[1] in page(env, operator, f"tenants/{tenant}").text  # the tenant's deliveries
    csrf = csrf_of(shown)
    r = post(env, operator, f"webhooks/{endpoint}/messages/{message[0]}/resend", {}, csrf, trace="con-resend-1")
    assert r.status_code == 303
    assert "Queued again with the same webhook-id." in page(env, operator, r.headers["location"].removeprefix("/console/")).text
    after = sql(env, f"SELECT status, message_id, attempts, next_attempt_at <= now() FROM webhook_outbox WHERE id = {message[0]}").stdout.strip()
    assert after == f"pending|{message[1]}|8|t"  # the same webhook-id, due now
    assert audit_rows(env, f"webhook_message:{message[1]}") == [f"operator:{name}|webhook_message.resend|con-resend-1|"]
    again = post(env, operator, f"webhooks/{endpoint}/messages/{message[0]}/resend", {}, csrf)
    assert again.status_code == 409 and "Only a dead message" in again.text
    # Disable, then enable: the endpoint's state follows, each change audited once.
    assert post(env, operator, f"webhooks/{endpoint}/disable", {"reason": "receiver down"}, csrf, trace="con-off-1").status_code == 303
    assert sql(env, f"SELECT disabled_at IS NOT NULL FROM webhook_endpoints WHERE id = '{endpoint}'").stdout.strip() == "t"
    assert post(env, operator, f"webhooks/{endpoint}/enable", {}, csrf, trace="con-on-1").status_code == 303
    assert sql(env, f"SELECT disabled_at IS NULL FROM webhook_endpoints WHERE id = '{endpoint}'").stdout.strip() == "t"
    assert audit_rows(env, f"webhook_endpoint:{endpoint}")[-2:] == [
        f"operator:{name}|webhook_endpoint.disable|con-off-1|receiver down", f"operator:{name}|webhook_endpoint.enable|con-on-1|"]
    assert post(env, operator, f"webhooks/{endpoint}/mute", {}, csrf).status_code == 404
    assert post(env, operator, f"webhooks/{uuid.uuid4()}/messages/{message[0]}/resend", {}, csrf).status_code == 404


def test_a_region_and_its_jobs_appear_after_a_sweep_with_the_exact_payload_bytes(env, registry, control):  # noqa: F811
    body = b'{"b": 1,  "a":"\xc3\xa9",\n "n": 1.50}'  # spacing, key order and number form are the registry's
    registry.add_items([payload_item("job-exact", body)])
    region = control.add_region(registry.url)
    _, viewer = signed_in(env, "viewer")
    assert region in page(env, viewer, "regions").text
    assert "No sweep yet." in page(env, viewer, f"regions/{region}").text
    assert run_sync(env, "registry-sweep", "--region", region).returncode == 0
    shown = page(env, viewer, f"regions/{region}").text
    assert re.search(r"<td>OK</td>|status-OK", shown)
    assert f'href="/console/jobs/{region}/job-exact"' in page(env, viewer, f"jobs?region={region}").text
    job = page(env, viewer, f"jobs/{region}/job-exact").text
    assert hashlib.sha256(body).hexdigest() in job
    assert '{&quot;b&quot;: 1,  &quot;a&quot;:&quot;é&quot;,\n &quot;n&quot;: 1.50}' in job  # as stored, escaped
    download = page(env, viewer, f"jobs/{region}/job-exact/payload?revision=1")
    assert download.content == body and download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["repr-digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    page(env, viewer, f"jobs/{region}/job-exact/payload?revision=9", status=404)
    # Three more revisions: the newest three are shown inline, the oldest only as a download.
    sql(env, f"""INSERT INTO job_revisions (region_id, job_id, revision, status, updated_at, updated_at_text, payload, payload_sha256)
                 SELECT '{region}', 'job-exact', r, 'COMPLETED', now(), '2026-11-2' || r || 'T10:00:00Z', p, sha256(p)
                 FROM generate_series(2, 4) AS r, LATERAL (SELECT convert_to('{{"revision": ' || r || '}}', 'UTF8') AS p) x;
                 UPDATE jobs SET current_revision = 4 WHERE region_id = '{region}' AND job_id = 'job-exact'""",
        url_key="CONTROLPLANE_SYNC_DATABASE_URL")  # only the sync writes job data
    job = page(env, viewer, f"jobs/{region}/job-exact").text
    assert re.findall(r'<pre class="payload">([^<]*)</pre>', job) == ['{&quot;revision&quot;: 4}', '{&quot;revision&quot;: 3}',
                                                                      '{&quot;revision&quot;: 2}']
    assert job.count("Older revision: download it") == 1 and "payload?revision=1" in job


def test_an_operator_syncs_now_and_issues_commands_high_impact_ones_confirmed(env, registry, control):  # noqa: F811
    region = control.add_region(registry.url)
    name, operator = signed_in(env, "operator")
    csrf = csrf_of(page(env, operator, f"regions/{region}").text)
    r = post(env, operator, f"regions/{region}/sync", {"reason": "after the fix"}, csrf, trace="con-sync-1")
    assert r.status_code == 303
    assert "A sweep is queued" in page(env, operator, r.headers["location"].removeprefix("/console/")).text
    assert sql(env, f"SELECT kind, status, requested_by FROM admin_jobs WHERE region_id = '{region}'").stdout.strip() == \
        f"SYNC_REGION|PENDING|operator:{name}"
    commands = lambda: sql(env, f"SELECT kind, target, params::text, actor FROM governance_commands WHERE region_id = '{region}' ORDER BY issued_at").stdout.splitlines()  # noqa: E731,E501
    # A queue capacity goes at once.
    assert post(env, operator, "commands", {"region": region, "kind": "QUEUE_CAPACITY", "target": "builds", "capacity": "7",
                                            "reason": "peak"}, csrf, trace="con-cmd-1").status_code == 303
    assert commands() == [f'QUEUE_CAPACITY|builds|{{"capacity": 7}}|operator:{name}']
    # Bad values: a 422 page naming the field, and no command.
    for fields in ({"kind": "QUEUE_CAPACITY", "target": "builds", "capacity": "lots", "reason": "x"},
                   {"kind": "QUEUE_CAPACITY", "target": "builds", "capacity": "5", "reason": ""},
                   {"kind": "SHUTDOWN", "target": "all", "reason": "x"}):
        refused = post(env, operator, "commands", {"region": region, **fields}, csrf)
        assert refused.status_code == 422 and "was not issued" in refused.text, fields
    assert len(commands()) == 1
    # A re-image asks first; the confirmation carries one idempotency key, so a double submit issues one command.
    asked = post(env, operator, "commands", {"region": region, "kind": "REIMAGE_NODE", "target": "n-7", "reason": "disk errors"}, csrf)
    assert asked.status_code == 200 and "Issue REIMAGE_NODE?" in asked.text and len(commands()) == 1
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', asked.text))
    assert fields["confirm"] == "yes" and fields["idempotencyKey"].startswith("console_")
    for _ in range(2):
        done = operator.post(env["CONTROLPLANE_CONSOLE_URL"] + "commands", data=fields, headers={"x-trace-id": "con-cmd-2"},
                             allow_redirects=False)
        assert done.status_code == 303
    assert commands()[1:] == [f"REIMAGE_NODE|n-7|{{}}|operator:{name}"]
    rows = audit_rows(env, f"region:{region}")
    assert [r for r in rows if "operator:" in r] == [f"operator:{name}|admin_job.create|con-sync-1|after the fix",
                                                     f"operator:{name}|command.issue|con-cmd-1|peak",
                                                     f"operator:{name}|command.issue|con-cmd-2|disk errors"]
    assert "REIMAGE_NODE" in page(env, operator, f"commands?region={region}").text
    # A viewer sees the region without the forms and is refused the change.
    _, viewer = signed_in(env, "viewer")
    shown = page(env, viewer, f"regions/{region}").text
    assert 'action="/console/commands"' not in shown
    assert post(env, viewer, "commands", {"region": region, "kind": "QUEUE_CAPACITY", "target": "b", "capacity": "1", "reason": "x"},
                csrf_of(shown)).status_code == 403
    assert len(commands()) == 2


def test_an_admin_creates_a_token_shown_once_and_revokes_it_after_a_confirmation(env):
    name, admin = signed_in(env, "admin")
    csrf = csrf_of(page(env, admin, "access").text)
    token_name = "con-" + uuid.uuid4().hex[:6]
    r = post(env, admin, "access/tokens", {"name": token_name, "scope.tenants:read": "on"}, csrf, trace="con-token-1")
    assert r.status_code == 200 and "not shown again" in r.text
    token = re.search(r'<pre class="payload" id="new-token">([^<]+)</pre>', r.text).group(1)
    assert token not in page(env, admin, "access").text  # once
    assert token not in sql(env, "SELECT * FROM service_tokens").stdout and token not in sql(env, "SELECT * FROM audit_log").stdout
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], token)
    assert api.get("/internal/tenants-directory").status_code == 200
    assert api.get("/internal/audit").status_code == 403  # only the scope asked for
    assert sql(env, f"SELECT created_by FROM service_tokens WHERE name = '{token_name}'").stdout.strip() == f"operator:{name}"
    assert post(env, admin, "access/tokens", {"name": "Bad Name", "scope.tenants:read": "on"}, csrf).status_code == 422
    assert post(env, admin, "access/tokens", {"name": token_name, "scope.tenants:read": "on"}, csrf).status_code == 409
    assert post(env, admin, "access/tokens", {"name": "con-noscope"}, csrf).status_code == 422
    # Revoking needs a reason and a second step.
    assert post(env, admin, f"access/tokens/{token_name}/revoke", {}, csrf).status_code == 422
    asked = post(env, admin, f"access/tokens/{token_name}/revoke", {"reason": "leaked in a log"}, csrf)
    assert asked.status_code == 200 and f"Revoke token {token_name}?" in asked.text
    assert sql(env, f"SELECT revoked_at IS NULL FROM service_tokens WHERE name = '{token_name}'").stdout.strip() == "t"
    done = post(env, admin, f"access/tokens/{token_name}/revoke", {"reason": "leaked in a log", "confirm": "yes"}, csrf, trace="con-token-2")
    assert done.status_code == 303
    assert sql(env, f"SELECT revoked_at IS NOT NULL FROM service_tokens WHERE name = '{token_name}'").stdout.strip() == "t"
    assert audit_rows(env, f"token:{token_name}") == [f"operator:{name}|token.create|con-token-1|",
                                                      f"operator:{name}|token.revoke|con-token-2|leaked in a log"]


def test_an_admin_gives_a_token_an_expiry_and_limits_and_changes_them(env):
    name, admin = signed_in(env, "admin")
    csrf = csrf_of(page(env, admin, "access").text)
    token_name = "con-lim-" + uuid.uuid4().hex[:6]
    columns = f"SELECT expires_at > now() + interval '29 days', rate_limit, rate_window_seconds, daily_quota FROM service_tokens WHERE name = '{token_name}'"
    for fields, says in (({"expiresIn": "soon"}, "Expires in is a number and a unit"), ({"rateLimit": "5/hour"}, "rate-limit is N/s or N/min"),
                         ({"dailyQuota": "-3"}, "daily-quota is a whole number")):
        r = post(env, admin, "access/tokens", {"name": token_name, "scope.tenants:read": "on", **fields}, csrf)
        assert r.status_code == 422 and says in r.text, (fields, r.status_code, r.text[-600:])
    assert sql(env, columns).stdout.strip() == ""
    r = post(env, admin, "access/tokens", {"name": token_name, "scope.tenants:read": "on", "expiresIn": "30d", "rateLimit": "5/s",
                                          "dailyQuota": "1000"}, csrf, trace="con-lim-1")
    assert r.status_code == 200, r.text[-600:]
    token = re.search(r'<pre class="payload" id="new-token">([^<]+)</pre>', r.text).group(1)
    assert sql(env, columns).stdout.strip() == "t|5|1|1000"
    assert "rate 5/s, daily quota 1000" in page(env, admin, "access").text
    answer = Internal(env["CONTROLPLANE_INTERNAL_URL"], token).get("/internal/tenants-directory")
    assert answer.status_code == 200 and answer.headers["ratelimit-policy"] == '"rate";q=5;w=1, "daily";q=1000;w=86400'
    # Changed in place; a bad value changes nothing; an operator may not.
    assert post(env, admin, f"access/tokens/{token_name}/limits", {"rateLimit": "fast", "dailyQuota": "10"}, csrf).status_code == 422
    assert sql(env, columns).stdout.strip() == "t|5|1|1000"
    r = post(env, admin, f"access/tokens/{token_name}/limits", {"rateLimit": "300/min", "dailyQuota": ""}, csrf, trace="con-lim-2")
    assert r.status_code == 303 and r.headers["location"] == "/console/access?done=limits"
    assert sql(env, columns).stdout.strip() == "t|300|60|"
    _, operator = signed_in(env, "operator")
    assert post(env, operator, f"access/tokens/{token_name}/limits", {"rateLimit": "1/s"}, csrf_of(page(env, operator, "access").text)).status_code == 403
    assert sql(env, columns).stdout.strip() == "t|300|60|"
    assert post(env, admin, "access/tokens/no-such-token/limits", {"rateLimit": "1/s"}, csrf).status_code == 404
    assert audit_rows(env, f"token:{token_name}") == [f"operator:{name}|token.create|con-lim-1|", f"operator:{name}|token.limit|con-lim-2|"]


def test_only_an_admin_manages_tokens_and_ends_other_sessions(env):
    other, other_browser = signed_in(env, "viewer")
    _, operator = signed_in(env, "operator")
    shown = page(env, operator, "access").text
    assert 'action="/console/access/tokens"' not in shown
    refused = post(env, operator, "access/tokens", {"name": "con-nope", "scope.tenants:read": "on"}, csrf_of(shown))
    assert refused.status_code == 403 and "admin role" in refused.text
    assert sql(env, "SELECT count(*) FROM service_tokens WHERE name = 'con-nope'").stdout.strip() == "0"
    session = sql(env, f"SELECT s.id FROM console_sessions s JOIN operators o ON o.id = s.operator_id WHERE o.name = '{other}'").stdout.strip()
    assert post(env, operator, f"access/sessions/{session}/revoke", {}, csrf_of(shown)).status_code == 403
    assert page(env, other_browser, "").status_code == 200
    name, admin = signed_in(env, "admin")
    assert post(env, admin, f"access/sessions/{session}/revoke", {}, csrf_of(page(env, admin, "access").text),
                trace="con-session-1").status_code == 303
    page(env, other_browser, "", status=401)
    assert audit_rows(env, f"operator:{other}")[-1] == f"operator:{name}|console.session.revoke|con-session-1|"


@pytest.mark.parametrize("path,fields", [
    ("tenants/{tenant}/suspend", {"reason": "x"}), ("webhooks/{endpoint}/disable", {}), ("regions/{region}/sync", {}),
    ("commands", {"region": "{region}", "kind": "QUEUE_CAPACITY", "target": "q", "capacity": "1", "reason": "x"}),
    ("access/tokens", {"name": "con-csrf", "scope.tenants:read": "on"}),
    ("webhooks", {"url": "http://127.0.0.1:9/csrf", "event.tenant.created": "on"}), ("webhooks/{endpoint}/rotate-secret", {"confirm": "yes"}),
])
def test_every_console_change_without_its_csrf_token_is_refused_and_changes_nothing(env, path, fields, control):  # noqa: F811
    tenant = new_tenant(env)
    activate(env, tenant)
    _, token = make_token(env, "webhooks:manage")
    endpoint = Internal(env["CONTROLPLANE_INTERNAL_URL"], token).post(
        "/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/h", "events": ["tenant.created"]}).json()["id"]
    region = control.add_region("http://127.0.0.1:9")
    values = {"tenant": tenant, "endpoint": endpoint, "region": region}
    _, admin = signed_in(env, "admin")
    before = sql(env, "SELECT count(*) FROM audit_log").stdout.strip()
    r = admin.post(env["CONTROLPLANE_CONSOLE_URL"] + path.format(**values), data={k: v.format(**values) for k, v in fields.items()},
                   allow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text
    assert sql(env, "SELECT count(*) FROM audit_log").stdout.strip() == before
    assert status_of(env, tenant) == "active"
    assert sql(env, f"SELECT count(*) FROM admin_jobs WHERE region_id = '{region}'").stdout.strip() == "0"


def test_a_draft_shows_its_steps_and_the_attempt_log_filters(env):
    draft = submitted_draft(env)
    _, viewer = signed_in(env, "viewer")
    assert f'href="/console/drafts/{draft}"' in page(env, viewer, "trials").text
    shown = page(env, viewer, f"drafts/{draft}").text
    steps = re.findall(r'<td class="nowrap">[^<]+</td><td>([a-z_]+)</td>', shown)
    assert steps == ["draft", "submit_details"], steps  # its steps from the attempt log, in order
    assert ESCAPED in shown  # the hostile company name, as text
    attempts = page(env, viewer, "signup-attempts?step=draft").text
    assert f'href="/console/drafts/{draft}"' in attempts
    assert f'href="/console/drafts/{draft}"' not in page(env, viewer, "signup-attempts?step=no_such_step").text
    page(env, viewer, f"drafts/{uuid.uuid4()}", status=404)
    page(env, viewer, "drafts/not-a-uuid", status=404)
    page(env, viewer, "signup-attempts?since=yesterday", status=400)


def test_an_operator_keeps_the_domain_dictionary(env):
    name, operator = signed_in(env, "operator")
    csrf = csrf_of(page(env, operator, "domains").text)
    domain = f"con-{uuid.uuid4().hex[:6]}.example"
    r = post(env, operator, "domains", {"domain": domain.upper(), "kind": "disposable", "reason": "seen in spam"}, csrf, trace="con-dom-1")
    assert r.status_code == 303
    assert "Saved" in page(env, operator, r.headers["location"].removeprefix("/console/")).text
    assert sql(env, f"SELECT kind, added_by FROM email_domains WHERE domain = '{domain}'").stdout.strip() == f"disposable|operator:{name}"
    assert f"<td>{domain}</td>" in page(env, operator, f"domains?q={domain[:10]}").text  # search
    assert post(env, operator, "domains", {"domain": "not a domain", "kind": "free"}, csrf).status_code == 422
    assert post(env, operator, "domains", {"domain": "fine.example", "kind": "purple"}, csrf).status_code == 422
    listed = "\n".join([f"a-{domain}", "# a comment", "bad domain!", f"b-{domain}", ""])
    imported = post(env, operator, "domains/import", {"domains": listed, "kind": "free"}, csrf, trace="con-dom-2")
    assert imported.status_code == 200 and "2 domains read, 2 added or changed as free; 1 lines skipped (bad domain!)" in imported.text
    assert sql(env, f"SELECT count(*) FROM email_domains WHERE domain IN ('a-{domain}', 'b-{domain}') AND kind = 'free'").stdout.strip() == "2"
    assert post(env, operator, f"domains/{domain}/remove", {}, csrf, trace="con-dom-3").status_code == 303
    assert sql(env, f"SELECT count(*) FROM email_domains WHERE domain = '{domain}'").stdout.strip() == "0"
    assert post(env, operator, f"domains/{domain}/remove", {}, csrf).status_code == 404
    assert audit_rows(env, f"domain:{domain}") == [f"operator:{name}|domain.set|con-dom-1|seen in spam",
                                                   f"operator:{name}|domain.delete|con-dom-3|"]
    assert audit_rows(env, "domains:free")[-1] == f"operator:{name}|domain.import|con-dom-2|"
    # A reviewer reads the dictionary and may not change it.
    _, reviewer = signed_in(env, "reviewer")
    shown = page(env, reviewer, "domains").text
    assert 'action="/console/domains/import"' not in shown
    assert post(env, reviewer, "domains", {"domain": "x.example", "kind": "free"}, csrf_of(shown)).status_code == 403
