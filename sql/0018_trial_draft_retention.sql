-- 0018: drafts that were never submitted are purged after the retention
-- (CONTROLPLANE_TRIAL_DRAFT_RETENTION_DAYS) by `controlplane-sync health-sweep`, with their
-- code emails; decided drafts keep what review and audit need, but not their codes.

GRANT DELETE ON trial_drafts, email_outbox TO controlplane_sync;
CREATE INDEX trial_drafts_unsubmitted ON trial_drafts (created_at) WHERE status IN ('draft', 'email_verified');
