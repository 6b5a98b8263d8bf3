"""Helpers for the tenant tests: tokens made with cpctl, signed callbacks, SQL as the owner."""
import json
import subprocess
import time
import uuid

import requests
from standardwebhooks.webhooks import Webhook

from sql_support import sql, sql_refused  # noqa: F401 (re-exported for the tests)


def cpctl(env, *args, stdin=None):
    return subprocess.run([env["CPCTL"], *args, "--database-url", env["DATABASE_URL"]], input=stdin,
                          capture_output=True, text=True, timeout=60)


def make_token(env, scopes):
    name = "t-" + uuid.uuid4().hex[:12]
    r = cpctl(env, "tokens", "create", "--name", name, "--scopes", scopes)
    assert r.returncode == 0, r.stderr
    return name, r.stdout.strip()


class Internal:
    def __init__(self, base, token):
        self.base = base
        self.headers = {"authorization": f"Bearer {token}"}

    def get(self, path, **kwargs):
        return requests.get(self.base + path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path, body=None, **kwargs):
        return requests.post(self.base + path, json=body, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return requests.patch(self.base + path, json=body, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def delete(self, path, **kwargs):
        return requests.delete(self.base + path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def create_tenant(self, slug=None, **extra):
        body = {"slug": slug or "t-" + uuid.uuid4().hex[:10], "displayName": "Tenant", "contactEmail": "ops@example.com"}
        body.update(extra)
        r = self.post("/internal/tenants", body)
        assert r.status_code == 201, r.text
        return r.json()


def signed_callback(env, body, msg_id=None, timestamp=None, secret=None, sent_body=None, extra_headers=None):
    """A provisioning callback signed over `body`; `sent_body` sends other bytes with that signature."""
    payload = json.dumps(body)
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    timestamp = timestamp or time.time()
    from datetime import datetime, timezone
    signer = Webhook(secret or env["CONTROLPLANE_PROVISIONER_SECRET"])
    signature = signer.sign(msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), payload)
    headers = {"content-type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(int(timestamp)), "webhook-signature": signature, **(extra_headers or {})}
    data = payload if sent_body is None else json.dumps(sent_body)
    return requests.post(env["CONTROLPLANE_INTERNAL_URL"] + "/internal/provisioning/callbacks", data=data, headers=headers)
