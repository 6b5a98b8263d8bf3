"""The operator console over real HTTP through nginx's internal server: named operators
signing in with single-use links, sessions in cookies, CSRF and same-origin checks on every
change, roles enforced on the server, escaping, the audit log."""
import os
import pwd
import uuid

import pytest
import requests

from console_support import csrf_of, login_link, operator, signed_in, submitted_draft
from sql_support import sql, sql_refused
from tenants_support import cpctl

def test_sign_in_with_a_single_use_link_and_the_cookie_it_sets(env):
    name = operator(env, "viewer")
    link = login_link(env, name)
    assert link.startswith(env["CONTROLPLANE_CONSOLE_URL"] + "login?token=cpll_")
    browser = requests.Session()
    r = browser.get(link, allow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("cp_console=cpcs_") and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = browser.get(env["CONTROLPLANE_CONSOLE_URL"])
    assert page.status_code == 200 and f"{name} (viewer)" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.headers["cache-control"] == "no-store"
    # Used once: the same link again, from anywhere, opens nothing.
    again = requests.get(link, allow_redirects=False)
    assert again.status_code == 403 and "used or expired" in again.text and "set-cookie" not in again.headers
    # Only hashes are stored.
    token = link.split("token=")[1]
    assert token not in sql(env, "SELECT * FROM console_login_links").stdout
    assert cookie.split(";")[0].split("=", 1)[1] not in sql(env, "SELECT * FROM console_sessions").stdout


def test_an_expired_link_and_a_disabled_operator_are_refused(env):
    name = operator(env, "viewer")
    link = login_link(env, name, seconds=60)
    sql(env, "UPDATE console_login_links SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
    assert requests.get(link, allow_redirects=False).status_code == 403
    other, browser = signed_in(env, "viewer")
    assert browser.get(env["CONTROLPLANE_CONSOLE_URL"]).status_code == 200
    assert cpctl(env, "operators", "disable", other).returncode == 0
    r = browser.get(env["CONTROLPLANE_CONSOLE_URL"])
    assert r.status_code == 401 and "not signed in" in r.text


def test_without_a_session_every_page_asks_to_sign_in(env):
    for path in ("", "trials", "audit"):
        r = requests.get(env["CONTROLPLANE_CONSOLE_URL"] + path)
        assert r.status_code == 401 and "cpctl console login-link" in r.text, path
    r = requests.post(env["CONTROLPLANE_CONSOLE_URL"] + f"trials/{uuid.uuid4()}/approve", data={"csrf": "x"})
    assert r.status_code == 401


def test_the_console_is_not_on_the_public_server(env):
    for path in ("/console/", "/console", "/console/login?token=cpll_x", "/console/assets/console.css"):
        assert requests.get(env["CONTROLPLANE_URL"] + path, allow_redirects=False).status_code == 404, path


def test_a_reviewer_approves_a_trial_and_the_audit_log_says_who(env):
    draft = submitted_draft(env)
    name, browser = signed_in(env, "reviewer")
    page = browser.get(env["CONTROLPLANE_CONSOLE_URL"] + "trials")
    assert page.status_code == 200 and f"/console/trials/{draft}/approve" in page.text
    # Escaped: the hostile company name renders as text.
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text and "Jane &amp; Co" in page.text
    trace = "console-" + uuid.uuid4().hex[:8]
    r = browser.post(env["CONTROLPLANE_CONSOLE_URL"] + f"trials/{draft}/approve", data={"csrf": csrf_of(page.text), "reason": "known customer"},
                     headers={"x-trace-id": trace}, allow_redirects=False)
    assert r.status_code == 303, r.text
    assert sql(env, f"SELECT status FROM trial_drafts WHERE id = '{draft}'").stdout.strip() == "approved"
    assert sql(env, f"SELECT actor, reason FROM trial_decisions WHERE draft_id = '{draft}'").stdout.strip() == f"operator:{name}|known customer"
    audit = sql(env, f"SELECT actor, action, trace_id, reason FROM audit_log WHERE target = 'trial_draft:{draft}'").stdout.strip()
    assert audit == f"operator:{name}|trial.approve|{trace}|known customer"
    listed = browser.get(env["CONTROLPLANE_INTERNAL_URL"] + r.headers["location"])  # back to the queue, with a notice
    assert f"/console/trials/{draft}/approve" not in listed.text and "Approved: the tenant is being provisioned." in listed.text
    assert f"trial_draft:{draft}" in browser.get(env["CONTROLPLANE_CONSOLE_URL"] + "audit").text
    decided = browser.get(env["CONTROLPLANE_CONSOLE_URL"] + "trials?status=approved").text  # decided drafts, without the forms
    assert f'href="/console/drafts/{draft}"' in decided and "/approve" not in decided and "reviewers decide" not in decided
    assert browser.get(env["CONTROLPLANE_CONSOLE_URL"] + "trials?status=maybe").status_code == 400


def test_changes_need_the_csrf_token_the_same_origin_and_the_role(env):
    draft = submitted_draft(env)
    _, reviewer = signed_in(env, "reviewer")
    csrf = csrf_of(reviewer.get(env["CONTROLPLANE_CONSOLE_URL"] + "trials").text)
    url = env["CONTROLPLANE_CONSOLE_URL"] + f"trials/{draft}/approve"
    rows = lambda: sql(env, "SELECT count(*) FROM audit_log").stdout.strip()  # noqa: E731
    before = rows()
    assert reviewer.post(url, data={"reason": "no token"}, allow_redirects=False).status_code == 403
    assert reviewer.post(url, data={"csrf": "forged", "reason": "x"}, allow_redirects=False).status_code == 403
    assert reviewer.post(url, data={"csrf": csrf}, headers={"origin": "https://evil.example"}, allow_redirects=False).status_code == 403
    assert reviewer.post(url, data={"csrf": csrf}, headers={"sec-fetch-site": "cross-site"}, allow_redirects=False).status_code == 403
    assert reviewer.post(url, data={"csrf": csrf}, headers={"origin": "null"}, allow_redirects=False).status_code == 403
    _, viewer = signed_in(env, "viewer")
    viewer_page = viewer.get(env["CONTROLPLANE_CONSOLE_URL"] + "trials").text
    assert f"/console/trials/{draft}/approve" not in viewer_page and "reviewers decide" in viewer_page
    refused = viewer.post(url, data={"csrf": csrf_of(viewer_page)}, allow_redirects=False)
    assert refused.status_code == 403 and "reviewer role" in refused.text
    assert sql(env, f"SELECT status FROM trial_drafts WHERE id = '{draft}'").stdout.strip() == "submitted"
    added = sql(env, f"SELECT action FROM audit_log ORDER BY id DESC LIMIT {int(rows()) - int(before)}").stdout.split()
    assert sorted(added) == ["console.login_link.issue", "console.sign_in", "operator.add"], added  # the viewer's; nothing refused
    # A rejection needs a reason; with one it goes through.
    assert reviewer.post(env["CONTROLPLANE_CONSOLE_URL"] + f"trials/{draft}/reject", data={"csrf": csrf, "reason": " "},
                         allow_redirects=False).status_code == 422
    assert reviewer.post(env["CONTROLPLANE_CONSOLE_URL"] + f"trials/{draft}/reject", data={"csrf": csrf, "reason": "spam"},
                         allow_redirects=False).status_code == 303
    assert sql(env, f"SELECT status FROM trial_drafts WHERE id = '{draft}'").stdout.strip() == "rejected"


def test_sign_out_ends_the_session(env):
    _, browser = signed_in(env, "viewer")
    page = browser.get(env["CONTROLPLANE_CONSOLE_URL"])
    r = browser.post(env["CONTROLPLANE_CONSOLE_URL"] + "logout", data={"csrf": csrf_of(page.text)}, allow_redirects=False)
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    assert browser.get(env["CONTROLPLANE_CONSOLE_URL"]).status_code == 401


def test_operators_are_managed_with_cpctl_and_audited(env):
    name = operator(env, "viewer")
    assert cpctl(env, "operators", "set-role", name, "--role", "admin").returncode == 0
    listed = cpctl(env, "operators", "list", "--json").stdout
    assert f'"name":"{name}"' in listed and '"role":"admin"' in listed
    assert cpctl(env, "operators", "add", "--name", name, "--role", "viewer").returncode != 0  # the name is taken
    assert cpctl(env, "operators", "add", "--name", "Bad Name", "--role", "viewer").returncode != 0
    rows = sql(env, f"SELECT actor, action FROM audit_log WHERE target = 'operator:{name}' ORDER BY id").stdout.split()
    me = "operator:" + pwd.getpwuid(os.geteuid()).pw_name  # the account cpctl ran as, whatever $USER says
    assert rows == [f"{me}|operator.add", f"{me}|operator.set_role"]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"])
def test_the_database_refuses_to_change_the_audit_log(env, statement):
    cpctl(env, "operators", "add", "--name", f"a-{uuid.uuid4().hex[:6]}", "--role", "viewer")  # at least one row
    sql_refused(env, statement)


def test_the_audit_log_is_readable_through_the_api_and_cpctl(env):
    from tenants_support import Internal, make_token
    name = operator(env, "viewer")
    assert cpctl(env, "operators", "set-role", name, "--role", "reviewer").returncode == 0
    _, token = make_token(env, "audit:read")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], token)
    r = api.get("/internal/audit", params={"target": f"operator:{name}"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == ["operator.set_role", "operator.add"]  # newest first
    assert items[0]["actor"].startswith("operator:") and items[0]["summary"] == "role reviewer"  # cpctl: the OS user
    first = api.get("/internal/audit", params={"target": f"operator:{name}", "limit": 1}).json()
    assert len(first["items"]) == 1 and first["nextCursor"]
    rest = api.get("/internal/audit", params={"target": f"operator:{name}", "limit": 1, "cursor": first["nextCursor"]}).json()
    assert rest["items"][0]["action"] == "operator.add"
    for params in ({"since": "yesterday"}, {"limit": 0}, {"cursor": "nonsense"}, {"who": "x"}):
        assert api.get("/internal/audit", params=params).status_code == 400, params
    _, other = make_token(env, "tenants:read")
    assert Internal(env["CONTROLPLANE_INTERNAL_URL"], other).get("/internal/audit").status_code == 403
    lines = cpctl(env, "audit", "--target", f"operator:{name}", "--limit", "5", "--json").stdout.strip().splitlines()
    assert [line.split('"action":"')[1].split('"')[0] for line in lines] == ["operator.set_role", "operator.add"]


def test_tenant_changes_and_trial_decisions_from_every_surface_are_audited_once(env):
    from tenants_support import Internal, make_token, signed_callback
    token_name, token = make_token(env, "tenants:write,trial:review")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], token)
    r = api.post("/internal/tenants", {"slug": "aud-" + uuid.uuid4().hex[:8], "displayName": "Audited", "contactEmail": "ops@example.com"},
                 headers={"x-trace-id": "audit-create-1"})
    assert r.status_code == 201, r.text
    tenant = r.json()["id"]
    assert signed_callback(env, {"tenantId": tenant, "event": "site.created",
                                 "siteHostname": r.json()["slug"] + ".erp.example.com"}).status_code in (200, 202)
    assert api.post(f"/internal/tenants/{tenant}/suspend", {"reason": "unpaid"},
                    headers={"x-trace-id": "audit-suspend-1"}).status_code == 200
    assert cpctl(env, "tenants", "resume", tenant, "--reason", "paid").returncode == 0
    rows = sql(env, f"SELECT actor, action, trace_id FROM audit_log WHERE target = 'tenant:{tenant}' ORDER BY id").stdout.split()
    me = "operator:" + pwd.getpwuid(os.geteuid()).pw_name
    assert rows[0] == f"service:{token_name}|tenant.create|audit-create-1", rows
    assert rows[1].startswith("provisioner|tenant.") and rows[2:] == [f"service:{token_name}|tenant.suspend|audit-suspend-1",
                                                                     f"{me}|tenant.resume|"], rows
    # One row per change: the creation (pending → provisioning) is one change, with two events.
    assert len(rows) == int(sql(env, f"SELECT count(*) FROM tenant_events WHERE tenant_id = '{tenant}'").stdout.strip()) - 1
    # A trial decision through the API: one row for the decision, none for the tenant it creates.
    draft = submitted_draft(env)
    assert api.post(f"/internal/trial/manual-approvals/{draft}/approve", {"reason": "fine"},
                    headers={"x-trace-id": "audit-approve-1"}).status_code == 200
    decided = sql(env, f"SELECT actor, action, trace_id, summary FROM audit_log WHERE target = 'trial_draft:{draft}'").stdout.strip()
    created = sql(env, f"SELECT tenant_id FROM trial_drafts WHERE id = '{draft}'").stdout.strip()
    assert decided == f"service:{token_name}|trial.approve|audit-approve-1|tenant {created}"
    assert sql(env, f"SELECT count(*) FROM audit_log WHERE target = 'tenant:{created}'").stdout.strip() == "0"


