-- The tenant directory's change stream (issue #20): every backend keeps the directory in
-- memory and follows changes by version, as a watch cache follows a revision.
-- Each insert or update of a tenant takes the next `tenant_change_version` and notifies
-- `tenants_changed` with the tenant's id. Writers hold a transaction-scoped advisory lock
-- from the moment they take a version until they commit, so versions become visible in the
-- order they were given out: a reader that has seen version n has seen every version below
-- it, and "everything after n" is a complete delta. Tenant writes are rare (creation, a
-- status change, a connector slot), so serializing them costs nothing that matters.
-- Rows from before have no version; the first load of a backend reads every row anyway.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE SEQUENCE tenant_change_version AS bigint;
GRANT USAGE ON SEQUENCE tenant_change_version TO controlplane_app, controlplane_sync;

ALTER TABLE tenants_master ADD COLUMN change_version bigint;

CREATE FUNCTION tenants_master_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('tenants_master.change_version', 0));
    NEW.change_version := nextval('tenant_change_version');
    PERFORM pg_notify('tenants_changed', NEW.id::text);
    RETURN NEW;
END $$;

CREATE TRIGGER tenants_master_changed BEFORE INSERT OR UPDATE ON tenants_master
    FOR EACH ROW EXECUTE FUNCTION tenants_master_changed();
