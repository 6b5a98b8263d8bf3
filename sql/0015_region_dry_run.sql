-- 0015: a per-region dry run for the rules: what would fire is recorded (outcome DRY_RUN)
-- beside what the brake held back, and no command is issued.

ALTER TABLE regions ADD COLUMN dry_run boolean NOT NULL DEFAULT false;
ALTER TABLE remediation_suppressions
    ADD COLUMN outcome text NOT NULL DEFAULT 'REMEDIATION_SUPPRESSED' CHECK (outcome IN ('REMEDIATION_SUPPRESSED', 'DRY_RUN'));
