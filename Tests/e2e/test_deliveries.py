"""Outboxes that never wait for each other, and per-destination order enforced by the
database: two `deliver` processes, a dripping webhook receiver next to a code email, a
region's commands across processes."""
import email
import glob
import json
import os
import subprocess
import uuid

import pytest
import requests

from conftest import keep_output, wait_until
from governance_support import control, registry, sql, sync_environment  # noqa: F401 (fixtures)
from tenants_support import Internal

ORIGIN = "http://localhost:3000"
BROWSER = {"origin": ORIGIN, "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "accept": "application/json"}


@pytest.fixture
def api(env):
    return Internal(env["CONTROLPLANE_INTERNAL_URL"], env["CONTROLPLANE_INTERNAL_TOKEN"])


def start_deliver(env, *args, extra=None):
    environment = sync_environment(env, {"CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE": "0,0,0", **(extra or {})})
    return subprocess.Popen([env["CONTROLPLANE_SYNC"], "deliver", *args], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(env, process):
    out, err = process.communicate(timeout=120)
    keep_output(env, "sync", subprocess.CompletedProcess(process.args, process.returncode, out, err))
    assert process.returncode == 0, err
    return err


def received(log):
    return [json.loads(line) for line in open(log)] if os.path.exists(log) else []


def test_a_receiver_under_a_private_ca_is_trusted_only_with_its_ca_file(env, api, receiver, tmp_path):
    url, log = receiver("200", tls=True)
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    api.create_tenant()
    outbox = f"SELECT id FROM webhook_outbox WHERE endpoint_id = '{endpoint['id']}'"
    # The system's CAs do not know the receiver's certificate: refused, rescheduled, nothing sent.
    finish(env, start_deliver(env, "--outbox", "webhooks", extra={"CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE": "3600"}))
    assert received(log) == []
    assert sql(env, f"SELECT error FROM webhook_delivery_attempts WHERE outbox_id = ({outbox})").stdout.strip() == "TLS handshake failed"
    sql(env, f"UPDATE webhook_endpoints SET next_attempt_at = now() WHERE id = '{endpoint['id']}'")
    sql(env, f"UPDATE webhook_outbox SET next_attempt_at = now() WHERE id = ({outbox})")
    # With the receiver's CA as the bundle: delivered, over TLS.
    ca_file = str(tmp_path / "receiver-0.pem")
    finish(env, start_deliver(env, "--outbox", "webhooks", extra={"CONTROLPLANE_WEBHOOK_CA_FILE": ca_file}))
    assert len(received(log)) == 1
    assert sql(env, f"SELECT status, attempts FROM webhook_outbox WHERE id = ({outbox})").stdout.strip() == "delivered|2"
    # A bundle that cannot be read is a configuration mistake, not a silent fallback to the system's.
    missing = start_deliver(env, "--outbox", "webhooks", extra={"CONTROLPLANE_WEBHOOK_CA_FILE": str(tmp_path / "none.pem")})
    missing.communicate(timeout=60)
    assert missing.returncode == 78
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


def test_two_deliver_processes_on_one_endpoint_send_each_message_once_in_order(env, api, receiver):
    url, log = receiver("200", delay=0.1)
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    for _ in range(12):
        api.create_tenant()
    expected = sql(env, f"SELECT message_id FROM webhook_outbox WHERE endpoint_id = '{endpoint['id']}' ORDER BY id").stdout.split()
    assert len(expected) == 12
    first, second = start_deliver(env, "--outbox", "webhooks"), start_deliver(env, "--outbox", "webhooks")
    finish(env, first)
    finish(env, second)
    got = received(log)
    # Each message once, in the order written, and never two in flight at the endpoint.
    assert [m["headers"]["webhook-id"] for m in sorted(got, key=lambda m: m["arrivedAt"])] == expected
    spans = sorted((m["arrivedAt"], m["answeredAt"]) for m in got)
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:])), spans
    assert sql(env, f"SELECT count(*) FROM webhook_outbox WHERE endpoint_id = '{endpoint['id']}' AND status = 'delivered'"
                    f" AND attempts = 1").stdout.strip() == "12"
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


