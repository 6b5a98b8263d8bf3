-- 0020: the operator console's people and the one audit log. Operators are named people
-- with a role; they sign in with a single-use link (only its hash is stored) that starts a
-- server-side session (only the hash of the cookie's value is stored). Every mutation the
-- console (and, as they move over, every other surface) makes writes one row of the
-- append-only audit_log in its own transaction.

CREATE TABLE operators (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    email        text CHECK (char_length(email) <= 254),
    role         text NOT NULL CHECK (role IN ('viewer', 'reviewer', 'operator', 'admin')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz
);

CREATE TABLE console_login_links (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    operator_id  bigint NOT NULL REFERENCES operators (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);

CREATE TABLE console_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    operator_id  bigint NOT NULL REFERENCES operators (id),
    csrf_token   text NOT NULL,
    user_agent   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX console_sessions_operator ON console_sessions (operator_id, created_at DESC);

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    trace_id     text,
    action       text NOT NULL,
    target       text,
    reason       text,
    summary      text
);
CREATE INDEX audit_log_time ON audit_log (occurred_at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, id DESC);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

GRANT SELECT ON operators TO controlplane_app;
GRANT SELECT, UPDATE ON console_login_links TO controlplane_app;
GRANT SELECT, INSERT, UPDATE ON console_sessions TO controlplane_app;
GRANT SELECT, INSERT ON audit_log TO controlplane_app, controlplane_sync;
GRANT SELECT (id, name, role, created_at, disabled_at) ON operators TO controlplane_readonly;
GRANT SELECT ON audit_log TO controlplane_readonly;
