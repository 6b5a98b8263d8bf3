-- Rotating an endpoint's signing secret without a missed delivery (issue #21): during an
-- overlap after the rotation, deliveries carry a signature with the previous secret too.
-- Sealed like the current one (AES-256-GCM under CONTROLPLANE_SECRETS_KEYS, bound to the row).
ALTER TABLE webhook_endpoints
    ADD COLUMN previous_secret_sealed bytea,
    ADD COLUMN secret_rotated_at      timestamptz;
