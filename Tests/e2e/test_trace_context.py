"""W3C Trace Context end to end (issue #19 item 1): a traceparent sent with a request names the
trace of everything the request causes — the backend's log lines, the rows it writes, and the
traceparent of every outbound call those rows lead to (a webhook, an email, a registry request),
each with a new span id."""
import base64
import email
import glob
import json
import os
import re
import secrets

import requests

from governance_support import FakeRegistry, control, registry, run_sync  # noqa: F401 (fixtures)
from sql_support import sql
from tenants_support import Internal
from test_tenants import deliver, received
from test_trial import BROWSER, new_draft, work_address
from test_trial import deliver as deliver_emails

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


def new_trace():
    trace, span = secrets.token_hex(16), secrets.token_hex(8)
    return trace, span, f"00-{trace}-{span}-01"


def log_lines(env, trace):
    return [json.loads(line) for line in open(env["CONTROLPLANE_LOG"]) if trace in line]


def test_a_tenant_creation_s_trace_reaches_its_rows_its_log_lines_and_the_webhook(env, receiver):
    url, log = receiver("200")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])
    assert api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).status_code == 201
    trace, span, header = new_trace()
    r = api.post("/internal/tenants", {"slug": "tp-" + secrets.token_hex(4), "displayName": "Traced", "contactEmail": "ops@traced.example"},
                 headers={"traceparent": header, "x-trace-id": "not-this-one"})
    assert r.status_code == 201, r.text
    assert r.headers["x-trace-id"] == trace
    tenant = r.json()["id"]
    assert set(sql(env, f"SELECT trace_id FROM tenant_events WHERE tenant_id = '{tenant}'").stdout.split()) == {trace}
    assert sql(env, f"SELECT DISTINCT trace_id FROM webhook_outbox WHERE payload LIKE '%{tenant}%'").stdout.strip() == trace
    assert sql(env, f"SELECT trace_id FROM audit_log WHERE target = 'tenant:{tenant}' AND action = 'tenant.create'").stdout.strip() == trace
    lines = log_lines(env, trace)
    assert [(line["msg"], line["route"], line["status"]) for line in lines if line["msg"] == "request"] == [("request", "/internal/tenants", 201)]
    deliver(env)
    got = [m for m in received(log) if tenant in base64.b64decode(m["body"]).decode()]
    assert len(got) == 1
    sent = TRACEPARENT.match(got[0]["headers"]["traceparent"])
    assert sent and sent.group(1) == trace and sent.group(2) != span  # the same trace, a span of its own


def test_a_malformed_traceparent_falls_back_to_x_trace_id_then_to_nginx_s_request_id(env):
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])
    for bad in ("00-" + "0" * 32 + "-" + "1" * 16 + "-01", "01-" + "a" * 32 + "-" + "1" * 16 + "-01", "00-" + "A" * 32 + "-" + "1" * 16 + "-01",
                "00-" + "a" * 32 + "-" + "0" * 16 + "-01", "garbage"):
        r = api.get("/internal/live", headers={"traceparent": bad, "x-trace-id": "fallback-1"})
        assert r.headers["x-trace-id"] == "fallback-1", bad
        r = api.get("/internal/live", headers={"traceparent": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-trace-id"]), bad  # nginx's request id


def test_an_admin_job_s_registry_calls_carry_its_trace(env, registry, control):  # noqa: F811
    region = control.add_region(registry.url)
    trace, span, header = new_trace()
    r = control.post("/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": region, "reason": "traced"}, headers={"traceparent": header})
    assert r.status_code == 201, r.text
    assert sql(env, f"SELECT trace_id FROM admin_jobs WHERE id = '{r.json()['id']}'").stdout.strip() == trace
    before = len(registry.requests())
    run_sync(env, "deliver", "--outbox", "admin-jobs")
    calls = registry.requests()[before:]
    assert calls, "the admin job called no registry"
    for call in calls:
        sent = TRACEPARENT.match(call["headers"]["traceparent"])
        assert sent and sent.group(1) == trace and sent.group(2) != span, call["headers"]


def test_a_code_email_carries_the_trace_of_the_request_that_asked_for_it(env):
    public = env["CONTROLPLANE_URL"]
    draft, secret = new_draft(public)
    trace, _, header = new_trace()
    work = work_address()
    r = requests.post(f"{public}/api/trial/manual-approval/{draft}/work-email/otp", json={"workEmail": work},
                      headers={**BROWSER, "authorization": f"Bearer {secret}", "traceparent": header})
    assert r.status_code == 202, r.text
    assert sql(env, f"SELECT trace_id FROM email_outbox WHERE draft_id = '{draft}'").stdout.strip() == trace
    deliver_emails(env)
    messages = []
    for path in glob.glob(os.path.join(env["CONTROLPLANE_MAIL_DIR"], "*.eml")):
        with open(path, "rb") as f:
            message = email.message_from_bytes(f.read())
        if message["To"] == work:
            messages.append(message)
    assert len(messages) == 1
    sent = TRACEPARENT.match(messages[0]["Traceparent"])
    assert sent and sent.group(1) == trace


def test_every_line_a_request_writes_names_its_trace_route_and_actor(env, control):  # noqa: F811
    """One logger per request (swift-log underneath): the access line and a handler's own lines
    carry the trace id, the route and who called — a service, the control token, an operator."""
    from console_support import signed_in
    from tenants_support import make_token
    name, token = make_token(env, "tenants:read")
    trace, _, header = new_trace()
    r = requests.get(env["CONTROLPLANE_INTERNAL_URL"] + f"/internal/tenants/{secrets.token_hex(16)[:8]}-0000-4000-8000-000000000000",
                     headers={"authorization": f"Bearer {token}", "traceparent": header})
    assert r.status_code == 404
    access = [line for line in log_lines(env, trace) if line["msg"] == "request"]
    assert [(a["traceId"], a["route"], a["actor"], a["status"]) for a in access] == [(trace, "/internal/tenants/{id}", f"service:{name}", 404)]
    trace2, _, header2 = new_trace()
    assert control.get("/control/v1/regions", headers={"traceparent": header2}).status_code == 200
    [line] = [line for line in log_lines(env, trace2) if line["msg"] == "request"]
    assert line["route"] == "/control/v1/regions" and line["actor"].startswith("control:")
    operator_name, browser = signed_in(env, "viewer")
    trace3, _, header3 = new_trace()
    assert browser.get(env["CONTROLPLANE_CONSOLE_URL"] + "tenants", headers={"traceparent": header3}).status_code == 200
    [line] = [line for line in log_lines(env, trace3) if line["msg"] == "request"]
    assert line["route"] == "/console/tenants" and line["actor"] == f"operator:{operator_name}"
