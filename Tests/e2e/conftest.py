"""End-to-end fixtures: the stack `make test` started (its env file), plus helpers to
start extra controlplaned processes for lifecycle tests."""
import os
import pathlib
import shlex
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests

from sql_support import sql

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_env(path):
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            values[key] = shlex.split(value)[0] if value else ""
    return values


@pytest.fixture(scope="session")
def env():
    path = os.environ.get("CONTROLPLANE_ENV_FILE", os.path.join(REPO, ".run", "test", "dev.env"))
    if not os.path.exists(path):
        pytest.exit(f"{path} is missing: run the end-to-end tests with `make test`", returncode=2)
    return load_env(path)


@pytest.fixture(scope="session")
def internal(env):
    return env["CONTROLPLANE_INTERNAL_URL"]


@pytest.fixture(scope="session")
def public(env):
    return env["CONTROLPLANE_URL"]


@pytest.fixture(scope="session")
def public_tls(env):
    return env["CONTROLPLANE_TLS_URL"]


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def run_dir(env):
    return os.path.dirname(env["CONTROLPLANE_LOG"])


def output_log(env, name):
    """A file under the run directory where a test keeps a process's output, so the
    last test (test_zz_secrets_never_logged) searches it with every other log."""
    directory = os.path.join(run_dir(env), "outputs")
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"{name}-{uuid.uuid4().hex[:8]}.log")


def keep_output(env, name, completed):
    """Writes a finished process's stdout and stderr to an output log; returns `completed`."""
    with open(output_log(env, name), "w") as f:
        for stream in (completed.stdout, completed.stderr):
            if stream:
                f.write(stream if isinstance(stream, str) else stream.decode(errors="replace"))
    return completed


def assert_problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert "type" in body
    return body


class Backend:
    """A controlplaned of its own on a private socket, for tests that stop or break it."""

    def __init__(self, env, tmp_path, extra=None, listen=None, expect_start=True):
        self.socket_path = str(tmp_path / f"cp-{uuid.uuid4().hex[:8]}.sock")
        # Under the run directory, so the secrets test searches every extra backend's log too.
        self.log_path = pathlib.Path(output_log(env, "controlplaned"))
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "CONTROLPLANE_LISTEN": listen or self.socket_path,
            "CONTROLPLANE_DATABASE_URL": env["CONTROLPLANE_DATABASE_URL"],
            "CONTROLPLANE_THREADS": "4",
            "CONTROLPLANE_DRAIN_TIMEOUT_SECONDS": "10",
        }
        environment.update(extra or {})
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([env["CONTROLPLANED"]], env=environment, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if listen is None and expect_start:
            assert wait_until(lambda: os.path.exists(self.socket_path) or self.process.poll() is not None), "no socket"
            assert self.process.poll() is None, self.log_text()

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text()

    def threads(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def backend_factory(env, tmp_path):
    started = []

    def start(**kwargs):
        backend = Backend(env, tmp_path, **kwargs)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(env, tmp_path):
    """Starts webhook_receiver.py processes: receiver(statuses, delay) → (url, log path).
    With tls=True it speaks https under a certificate of its own (tmp_path/receiver-N.pem,
    which is also its CA)."""
    # Only this test's endpoints take part: earlier tests may have left others behind.
    sql(env, "UPDATE webhook_endpoints SET deleted_at = now() WHERE deleted_at IS NULL")
    def start(statuses, delay=0, tls=False):
        port, log = free_port(), tmp_path / f"received-{len(started)}.jsonl"
        environment = dict(os.environ)
        if tls:
            cert, key = tmp_path / f"receiver-{len(started)}.pem", tmp_path / f"receiver-{len(started)}.key"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-days", "1", "-subj", "/CN=receiver", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
            environment.update(RECEIVER_TLS_CERT=str(cert), RECEIVER_TLS_KEY=str(key))
        process = subprocess.Popen([sys.executable, os.path.join(REPO, "Tests", "e2e", "webhook_receiver.py"),
                                    str(port), str(log), statuses, str(delay)], env=environment)
        started.append(process)
        assert wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}/hooks", log

    started = []
    yield start
    for p in started:
        p.kill()
        p.wait()
