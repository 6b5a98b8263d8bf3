-- controlplane:no-transaction
-- A rolled token and its successor share the name during the grace (metrics, limits and the
-- audit trail follow the consumer, not the secret): the name is unique among current tokens.
-- Built CONCURRENTLY, so service_tokens stays writable; 0028 then drops the old constraint.
SET lock_timeout = '1min';
SET statement_timeout = '30min';
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS service_tokens_current_name ON service_tokens (name) WHERE superseded_at IS NULL;
