-- An endpoint is the unit of failure (issue #23): its retry state lives on the endpoint, so a
-- failing endpoint's whole backlog waits for one probe per retry interval, in order, and
-- delivery workers take endpoints round-robin (least recently attempted first).
ALTER TABLE webhook_endpoints
    ADD COLUMN failing_since        timestamptz,
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    ADD COLUMN next_attempt_at      timestamptz,
    ADD COLUMN last_attempt_at      timestamptz,
    ADD COLUMN disabled_reason      text;

-- An endpoint's pending backlog, in order (the next message, the cap, the backlog size).
CREATE INDEX webhook_outbox_endpoint_pending ON webhook_outbox (endpoint_id, id) WHERE status = 'pending';

GRANT SELECT (failing_since, consecutive_failures, next_attempt_at, last_attempt_at, disabled_reason)
    ON webhook_endpoints TO controlplane_readonly;
