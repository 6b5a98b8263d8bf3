"""Every route that changes something, from every surface but the public funnel (whose steps
the signup attempt log records), writes exactly one audit row with the right actor and the
request's trace id. The list of routes comes from the OpenAPI document: a mutation route added
without an entry here fails the first test."""
import hashlib
import os
import uuid

import pytest
import requests
import yaml

from conftest import REPO
from console_support import csrf_of, signed_in, submitted_draft
from governance_support import Control
from sql_support import sql
from tenants_support import Internal, make_token, signed_callback

# The public trial funnel's steps are logged as signup attempts, not as operator actions.
NOT_AUDITED = {"checkTrialEmail", "createTrialDraft", "requestWorkEmailCode", "verifyWorkEmailCode", "submitTrialDetails",
               "requestSmsCodeGone", "verifySmsCodeGone", "requestTrialSmsGone", "verifyTrialSmsGone"}


def mutation_routes():
    document = yaml.safe_load(open(os.path.join(REPO, "openapi", "controlplane.yaml")))
    return {op["operationId"] for ops in document["paths"].values() for method, op in ops.items()
            if method in ("post", "patch", "put", "delete")}


def trace():
    return "cov-" + uuid.uuid4().hex[:12]


class Surfaces:
    """A token with every scope, the control token, and console sessions of each role."""

    def __init__(self, env):
        self.env = env
        self.token_name, token = make_token(env, "all")
        self.api = Internal(env["CONTROLPLANE_INTERNAL_URL"], token)
        self.control = Control(env)
        control_token = env["PPOS_CONTROL_TOKEN"].split(",")[0]
        self.control_actor = "control:" + hashlib.sha256(control_token.encode()).hexdigest()[:8]
        self.admin_name, self.admin = signed_in(env, "admin")
        self.csrf = csrf_of(self.admin.get(env["CONTROLPLANE_CONSOLE_URL"]).text)

    def console(self, path, fields, trace_id):
        r = self.admin.post(self.env["CONTROLPLANE_CONSOLE_URL"] + path, data={"csrf": self.csrf, **fields},
                            headers={"x-trace-id": trace_id}, allow_redirects=False)
        assert r.status_code in (200, 303), (path, r.status_code, r.text[:300])
        return f"operator:{self.admin_name}"

    def tenant(self, status=None):
        tenant = self.api.create_tenant()["id"]
        if status:
            sql(self.env, f"UPDATE tenants_master SET status = '{status}' WHERE id = '{tenant}'")
        return tenant

    def region(self):
        return self.control.add_region("http://127.0.0.1:9")

    def endpoint(self):
        r = self.api.post("/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/h", "events": ["tenant.created"]})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def call(s, op, t):
    """Performs operation `op` once, successfully, with trace id `t`; returns the actor expected."""
    h = {"x-trace-id": t}
    service = f"service:{s.token_name}"
    if op == "createTenant":
        assert s.api.post("/internal/tenants", {"slug": "cov-" + uuid.uuid4().hex[:8], "displayName": "C", "contactEmail": "a@b.example"},
                          headers=h).status_code == 201
        return service
    if op in ("suspendTenant", "resumeTenant", "deprovisionTenant", "retryTenantProvisioning"):
        start = {"suspendTenant": "active", "resumeTenant": "suspended", "deprovisionTenant": "active",
                 "retryTenantProvisioning": "provisioning_failed"}[op]
        verb = {"suspendTenant": "suspend", "resumeTenant": "resume", "deprovisionTenant": "deprovision",
                "retryTenantProvisioning": "provision"}[op]
        r = s.api.post(f"/internal/tenants/{s.tenant(start)}/{verb}", {"reason": "coverage"}, headers=h)
        assert r.status_code == 200, r.text
        return service
    if op == "patchTenantConnectorMetadata":
        tenant = s.tenant()
        r = s.api.patch("/internal/tenant-connector-metadata", {"tenantId": tenant, "connectorKind": "frappe",
                                                                 "connectorCredentialRef": f"kv:erp_cred:{tenant}"}, headers=h)
        assert r.status_code == 200, r.text
        return service
    if op == "receiveProvisioningCallback":
        tenant = s.tenant("provisioning")
        r = signed_callback(s.env, {"tenantId": tenant, "event": "site.created", "siteHostname": f"c-{tenant[:8]}.erp.example.com"},
                            extra_headers=h)
        assert r.status_code in (200, 202), r.text
        return "provisioner"
    if op == "createWebhookEndpoint":
        assert s.api.post("/internal/webhook-endpoints", {"url": "http://127.0.0.1:9/h", "events": ["tenant.created"]},
                          headers=h).status_code == 201
        return service
    if op == "deleteWebhookEndpoint":
        assert s.api.delete(f"/internal/webhook-endpoints/{s.endpoint()}", headers=h).status_code == 204
        return service
    if op == "updateWebhookEndpoint":
        r = s.api.patch(f"/internal/webhook-endpoints/{s.endpoint()}", {"description": "coverage"}, headers=h)
        assert r.status_code == 200, r.text
        return service
    if op == "rotateWebhookSecret":
        r = s.api.post(f"/internal/webhook-endpoints/{s.endpoint()}/rotate-secret", headers=h)
        assert r.status_code == 200, r.text
        return service
    if op == "testWebhookEndpoint":
        assert s.api.post(f"/internal/webhook-endpoints/{s.endpoint()}/test", headers=h).status_code == 202
        return service
    if op == "recoverWebhookEndpoint":
        r = s.api.post(f"/internal/webhook-endpoints/{s.endpoint()}/recover", {"since": "2026-01-01T00:00:00Z"}, headers=h)
        assert r.status_code == 202, r.text
        return service
    if op == "resendWebhookMessage":
        endpoint = s.endpoint()
        s.tenant()  # a tenant.created message to the endpoint
        message = sql(s.env, f"SELECT message_id FROM webhook_outbox WHERE endpoint_id = '{endpoint}' LIMIT 1").stdout.strip()
        r = s.api.post(f"/internal/webhook-messages/{message}/resend", {"endpointId": endpoint}, headers=h)
        assert r.status_code == 202, r.text
        return service
    if op in ("approveManualApproval", "rejectManualApproval"):
        verb = "approve" if op == "approveManualApproval" else "reject"
        r = s.api.post(f"/internal/trial/manual-approvals/{submitted_draft(s.env)}/{verb}", {"reason": "coverage"}, headers=h)
        assert r.status_code == 200, r.text
        return service
    if op == "addEmailDomain":
        assert s.api.post("/internal/trial/domains", {"domain": f"cov-{uuid.uuid4().hex[:6]}.example", "kind": "free"},
                          headers=h).status_code == 201
        return service
    if op == "importEmailDomains":
        assert s.api.post("/internal/trial/domains/import", {"kind": "free", "domains": [f"cov-{uuid.uuid4().hex[:6]}.example"]},
                          headers=h).status_code == 200
        return service
    if op == "deleteEmailDomain":
        domain = f"cov-{uuid.uuid4().hex[:6]}.example"
        assert s.api.post("/internal/trial/domains", {"domain": domain, "kind": "free"}).status_code == 201
        assert s.api.delete(f"/internal/trial/domains/{domain}", headers=h).status_code == 204
        return service
    if op == "createRegion":
        r = s.control.post("/control/v1/regions", {"id": "cov-" + uuid.uuid4().hex[:6], "baseUrl": "http://127.0.0.1:9"}, headers=h)
        assert r.status_code == 201, r.text
        return s.control_actor
    if op == "updateRegion":
        r = requests.patch(s.control.base + f"/control/v1/regions/{s.region()}", json={"pageSize": 20}, headers={**s.control.headers, **h})
        assert r.status_code == 200, r.text
        return s.control_actor
    if op == "deleteRegion":
        r = requests.delete(s.control.base + f"/control/v1/regions/{s.region()}", headers={**s.control.headers, **h})
        assert r.status_code == 204, r.text
        return s.control_actor
    if op == "createCommand":
        r = s.control.post("/control/v1/commands", {"region": s.region(), "kind": "QUEUE_CAPACITY", "target": "q", "params": {"capacity": 2},
                                                    "reason": "coverage"}, headers=h)
        assert r.status_code == 201, r.text
        return s.control_actor
    if op == "acknowledgeCommand":
        r = s.control.post("/control/v1/commands", {"region": s.region(), "kind": "QUEUE_CAPACITY", "target": "q", "params": {"capacity": 2},
                                                    "reason": "coverage"})
        command = r.json()["id"]
        sql(s.env, f"UPDATE governance_commands SET status = 'DELIVERED', delivered_at = now() WHERE id = '{command}'")
        r = s.control.post(f"/control/v1/commands/{command}/acknowledge", {"detail": "done"}, headers=h)
        assert r.status_code == 200, r.text
        return s.control_actor
    if op == "createAdminJob":
        r = s.control.post("/control/v1/admin-jobs", {"kind": "SYNC_REGION", "region": s.region(), "reason": "coverage"}, headers=h)
        assert r.status_code == 201, r.text
        return s.control_actor
    # The console, as an admin.
    if op == "consoleSignOut":
        name, browser = signed_in(s.env, "viewer")
        r = browser.post(s.env["CONTROLPLANE_CONSOLE_URL"] + "logout", data={"csrf": csrf_of(browser.get(s.env["CONTROLPLANE_CONSOLE_URL"]).text)},
                         headers=h, allow_redirects=False)
        assert r.status_code == 303
        return f"operator:{name}"
    if op == "consoleDecideTrial":
        return s.console(f"trials/{submitted_draft(s.env)}/approve", {"reason": "coverage"}, t)
    if op == "consoleAddDomain":
        return s.console("domains", {"domain": f"cov-{uuid.uuid4().hex[:6]}.example", "kind": "free"}, t)
    if op == "consoleImportDomains":
        return s.console("domains/import", {"domains": f"cov-{uuid.uuid4().hex[:6]}.example", "kind": "free"}, t)
    if op == "consoleRemoveDomain":
        domain = f"cov-{uuid.uuid4().hex[:6]}.example"
        assert s.api.post("/internal/trial/domains", {"domain": domain, "kind": "free"}).status_code == 201
        return s.console(f"domains/{domain}/remove", {}, t)
    if op == "consoleTenantAction":
        return s.console(f"tenants/{s.tenant('active')}/suspend", {"reason": "coverage"}, t)
    if op == "consoleWebhookEndpointSetEnabled":
        return s.console(f"webhooks/{s.endpoint()}/disable", {}, t)
    if op == "consoleWebhookMessageResend":
        endpoint = s.endpoint()
        s.tenant()  # a tenant.created message to the endpoint
        message = sql(s.env, f"SELECT id FROM webhook_outbox WHERE endpoint_id = '{endpoint}' LIMIT 1").stdout.strip()
        sql(s.env, f"UPDATE webhook_outbox SET status = 'dead' WHERE id = {message}")
        return s.console(f"webhooks/{endpoint}/messages/{message}/resend", {}, t)
    if op == "consoleCreateWebhookEndpoint":
        return s.console("webhooks", {"url": "http://127.0.0.1:9/h", "event.tenant.created": "on"}, t)
    if op == "consoleUpdateWebhookEndpoint":
        return s.console(f"webhooks/{s.endpoint()}/settings", {"url": "http://127.0.0.1:9/h2", "event.tenant.created": "on"}, t)
    if op == "consoleTestWebhookEndpoint":
        return s.console(f"webhooks/{s.endpoint()}/test", {}, t)
    if op == "consoleRecoverWebhookEndpoint":
        return s.console(f"webhooks/{s.endpoint()}/recover", {"since": "2026-01-01T00:00:00Z"}, t)
    if op == "consoleRotateWebhookSecret":
        return s.console(f"webhooks/{s.endpoint()}/rotate-secret", {"confirm": "yes"}, t)
    if op == "consoleDeleteWebhookEndpoint":
        return s.console(f"webhooks/{s.endpoint()}/delete", {"reason": "coverage", "confirm": "yes"}, t)
    if op == "consoleRegionSyncNow":
        return s.console(f"regions/{s.region()}/sync", {}, t)
    if op == "consoleIssueCommand":
        return s.console("commands", {"region": s.region(), "kind": "QUEUE_CAPACITY", "target": "q", "capacity": "3", "reason": "cov"}, t)
    if op == "consoleCreateToken":
        return s.console("access/tokens", {"name": "cov-" + uuid.uuid4().hex[:6], "scope.audit:read": "on"}, t)
    if op == "consoleRevokeToken":
        name, _ = make_token(s.env, "audit:read")
        return s.console(f"access/tokens/{name}/revoke", {"reason": "coverage", "confirm": "yes"}, t)
    if op == "consoleSetTokenLimits":
        name, _ = make_token(s.env, "audit:read")
        return s.console(f"access/tokens/{name}/limits", {"rateLimit": "50/s", "dailyQuota": ""}, t)
    if op == "consoleRevokeSession":
        other, _ = signed_in(s.env, "viewer")
        session = sql(s.env, f"SELECT s.id FROM console_sessions s JOIN operators o ON o.id = s.operator_id WHERE o.name = '{other}'").stdout.strip()
        return s.console(f"access/sessions/{session}/revoke", {}, t)
    raise AssertionError(f"no coverage call for {op}")