def test_control_api_changes_are_audited_once_with_the_token_fingerprint(env):
    import hashlib
    import requests as http
    base, token = env["CONTROLPLANE_INTERNAL_URL"], env["PPOS_CONTROL_TOKEN"].split(",")[0]
    actor = "control:" + hashlib.sha256(token.encode()).hexdigest()[:8]
    call = lambda method, path, body=None, trace=None: http.request(  # noqa: E731
        method, base + path, json=body, headers={"authorization": f"Bearer {token}", **({"x-trace-id": trace} if trace else {})})
    region = "r-" + uuid.uuid4().hex[:8]
    assert call("POST", "/control/v1/regions", {"id": region, "baseUrl": "http://127.0.0.1:9", "requestsPerSecond": 0},
                "aud-region-1").status_code == 201
    assert call("PATCH", f"/control/v1/regions/{region}", {"pageSize": 50, "dryRun": True}, "aud-region-2").status_code == 200
    issue = {"region": region, "kind": "QUEUE_CAPACITY", "target": "builds", "params": {"capacity": 3}, "reason": "more",
             "idempotencyKey": "aud-" + uuid.uuid4().hex[:8]}
    first = call("POST", "/control/v1/commands", issue, "aud-command-1")
    assert first.status_code == 201 and call("POST", "/control/v1/commands", issue).status_code == 200  # a replay
    assert call("POST", "/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": region, "reason": "now"}, "aud-job-1").status_code == 201
    rows = sql(env, f"SELECT actor, action, trace_id, summary FROM audit_log WHERE target = 'region:{region}' ORDER BY id").stdout.splitlines()
    assert rows == [f"{actor}|region.create|aud-region-1|", f"{actor}|region.update|aud-region-2|changed pageSize, dryRun",
                    f"{actor}|command.issue|aud-command-1|QUEUE_CAPACITY builds", f"{actor}|admin_job.create|aud-job-1|SYNC_REGION"], rows
    refused = call("POST", "/control/v1/regions", {"id": region, "baseUrl": "http://127.0.0.1:9"})
    assert refused.status_code == 409  # refused: no row
    assert sql(env, f"SELECT count(*) FROM audit_log WHERE target = 'region:{region}'").stdout.strip() == "4"


