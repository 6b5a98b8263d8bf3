"""Issue #21 item 8: cpctl and the console run the same webhook endpoint operations as the API
(create, update, enable/disable, rotate the secret, test, resend, recover, delete), against a
real receiver and the real `controlplane-sync deliver`; every action leaves one audit row with
its operator; secrets are shown once and reach neither the audit log nor a listing; refusals
change nothing."""
import base64
import json
import os
import subprocess
import time
import uuid

from standardwebhooks import Webhook

from console_support import csrf_of, signed_in
from sql_support import sql
from tenants_support import Internal, make_token
from test_tenants import deliver, received


def cpctl(env, *args):
    """cpctl as an operator runs it on an app host: the secrets keys and destination rules of the server."""
    environment = {"PATH": os.environ["PATH"], "USER": "tester", "CONTROLPLANE_SECRETS_KEYS": env["CONTROLPLANE_SECRETS_KEYS"],
                   "CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK": "on"}
    return subprocess.run([env["CPCTL"], "webhooks", *args, "--database-url", env["DATABASE_URL"]], env=environment,
                          capture_output=True, text=True, timeout=60)


def ok(r):
    assert r.returncode == 0, (r.args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def audit(env, endpoint):
    return sql(env, f"SELECT actor, action, coalesce(reason, '') FROM audit_log WHERE target = 'webhook_endpoint:{endpoint}' ORDER BY id"
               ).stdout.splitlines()


def endpoint_row(env, endpoint):
    return sql(env, f"SELECT url, array_to_string(events, ','), coalesce(description, ''), disabled_at IS NULL, deleted_at IS NULL, "
                    f"secret_rotated_at IS NOT NULL FROM webhook_endpoints WHERE id = '{endpoint}'").stdout.strip()


def payloads(log):
    return [(m["headers"]["webhook-id"], base64.b64decode(m["body"]), m["headers"]) for m in received(log)]


def test_cpctl_runs_every_endpoint_operation_against_a_real_receiver(env, receiver):
    url, log = receiver("200")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])
    made = json.loads(ok(cpctl(env, "create", "--url", url, "--events", "tenant.created", "--description", "billing team")))
    endpoint, first_secret = made["id"], made["secret"]
    assert first_secret.startswith("whsec_") and made["events"] == ["tenant.created"] and made["description"] == "billing team"

    table = ok(cpctl(env, "list")).splitlines()
    assert table[0].split() == ["ID", "STATE", "FAILURES", "BACKLOG", "EVENTS", "URL"]
    assert [line.split() for line in table[1:]] == [[endpoint, "healthy", "0", "0", "tenant.created", url]]
    listed = [json.loads(line) for line in ok(cpctl(env, "list", "--json")).splitlines()]
    assert [e["id"] for e in listed] == [endpoint] and "secret" not in listed[0]
    assert json.loads(ok(cpctl(env, "show", endpoint)))["description"] == "billing team"

    # A delivery verifies with the secret cpctl printed; a resend repeats its webhook-id.
    api.create_tenant()
    deliver(env)
    (message_id, body, headers), = payloads(log)
    Webhook(first_secret).verify(body, headers)
    assert ok(cpctl(env, "resend", message_id, "--endpoint", endpoint, "--reason", "receiver lost it")).strip() == "queued 1"
    deliver(env)
    assert [m[0] for m in payloads(log)] == [message_id, message_id]

    # Rotation: the new secret is printed once; both sign during the overlap.
    rotated = ok(cpctl(env, "rotate-secret", endpoint)).strip()
    assert rotated.startswith("whsec_") and rotated != first_secret
    test_id = ok(cpctl(env, "test", endpoint)).strip()
    deliver(env)
    sent_id, body, headers = payloads(log)[-1]
    assert sent_id == test_id and json.loads(body)["type"] == "webhook.test"
    for secret in (first_secret, rotated):
        Webhook(secret).verify(body, headers)

    # Dead messages come back, oldest first.
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    tenants = [api.create_tenant()["id"] for _ in range(2)]
    sql(env, f"UPDATE webhook_outbox SET status = 'dead', attempts = 8 WHERE endpoint_id = '{endpoint}' AND status = 'pending'")
    assert ok(cpctl(env, "recover", endpoint, "--since", since)).strip() == "queued 2"
    deliver(env)
    assert [json.loads(m[1])["data"]["id"] for m in payloads(log)[-2:]] == tenants

    # Refusals: exit non-zero, say why, change nothing.
    before = endpoint_row(env, endpoint)
    for args, code, says in ((["update", endpoint, "--events", "tenant.nope"], 65, "events tenant.nope is not an event type"),
                             (["update", endpoint, "--url", "ftp://example.com/h"], 65, "url must be an absolute http(s) URL"),
                             (["update", endpoint], 65, "change at least one of"),
                             (["update", str(uuid.uuid4()), "--disable"], 65, "Error:"),
                             (["recover", endpoint, "--since", "yesterday"], 64, "--since must be an RFC 3339 time"),
                             (["resend", "msg_nope"], 65, "no such message"),
                             (["delete", endpoint], 64, "--reason")):
        r = cpctl(env, *args)
        assert r.returncode == code and says in r.stderr, (args, r.returncode, r.stderr)
    assert endpoint_row(env, endpoint) == before

    # Disable: no test event can be queued; enable brings it back.
    ok(cpctl(env, "update", endpoint, "--disable", "--reason", "receiver moving"))
    r = cpctl(env, "test", endpoint)
    assert r.returncode == 65 and "disabled" in r.stderr
    shown = json.loads(ok(cpctl(env, "update", endpoint, "--enable", "--events", "tenant.created,tenant.suspended", "--description", "")))
    assert shown["state"] == "healthy" and shown["events"] == ["tenant.created", "tenant.suspended"] and shown["description"] is None
    ok(cpctl(env, "delete", endpoint, "--reason", "replaced"))
    assert endpoint_row(env, endpoint).split("|")[4] == "f" and ok(cpctl(env, "list")).splitlines()[1:] == []

    actor = "operator:" + subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    assert audit(env, endpoint) == [f"{actor}|{action}|{reason}" for action, reason in (
        ("webhook_endpoint.create", ""), ("webhook_endpoint.rotate_secret", ""), ("webhook_endpoint.test", ""),
        ("webhook_endpoint.recover", ""), ("webhook_endpoint.disable", "receiver moving"), ("webhook_endpoint.update", ""),
        ("webhook_endpoint.delete", "replaced"))]
    assert sql(env, f"SELECT actor, reason FROM audit_log WHERE target = 'webhook_message:{message_id}'").stdout.strip() == \
        f"{actor}|receiver lost it"
    everything = sql(env, "SELECT * FROM audit_log").stdout
    assert first_secret not in everything and rotated not in everything