def test_two_deliver_processes_send_a_regions_commands_once_in_order(env, registry, control):
    region = control.add_region(registry.url)
    registry.control("faults", [{"kind": "slow", "delay": 0.1, "path": "commands", "count": 10}])
    ids = [control.post("/control/v1/commands", {"region": region, "kind": "QUEUE_CAPACITY", "target": "builds",
                                                 "params": {"capacity": i}, "reason": "order"}).json()["id"] for i in range(8)]
    first, second = start_deliver(env, "--outbox", "commands"), start_deliver(env, "--outbox", "commands")
    finish(env, first)
    finish(env, second)
    applied = registry.commands()
    assert [c["commandId"] for c in applied] == ids  # once each, in the order issued
    arrivals = [s["at"] for s in registry.requests() if s["path"] == "/v1/registry/commands"]
    assert len(arrivals) == 8
    assert all(arrived >= done["_appliedAt"] for arrived, done in zip(arrivals[1:], applied))
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def test_a_command_waiting_for_its_retry_holds_the_later_ones_of_its_region(env, registry, control):
    """QUEUE_CAPACITY 10 then 20 must end at 20: the second never overtakes the first."""
    region = control.add_region(registry.url)
    registry.control("faults", [{"kind": "500", "path": "commands", "count": 1}])
    issue = lambda capacity: control.post("/control/v1/commands", {  # noqa: E731
        "region": region, "kind": "QUEUE_CAPACITY", "target": "builds", "params": {"capacity": capacity},
        "reason": "order"}).json()["id"]
    first, second = issue(10), issue(20)
    finish(env, start_deliver(env, "--outbox", "commands"))
    assert control.get(f"/control/v1/commands/{first}").json()["status"] == "PENDING"  # waits for its retry (5 s)
    assert control.get(f"/control/v1/commands/{second}").json()["status"] == "PENDING"  # held behind it
    sql(env, f"UPDATE governance_commands SET next_attempt_at = now() WHERE id = '{first}'")
    finish(env, start_deliver(env, "--outbox", "commands"))
    assert [c["commandId"] for c in registry.commands()] == [first, second]
    control.patch(f"/control/v1/regions/{region}", {"enabled": False})


def mail_to(env, address):
    """(received at, message) of the message to `address` in the SMTP sink, else None."""
    for path in glob.glob(os.path.join(env["CONTROLPLANE_MAIL_DIR"], "*.eml")):
        with open(path, "rb") as f:
            message = email.message_from_bytes(f.read())
        if message["To"] == address:
            return int(os.path.basename(path).split("-")[0]) / 1e9, message
    return None


def test_a_dripping_webhook_receiver_never_delays_a_code_email(env, api, receiver):
    url, log = receiver("200", delay=4)  # each answer takes 4 s
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    for _ in range(2):
        api.create_tenant()
    draft = requests_post(env, "/manual-approval/draft", {"email": "someone@gmail.com"})
    assert draft.status_code == 201, draft.text
    work = f"jane.{uuid.uuid4().hex[:8]}@acme-{uuid.uuid4().hex[:6]}.com"
    r = requests_post(env, f"/manual-approval/{draft.json()['draftId']}/work-email/otp", {"workEmail": work},
                      draft.json()["draftSecret"])
    assert r.status_code == 202, r.text
    process = start_deliver(env, "--workers", "1", extra={
        "CONTROLPLANE_SMTP_URL": env["CONTROLPLANE_SMTP_URL"], "CONTROLPLANE_SMTP_TLS": "off",
        "CONTROLPLANE_HASH_KEY": env["CONTROLPLANE_HASH_KEY"], "CONTROLPLANE_MAIL_FROM": env["CONTROLPLANE_MAIL_FROM"],
        "CONTROLPLANE_WEBHOOK_TIMEOUT_SECONDS": "10"})
    finish(env, process)
    sent = mail_to(env, work)
    assert sent is not None, "the code email was not sent"
    got = received(log)
    assert len(got) == 2
    # The email went out before the receiver answered its first webhook: nothing waited for it.
    assert sent[0] < min(m["answeredAt"] for m in got)
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