def test_webhook_endpoints_domains_and_tokens_are_audited_without_their_secrets(env):
    from tenants_support import Internal, make_token
    name, token = make_token(env, "webhooks:manage,domains:manage")
    api = Internal(env["CONTROLPLANE_INTERNAL_URL"], token)
    created = api.post("/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks", "events": ["tenant.created"]},
                       headers={"x-trace-id": "aud-hook-1"})
    assert created.status_code == 201, created.text
    endpoint, secret = created.json()["id"], created.json()["secret"]
    assert api.delete(f"/internal/webhook-endpoints/{endpoint}").status_code == 204
    domain = f"aud-{uuid.uuid4().hex[:6]}.example"
    assert api.post("/internal/trial/domains", {"domain": domain, "kind": "disposable"}).status_code == 201
    assert api.delete(f"/internal/trial/domains/{domain}").status_code == 204
    assert api.delete(f"/internal/trial/domains/{domain}").status_code == 404  # refused: no row
    rows = sql(env, f"SELECT actor, action, trace_id, summary FROM audit_log WHERE target IN ('webhook_endpoint:{endpoint}', "
                    f"'domain:{domain}') ORDER BY id").stdout.split("\n")[:-1]
    assert rows[0] == f"service:{name}|webhook_endpoint.create|aud-hook-1|tenant.created"
    assert [r.split("|")[1] for r in rows] == ["webhook_endpoint.create", "webhook_endpoint.delete", "domain.set", "domain.delete"]
    me = "operator:" + pwd.getpwuid(os.geteuid()).pw_name
    assert sql(env, f"SELECT actor, action, summary FROM audit_log WHERE target = 'token:{name}'").stdout.strip() == \
        f"{me}|token.create|webhooks:manage,domains:manage"
    everything = sql(env, "SELECT * FROM audit_log").stdout
    assert secret not in everything and token not in everything


