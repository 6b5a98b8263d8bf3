"""Helpers for the governance and sync tests: a fake registry process, the sync, the control API."""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests

from conftest import REPO, free_port, keep_output, output_log, wait_until
from sql_support import sql, sql_refused  # noqa: F401 (re-exported for the tests)


class FakeRegistry:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, os.path.join(REPO, "Tests", "e2e", "fake_registry.py"),
                                         "--port", str(self.port)])
        assert wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", self.port)) == 0, timeout=10)

    def control(self, what, body):
        r = requests.post(f"{self.url}/_control/{what}", data=json.dumps(body) if not isinstance(body, bytes) else body)
        assert r.status_code == 200, r.text
        return r.json()

    def add_items(self, items):
        return self.control("items", items)

    def requests(self):
        return requests.get(f"{self.url}/_control/requests").json()

    def commands(self):
        return requests.get(f"{self.url}/_control/commands").json()

    def stop(self):
        self.process.kill()
        self.process.wait()


class Control:
    def __init__(self, env):
        self.base = env["CONTROLPLANE_INTERNAL_URL"]
        self.headers = {"authorization": f"Bearer {env['PPOS_CONTROL_TOKEN']}"}

    def get(self, path, **kwargs):
        return requests.get(self.base + path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path, body=None, **kwargs):
        return requests.post(self.base + path, json=body, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def patch(self, path, body=None):
        return requests.patch(self.base + path, json=body, headers=self.headers)

    def delete(self, path):
        return requests.delete(self.base + path, headers=self.headers)

    def add_region(self, base_url, region=None, **settings):
        region = region or "r-" + uuid.uuid4().hex[:8]
        body = {"id": region, "baseUrl": base_url, "requestsPerSecond": 0, **settings}
        r = self.post("/control/v1/regions", body)
        assert r.status_code == 201, r.text
        return region


def sync_environment(env, extra=None):
    environment = {"PATH": os.environ["PATH"], "CONTROLPLANE_SYNC_DATABASE_URL": env["CONTROLPLANE_SYNC_DATABASE_URL"],
                   "CONTROLPLANE_JWT_KEY_FILES": env["CONTROLPLANE_JWT_KEY_FILES"], "CONTROLPLANE_JWT_ISSUER": "controlplane",
                   "CONTROLPLANE_SYNC_BACKOFF_SECONDS": "0.05", "CONTROLPLANE_SYNC_TIMEOUT_SECONDS": "5",
                   "CONTROLPLANE_SECRETS_KEYS": env["CONTROLPLANE_SECRETS_KEYS"],
                   "CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK": env["CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK"]}
    environment.update(extra or {})
    return environment


def run_sync(env, *args, extra=None, timeout=300):
    """Runs controlplane-sync; its output is kept for the secrets test."""
    return keep_output(env, "sync", subprocess.run([env["CONTROLPLANE_SYNC"], *args], env=sync_environment(env, extra),
                                                   capture_output=True, text=True, timeout=timeout))


def payload_item(job_id, payload, status="COMPLETED", updated="2026-11-21T10:00:00Z"):
    return {"jobId": job_id, "status": status, "updatedAt": updated, "payloadB64": base64.b64encode(payload).decode()}


# Fixtures shared by the governance and sync tests (imported by name into each module).
@pytest.fixture
def registry():
    fake = FakeRegistry()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def control(env):
    return Control(env)
