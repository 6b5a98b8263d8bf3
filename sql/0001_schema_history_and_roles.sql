-- 0001: the migration history and the roles every later migration grants to.
--
-- Roles (cluster-wide, NOLOGIN groups; login users are made members of one):
--   controlplane_app       controlplaned: reads and writes what each migration grants it
--   controlplane_sync      controlplane-sync: the only writer of synchronized job data
--   controlplane_readonly  operators' read access for reports and debugging
-- The role that runs migrations owns every object. Later migrations GRANT privileges
-- table by table (no default DML grants), so nothing is writable by accident.
-- Plain SQL: `psql -f` applies it as well as `cpctl migrate` (which also records it).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'controlplane_app') THEN
        CREATE ROLE controlplane_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'controlplane_sync') THEN
        CREATE ROLE controlplane_sync NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'controlplane_readonly') THEN
        CREATE ROLE controlplane_readonly NOLOGIN;
    END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO controlplane_app, controlplane_sync, controlplane_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO controlplane_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO controlplane_app, controlplane_sync;

CREATE TABLE IF NOT EXISTS schema_history (
    installed_rank    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version           integer NOT NULL UNIQUE,
    description       text NOT NULL,
    script            text NOT NULL,
    checksum          text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    installed_by      text NOT NULL DEFAULT current_user,
    installed_from    text,
    installed_on      timestamptz NOT NULL DEFAULT now(),
    execution_time_ms integer NOT NULL CHECK (execution_time_ms >= 0)
);

COMMENT ON TABLE schema_history IS
    'Applied migrations (sql/NNNN_name.sql): SHA-256 of the file as applied; cpctl migrate refuses to run when an applied file changed.';

GRANT SELECT ON schema_history TO controlplane_app, controlplane_sync;