COVERED = ["createTenant", "suspendTenant", "resumeTenant", "deprovisionTenant", "retryTenantProvisioning", "patchTenantConnectorMetadata",
           "receiveProvisioningCallback", "createWebhookEndpoint", "deleteWebhookEndpoint", "testWebhookEndpoint", "recoverWebhookEndpoint", "updateWebhookEndpoint", "rotateWebhookSecret",
           "resendWebhookMessage", "approveManualApproval", "rejectManualApproval",
           "addEmailDomain", "importEmailDomains", "deleteEmailDomain", "createRegion", "updateRegion", "deleteRegion", "createCommand",
           "acknowledgeCommand", "createAdminJob", "consoleSignOut", "consoleDecideTrial", "consoleAddDomain", "consoleImportDomains",
           "consoleRemoveDomain", "consoleTenantAction", "consoleWebhookEndpointSetEnabled", "consoleWebhookMessageResend",
           "consoleCreateWebhookEndpoint", "consoleUpdateWebhookEndpoint", "consoleTestWebhookEndpoint", "consoleRecoverWebhookEndpoint",
           "consoleRotateWebhookSecret", "consoleDeleteWebhookEndpoint",
           "consoleRegionSyncNow", "consoleIssueCommand", "consoleCreateToken", "consoleRevokeToken", "consoleSetTokenLimits", "consoleRevokeSession"]


def test_every_mutation_route_is_covered_here():
    assert set(COVERED) == mutation_routes() - NOT_AUDITED, (set(COVERED) ^ (mutation_routes() - NOT_AUDITED))


@pytest.fixture(scope="module")
def surfaces(env):
    return Surfaces(env)


@pytest.mark.parametrize("operation", COVERED)
def test_each_change_writes_one_audit_row_with_its_actor_and_trace_id(env, surfaces, operation):
    t = trace()
    actor = call(surfaces, operation, t)
    rows = sql(env, f"SELECT actor FROM audit_log WHERE trace_id = '{t}'").stdout.split()
    assert rows == [actor], (operation, rows)
