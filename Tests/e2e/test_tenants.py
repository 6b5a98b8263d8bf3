"""Tenant lifecycle, directory, connector metadata, provisioning callbacks and webhooks,
end to end through nginx against the real PostgreSQL."""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from conftest import REPO, assert_problem, keep_output, wait_until
from tenants_support import Internal, cpctl, make_token, signed_callback, sql, sql_refused

TENANT_KEYS = {"id", "slug", "displayName", "status", "siteHostname", "plan", "connectorKind",
               "connectorCredentialRef", "createdAt", "updatedAt"}


@pytest.fixture(scope="module")
def api(env, internal):
    return Internal(internal, env["CONTROLPLANE_INTERNAL_TOKEN"])


def events_of(api, tenant_id):
    r = api.get(f"/internal/tenants/{tenant_id}/events")
    assert r.status_code == 200
    return [(e["fromStatus"], e["toStatus"]) for e in r.json()["items"]]


def activate(env, tenant, host=None):
    r = signed_callback(env, {"tenantId": tenant["id"], "event": "site.created",
                              "siteHostname": host or tenant["slug"] + ".erp.example.com"})
    assert r.status_code == 200, r.text
    return r


# --- create and read -------------------------------------------------------------------

def test_create_returns_the_tenant_shape_and_requests_provisioning(api):
    tenant = api.create_tenant(plan="business")
    assert set(tenant) == TENANT_KEYS
    assert tenant["status"] == "provisioning" and tenant["plan"] == "business"
    assert tenant["connectorKind"] is None and tenant["connectorCredentialRef"] is None
    assert tenant["createdAt"].endswith("Z") and "T" in tenant["createdAt"]
    assert api.get(f"/internal/tenants/{tenant['id']}").json() == tenant
    assert events_of(api, tenant["id"]) == [(None, "pending"), ("pending", "provisioning")]


def test_duplicate_slug_is_409_and_changes_nothing(env, api):
    tenant = api.create_tenant()
    before = sql(env, "SELECT count(*) FROM tenants_master").stdout
    r = api.post("/internal/tenants", {"slug": tenant["slug"], "displayName": "Other", "contactEmail": "x@y.co"})
    assert assert_problem(r, 409)["type"] == "urn:controlplane:problem:slug-taken"
    assert sql(env, "SELECT count(*) FROM tenants_master").stdout == before


def test_non_json_and_oversized_bodies(api, internal):
    r = requests.post(f"{internal}/internal/tenants", data="slug=x", headers={**api.headers, "content-type": "application/x-www-form-urlencoded"})
    assert_problem(r, 415)
    r = requests.post(f"{internal}/internal/tenants", data="{not json", headers={**api.headers, "content-type": "application/json"})
    assert_problem(r, 400)
    r = requests.post(f"{internal}/internal/tenants", data=b"[" * (2 << 20), headers={**api.headers, "content-type": "application/json"})
    assert_problem(r, 413)
    deep = "[" * 100000 + "]" * 100000
    r = requests.post(f"{internal}/internal/tenants", data=deep, headers={**api.headers, "content-type": "application/json"})
    assert_problem(r, 400)


# --- lifecycle ---------------------------------------------------------------------------

def test_tenant_events_are_append_only_in_the_database(env, api):
    tenant = api.create_tenant()
    for statement in (f"UPDATE tenant_events SET reason = 'forged' WHERE tenant_id = '{tenant['id']}'",
                      f"DELETE FROM tenant_events WHERE tenant_id = '{tenant['id']}'",
                      "TRUNCATE tenant_events CASCADE"):
        assert "append-only" in sql_refused(env, statement).stderr  # even the owner is refused
        assert "permission denied" in sql_refused(env, statement, url_key="CONTROLPLANE_DATABASE_URL").stderr


