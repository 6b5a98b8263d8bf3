-- 0013: a brake on automated remediation. A rule firing that the brake stops (too large a
-- share of a region's nodes re-imaged within the window) is recorded here instead of issuing
-- a command, once per rule, region, target and window, so operators see what was held back.

CREATE TABLE remediation_suppressions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_id      text NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    rule_id        text NOT NULL,
    kind           text NOT NULL,
    target         text NOT NULL,
    reason         text NOT NULL,
    dedup_key      text NOT NULL UNIQUE,
    suppressed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX remediation_suppressions_region ON remediation_suppressions (region_id, id DESC);

GRANT SELECT ON remediation_suppressions TO controlplane_app, controlplane_readonly;
GRANT SELECT, INSERT ON remediation_suppressions TO controlplane_sync;