def test_cpctl_region_and_domain_changes_are_audited_as_the_os_user(env, tmp_path):
    me = "operator:" + pwd.getpwuid(os.geteuid()).pw_name
    region = "aud-" + uuid.uuid4().hex[:6]
    assert cpctl(env, "regions", "add", "--id", region, "--base-url", "https://registry.example").returncode == 0
    assert cpctl(env, "regions", "set", region, "--page-size", "50").returncode == 0
    assert cpctl(env, "regions", "add", "--id", region, "--base-url", "https://registry.example").returncode != 0  # taken: no row
    assert cpctl(env, "regions", "remove", region).returncode == 0
    rows = sql(env, f"SELECT actor, action FROM audit_log WHERE target = 'region:{region}' ORDER BY id").stdout.split()
    assert rows == [f"{me}|region.create", f"{me}|region.update", f"{me}|region.delete"], rows
    domain = f"aud-{uuid.uuid4().hex[:6]}.example"
    assert cpctl(env, "domains", "add", "--kind", "disposable", domain).returncode == 0
    assert cpctl(env, "domains", "remove", domain).returncode == 0
    listed = tmp_path / "list.txt"
    listed.write_text(f"# test\none-{domain}\ntwo-{domain}\n")
    source = "audit-" + uuid.uuid4().hex[:6]
    assert cpctl(env, "domains", "import", "--kind", "free", "--source", source, str(listed)).returncode == 0
    rows = sql(env, f"SELECT actor, action, summary FROM audit_log WHERE target = 'domain:{domain}' "
                    f"OR (target = 'domains:free' AND summary = '2 from {source}') ORDER BY id").stdout.splitlines()
    assert rows == [f"{me}|domain.set|disposable: {domain}", f"{me}|domain.delete|{domain}", f"{me}|domain.import|2 from {source}"], rows