def test_cpctl_tenants_commands(env, api):
    slug = "cli-" + uuid.uuid4().hex[:8]
    r = cpctl(env, "tenants", "create", "--slug", slug, "--display-name", "CLI Co", "--contact-email", "a@cli.co")
    assert r.returncode == 0, r.stderr
    tenant = json.loads(r.stdout)
    activate(env, tenant)
    assert json.loads(cpctl(env, "tenants", "suspend", slug, "--reason", "test").stdout)["status"] == "suspended"
    assert json.loads(cpctl(env, "tenants", "resume", slug).stdout)["status"] == "active"
    r = cpctl(env, "tenants", "resume", slug)
    assert r.returncode != 0 and "cannot resume a tenant that is active" in r.stderr
    assert json.loads(cpctl(env, "tenants", "show", tenant["id"]).stdout)["slug"] == slug
    assert ("active", "suspended") in events_of(api, tenant["id"])


# --- directory ---------------------------------------------------------------------------

def test_directory_filters(env, api):
    tenant = api.create_tenant()
    activate(env, tenant)
    api.patch("/internal/tenant-connector-metadata", {"tenantId": tenant["id"], "connectorKind": "frappe",
                                                        "connectorCredentialRef": f"kv:erp_cred:{tenant['id']}"})
    def every(**filters):
        items, cursor = [], None
        while True:
            page = api.get("/internal/tenants-directory", params={**filters, "limit": 500, **({"cursor": cursor} if cursor else {})}).json()
            items += page["items"]
            cursor = page["nextCursor"]
            if not cursor:
                return items
    active = every(status="active")
    assert tenant["id"] in [t["id"] for t in active] and all(t["status"] == "active" for t in active)
    frappe = every(connectorKind="frappe")
    assert tenant["id"] in [t["id"] for t in frappe] and all(t["connectorKind"] == "frappe" for t in frappe)
    future = api.get("/internal/tenants-directory", params={"updatedSince": "2999-01-01T00:00:00Z"}).json()
    assert future == {"items": [], "nextCursor": None}
    assert tenant["id"] in [t["id"] for t in every(updatedSince="2000-01-01T00:00:00+09:00")]


