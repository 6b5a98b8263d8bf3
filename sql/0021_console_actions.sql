-- The console's operator actions run in controlplaned (as controlplane_app), each granted
-- only the columns it writes:
--   * an admin creates and revokes service tokens (the hash only; created_by names the operator);
--   * an operator resends a dead webhook message (back to pending, due now, same webhook-id).
GRANT INSERT (name, token_hash, token_hint, scopes, created_by) ON service_tokens TO controlplane_app;
GRANT UPDATE (revoked_at) ON service_tokens TO controlplane_app;
GRANT UPDATE (status, next_attempt_at) ON webhook_outbox TO controlplane_app;
