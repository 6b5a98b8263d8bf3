"""cpctl migrate as an operator runs it: apply, status, refusal of an edited migration."""
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import REPO


@pytest.fixture
def scratch_db(env):
    admin = env["CONTROLPLANE_ADMIN_DATABASE_URL"]
    name = "cpctl_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    yield admin.replace(":///postgres", f":///{name}")
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def cpctl(env, *args):
    return subprocess.run([env["CPCTL"], *args], capture_output=True, text=True, timeout=60)


def test_migrate_applies_then_refuses_an_edited_migration(env, scratch_db, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(os.path.join(REPO, "sql"), sql)
    first = cpctl(env, "migrate", "--database-url", scratch_db, "--dir", str(sql))
    assert first.returncode == 0, first.stderr
    assert "applied 0001_schema_history_and_roles.sql" in first.stdout
    again = cpctl(env, "migrate", "--database-url", scratch_db, "--dir", str(sql))
    assert again.returncode == 0 and "up to date" in again.stdout

    status = cpctl(env, "migrate", "status", "--database-url", scratch_db, "--dir", str(sql))
    assert status.returncode == 0 and "applied" in status.stdout

    with open(sql / "0001_schema_history_and_roles.sql", "a") as f:
        f.write("\n-- an innocent-looking edit\n")
    refused = cpctl(env, "migrate", "--database-url", scratch_db, "--dir", str(sql))
    assert refused.returncode == 65  # EX_DATAERR
    assert "edited since they ran (versions 1)" in refused.stderr, refused.stderr
    status = cpctl(env, "migrate", "status", "--database-url", scratch_db, "--dir", str(sql))
    assert status.returncode == 65 and "edited" in status.stdout


def test_migrate_reports_an_unreachable_database(env, tmp_path):
    r = cpctl(env, "migrate", "--database-url", "postgresql:///x?host=/nonexistent", "--dir", os.path.join(REPO, "sql"))
    assert r.returncode != 0
    assert "cannot connect" in r.stderr


def test_repository_migrations_apply_with_plain_psql(env, scratch_db):
    for name in sorted(os.listdir(os.path.join(REPO, "sql"))):
        if name.endswith(".sql"):
            subprocess.run(["psql", scratch_db, "-v", "ON_ERROR_STOP=1", "-qf", os.path.join(REPO, "sql", name)],
                           check=True, capture_output=True)


def test_a_database_built_with_psql_is_baselined_and_dry_runs_change_nothing(env, scratch_db):
    import glob
    import json
    files = sorted(glob.glob(os.path.join(REPO, "sql", "[0-9]*.sql")))
    for path in files:  # as an operator without cpctl would: psql -f, file by file
        subprocess.run(["psql", scratch_db, "-q", "-v", "ON_ERROR_STOP=1", "-f", path], check=True, capture_output=True)
    directory = ["--database-url", scratch_db, "--dir", os.path.join(REPO, "sql")]
    states = [json.loads(line)["state"] for line in cpctl(env, "migrate", "status", "--json", *directory).stdout.splitlines()]
    assert states == ["pending"] * len(files)
    dry = cpctl(env, "migrate", "--dry-run", *directory)
    assert dry.returncode == 0 and dry.stdout.count("would apply") == len(files), dry.stdout + dry.stderr
    assert "0027_service_token_current_name_index.sql (outside a transaction)" in dry.stdout
    counted = subprocess.run(["psql", scratch_db, "-Atc", "SELECT count(*) FROM schema_history"], capture_output=True, text=True)
    assert counted.stdout.strip() == "0"  # the dry run applied nothing
    baselined = cpctl(env, "migrate", "baseline", *directory)
    assert baselined.returncode == 0 and f"recorded {len(files)} migration(s)" in baselined.stdout, baselined.stderr
    entries = [json.loads(line) for line in cpctl(env, "migrate", "status", "--json", *directory).stdout.splitlines()]
    assert {e["state"] for e in entries} == {"applied"} and entries[0]["installedOn"]
    assert "up to date" in cpctl(env, "migrate", *directory).stdout
    assert "up to date" in cpctl(env, "migrate", "--dry-run", *directory).stdout
