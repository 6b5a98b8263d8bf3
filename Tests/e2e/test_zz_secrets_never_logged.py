"""Runs last: every log and kept output of the whole test run (the stack's backend, extra
backends, every controlplane-sync run, nginx, PostgreSQL, the SMTP sink) is searched for
every secret the run used: the stack's tokens and keys, every service token and draft
secret (by prefix), every webhook signing secret, the PREFLIGHT_JWT private key, and every
one-time code that was mailed."""
import email
import glob
import os
import re

from sql_support import sql


def logs_of_the_run(env):
    run_dir = os.path.dirname(env["CONTROLPLANE_LOG"])
    paths = [p for p in glob.glob(os.path.join(run_dir, "**", "*.log"), recursive=True) if os.path.isfile(p)]
    assert any(p.endswith("controlplaned.log") for p in paths)
    assert any("/outputs/sync-" in p for p in paths), "no controlplane-sync output was kept"
    assert any("/outputs/controlplaned-" in p for p in paths), "no extra backend's log was kept"
    return {path: open(path, errors="replace").read() for path in paths}


def mailed_codes(env):
    codes = set()
    for path in glob.glob(os.path.join(env["CONTROLPLANE_MAIL_DIR"], "*.eml")):
        with open(path, "rb") as f:
            body = email.message_from_bytes(f.read()).get_payload(decode=True).decode(errors="replace")
        codes.update(re.findall(r"code is (\d{6})\.", body))
    return codes


def private_key_material(env):
    parts = []
    for path in env["CONTROLPLANE_JWT_KEY_FILES"].split(","):
        lines = [line for line in open(path).read().splitlines() if line and not line.startswith("-----")]
        parts += [line for line in lines if len(line) >= 16]
    return parts


def webhook_secrets(env):
    """Every endpoint's signing secret, opened here (AES-256-GCM, bound to the row id) with the
    stack's key, as the sync opens them: the database keeps them sealed."""
    import base64
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    keys = [base64.b64decode(k) for k in env["CONTROLPLANE_SECRETS_KEYS"].split(",")]
    secrets = []
    rows = sql(env, "SELECT id, encode(secret_sealed, 'hex') FROM webhook_endpoints WHERE secret_sealed IS NOT NULL").stdout
    for line in rows.splitlines():
        row, sealed = line.split("|")
        sealed = bytes.fromhex(sealed)
        for key in keys:
            try:
                secrets.append(AESGCM(key).decrypt(sealed[8:20], sealed[20:], row.encode()).decode())
                break
            except Exception:
                continue
    return secrets


def test_no_secret_appears_in_any_log(env):
    logs = logs_of_the_run(env)
    secrets = {name: env[name] for name in ("CONTROLPLANE_INTERNAL_TOKEN", "PPOS_CONTROL_TOKEN", "CONTROLPLANE_PROVISIONER_SECRET",
                                            "CONTROLPLANE_HASH_KEY")}
    for index, value in enumerate(webhook_secrets(env)):
        secrets[f"webhook endpoint secret #{index}"] = value
    for index, line in enumerate(private_key_material(env)):
        secrets[f"private key line {index}"] = line
    assert any(name.startswith("webhook") for name in secrets), "no webhook secret to search for"
    codes = mailed_codes(env)
    assert codes, "no one-time code was mailed during the run"
    # A code is six digits: searched as a word, not inside trace ids or timestamps.
    code_pattern = re.compile(r"(?<![0-9A-Za-z.:-])(" + "|".join(sorted(codes)) + r")(?![0-9A-Za-z])")
    for path, text in logs.items():
        for name, value in secrets.items():
            assert value not in text, f"{name} in {path}"
        # Tokens and draft secrets minted by tests share their prefixes: none may appear at all.
        for prefix in ("cpst_", "cpds_", "whsec_", "PRIVATE KEY"):
            assert prefix not in text, f"{prefix} in {path}"
        found = code_pattern.search(text)
        assert found is None, f"a mailed one-time code in {path}: …{text[max(0, found.start() - 80):found.end() + 20]}…"
