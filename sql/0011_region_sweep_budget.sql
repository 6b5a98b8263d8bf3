-- 0011: each region's sweep has a time budget per run (Retry-After waits included): past it
-- the sweep stops that region cleanly, so one slow or hostile registry costs its own budget,
-- not the run.
ALTER TABLE regions ADD COLUMN sweep_budget_seconds integer NOT NULL DEFAULT 120
    CHECK (sweep_budget_seconds BETWEEN 1 AND 3600);
