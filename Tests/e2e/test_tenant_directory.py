"""The tenant directory served from each backend's in-memory snapshot (issue #20): a change
made through one process is in another's directory within a second, a NOTIFY lost while a
watcher reconnects is caught by its version check, and a revalidation is answered 304 with no
database round trip."""
import json
import time
import urllib.parse

import requests

import fcgi_client as fcgi
from conftest import wait_until
from sql_support import scalar
from tenants_support import Internal


def listed(backend, env, since, tenant_id):
    """The tenant as `backend` (a private controlplaned) lists it, or None."""
    query = urllib.parse.urlencode({"limit": 500, "updatedSince": since})
    status, _, body = fcgi.roundtrip(backend.socket_path, fcgi.request_params(
        "GET", "/internal/tenants-directory",
        extra={"QUERY_STRING": query, "HTTP_AUTHORIZATION": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}))
    assert status == 200, body
    return next((item for item in json.loads(body)["items"] if item["id"] == tenant_id), None)


def since(tenant):
    return tenant["createdAt"]


def stack_listed(internal, tenant):
    """The tenant as the stack's backend lists it (through nginx)."""
    page = internal.get("/internal/tenants-directory", params={"limit": 500, "updatedSince": since(tenant)}).json()
    return next((item for item in page["items"] if item["id"] == tenant["id"]), {})


def test_a_change_through_one_process_is_in_another_within_a_second(env, backend_factory):
    other = backend_factory()
    internal = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])
    seen_after = []
    for _ in range(5):
        tenant = internal.create_tenant()
        created = time.monotonic()
        assert wait_until(lambda: listed(other, env, since(tenant), tenant["id"]) is not None, timeout=5, interval=0.01)
        seen_after.append(time.monotonic() - created)
    print("seen by the other process after (s):", [round(s, 3) for s in seen_after])
    assert max(seen_after) < 1.0


def test_a_notify_lost_while_the_watcher_reconnects_is_caught_by_the_version_check(env, backend_factory):
    other = backend_factory()
    internal = Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])
    tenant = internal.create_tenant()
    assert wait_until(lambda: listed(other, env, since(tenant), tenant["id"]) is not None, timeout=5)
    admin = "CONTROLPLANE_ADMIN_DATABASE_URL"
    for attempt in range(5):
        name = f"Renamed {attempt}"
        # Every directory watcher (the stack's and this test's backend) loses its session; the
        # rename commits before they LISTEN again, so its NOTIFY reaches nobody.
        killed = scalar(env, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE application_name = 'controlplaned-directory'", url_key=admin)
        assert int(killed) >= 2
        committed = scalar(env, f"UPDATE tenants_master SET display_name = '{name}' WHERE id = '{tenant['id']}' "
                                "RETURNING clock_timestamp()")
        assert wait_until(lambda: (listed(other, env, since(tenant), tenant["id"]) or {}).get("displayName") == name, timeout=3)
        assert wait_until(lambda: stack_listed(internal, tenant).get("displayName") == name, timeout=3)
        listening_since = scalar(env, "SELECT min(backend_start) > '" + committed + "'::timestamptz FROM pg_stat_activity "
                                      "WHERE application_name = 'controlplaned-directory'", url_key=admin)
        if listening_since == "t":
            return  # the change was committed while no watcher listened, and both caught it
    raise AssertionError("a watcher reconnected before the change committed in every attempt; the NOTIFY was never lost")


def test_a_revalidation_is_answered_304_without_the_database(env, internal):
    headers = {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    url = f"{internal}/internal/tenants-directory?limit=20"
    first = requests.get(url, headers=headers)
    assert first.status_code == 200
    etag = first.headers["etag"]
    for i in range(3):
        trace = f"dir-304-{time.monotonic_ns()}-{i}"
        r = requests.get(url, headers={**headers, "if-none-match": etag, "x-trace-id": trace})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    assert wait_until(lambda: trace in open(env["CONTROLPLANE_LOG"]).read())
    lines = [json.loads(line) for line in open(env["CONTROLPLANE_LOG"]) if trace in line]
    assert [(line["status"], line["dbRoundTrips"]) for line in lines if line.get("msg") == "request"] == [(304, 0)]


def test_every_backend_gives_a_page_the_same_etag(env, backend_factory, internal):
    """A poller behind a balancer revalidates against whichever backend answers."""
    other = backend_factory()
    headers = {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    stack = requests.get(f"{internal}/internal/tenants-directory?limit=7&status=provisioning", headers=headers)
    assert stack.status_code == 200
    params = fcgi.request_params("GET", "/internal/tenants-directory", extra={
        "QUERY_STRING": "limit=7&status=provisioning", "HTTP_AUTHORIZATION": headers["authorization"],
        "HTTP_IF_NONE_MATCH": stack.headers["etag"]})
    status, answered, body = fcgi.roundtrip(other.socket_path, params)
    assert (status, body, answered["etag"]) == (304, b"", stack.headers["etag"])
