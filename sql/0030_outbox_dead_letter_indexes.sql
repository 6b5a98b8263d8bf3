-- controlplane:no-transaction
-- Dead letters are counted at every metrics scrape and on the console's overview, and an
-- endpoint's are recovered by time: without these, each count read the whole outbox (delivered
-- history included). Partial, so they hold only the few rows given up on; built CONCURRENTLY,
-- so the outboxes stay writable meanwhile.
SET lock_timeout = '1min';
SET statement_timeout = '30min';
CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_outbox_dead ON webhook_outbox (endpoint_id, created_at) WHERE status = 'dead';
CREATE INDEX CONCURRENTLY IF NOT EXISTS email_outbox_dead ON email_outbox (created_at) WHERE status = 'dead';
CREATE INDEX CONCURRENTLY IF NOT EXISTS governance_commands_failed ON governance_commands (issued_at) WHERE status = 'FAILED';
CREATE INDEX CONCURRENTLY IF NOT EXISTS admin_jobs_failed ON admin_jobs (requested_at) WHERE status = 'FAILED';
