"""Runs last: every log of the whole test run (backend, sync output captured in tests,
nginx, PostgreSQL, SMTP sink) is searched for every secret the run used."""
import glob
import os


def test_no_secret_appears_in_any_log(env):
    run_dir = os.path.dirname(env["CONTROLPLANE_LOG"])
    secrets = {name: env[name] for name in ("CONTROLPLANE_INTERNAL_TOKEN", "PPOS_CONTROL_TOKEN", "CONTROLPLANE_PROVISIONER_SECRET",
                                            "CONTROLPLANE_HASH_KEY")}
    logs = [p for p in glob.glob(os.path.join(run_dir, "**", "*.log"), recursive=True) if os.path.isfile(p)]
    assert any(p.endswith("controlplaned.log") for p in logs)
    # Tokens minted by tests share the cpst_ prefix: none may appear at all.
    for path in logs:
        text = open(path, errors="replace").read()
        for name, value in secrets.items():
            assert value not in text, f"{name} in {path}"
        assert "cpst_" not in text, f"a service token in {path}"
        assert "cpds_" not in text, f"a draft secret in {path}"
