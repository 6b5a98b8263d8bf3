-- Service tokens as a product (issue #17): expiry, rolling replacement, last use, per-token
-- rate limits and daily quotas. (The name's uniqueness among current tokens: 0027 and 0028.)
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE service_tokens
    ADD COLUMN expires_at timestamptz,
    -- Written at most once a minute per token by the backend's usage flusher, never by a request.
    ADD COLUMN last_used_at timestamptz,
    -- Set when `cpctl tokens roll` made a successor; the token works until expires_at (its grace).
    ADD COLUMN superseded_at timestamptz,
    ADD COLUMN rate_limit integer CHECK (rate_limit BETWEEN 1 AND 1000000),
    ADD COLUMN rate_window_seconds integer CHECK (rate_window_seconds IN (1, 60)),
    ADD COLUMN daily_quota bigint CHECK (daily_quota BETWEEN 1 AND 1000000000000),
    -- Validated by 0028, outside this ALTER's ACCESS EXCLUSIVE lock.
    ADD CONSTRAINT service_tokens_rate_limit_whole CHECK ((rate_limit IS NULL) = (rate_window_seconds IS NULL)) NOT VALID;

-- Per token name and UTC day: quota reserved by backends (a backend admits only what it has
-- reserved, so the quota holds across processes and hosts), requests used and refused (flushed
-- every second).
CREATE TABLE service_token_usage (
    token_name   text NOT NULL,
    day          date NOT NULL,
    reserved     bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    -- What the last reservation granted, set in the same UPDATE (one round trip, no race).
    last_granted bigint NOT NULL DEFAULT 0 CHECK (last_granted >= 0),
    used         bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    limited      bigint NOT NULL DEFAULT 0 CHECK (limited >= 0),
    PRIMARY KEY (token_name, day)
);
COMMENT ON TABLE service_token_usage IS 'Daily quota reservations and request counts per service token name (UTC days).';

GRANT INSERT (expires_at, rate_limit, rate_window_seconds, daily_quota) ON service_tokens TO controlplane_app;
GRANT UPDATE (last_used_at, rate_limit, rate_window_seconds, daily_quota) ON service_tokens TO controlplane_app;
GRANT SELECT (expires_at, last_used_at, superseded_at, rate_limit, rate_window_seconds, daily_quota) ON service_tokens TO controlplane_readonly;
GRANT SELECT, INSERT, UPDATE ON service_token_usage TO controlplane_app;
GRANT SELECT ON service_token_usage TO controlplane_readonly;
