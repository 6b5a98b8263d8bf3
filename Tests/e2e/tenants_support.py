"""Helpers for the tenant tests: tokens made with cpctl, signed callbacks, SQL as the owner."""
import json
import subprocess
import time
import uuid

import requests
from standardwebhooks.webhooks import Webhook


def cpctl(env, *args, stdin=None):
    return subprocess.run([env["CPCTL"], *args, "--database-url", env["DATABASE_URL"]], input=stdin,
                          capture_output=True, text=True, timeout=60)


def make_token(env, scopes):
    name = "t-" + uuid.uuid4().hex[:12]
    r = cpctl(env, "tokens", "create", "--name", name, "--scopes", scopes)
    assert r.returncode == 0, r.stderr
    return name, r.stdout.strip()


def sql(env, statement, url_key="DATABASE_URL"):
    r = subprocess.run(["psql", env[url_key], "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", statement], capture_output=True, text=True)
    return r


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
        return requests.delete(self.base + path, headers=self.headers, **kwargs)

    def create_tenant(self, slug=None, **extra):
        body = {"slug": slug or "t-" + uuid.uuid4().hex[:10], "displayName": "Tenant", "contactEmail": "ops@example.com"}
        body.update(extra)
        r = self.post("/internal/tenants", body)
        assert r.status_code == 201, r.text
        return r.json()


def signed_callback(env, body, msg_id=None, timestamp=None, secret=None):
    payload = json.dumps(body)
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    timestamp = timestamp or time.time()
    from datetime import datetime, timezone
    signer = Webhook(secret or env["CONTROLPLANE_PROVISIONER_SECRET"])
    signature = signer.sign(msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), payload)
    headers = {"content-type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(int(timestamp)), "webhook-signature": signature}
    return requests.post(env["CONTROLPLANE_INTERNAL_URL"] + "/internal/provisioning/callbacks", data=payload, headers=headers)