def requests_post(env, path, body, secret=None):
    headers = dict(BROWSER)
    if secret:
        headers["authorization"] = f"Bearer {secret}"
    return requests.post(f"{env['CONTROLPLANE_URL']}/api/trial{path}", json=body, headers=headers)


def test_deliver_refuses_an_unknown_outbox_and_out_of_range_workers(env):
    for args, word in ((["--outbox", "faxes"], "--outbox"), (["--email-workers", "0"], "--email-workers"),
                       (["--admin-job-workers", "65"], "--admin-job-workers")):
        process = start_deliver(env, *args)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 64 and word in err, (args, err)


def test_a_deadline_that_is_not_a_number_is_a_configuration_error(env):
    for value in ("soon", "0", "-5"):
        process = start_deliver(env, extra={"CONTROLPLANE_DELIVER_WEBHOOKS_SECONDS": value})
        out, err = process.communicate(timeout=60)
        assert process.returncode == 78 and "CONTROLPLANE_DELIVER_WEBHOOKS_SECONDS" in err, (value, err)


def test_an_outbox_stops_claiming_at_its_deadline(env, api, receiver):
    url, log = receiver("200", delay=2)
    endpoint = api.post("/internal/webhook-endpoints", {"url": url, "events": ["tenant.created"]}).json()
    for _ in range(3):
        api.create_tenant()
    finish(env, start_deliver(env, "--outbox", "webhooks", extra={"CONTROLPLANE_DELIVER_WEBHOOKS_SECONDS": "1"}))
    # The first message was claimed at once and answered after 2 s, past the 1 s deadline: the run ended there.
    assert len(received(log)) == 1
    assert sql(env, f"SELECT count(*) FROM webhook_outbox WHERE endpoint_id = '{endpoint['id']}' AND status = 'pending'"
                    f" AND attempts = 0").stdout.strip() == "2"
    finish(env, start_deliver(env, "--outbox", "webhooks"))
    assert len(received(log)) == 3
    api.delete(f"/internal/webhook-endpoints/{endpoint['id']}")


DRAFTS, REQUESTS = 20, 3


def test_email_workers_leave_nothing_due_behind(env):
    """Twenty drafts with three code requests each, eight email workers: in one run each draft
    gets exactly its newest code and the older requests are superseded — no worker stops while
    messages are still due. (The race this guards, a worker stopping while a sibling's
    SKIP LOCKED join still held rows it had skipped, is too narrow to force from outside;
    the claim now takes a draft's lock only when free.)"""
    drafts = []
    for _ in range(DRAFTS):
        draft = requests_post(env, "/manual-approval/draft", {"email": "someone@gmail.com"})
        assert draft.status_code == 201, draft.text
        draft_id, secret = draft.json()["draftId"], draft.json()["draftSecret"]
        work = f"jane.{uuid.uuid4().hex[:8]}@acme-{uuid.uuid4().hex[:6]}.com"
        for _ in range(REQUESTS):
            sql(env, f"UPDATE trial_drafts SET otp_requested_at = now() - interval '2 minutes' WHERE id = '{draft_id}'")
            r = requests_post(env, f"/manual-approval/{draft_id}/work-email/otp", {"workEmail": work}, secret)
            assert r.status_code == 202, r.text
        drafts.append(draft_id)
    finish(env, start_deliver(env, "--outbox", "emails", "--email-workers", "8", extra={
        "CONTROLPLANE_SMTP_URL": env["CONTROLPLANE_SMTP_URL"], "CONTROLPLANE_SMTP_TLS": "off",
        "CONTROLPLANE_HASH_KEY": env["CONTROLPLANE_HASH_KEY"], "CONTROLPLANE_MAIL_FROM": env["CONTROLPLANE_MAIL_FROM"]}))
    ids = ",".join(f"'{d}'" for d in drafts)
    statuses = sql(env, f"SELECT status, count(*) FROM email_outbox WHERE draft_id IN ({ids}) GROUP BY status ORDER BY status").stdout.split()
    assert statuses == [f"sent|{DRAFTS}", f"superseded|{DRAFTS * (REQUESTS - 1)}"], statuses