def console(env, browser, path, fields=None, csrf=None, trace=None):
    base = env["CONTROLPLANE_CONSOLE_URL"]
    if fields is None:
        return browser.get(base + path, allow_redirects=False)
    return browser.post(base + path, data={"csrf": csrf, **fields}, headers={"x-trace-id": trace} if trace else {}, allow_redirects=False)


def shown_secret(page):
    start = page.index('<pre class="payload" id="new-secret">') + len('<pre class="payload" id="new-secret">')
    return page[start:page.index("</pre>", start)]


def test_the_console_runs_every_endpoint_operation_next_to_the_endpoint(env, receiver):
    url, log = receiver("200")
    admin_name, admin = signed_in(env, "admin")
    csrf = csrf_of(console(env, admin, "webhooks").text)

    # Create: the page that answers shows the secret once; reloading the endpoint's page does not.
    r = console(env, admin, "webhooks", {"url": url, "event.tenant.created": "on", "description": "from the console"}, csrf, "wh-con-create")
    assert r.status_code == 200 and "Endpoint created." in r.text, r.text[:500]
    secret = shown_secret(r.text)
    assert secret.startswith("whsec_")
    endpoint = sql(env, f"SELECT id FROM webhook_endpoints WHERE url = '{url}' AND deleted_at IS NULL").stdout.strip()
    assert endpoint_row(env, endpoint) == f"{url}|tenant.created|from the console|t|t|f"
    page = console(env, admin, f"webhooks/{endpoint}").text
    assert secret not in page and 'id="new-secret"' not in page
    for form in ("/test", "/recover", "/rotate-secret", "/delete", "/settings", "/disable"):
        assert f'action="/console/webhooks/{endpoint}{form}"' in page, form

    # Settings: a bad URL is refused with the field named and changes nothing; a good change is saved.
    r = console(env, admin, f"webhooks/{endpoint}/settings", {"url": "ftp://example.com/h", "event.tenant.created": "on"}, csrf)
    assert r.status_code == 422 and "url must be an absolute http(s) URL" in r.text
    r = console(env, admin, f"webhooks/{endpoint}/settings", {"url": url, "description": "x"}, csrf)
    assert r.status_code == 422 and "events must list 1 to 50 event types" in r.text
    assert endpoint_row(env, endpoint) == f"{url}|tenant.created|from the console|t|t|f"
    r = console(env, admin, f"webhooks/{endpoint}/settings",
                {"url": url, "event.tenant.created": "on", "event.tenant.suspended": "on", "description": "billing"}, csrf, "wh-con-settings")
    assert r.status_code == 303 and r.headers["location"] == f"/console/webhooks/{endpoint}?done=settings"
    assert endpoint_row(env, endpoint) == f"{url}|tenant.created,tenant.suspended|billing|t|t|f"
    assert "Settings saved." in console(env, admin, r.headers["location"].removeprefix("/console/")).text

    # Rotate: first a confirmation (nothing changes), then the new secret, shown once.
    r = console(env, admin, f"webhooks/{endpoint}/rotate-secret", {}, csrf)
    assert r.status_code == 200 and "Rotate the signing secret" in r.text and 'name="confirm"' in r.text
    assert endpoint_row(env, endpoint).endswith("|f")
    r = console(env, admin, f"webhooks/{endpoint}/rotate-secret", {"confirm": "yes"}, csrf, "wh-con-rotate")
    assert r.status_code == 200 and "Secret rotated." in r.text
    rotated = shown_secret(r.text)
    assert rotated.startswith("whsec_") and rotated != secret and endpoint_row(env, endpoint).endswith("|t")

    # Test: the event goes out signed with both secrets during the overlap.
    r = console(env, admin, f"webhooks/{endpoint}/test", {}, csrf, "wh-con-test")
    assert r.status_code == 303 and r.headers["location"] == f"/console/webhooks/{endpoint}?done=test"
    deliver(env)
    (message_id, body, headers), = payloads(log)
    assert json.loads(body)["type"] == "webhook.test"
    for key in (secret, rotated):
        Webhook(key).verify(body, headers)

    # Recover: a dead message comes back with its webhook-id.
    sql(env, f"UPDATE webhook_outbox SET status = 'dead' WHERE message_id = '{message_id}'")
    r = console(env, admin, f"webhooks/{endpoint}/recover", {"since": "not a time"}, csrf)
    assert r.status_code == 422 and "since must be an RFC 3339 date-time" in r.text
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    r = console(env, admin, f"webhooks/{endpoint}/recover", {"since": since}, csrf, "wh-con-recover")
    assert r.status_code == 303
    deliver(env)
    assert [m[0] for m in payloads(log)] == [message_id, message_id]

    # Roles: an operator changes settings and tests but cannot rotate or delete; a viewer cannot test.
    _, operator = signed_in(env, "operator")
    operator_csrf = csrf_of(console(env, operator, f"webhooks/{endpoint}").text)
    assert "/rotate-secret" not in console(env, operator, f"webhooks/{endpoint}").text
    assert console(env, operator, f"webhooks/{endpoint}/rotate-secret", {"confirm": "yes"}, operator_csrf).status_code == 403
    assert console(env, operator, "webhooks", {"url": url, "event.tenant.created": "on"}, operator_csrf).status_code == 403
    _, viewer = signed_in(env, "viewer")
    viewer_csrf = csrf_of(console(env, viewer, f"webhooks/{endpoint}").text)
    assert console(env, viewer, f"webhooks/{endpoint}/test", {}, viewer_csrf).status_code == 403
    assert sql(env, f"SELECT count(*) FROM webhook_outbox WHERE endpoint_id = '{endpoint}'").stdout.strip() == "1"
    assert sql(env, f"SELECT count(*) FROM webhook_endpoints WHERE url = '{url}'").stdout.strip() == "1"

    # Delete: a reason, then a confirmation.
    assert console(env, admin, f"webhooks/{endpoint}/delete", {}, csrf).status_code == 422
    r = console(env, admin, f"webhooks/{endpoint}/delete", {"reason": "moved"}, csrf)
    assert r.status_code == 200 and "Delete the endpoint" in r.text and endpoint_row(env, endpoint).split("|")[4] == "t"
    r = console(env, admin, f"webhooks/{endpoint}/delete", {"reason": "moved", "confirm": "yes"}, csrf, "wh-con-delete")
    assert r.status_code == 303 and r.headers["location"] == "/console/webhooks?done=delete"
    assert endpoint_row(env, endpoint).split("|")[4] == "f"
    assert "Endpoint deleted." in console(env, admin, "webhooks?done=delete").text

    actor = f"operator:{admin_name}"
    rows = sql(env, f"SELECT actor, action, trace_id, coalesce(reason, '') FROM audit_log WHERE target = 'webhook_endpoint:{endpoint}' "
                    "ORDER BY id").stdout.splitlines()
    assert rows == [f"{actor}|webhook_endpoint.create|wh-con-create|", f"{actor}|webhook_endpoint.update|wh-con-settings|",
                    f"{actor}|webhook_endpoint.rotate_secret|wh-con-rotate|", f"{actor}|webhook_endpoint.test|wh-con-test|",
                    f"{actor}|webhook_endpoint.recover|wh-con-recover|", f"{actor}|webhook_endpoint.delete|wh-con-delete|moved"]
    everything = sql(env, "SELECT * FROM audit_log").stdout
    assert secret not in everything and rotated not in everything
