-- An endpoint's description, for the people who run it (PATCH /internal/webhook-endpoints/{id}).
ALTER TABLE webhook_endpoints ADD COLUMN description text CHECK (char_length(description) <= 500);
GRANT SELECT (description) ON webhook_endpoints TO controlplane_readonly;
