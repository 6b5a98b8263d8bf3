-- 0019: abuse limits that add up across drafts. One counter per scope, key and window,
-- checked and incremented under row locks in the step's transaction, so two requests at once
-- can never both take the last unit. Keys are keyed hashes (mailboxes, client networks) or
-- plain domains; never an address.

CREATE TABLE trial_rate_counters (
    scope         text NOT NULL CHECK (scope IN ('mailbox_day', 'domain_hour', 'domain_day', 'global_hour', 'network_drafts_hour')),
    key           text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 300),
    window_start  timestamptz NOT NULL,
    count         integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (scope, key, window_start)
);
CREATE INDEX trial_rate_counters_window ON trial_rate_counters (window_start);

GRANT SELECT, INSERT, UPDATE ON trial_rate_counters TO controlplane_app;
GRANT SELECT, DELETE ON trial_rate_counters TO controlplane_sync;
GRANT SELECT ON trial_rate_counters TO controlplane_readonly;
