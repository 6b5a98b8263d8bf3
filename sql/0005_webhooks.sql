-- 0005: outbound lifecycle webhooks (Standard Webhooks), their outbox and delivery log, and
-- the replay guard of inbound provisioning callbacks.
CREATE TABLE webhook_endpoints (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url         text NOT NULL CHECK (url ~ '^https?://' AND char_length(url) <= 2000),
    events      text[] NOT NULL CHECK (cardinality(events) > 0),
    -- The signing secret (whsec_…): the receiver needs the same value to verify, so it is
    -- kept as is; only the sync's and the app's roles can read it.
    secret      text NOT NULL CHECK (secret LIKE 'whsec_%'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    deleted_at  timestamptz
);

CREATE TABLE webhook_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       text NOT NULL,                -- webhook-id: the receiver's idempotency key
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id),
    event_type       text NOT NULL,
    payload          text NOT NULL,                -- the exact bytes signed and sent
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (message_id, endpoint_id)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_delivery_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id     bigint NOT NULL REFERENCES webhook_outbox (id),
    attempt       integer NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status_code   integer,
    error         text,
    duration_ms   integer NOT NULL
);
CREATE INDEX webhook_delivery_attempts_outbox ON webhook_delivery_attempts (outbox_id, id);
CREATE TRIGGER webhook_delivery_attempts_append_only BEFORE UPDATE OR DELETE ON webhook_delivery_attempts
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

CREATE TABLE provisioning_callbacks (
    webhook_id   text PRIMARY KEY CHECK (char_length(webhook_id) BETWEEN 1 AND 200),
    tenant_id    uuid NOT NULL,
    event        text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON webhook_endpoints TO controlplane_app;
GRANT SELECT, INSERT ON webhook_outbox TO controlplane_app;
GRANT SELECT ON webhook_delivery_attempts TO controlplane_app;
GRANT SELECT, INSERT ON provisioning_callbacks TO controlplane_app;
GRANT SELECT, UPDATE ON webhook_endpoints TO controlplane_sync;
GRANT SELECT, UPDATE ON webhook_outbox TO controlplane_sync;
GRANT SELECT, INSERT ON webhook_delivery_attempts TO controlplane_sync;
