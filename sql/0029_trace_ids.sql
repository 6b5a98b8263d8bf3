-- W3C trace context (issue #19): the trace id of the request that caused each row, carried on
-- as the traceparent of the outbound call that row leads to (a webhook, an email, a registry
-- request). Nullable, no default and no CHECK: neither a rewrite nor a scan under the lock
-- (trace ids are 1–128 characters by the time they get here); rows from before have none.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE tenant_events ADD COLUMN trace_id text;
ALTER TABLE webhook_outbox ADD COLUMN trace_id text;
ALTER TABLE email_outbox ADD COLUMN trace_id text;
ALTER TABLE governance_commands ADD COLUMN trace_id text;
ALTER TABLE admin_jobs ADD COLUMN trace_id text;

GRANT SELECT (trace_id) ON webhook_outbox, email_outbox TO controlplane_readonly;
