"""Webhook delivery with dead endpoints (issue #23): the endpoint is the unit of failure. Real
receivers that hang (accept and never answer), hosts that do not resolve, a live receiver,
and 5,000 pending messages among them, delivered by the real `controlplane-sync deliver`."""
import base64
import json
import os
import select
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import keep_output
from sql_support import sql
from tenants_support import Internal, make_token


class HangingReceivers:
    """Ports that accept connections and never answer a byte; counts the connections each gets."""

    def __init__(self, count):
        self.listeners = []
        for _ in range(count):
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(256)
            listener.setblocking(False)
            self.listeners.append(listener)
        self.ports = [listener.getsockname()[1] for listener in self.listeners]
        self.connections = {port: 0 for port in self.ports}
        self.held = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            ready, _, _ = select.select(self.listeners, [], [], 0.1)
            for listener in ready:
                try:
                    connection, _ = listener.accept()
                except BlockingIOError:
                    continue
                self.connections[listener.getsockname()[1]] += 1
                self.held.append(connection)  # never read, never answered, never closed

    def stop(self):
        self.running = False
        self.thread.join()
        for s in self.held + self.listeners:
            s.close()


def deliver(env, seconds=30, schedule="60,60,60", **extra):
    environment = {"PATH": os.environ["PATH"], "CONTROLPLANE_SYNC_DATABASE_URL": env["CONTROLPLANE_SYNC_DATABASE_URL"],
                   "CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE": schedule, "CONTROLPLANE_WEBHOOK_TIMEOUT_SECONDS": "2",
                   "CONTROLPLANE_SECRETS_KEYS": env["CONTROLPLANE_SECRETS_KEYS"], "CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK": "on",
                   "CONTROLPLANE_DELIVER_WEBHOOKS_SECONDS": str(seconds), **extra}
    started = time.time()
    r = keep_output(env, "sync", subprocess.run([env["CONTROLPLANE_SYNC"], "deliver", "--outbox", "webhooks", "--workers", "4"],
                                                env=environment, capture_output=True, text=True, timeout=seconds + 60))
    assert r.returncode == 0, r.stderr
    return started, time.time() - started


def received(log):
    return [json.loads(line) for line in open(log)] if os.path.exists(log) else []


def body_of(message):
    return json.loads(base64.b64decode(message["body"]))


def new_endpoint(api, url, events=("tenant.created",)):
    r = api.post("/internal/webhook-endpoints", {"url": url, "events": list(events)})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def bulk_messages(env, endpoints, count):
    """`count` pending messages spread over `endpoints` in turn, oldest first (message n goes to endpoint n % len)."""
    ids = "{" + ",".join(endpoints) + "}"
    sql(env, f"""
        INSERT INTO webhook_outbox (message_id, endpoint_id, event_type, payload)
        SELECT 'msg_bulk_' || lpad(n::text, 5, '0'), (('{ids}'::uuid[])[1 + n % {len(endpoints)}]), 'tenant.created',
               '{{"type":"tenant.created","timestamp":"2026-12-02T00:00:00Z","data":{{"n":' || n || '}}}}'
        FROM generate_series(0, {count - 1}) AS n ORDER BY n""")


def forget(env, endpoints):
    """Leaves nothing behind for the tests that follow."""
    ids = "{" + ",".join(endpoints) + "}"
    sql(env, f"UPDATE webhook_outbox SET status = 'dead' WHERE status = 'pending' AND endpoint_id = ANY ('{ids}'::uuid[])")
    sql(env, f"UPDATE webhook_endpoints SET deleted_at = now() WHERE id = ANY ('{ids}'::uuid[])")


@pytest.fixture
def api(env):
    _, token = make_token(env, "webhooks:manage,tenants:write,operations:read")
    return Internal(env["CONTROLPLANE_INTERNAL_URL"], token)


@pytest.fixture
def hanging():
    receivers = HangingReceivers(20)
    yield receivers
    receivers.stop()