def test_directory_etag_and_304(api):
    """The same query before and after a change: 304 while nothing changed, then a new ETag.
    The query is bounded to this test's tenants (updated since the first one was made), so
    the page is the whole answer however many tenants other tests left."""
    first_tenant = api.create_tenant()
    query = {"limit": 500, "updatedSince": first_tenant["updatedAt"]}
    first = api.get("/internal/tenants-directory", params=query)
    assert [t["id"] for t in first.json()["items"]] == [first_tenant["id"]] and first.json()["nextCursor"] is None
    etag = first.headers["etag"]
    again = api.get("/internal/tenants-directory", params=query, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    api.create_tenant()
    changed = api.get("/internal/tenants-directory", params=query, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and len(changed.json()["items"]) == 2
    assert api.get("/internal/tenants-directory", params=query, headers={"if-none-match": changed.headers["etag"]}).status_code == 304


# --- connector metadata -----------------------------------------------------------------

def test_connector_reference_set_and_cleared(env, api):
    tenant = api.create_tenant()
    ref = f"kv:erp_cred:{tenant['id']}"
    r = api.patch("/internal/tenant-connector-metadata", {"tenantId": tenant["id"], "connectorKind": "frappe",
                                                            "connectorCredentialRef": ref})
    assert r.status_code == 200 and r.json()["connectorCredentialRef"] == ref and r.json()["connectorKind"] == "frappe"
    r = api.patch("/internal/tenant-connector-metadata", {"tenantId": tenant["id"], "connectorKind": None,
                                                            "connectorCredentialRef": None})
    assert r.status_code == 200 and r.json()["connectorKind"] is None


SECRETS = [
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
    "kv:password=hunter2hunter2",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "kv:erp/sk_live_51HqLyjWDarjtT1zdp7dcXy9mN3bQ",
    "vault:AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENG",
    "kv:https://user:pass@vault.example.com/x",
    "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHNlY3JldCBrZXkgdmFsdWU=",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_looking_references_are_422_never_stored_nor_logged(env, api, secret):
    tenant = api.create_tenant()
    r = api.patch("/internal/tenant-connector-metadata", {"tenantId": tenant["id"], "connectorKind": "frappe",
                                                            "connectorCredentialRef": secret})
    problem = assert_problem(r, 422)
    assert secret not in r.text
    assert "connectorCredentialRef" in [p["name"] for p in problem["invalidParams"]]
    assert api.get(f"/internal/tenants/{tenant['id']}").json()["connectorCredentialRef"] is None
    with open(env["CONTROLPLANE_LOG"]) as f:
        assert secret not in f.read()


def test_connector_write_needs_its_scope(env, internal):
    _, token = make_token(env, "tenants:read,tenants:write")
    limited = Internal(internal, token)
    tenant = limited.create_tenant()
    assert_problem(limited.patch("/internal/tenant-connector-metadata", {"tenantId": tenant["id"], "connectorKind": "frappe"}), 403)


# --- provisioning callbacks --------------------------------------------------------------

def test_callback_activates_once_even_when_replayed(env, api):
    tenant = api.create_tenant()
    body = {"tenantId": tenant["id"], "event": "site.created", "siteHostname": tenant["slug"] + ".erp.example.com"}
    first = signed_callback(env, body, msg_id="msg_replay_" + tenant["id"])
    assert first.json() == {"tenantId": tenant["id"], "applied": True, "status": "active"}
    again = signed_callback(env, body, msg_id="msg_replay_" + tenant["id"])
    assert again.status_code == 200 and again.json()["applied"] is False
    assert events_of(api, tenant["id"]).count(("provisioning", "active")) == 1
    assert api.get(f"/internal/tenants/{tenant['id']}").json()["siteHostname"] == body["siteHostname"]


def test_callback_failure_marks_provisioning_failed_and_retry_works(env, api):
    tenant = api.create_tenant()
    r = signed_callback(env, {"tenantId": tenant["id"], "event": "site.failed", "error": "bench timeout"})
    assert r.json()["status"] == "provisioning_failed"
    assert api.post(f"/internal/tenants/{tenant['id']}/provision").json()["status"] == "provisioning"


def test_callback_signature_checks(env, api):
    tenant = api.create_tenant()
    body = {"tenantId": tenant["id"], "event": "site.created", "siteHostname": tenant["slug"] + ".example.com"}
    wrong_secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    assert_problem(signed_callback(env, body, secret=wrong_secret), 401)
    assert_problem(signed_callback(env, body, timestamp=time.time() - 600), 401)
    assert_problem(signed_callback(env, body, timestamp=time.time() + 600), 401)
    assert_problem(requests.post(env["CONTROLPLANE_INTERNAL_URL"] + "/internal/provisioning/callbacks", json=body), 401)
    # A valid signature over different bytes does not verify: the provisioner signed a
    # failure, someone sends a creation under another hostname.
    signed = {"tenantId": tenant["id"], "event": "site.failed", "error": "x"}
    tampered = signed_callback(env, signed, sent_body=body)
    assert assert_problem(tampered, 401)["type"] == "urn:controlplane:problem:bad-signature"
    assert api.get(f"/internal/tenants/{tenant['id']}").json()["status"] == "provisioning"
    r = signed_callback(env, body)
    assert r.status_code == 200
    assert api.get(f"/internal/tenants/{tenant['id']}").json()["status"] == "active"


def test_callback_bad_bodies_change_nothing(env, api):
    tenant = api.create_tenant()
    for body in ({"tenantId": tenant["id"], "event": "site.exploded"},
                 {"tenantId": tenant["id"], "event": "site.created"},
                 {"tenantId": tenant["id"], "event": "site.created", "siteHostname": "Bad Host!"},
                 {"tenantId": "nope", "event": "site.failed"}):
        assert_problem(signed_callback(env, body), 422)
    assert_problem(signed_callback(env, {"tenantId": str(uuid.uuid4()), "event": "site.failed"}), 404)
    other = api.create_tenant()
    taken = other["slug"] + ".taken.example.com"
    activate(env, other, host=taken)
    r = signed_callback(env, {"tenantId": tenant["id"], "event": "site.created", "siteHostname": taken})
    assert_problem(r, 409)
    assert api.get(f"/internal/tenants/{tenant['id']}").json()["status"] == "provisioning"


# --- outbound webhooks -------------------------------------------------------------------

def deliver(env, secrets_keys=None, allow_loopback="on", schedule="0,0,0"):
    environment = {"PATH": os.environ["PATH"], "CONTROLPLANE_SYNC_DATABASE_URL": env["CONTROLPLANE_SYNC_DATABASE_URL"],
                   "CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE": schedule, "CONTROLPLANE_WEBHOOK_TIMEOUT_SECONDS": "5",
                   "CONTROLPLANE_SECRETS_KEYS": secrets_keys or env["CONTROLPLANE_SECRETS_KEYS"],
                   "CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK": allow_loopback}
    r = keep_output(env, "sync", subprocess.run([env["CONTROLPLANE_SYNC"], "deliver"], env=environment, capture_output=True,
                                                 text=True, timeout=60))
    assert r.returncode == 0, r.stderr
    return r


def received(log):
    return [json.loads(line) for line in open(log)] if os.path.exists(log) else []


def test_webhooks_are_signed_retried_and_logged(env, api, receiver):
    url, log = receiver("500,200")
    r = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created", "tenant.activated"]})
    assert r.status_code == 201
    endpoint = r.json()
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in json.dumps(api.get("/internal/webhook-endpoints").json())

    tenant = api.create_tenant()
    deliver(env)   # first attempt: the receiver answers 500
    deliver(env)   # retry (schedule 0 s in this test): 200
    got = [m for m in received(log) if json.loads(base64.b64decode(m["body"]))["data"]["id"] == tenant["id"]]
    assert [m["answered"] for m in got] == [500, 200]
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    verifier = Webhook(endpoint["secret"])
    for message in got:  # verified by an independent implementation, over the exact bytes
        payload = verifier.verify(base64.b64decode(message["body"]), message["headers"])
        assert payload["type"] == "tenant.created" and payload["data"]["id"] == tenant["id"]
        assert set(payload["data"]) == TENANT_KEYS
        assert "authorization" not in message["headers"]

    log_rows = api.get(f"/internal/webhook-endpoints/{endpoint['id']}/deliveries").json()["items"]
    mine = [row for row in log_rows if row["messageId"] == got[0]["headers"]["webhook-id"]]
    assert sorted((row["attempt"], row["statusCode"]) for row in mine) == [(1, 500), (2, 200)]
    assert all(row["messageStatus"] == "delivered" for row in mine)

    activate(env, tenant)
    deliver(env)
    types = [json.loads(base64.b64decode(m["body"]))["type"] for m in received(log)]
    assert "tenant.activated" in types and "tenant.provisioning_requested" not in types  # only subscribed events
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


def test_webhook_secrets_are_sealed_at_rest_and_survive_a_key_rotation(env, api, receiver):
    url, log = receiver("200")
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    superuser = env["CONTROLPLANE_ADMIN_DATABASE_URL"].replace(":///postgres", ":///controlplane")
    dump = subprocess.run([os.path.join(env["CONTROLPLANE_PG_BIN"], "pg_dump"), superuser], capture_output=True, text=True, timeout=120)
    assert dump.returncode == 0, dump.stderr
    secret_body = endpoint["secret"].removeprefix("whsec_")
    # No signing secret in clear anywhere (the CHECK constraint's 'whsec_%' pattern aside).
    assert not re.search(r"whsec_[A-Za-z0-9+/]{16}", dump.stdout) and secret_body not in dump.stdout
    assert sql(env, f"SELECT secret IS NULL AND secret_sealed IS NOT NULL FROM webhook_endpoints WHERE id = '{endpoint['id']}'").stdout.strip() == "t"

    old = env["CONTROLPLANE_SECRETS_KEYS"]
    new = subprocess.run([env["CPCTL"], "secrets", "generate-key"], capture_output=True, text=True, check=True).stdout.strip()
    assert len(base64.b64decode(new)) == 32
    key_id = lambda key: hashlib.sha256(base64.b64decode(key)).hexdigest()[:16]
    sealed_under = lambda: sql(env, f"SELECT encode(substring(secret_sealed FROM 1 FOR 8), 'hex') FROM webhook_endpoints "
                                    f"WHERE id = '{endpoint['id']}'").stdout.strip()

    def reseal(keys):
        r = subprocess.run([env["CPCTL"], "secrets", "reseal", "--database-url", env["DATABASE_URL"]], capture_output=True,
                           text=True, env={"PATH": os.environ["PATH"], "CONTROLPLANE_SECRETS_KEYS": keys}, timeout=60)
        assert r.returncode == 0 and "webhook secrets resealed" in r.stdout, r.stderr

    def delivered(keys):
        tenant = api.create_tenant()
        deliver(env, secrets_keys=keys)
        got = [m for m in received(log) if json.loads(base64.b64decode(m["body"]))["data"]["id"] == tenant["id"]]
        for message in got:
            Webhook(endpoint["secret"]).verify(base64.b64decode(message["body"]), message["headers"])
        return got

    # A row from before migration 0009 keeps its secret in clear until the reseal.
    legacy = str(uuid.uuid4())
    sql(env, f"INSERT INTO webhook_endpoints (id, url, events, secret, deleted_at) "
             f"VALUES ('{legacy}', 'https://legacy.example.com/h', '{{*}}', 'whsec_bGVnYWN5LXNlY3JldC0wMTIzNDU2Nzg5YWJj', now())")
    try:
        assert sealed_under() == key_id(old)
        assert len(delivered(f"{new},{old}")) == 1        # the new key listed first: old rows still open
        reseal(f"{new},{old}")
        assert sealed_under() == key_id(new)
        assert sql(env, f"SELECT secret IS NULL, encode(substring(secret_sealed FROM 1 FOR 8), 'hex') FROM webhook_endpoints "
                        f"WHERE id = '{legacy}'").stdout.strip() == f"t|{key_id(new)}"
        assert len(delivered(new)) == 1                   # the old key can go
        assert delivered(old) == []                       # a key that no longer opens it: nothing is sent
        dead = sql(env, f"SELECT status, last_error FROM webhook_outbox WHERE endpoint_id = '{endpoint['id']}' "
                        "ORDER BY id DESC LIMIT 1").stdout.strip()
        assert dead == "dead|endpoint secret cannot be opened with the configured keys", dead
    finally:
        reseal(f"{old},{new}")  # back under the stack's key for the tests that follow
    assert sealed_under() == key_id(old)


def test_a_receiver_that_resolves_inside_at_delivery_is_never_called(env, api, receiver):
    """Registered while loopback was allowed (the test stack), delivered by a sync whose policy
    refuses it — as when a name's DNS answer turns to an inside address after registration:
    the destination is checked again after resolving, the receiver is not called, and the
    attempt says which rule refused it."""
    url, log = receiver("200")
    endpoint = api.post("/internal/webhook-endpoints", {"url": url.replace("127.0.0.1", "localhost"), "events": ["tenant.created"]}).json()
    tenant = api.create_tenant()
    deliver(env, allow_loopback="off", schedule="3600")  # one attempt, the next in an hour
    assert [m for m in received(log) if json.loads(base64.b64decode(m["body"]))["data"]["id"] == tenant["id"]] == []
    attempts = api.get(f"/internal/webhook-endpoints/{endpoint['id']}/deliveries").json()["items"]
    assert len(attempts) == 1 and attempts[0]["statusCode"] is None and attempts[0]["messageStatus"] == "pending"
    assert attempts[0]["error"] == "the receiver's address is not allowed: must not point at this host (loopback)"
    # The retry time is the endpoint's (it is the unit of failure): the hour passes.
    sql(env, f"UPDATE webhook_endpoints SET next_attempt_at = now() WHERE id = '{endpoint['id']}'")
    deliver(env)  # allowed again: the retry is delivered
    assert len([m for m in received(log) if json.loads(base64.b64decode(m["body"]))["data"]["id"] == tenant["id"]]) == 1


def test_webhooks_dead_letter_after_the_schedule_and_410_disables(env, api, receiver):
    url, log = receiver("503")
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    tenant = api.create_tenant()
    for _ in range(5):
        deliver(env)
    mine = [m for m in received(log) if json.loads(base64.b64decode(m["body"]))["data"]["id"] == tenant["id"]]
    assert len(mine) == 4  # first attempt + 3 retries of the test schedule, then dead
    status = sql(env, f"SELECT status FROM webhook_outbox WHERE endpoint_id = '{endpoint['id']}' ORDER BY id DESC LIMIT 1").stdout.strip()
    assert status == "dead"
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")

    url, log = receiver("410")
    gone = api.post("/internal/webhook-endpoints", {"url": url, "events": ["*"]}).json()
    api.create_tenant()
    deliver(env)
    listed = {e["id"]: e for e in api.get("/internal/webhook-endpoints").json()["items"]}
    assert listed[gone["id"]]["disabled"] is True
    api.delete(f"/internal/webhook-endpoints/{gone['id']}")


def test_a_slow_endpoint_holds_one_worker_not_the_run(env, api, receiver):
    slow_url, slow_log = receiver("200", delay=1)
    fast_url, fast_log = receiver("200")
    slow = api.post("/internal/webhook-endpoints", {"url": slow_url, "events": ["tenant.created"]}).json()
    fast = api.post("/internal/webhook-endpoints", {"url": fast_url, "events": ["tenant.created"]}).json()
    for _ in range(3):
        api.create_tenant()
    deliver(env)
    slow_got, fast_got = received(slow_log), received(fast_log)
    assert len(slow_got) == 3 and len(fast_got) == 3, (len(slow_got), len(fast_got))  # one run delivered all six
    # The fast endpoint had every message before the slow one answered its first: other workers went on.
    assert max(m["arrivedAt"] for m in fast_got) < min(m["answeredAt"] for m in slow_got)
    # The slow endpoint was called by one worker at a time.
    spans = sorted((m["arrivedAt"], m["answeredAt"]) for m in slow_got)
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:])), spans
    for endpoint in (slow, fast):
        api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


