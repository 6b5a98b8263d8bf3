"""The systemd units as shipped: every secret arrives as a credential (never in an
environment line), and the hardening does not regress (`systemd-analyze security --offline`)."""
import json
import os
import re
import shutil
import subprocess

import pytest

import fcgi_client as fcgi
from conftest import REPO

UNITS = os.path.join(REPO, "systemd")
# Exposure measured when the units gained their credentials; lower is better.
EXPOSURE = {"controlplaned.service": 1.4, "controlplane-sync-deliver.service": 2.0,
            "controlplane-sync-registry-sweep.service": 2.0, "controlplane-sync-health-sweep.service": 2.0}
CREDENTIALS = {
    "controlplaned.service": {"ppos-control-token", "controlplane-provisioner-secret", "controlplane-hash-key",
                              "controlplane-database-password", "preflight-jwt-public-key", "controlplane-secrets-keys"},
    "controlplane-sync-deliver.service": {"controlplane-sync-database-password", "controlplane-hash-key",
                                          "controlplane-smtp-password", "preflight-jwt-key", "controlplane-secrets-keys"},
    "controlplane-sync-registry-sweep.service": {"controlplane-sync-database-password", "preflight-jwt-key"},
    "controlplane-sync-health-sweep.service": {"controlplane-sync-database-password"},
}
SECRET_SETTINGS = ("PASSWORD", "HASH_KEY", "TOKEN", "SECRET", "KEYS")


@pytest.mark.parametrize("unit", sorted(EXPOSURE))
def test_unit_exposure_does_not_regress(unit):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian's systemd) is needed to check the units"
    r = subprocess.run([analyze, "security", "--offline=true", os.path.join(UNITS, unit)], capture_output=True, text=True, timeout=60)
    level = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr).group(1))
    assert level <= EXPOSURE[unit], (unit, level)


@pytest.mark.parametrize("unit", sorted(CREDENTIALS))
def test_every_secret_arrives_as_a_credential(unit):
    text = open(os.path.join(UNITS, unit)).read()
    loaded = set(re.findall(r"^LoadCredential=([^:]+):", text, re.M))
    assert loaded == CREDENTIALS[unit], (unit, loaded)
    for line in re.findall(r"^Environment=(.*)$", text, re.M):
        name, _, value = line.partition("=")
        if any(word in name for word in SECRET_SETTINGS):
            assert value.startswith("%d/"), f"{unit} sets {name} in its environment"


def test_the_backend_reads_its_hash_key_from_the_credentials_directory(env, backend_factory, tmp_path):
    """As under LoadCredential: no CONTROLPLANE_HASH_KEY in the environment, the key in
    $CREDENTIALS_DIRECTORY/controlplane-hash-key, and the trial funnel works."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "controlplane-hash-key").write_text(env["CONTROLPLANE_HASH_KEY"] + "\n")
    (credentials / "controlplane-database-password").write_text("")  # empty: none (the test cluster trusts local sockets)
    backend = backend_factory(extra={"CREDENTIALS_DIRECTORY": str(credentials)})
    body = b'{"email":"someone@gmail.com"}'
    status, _, answer = fcgi.roundtrip(backend.socket_path, fcgi.request_params(
        "POST", "/v1/trial/email/check", body_length=len(body), content_type="application/json"), body)
    assert status == 200 and json.loads(answer)["classification"] == "free", answer
    without = backend_factory()
    status, _, answer = fcgi.roundtrip(without.socket_path, fcgi.request_params(
        "POST", "/v1/trial/email/check", body_length=len(body), content_type="application/json"), body)
    assert status == 503 and json.loads(answer)["type"] == "urn:controlplane:problem:trial-not-configured"