def test_dead_endpoints_get_one_probe_per_interval_and_a_live_one_goes_first(env, api, receiver, hanging):
    hung = [new_endpoint(api, f"http://127.0.0.1:{port}/hooks") for port in hanging.ports]
    receiver("200")  # the fixture first retires the endpoints earlier tests left
    unresolvable = [new_endpoint(api, "http://127.0.0.1:9/hooks") for _ in range(20)]
    for n, endpoint in enumerate(unresolvable):  # registered while they resolved; their names are gone now
        sql(env, f"UPDATE webhook_endpoints SET url = 'http://dead-{n}.invalid/hooks' WHERE id = '{endpoint}'")
    dead = hung + unresolvable
    try:
        bulk_messages(env, dead, 5000)
        # Run 1: every dead endpoint is probed once, and the run keeps its deadline although 20
        # of them hold a worker for the whole timeout.
        _, took = deliver(env, seconds=30)
        assert took < 30 + 2 + 10, took
        assert set(hanging.connections.values()) == {1}, hanging.connections
        attempts = lambda: int(sql(env, "SELECT count(*) FROM webhook_delivery_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id "  # noqa: E731
                                        f"WHERE o.endpoint_id = ANY ('{{{','.join(dead)}}}'::uuid[])").stdout)
        assert attempts() == 40
        states = sql(env, f"SELECT count(*) FROM webhook_endpoints WHERE id = ANY ('{{{','.join(dead)}}}'::uuid[]) "
                          "AND failing_since IS NOT NULL AND consecutive_failures = 1 AND next_attempt_at > now() + interval '40 seconds'").stdout
        assert states.strip() == "40"

        # A live receiver's message, created after the 5,000: delivered within seconds of the next run's start.
        live_url, live_log = receiver("200")
        live = new_endpoint(api, live_url)
        tenant = api.post("/internal/tenants", {"slug": "bo-" + uuid.uuid4().hex[:8], "displayName": "Backoff",
                                                "contactEmail": "ops@backoff.example"}).json()["id"]
        started, took = deliver(env, seconds=30)
        got = [m for m in received(live_log) if body_of(m)["data"]["id"] == tenant]
        assert len(got) == 1 and got[0]["arrivedAt"] - started < 5, (got, started)
        assert set(hanging.connections.values()) == {1} and attempts() == 40  # not due: no second probe within the interval
        assert took < 10, took

        # Visible: the API, the metrics and the console say which endpoints fail and what waits.
        listed = {e["id"]: e for e in api.get("/internal/webhook-endpoints", params={"limit": 1000}).json()["items"]}
        sample = listed[hung[0]]
        assert sample["state"] == "failing" and sample["consecutiveFailures"] == 1 and sample["backlog"] == 126
        assert sample["failingSince"] and sample["nextAttemptAt"]
        assert listed[live]["state"] == "healthy" and listed[live]["backlog"] == 0
        metrics = api.get("/internal/metrics").text
        assert 'controlplane_webhook_endpoints{state="failing"} 40' in metrics, metrics

        # The interval passes: every dead endpoint is due for its second probe, and a new message
        # for the live one still goes first (healthy endpoints before failing ones).
        sql(env, f"UPDATE webhook_endpoints SET next_attempt_at = now() WHERE id = ANY ('{{{','.join(dead)}}}'::uuid[])")
        second = api.post("/internal/tenants", {"slug": "bo-" + uuid.uuid4().hex[:8], "displayName": "Backoff 2",
                                                "contactEmail": "ops@backoff.example"}).json()["id"]
        started, took = deliver(env, seconds=30)
        got = [m for m in received(live_log) if body_of(m)["data"]["id"] == second]
        assert len(got) == 1 and got[0]["arrivedAt"] - started < 5, (got, started)
        assert set(hanging.connections.values()) == {2} and attempts() == 80, hanging.connections  # one probe each, no more
        assert took < 30 + 2 + 10, took

        # A dead receiver comes back: its whole backlog arrives, complete and in order.
        back_url, back_log = receiver("200")
        sql(env, f"UPDATE webhook_endpoints SET url = '{back_url}', next_attempt_at = now() WHERE id = '{hung[0]}'")
        deliver(env, seconds=60)
        arrived = [body_of(m)["data"] for m in received(back_log)]
        bulk = [d["n"] for d in arrived if "n" in d]
        assert bulk == list(range(0, 5000, 40)) and [d.get("id") for d in arrived[-2:]] == [tenant, second], arrived[:3]
        assert len({m["headers"]["webhook-id"] for m in received(back_log)}) == 127
        assert {e["id"]: e for e in api.get("/internal/webhook-endpoints", params={"limit": 1000}).json()["items"]}[hung[0]]["state"] == "healthy"
    finally:
        forget(env, dead)