def test_an_operator_nginx_authenticated_is_signed_in_when_the_backend_trusts_the_proxy(env, backend_factory, tmp_path):
    """nginx's auth_basic (the shipped snippet) in front of a backend with proxy sign-in on: the
    authenticated name opens a session; names that are not operators, and headers claiming a
    name, open nothing."""
    import subprocess
    from conftest import free_port, run_dir, wait_until
    import socket
    backend_port = free_port()  # TCP: nginx's workers may not enter the test's private temporary directory
    backend_factory(extra={"CONTROLPLANE_CONSOLE_PROXY_SIGN_IN": "on"}, listen=f"127.0.0.1:{backend_port}")
    assert wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", backend_port)) == 0)
    name, stranger = operator(env, "reviewer"), "stranger-" + uuid.uuid4().hex[:6]
    admin = operator(env, "admin")
    nginx_dir = os.path.join(run_dir(env), "nginx")
    with open(os.path.join(nginx_dir, "controlplane-operators.htpasswd"), "w") as f:
        f.write(f"{name}:{{PLAIN}}right-password\n{stranger}:{{PLAIN}}also-right\n")
    port = free_port()
    extra = os.path.join(nginx_dir, "extra", "console-sso.conf")
    with open(extra, "w") as f:
        f.write(f"""server {{
    listen 127.0.0.1:{port};
    location /console/ {{
        include snippets/controlplane-console-basic-auth.conf;
        include /etc/nginx/fastcgi_params;
        fastcgi_pass 127.0.0.1:{backend_port};
    }}
}}
""")
    reload = ["nginx", "-c", os.path.join(nginx_dir, "nginx.conf"), "-p", nginx_dir, "-e", os.path.join(nginx_dir, "error.log"), "-s", "reload"]
    try:
        assert subprocess.run(reload, capture_output=True, text=True).returncode == 0
        base = f"http://127.0.0.1:{port}/console/"
        def asks_for_credentials():  # once the reload has started the new server
            try:
                return requests.get(base).status_code == 401
            except requests.ConnectionError:
                return False
        assert wait_until(asks_for_credentials, timeout=10), open(os.path.join(nginx_dir, "error.log")).read()[-2000:]
        assert requests.get(base, auth=(name, "wrong")).status_code == 401
        browser = requests.Session()
        browser.auth = (name, "right-password")
        # A header claiming another name is a header (HTTP_PROXY_OPERATOR), never the parameter.
        first = browser.get(base + "tenants?q=x", headers={"proxy-operator": admin}, allow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/console/tenants?q=x", first.text
        assert "HttpOnly" in first.headers["set-cookie"]
        page = browser.get(base + "tenants?q=x")
        assert page.status_code == 200 and f"{name} (reviewer)" in page.text
        assert browser.get(base).status_code == 200  # the session now carries on
        rows = sql(env, f"SELECT action, summary FROM audit_log WHERE target = 'operator:{name}' AND action = 'console.sign_in'").stdout.splitlines()
        assert rows == ["console.sign_in|via the fronting proxy"], rows
        assert sql(env, f"SELECT count(*) FROM audit_log WHERE target = 'operator:{admin}' AND action = 'console.sign_in'").stdout.strip() == "0"
        # Authenticated at nginx, but not an operator here: refused, no session.
        refused = requests.get(base, auth=(stranger, "also-right"), allow_redirects=False)
        assert refused.status_code == 403 and "not an operator here" in refused.text and "set-cookie" not in refused.headers
        # The main stack's backend does not trust the proxy: the same header there opens nothing.
        assert requests.get(env["CONTROLPLANE_CONSOLE_URL"], headers={"proxy-operator": admin}).status_code == 401
    finally:
        os.remove(extra)
        subprocess.run(reload, capture_output=True)
