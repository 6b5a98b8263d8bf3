"""The database's own answer about every role × table × column, compared with the README's
"Database privileges" matrix; the read-only role is refused every secret, hash and personal field."""
import os
import re

import pytest

from conftest import REPO
from sql_support import sql, sql_refused

ROLES = ("controlplane_app", "controlplane_sync", "controlplane_readonly")
LETTERS = {"S": "SELECT", "I": "INSERT", "U": "UPDATE", "D": "DELETE"}


def as_superuser(env):
    """The test cluster's superuser on the controlplane database (to ask about roles and SET ROLE)."""
    return {**env, "SUPERUSER_URL": env["CONTROLPLANE_ADMIN_DATABASE_URL"].replace(":///postgres", ":///controlplane")}


def documented():
    text = open(os.path.join(REPO, "README.md")).read()
    section = text[text.index("### Database privileges"):]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[a-z_]+", cells[0]) and cells[0] != "table":
            rows[cells[0]] = dict(zip(ROLES, [cells[1], cells[2], columns(cells[3])]))
    return rows


def columns(cell):
    """A read-only cell: `all`, `—`, or its columns as a set (their order is not the point)."""
    return cell if cell in ("all", "—") else frozenset(c.strip() for c in cell.split(","))


def actual(env):
    query = """
        SELECT c.relname, r.role,
               concat_ws('', CASE WHEN has_table_privilege(r.role, c.oid, 'SELECT') THEN 'S' END,
                             CASE WHEN has_table_privilege(r.role, c.oid, 'INSERT') THEN 'I' END,
                             CASE WHEN has_table_privilege(r.role, c.oid, 'UPDATE') THEN 'U' END,
                             CASE WHEN has_table_privilege(r.role, c.oid, 'DELETE') THEN 'D' END),
               (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   AND has_column_privilege(r.role, c.oid, a.attnum, 'SELECT')),
               (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   AND (has_column_privilege(r.role, c.oid, a.attnum, 'INSERT') OR has_column_privilege(r.role, c.oid, a.attnum, 'UPDATE'))),
               concat_ws(' ',
                 CASE WHEN NOT has_table_privilege(r.role, c.oid, 'INSERT') THEN
                   'I(' || (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                               AND has_column_privilege(r.role, c.oid, a.attnum, 'INSERT')) || ')' END,
                 CASE WHEN NOT has_table_privilege(r.role, c.oid, 'UPDATE') THEN
                   'U(' || (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                               AND has_column_privilege(r.role, c.oid, a.attnum, 'UPDATE')) || ')' END)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN unnest(ARRAY['controlplane_app', 'controlplane_sync', 'controlplane_readonly']) AS r(role)
        WHERE n.nspname = 'public' AND c.relkind = 'r'
        ORDER BY 1, 2"""
    rows = {}
    for line in sql(as_superuser(env), query, url_key="SUPERUSER_URL").stdout.splitlines():
        table, role, letters, readable, total, writable, column_writes = line.split("|")
        if role == "controlplane_readonly":
            assert letters in ("", "S") and writable == "0", (table, letters, writable)
            readable_count = len(readable.split(", ")) if readable else 0
            cell = "all" if readable_count == int(total) else columns(readable or "—")
        else:
            # Writes granted on some columns only read `I(a, b)` / `U(c)` after the table's letters.
            cell = " ".join(part for part in (letters, column_writes) if part) or "—"
        rows.setdefault(table, {})[role] = cell
    return rows


def test_every_role_table_and_column_matches_the_documented_matrix(env):
    expected, found = documented(), actual(env)
    assert set(found) == set(expected), ("tables not in the README", set(found) - set(expected), "documented but absent",
                                         set(expected) - set(found))
    mismatches = {t: (found[t], expected[t]) for t in found if found[t] != expected[t]}
    assert not mismatches, mismatches


@pytest.mark.parametrize("table,column", [
    ("webhook_endpoints", "secret"), ("service_tokens", "token_hash"), ("service_tokens", "token_hint"),
    ("tenants_master", "contact_email"), ("tenants_master", "connector_credential_ref"), ("webhook_outbox", "payload"),
    ("signup_attempts", "email_hash"), ("signup_attempts", "ip_hash"), ("trial_drafts", "secret_hash"),
    ("trial_drafts", "otp_hash"), ("trial_drafts", "work_email"), ("trial_drafts", "contact_name"), ("email_outbox", "to_address"),
])
def test_the_read_only_role_is_refused_secret_and_personal_columns(env, table, column):
    superuser = as_superuser(env)
    statement = f"SET ROLE controlplane_readonly; SELECT {column} FROM {table} LIMIT 1"
    assert "permission denied" in sql_refused(superuser, statement, url_key="SUPERUSER_URL").stderr
    # …while the columns it is granted answer.
    sql(superuser, f"SET ROLE controlplane_readonly; SELECT count(id) FROM {table}", url_key="SUPERUSER_URL")