def test_a_backlog_over_its_cap_and_an_endpoint_failing_too_long_are_announced(env, api, receiver):
    watcher_url, watcher_log = receiver("200")
    everything_url, everything_log = receiver("200")
    watcher = new_endpoint(api, watcher_url, events=["webhook.message.exhausted", "webhook.endpoint.disabled"])
    everything = new_endpoint(api, everything_url, events=["*"])
    failing = new_endpoint(api, "http://127.0.0.1:9/hooks")
    sql(env, f"UPDATE webhook_endpoints SET url = 'http://gone.invalid/hooks' WHERE id = '{failing}'")
    try:
        bulk_messages(env, [failing], 30)
        deliver(env, CONTROLPLANE_WEBHOOK_MAX_PENDING_PER_ENDPOINT="10")
        statuses = sql(env, f"SELECT status, count(*) FROM webhook_outbox WHERE endpoint_id = '{failing}' GROUP BY 1 ORDER BY 1").stdout.split()
        assert statuses == ["dead|20", "pending|10"], statuses
        oldest_kept = sql(env, f"SELECT min(message_id) FROM webhook_outbox WHERE endpoint_id = '{failing}' AND status = 'pending'").stdout.strip()
        assert oldest_kept == "msg_bulk_00020"  # the oldest were dropped
        events = [body_of(m) for m in received(watcher_log)]
        assert [e["type"] for e in events] == ["webhook.message.exhausted"], events
        assert events[0]["data"]["endpointId"] == failing and events[0]["data"]["reason"] == "backlog_cap"
        assert events[0]["data"]["count"] == 20 and events[0]["data"]["messageIds"][0] == "msg_bulk_00000"

        # Failing for more than the setting (5 days by default): disabled, with an event; its backlog dies.
        sql(env, f"UPDATE webhook_endpoints SET failing_since = now() - interval '6 days', next_attempt_at = now() WHERE id = '{failing}'")
        deliver(env)
        row = sql(env, f"SELECT disabled_at IS NOT NULL, disabled_reason FROM webhook_endpoints WHERE id = '{failing}'").stdout.strip()
        assert row.startswith("t|failing for more than 432000 s"), row
        events = [body_of(m) for m in received(watcher_log)]
        assert [e["type"] for e in events] == ["webhook.message.exhausted", "webhook.endpoint.disabled"], events
        assert events[1]["data"] == {"endpointId": failing, "url": "http://gone.invalid/hooks", "reason": row.split("|", 1)[1]}
        import jsonschema  # both match the event catalog
        catalog = {e["type"]: e["schema"] for e in api.get("/internal/webhooks/event-types").json()["items"]}
        for event in events:
            jsonschema.validate(event, catalog[event["type"]], format_checker=jsonschema.FormatChecker())
        assert sql(env, f"SELECT count(*) FROM webhook_outbox WHERE endpoint_id = '{failing}' AND status = 'pending'").stdout.strip() == "0"
        # Operational events go to those who named them, never through "*".
        assert [body_of(m)["type"] for m in received(everything_log) if body_of(m)["type"].startswith("webhook.")] == []
    finally:
        forget(env, [watcher, everything, failing])
