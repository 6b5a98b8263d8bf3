-- 0002: service tokens for /internal/*. Only a SHA-256 of each token is stored.
CREATE TABLE service_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The first characters of the token, to tell tokens apart in listings (not secret enough to matter).
    token_hint  text NOT NULL,
    scopes      text[] NOT NULL CHECK (cardinality(scopes) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT current_user,
    revoked_at  timestamptz
);

COMMENT ON TABLE service_tokens IS 'Bearer tokens of internal services: SHA-256 only; cpctl tokens create|list|revoke.';

GRANT SELECT ON service_tokens TO controlplane_app;
