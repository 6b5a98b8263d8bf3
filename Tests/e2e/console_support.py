"""Helpers shared by the console tests (HTTP and browser): operators, sign-in links,
submitted drafts with hostile names."""
import re
import subprocess
import uuid

import requests

from sql_support import sql
from tenants_support import cpctl

DETAILS = {"companyName": "<script>alert(1)</script>\"><img src=x onerror=alert(2)>", "contactName": "Jane & Co",
           "country": "KR", "companySize": "51-200", "useCase": "ERP"}
BROWSER = {"origin": "http://localhost:3000", "user-agent": "Mozilla/5.0", "accept": "application/json"}


def operator(env, role):
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    r = cpctl(env, "operators", "add", "--name", name, "--role", role, "--email", f"{name}@example.com")
    assert r.returncode == 0, r.stderr
    return name


def login_link(env, name, seconds=None):
    args = ["console", "login-link", "--operator", name] + (["--seconds", str(seconds)] if seconds else [])
    r = subprocess.run([env["CPCTL"], *args, "--database-url", env["DATABASE_URL"]], capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "CONTROLPLANE_CONSOLE_URL": env["CONTROLPLANE_CONSOLE_URL"], "USER": "tester"})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]  # the URL is the last line


def signed_in(env, role):
    name = operator(env, role)
    browser = requests.Session()
    r = browser.get(login_link(env, name), allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/", r.text
    return name, browser


def csrf_of(page):
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def submitted_draft(env):
    """A submitted draft, made through the public API (codes read from the database would
    need the mail sink; the code is set directly here, as the sync would)."""
    public = env["CONTROLPLANE_URL"] + "/api/trial"
    r = requests.post(f"{public}/manual-approval/draft", json={"email": "x@gmail.com"}, headers=BROWSER)
    draft, secret = r.json()["draftId"], r.json()["draftSecret"]
    sql(env, f"UPDATE trial_drafts SET status = 'email_verified', work_email = 'jane@acme-{uuid.uuid4().hex[:6]}.com', "
             f"work_email_verified_at = now() WHERE id = '{draft}'")
    r = requests.post(f"{public}/manual-approval/{draft}/submit-details", json=DETAILS,
                      headers={**BROWSER, "authorization": f"Bearer {secret}"})
    assert r.status_code == 202, r.text
    return draft
