"""Service tokens on /internal/*: 401 without a valid one, 403 without the scope, revocation."""
import time

import requests

from conftest import assert_problem
from tenants_support import Internal, cpctl, make_token


def test_missing_malformed_and_unknown_tokens_are_401(internal):
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer"},
                    {"authorization": "Bearer cpst_" + "A" * 43}, {"authorization": "Bearer ' OR 1=1 --"}):
        r = requests.get(f"{internal}/internal/tenants-directory", headers=headers)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_wrong_scope_is_403_and_right_scope_passes(env, internal):
    _, reader = make_token(env, "tenants:read")
    api = Internal(internal, reader)
    assert api.get("/internal/tenants-directory").status_code == 200
    r = api.post("/internal/tenants", {"slug": "x-scope", "displayName": "X", "contactEmail": "a@b.co"})
    body = assert_problem(r, 403)
    assert "tenants:write" in body["detail"]
    assert 'insufficient_scope' in r.headers["www-authenticate"]


def test_revoked_token_is_refused_within_the_cache_ttl(env, internal):
    name, token = make_token(env, "tenants:read")
    api = Internal(internal, token)
    assert api.get("/internal/tenants-directory").status_code == 200
    assert cpctl(env, "tokens", "revoke", "--name", name).returncode == 0
    time.sleep(1.2)  # the test stack's CONTROLPLANE_TOKEN_CACHE_SECONDS is 1
    for _ in range(20):  # every worker thread refuses it
        assert_problem(api.get("/internal/tenants-directory"), 401)


def test_tokens_are_stored_hashed_and_listed_without_the_secret(env):
    name, token = make_token(env, "tenants:read,connectors:write")
    listing = cpctl(env, "tokens", "list")
    assert name in listing.stdout and token not in listing.stdout
    assert "connectors:write" in listing.stdout
    from tenants_support import sql
    dump = sql(env, "SELECT name, token_hint, encode(token_hash, 'hex') FROM service_tokens").stdout
    assert token not in dump


def test_cpctl_refuses_unknown_scopes_and_bad_imports(env):
    r = cpctl(env, "tokens", "create", "--name", "bad-scope", "--scopes", "tenants:read,root")
    assert r.returncode != 0 and "unknown scope root" in r.stderr
    r = cpctl(env, "tokens", "create", "--name", "bad-import", "--scopes", "all", "--token-stdin", stdin="short\n")
    assert r.returncode != 0