def test_delivery_workers_must_be_in_range(env):
    r = subprocess.run([env["CONTROLPLANE_SYNC"], "deliver", "--workers", "0"], capture_output=True, text=True,
                       env={"PATH": os.environ["PATH"], "CONTROLPLANE_SYNC_DATABASE_URL": env["CONTROLPLANE_SYNC_DATABASE_URL"]})
    assert r.returncode == 64 and "--workers" in r.stderr


def test_webhook_endpoint_bad_inputs(api):
    for body in ({"url": "ftp://x.example", "events": ["tenant.created"]},
                 {"url": "https://user:pw@x.example/h", "events": ["tenant.created"]},
                 {"url": "https://x.example/h", "events": []},
                 {"url": "https://x.example/h", "events": ["tenant.exploded"]}):
        assert_problem(api.post("/internal/webhook-endpoints", body), 422)
    assert_problem(api.delete(f"/internal/webhook-endpoints/{uuid.uuid4()}"), 404)
    assert_problem(api.delete("/internal/webhook-endpoints/nope"), 404)


def test_no_token_ever_reaches_the_backend_log(env):
    with open(env["CONTROLPLANE_LOG"]) as f:
        text = f.read()
    assert env["CONTROLPLANE_INTERNAL_TOKEN"] not in text
    assert "cpst_" not in text


