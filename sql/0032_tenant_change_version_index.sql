-- controlplane:no-transaction
-- Each backend asks every half second for the tenants changed after the version it holds;
-- with this index the usual answer (none) costs one index probe. Built CONCURRENTLY, so
-- tenants stay writable meanwhile.
SET lock_timeout = '1min';
SET statement_timeout = '30min';
CREATE INDEX CONCURRENTLY IF NOT EXISTS tenants_master_change_version ON tenants_master (change_version);
