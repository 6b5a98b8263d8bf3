"""squawk over every migration from 0026 on (.squawk.toml says which rules are off and why),
and the migrator's files that run outside a transaction (CREATE INDEX CONCURRENTLY)."""
import glob
import os
import shutil
import subprocess

import pytest

from conftest import REPO

FIRST_LINTED = 26  # 0001–0025 were released before the lint; released migrations are never edited
NO_TRANSACTION = "-- controlplane:no-transaction"


def linted_migrations():
    paths = sorted(glob.glob(os.path.join(REPO, "sql", "[0-9][0-9][0-9][0-9]_*.sql")))
    return [p for p in paths if int(os.path.basename(p)[:4]) >= FIRST_LINTED]


def squawk(path, *extra):
    squawk_bin = shutil.which("squawk")
    assert squawk_bin, "squawk is needed (requirements-dev.txt: squawk-cli)"
    in_transaction = not open(path).read().startswith(NO_TRANSACTION)
    return subprocess.run([squawk_bin, "-c", os.path.join(REPO, ".squawk.toml"), "--reporter", "gcc",
                           "--assume-in-transaction" if in_transaction else "--no-assume-in-transaction", *extra, path],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("path", linted_migrations(), ids=os.path.basename)
def test_each_new_migration_passes_squawk(path):
    r = squawk(path)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("sql,rule", [
    ("CREATE INDEX tenants_plan ON tenants_master (plan);", "require-concurrent-index-creation"),
    ("SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '5s';\nALTER TABLE tenants_master ADD COLUMN region text DEFAULT gen_random_uuid()::text;",
     "adding-field-with-default"),
    ("ALTER TABLE tenants_master ADD CONSTRAINT plan_known CHECK (plan <> '');", "require-lock-timeout"),
])
def test_the_lint_catches_what_hurts_a_live_table(tmp_path, sql, rule):
    bad = tmp_path / "0099_bad.sql"
    bad.write_text(sql + "\n")
    r = squawk(str(bad))
    assert r.returncode != 0 and rule in r.stdout, r.stdout + r.stderr