def test_a_callback_signed_with_any_listed_provisioner_secret_is_accepted(env, api, backend_factory):
    """A rotation: CONTROLPLANE_PROVISIONER_SECRETS lists the new secret and the old one; a
    callback signed with either is accepted, with neither refused (401), and a bad list stops
    the backend from starting."""
    from datetime import datetime, timezone
    import fcgi_client as fcgi
    old, new, other = ("whsec_" + base64.b64encode(os.urandom(32)).decode() for _ in range(3))
    backend = backend_factory(extra={"CONTROLPLANE_PROVISIONER_SECRETS": f"{new}, {old}"})

    def callback(secret, tenant):
        payload = json.dumps({"tenantId": tenant, "event": "site.failed", "error": "rotation test"}).encode()
        msg_id, now = "msg_" + uuid.uuid4().hex, datetime.now(tz=timezone.utc)
        signature = Webhook(secret).sign(msg_id, now, payload.decode())
        params = fcgi.request_params("POST", "/internal/provisioning/callbacks", body_length=len(payload), content_type="application/json",
                                     extra={"HTTP_WEBHOOK_ID": msg_id, "HTTP_WEBHOOK_TIMESTAMP": str(int(now.timestamp())),
                                            "HTTP_WEBHOOK_SIGNATURE": signature})
        status, _, body = fcgi.roundtrip(backend.socket_path, params, payload)
        return status, body

    for secret in (old, new):
        tenant = api.create_tenant()["id"]
        status, body = callback(secret, tenant)
        assert status == 200, body
        assert sql(env, f"SELECT status FROM tenants_master WHERE id = '{tenant}'").stdout.strip() == "provisioning_failed"
    tenant = api.create_tenant()["id"]
    assert callback(other, tenant)[0] == 401
    assert sql(env, f"SELECT status FROM tenants_master WHERE id = '{tenant}'").stdout.strip() == "provisioning"
    broken = backend_factory(extra={"CONTROLPLANE_PROVISIONER_SECRETS": f"{new},not-a-secret"}, expect_start=False)
    assert broken.process.wait(30) != 0 and "CONTROLPLANE_PROVISIONER_SECRETS" in broken.log_text()


