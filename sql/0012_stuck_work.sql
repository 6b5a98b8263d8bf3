-- 0012: nothing waits forever. An admin job holds a lease while it runs (past it: FAILED,
-- "runner lost"); a command delivered but not acknowledged past its deadline becomes
-- UNACKNOWLEDGED and is delivered again under the same commandId; a tenant provisioning past
-- its deadline becomes provisioning_failed (reason "timeout"), which the health sweep applies
-- through the tenant lifecycle: the sync role gains what that takes.

ALTER TABLE admin_jobs ADD COLUMN lease_expires_at timestamptz;

ALTER TABLE governance_commands DROP CONSTRAINT governance_commands_status_check;
ALTER TABLE governance_commands ADD CONSTRAINT governance_commands_status_check
    CHECK (status IN ('PENDING', 'DELIVERED', 'UNACKNOWLEDGED', 'ACKNOWLEDGED', 'FAILED'));
CREATE INDEX governance_commands_unacknowledged ON governance_commands (delivered_at) WHERE status = 'DELIVERED';

GRANT SELECT, UPDATE ON tenants_master TO controlplane_sync;
GRANT SELECT, INSERT ON tenant_events TO controlplane_sync;
GRANT INSERT ON webhook_outbox TO controlplane_sync;