def test_resend_recover_and_test_sends_reach_a_real_receiver(env, api, receiver):
    """A resend arrives with the same webhook-id; a recovered endpoint gets its dead messages
    again, oldest first; a test event arrives; each verifies with the endpoint's secret."""
    url, log = receiver("200")
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    verifier = Webhook(endpoint["secret"])
    first = api.create_tenant()
    deliver(env)
    got = received(log)
    assert len(got) == 1
    resent = api.post(f"/internal/webhook-messages/{got[0]['headers']['webhook-id']}/resend")
    assert resent.status_code == 202 and resent.json() == {"messageId": got[0]["headers"]["webhook-id"], "queued": 1}, resent.text
    deliver(env)
    got = received(log)
    assert len(got) == 2 and got[1]["headers"]["webhook-id"] == got[0]["headers"]["webhook-id"]
    assert verifier.verify(base64.b64decode(got[1]["body"]), got[1]["headers"])["data"]["id"] == first["id"]

    # Three messages die (as if the receiver had been away past the schedule); recover brings them back in order.
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    tenants = [api.create_tenant()["id"] for _ in range(3)]
    sql(env, f"UPDATE webhook_outbox SET status = 'dead', attempts = 8 WHERE endpoint_id = '{endpoint['id']}' AND status = 'pending'")
    recovered = api.post(f"/internal/webhook-endpoints/{endpoint['id']}/recover", {"since": before})
    assert recovered.status_code == 202 and recovered.json() == {"queued": 3}, recovered.text
    deliver(env)
    got = received(log)
    assert [json.loads(base64.b64decode(m["body"]))["data"]["id"] for m in got[2:]] == tenants

    # Every delivery so far matches the event catalog's schema for its type.
    import jsonschema
    catalog = {e["type"]: e["schema"] for e in api.get("/internal/webhooks/event-types").json()["items"]}
    for message in received(log):
        payload = json.loads(base64.b64decode(message["body"]))
        jsonschema.validate(payload, catalog[payload["type"]], format_checker=jsonschema.FormatChecker())

    sent = api.post(f"/internal/webhook-endpoints/{endpoint['id']}/test")
    assert sent.status_code == 202, sent.text
    deliver(env)
    test_event = verifier.verify(base64.b64decode(received(log)[-1]["body"]), received(log)[-1]["headers"])
    assert test_event["type"] == "webhook.test" and test_event["data"] == {"endpointId": endpoint["id"]}
    jsonschema.validate(test_event, catalog["webhook.test"], format_checker=jsonschema.FormatChecker())
    assert set(catalog) >= {"tenant.created", "tenant.connector_updated", "webhook.endpoint.disabled", "webhook.message.exhausted"}
    with pytest.raises(jsonschema.ValidationError):  # the schemas are strict: an unknown field fails
        jsonschema.validate({**test_event, "data": {**test_event["data"], "extra": 1}}, catalog["webhook.test"])
    assert received(log)[-1]["headers"]["webhook-id"] == sent.json()["messageId"]

    # Refusals change nothing.
    assert api.post("/internal/webhook-messages/msg_nope/resend").status_code == 404
    assert api.post(f"/internal/webhook-endpoints/{endpoint['id']}/recover", {"since": "yesterday"}).status_code == 422
    assert api.post(f"/internal/webhook-endpoints/{uuid.uuid4()}/test").status_code == 404
    sql(env, f"UPDATE webhook_endpoints SET disabled_at = now() WHERE id = '{endpoint['id']}'")
    assert api.post(f"/internal/webhook-endpoints/{endpoint['id']}/test").status_code == 409
    assert sql(env, f"SELECT count(*) FROM webhook_outbox WHERE endpoint_id = '{endpoint['id']}' AND status = 'pending'").stdout.strip() == "0"
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


def test_a_patch_re_enables_an_endpoint_that_a_410_disabled(env, api, receiver):
    url, log = receiver("410,200")
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    api.create_tenant()
    deliver(env)
    listed = lambda: {e["id"]: e for e in api.get("/internal/webhook-endpoints").json()["items"]}[endpoint["id"]]  # noqa: E731
    assert listed()["state"] == "disabled" and listed()["disabledReason"] == "the receiver answered 410 Gone"
    # Refusals change nothing.
    before = listed()
    for body, status in (({}, 422), ({"url": "ftp://example.com/h"}, 422), ({"events": ["tenant.nope"]}, 422),
                         ({"colour": "red"}, 422), ({"description": "x" * 501}, 422), ({"description": "nul \u0000 byte"}, 422),
                         ({"description": "e\u0301" * 300}, 422)):  # 300 characters, 600 code points: the column counts code points
        assert api.patch(f"/internal/webhook-endpoints/{endpoint['id']}", body).status_code == status, body
    assert listed() == before
    assert api.patch(f"/internal/webhook-endpoints/{uuid.uuid4()}", {"enabled": True}).status_code == 404
    r = api.patch(f"/internal/webhook-endpoints/{endpoint['id']}", {"enabled": True, "description": "back after the move",
                                                                   "events": ["tenant.created", "tenant.suspended"]})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "healthy" and r.json()["disabled"] is False and r.json()["description"] == "back after the move"
    assert r.json()["events"] == ["tenant.created", "tenant.suspended"] and r.json()["disabledReason"] is None
    tenant = api.create_tenant()
    deliver(env)
    got = [m for m in received(log) if json.loads(base64.b64decode(m["body"]))["data"]["id"] == tenant["id"]]
    assert [m["answered"] for m in got] == [200]
    assert api.patch(f"/internal/webhook-endpoints/{endpoint['id']}", {"description": ""}).json()["description"] is None
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


def test_after_a_secret_rotation_deliveries_verify_with_both_secrets_then_only_the_new(env, api, receiver):
    from standardwebhooks.webhooks import WebhookVerificationError
    url, log = receiver("200")
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    old = endpoint["secret"]
    rotated = api.post(f"/internal/webhook-endpoints/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert new not in json.dumps(api.get("/internal/webhook-endpoints").json()) and new not in sql(env, "SELECT * FROM audit_log").stdout

    def delivered():
        tenant = api.create_tenant()
        deliver(env)
        got = [m for m in received(log) if json.loads(base64.b64decode(m["body"]))["data"]["id"] == tenant["id"]]
        assert len(got) == 1
        return base64.b64decode(got[0]["body"]), got[0]["headers"]

    body, headers = delivered()  # within the overlap: both signatures, each verifies
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "tenant.created"
    # The overlap (24 h by default) is over: only the new secret signs.
    sql(env, f"UPDATE webhook_endpoints SET secret_rotated_at = now() - interval '25 hours' WHERE id = '{endpoint['id']}'")
    body, headers = delivered()
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(body, headers)["type"] == "tenant.created"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)
    assert api.post(f"/internal/webhook-endpoints/{uuid.uuid4()}/rotate-secret").status_code == 404
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")
