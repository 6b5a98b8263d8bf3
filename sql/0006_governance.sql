-- 0006: the governance hub: regions, worker nodes, synchronized preflight jobs with their
-- append-only revisions (the canonicalPayload bytes exactly as the registry sent them),
-- sweep runs, governance commands with their audit trail, and admin jobs.

CREATE TABLE regions (
    id                   text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    base_url             text NOT NULL CHECK (base_url ~ '^https?://[^\s]+$' AND char_length(base_url) <= 500),
    enabled              boolean NOT NULL DEFAULT true,
    page_size            integer NOT NULL DEFAULT 200 CHECK (page_size BETWEEN 1 AND 1000),
    -- Requests per second to this registry; 0 = not metered.
    requests_per_second  double precision NOT NULL DEFAULT 5 CHECK (requests_per_second >= 0 AND requests_per_second <= 1000),
    max_records_per_run  integer NOT NULL DEFAULT 20000 CHECK (max_records_per_run BETWEEN 1 AND 10000000),
    cursor               text,
    health               text NOT NULL DEFAULT 'HEALTHY' CHECK (health IN ('HEALTHY', 'PARTIAL', 'DEGRADED')),
    health_changed_at    timestamptz NOT NULL DEFAULT now(),
    health_reason        text,
    partner_routing_to   text,
    last_sweep_at        timestamptz,
    last_sweep_outcome   text,
    last_good_sweep_at   timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE nodes (
    region_id          text NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    node_id            text NOT NULL CHECK (char_length(node_id) BETWEEN 1 AND 200),
    container_version  text NOT NULL,
    readiness          text NOT NULL,            -- as the registry sent it (READY, NOT_READY, DRAINING)
    last_heartbeat_at  timestamptz NOT NULL,
    stale_since        timestamptz,              -- set by health-sweep when the heartbeat is older than the grace
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region_id, node_id)
);

CREATE TABLE sweep_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_id    text NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
    trigger      text NOT NULL DEFAULT 'timer',
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    pages        integer NOT NULL DEFAULT 0,
    records      integer NOT NULL DEFAULT 0,
    revisions    integer NOT NULL DEFAULT 0,
    bytes        bigint NOT NULL DEFAULT 0,
    duration_ms  integer,
    outcome      text CHECK (outcome IN ('OK', 'PARTIAL', 'FAILED')),
    error        text
);
CREATE INDEX sweep_runs_region ON sweep_runs (region_id, id DESC);

-- Jobs: the latest known state of each registry job. Only the sync writes here.
CREATE TABLE jobs (
    region_id          text NOT NULL REFERENCES regions (id),
    job_id             text NOT NULL CHECK (char_length(job_id) BETWEEN 1 AND 200),
    status             text NOT NULL,             -- as sent, never coerced
    updated_at         timestamptz NOT NULL,      -- the registry's updatedAt
    node_id            text,                      -- copied from the payload's nodeId, when present
    current_revision   integer NOT NULL,
    payload_sha256     bytea NOT NULL,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_synced_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region_id, job_id)
);
CREATE INDEX jobs_region_status ON jobs (region_id, status, updated_at);
CREATE INDEX jobs_region_updated ON jobs (region_id, updated_at, job_id);
CREATE INDEX jobs_node_status ON jobs (region_id, node_id, status, updated_at) WHERE node_id IS NOT NULL;

-- Every version of every job, append-only: the payload bytes as received and their SHA-256.
CREATE TABLE job_revisions (
    region_id       text NOT NULL,
    job_id          text NOT NULL,
    revision        integer NOT NULL CHECK (revision >= 1),
    status          text NOT NULL,
    updated_at      timestamptz NOT NULL,
    updated_at_text text NOT NULL,                -- the registry's spelling of updatedAt
    payload         bytea NOT NULL,
    payload_sha256  bytea NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    sweep_run_id    bigint,
    PRIMARY KEY (region_id, job_id, revision),
    FOREIGN KEY (region_id, job_id) REFERENCES jobs (region_id, job_id) DEFERRABLE INITIALLY DEFERRED,
    CHECK (payload_sha256 = sha256(payload))
);

-- Diagnostic truth in the database itself: revisions never change or disappear, and job
-- rows are written by members of controlplane_sync only (grants say the same).
CREATE TRIGGER job_revisions_append_only BEFORE UPDATE OR DELETE ON job_revisions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER job_revisions_no_truncate BEFORE TRUNCATE ON job_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

CREATE FUNCTION jobs_written_by_sync_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'synchronized jobs are never deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(current_user, 'controlplane_sync', 'MEMBER') THEN
        RAISE EXCEPTION 'only the sync writes job data' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER jobs_sync_only BEFORE INSERT OR UPDATE OR DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_written_by_sync_only();
CREATE TRIGGER job_revisions_sync_only BEFORE INSERT ON job_revisions
    FOR EACH ROW EXECUTE FUNCTION jobs_written_by_sync_only();
CREATE TRIGGER jobs_no_truncate BEFORE TRUNCATE ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

-- One page of registry items in one call (one round trip), inside the caller's
-- transaction: a new revision only when the status or the payload bytes changed, items
-- applied in page order, then the region's cursor. Payloads arrive concatenated in one
-- bytea with their offsets and lengths, so no byte is ever escaped or re-encoded.
CREATE FUNCTION ingest_registry_page(
    p_region text, p_sweep_run bigint, p_next_cursor text,
    p_job_ids text[], p_statuses text[], p_updated_at text[], p_node_ids text[],
    p_blob bytea, p_offsets integer[], p_lengths integer[], p_sha256_hex text[])
RETURNS TABLE (records integer, revisions integer)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    n integer := coalesce(array_length(p_job_ids, 1), 0);
    current_rev integer;
    current_status text;
    current_sha bytea;
    new_revisions integer := 0;
BEGIN
    FOR i IN 1..n LOOP
        SELECT j.current_revision, j.status, j.payload_sha256 INTO current_rev, current_status, current_sha
        FROM jobs j WHERE j.region_id = p_region AND j.job_id = p_job_ids[i] FOR UPDATE;
        IF FOUND AND current_status = p_statuses[i] AND current_sha = decode(p_sha256_hex[i], 'hex') THEN
            UPDATE jobs SET last_synced_at = now() WHERE region_id = p_region AND job_id = p_job_ids[i];
            CONTINUE;
        END IF;
        current_rev := coalesce(current_rev, 0) + 1;
        INSERT INTO job_revisions (region_id, job_id, revision, status, updated_at, updated_at_text, payload, payload_sha256, sweep_run_id)
        VALUES (p_region, p_job_ids[i], current_rev, p_statuses[i], p_updated_at[i]::timestamptz, p_updated_at[i],
                substring(p_blob FROM p_offsets[i] + 1 FOR p_lengths[i]), decode(p_sha256_hex[i], 'hex'), p_sweep_run);
        INSERT INTO jobs AS j (region_id, job_id, status, updated_at, node_id, current_revision, payload_sha256)
        VALUES (p_region, p_job_ids[i], p_statuses[i], p_updated_at[i]::timestamptz, p_node_ids[i], current_rev, decode(p_sha256_hex[i], 'hex'))
        ON CONFLICT (region_id, job_id) DO UPDATE
            SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, node_id = EXCLUDED.node_id,
                current_revision = EXCLUDED.current_revision, payload_sha256 = EXCLUDED.payload_sha256,
                last_synced_at = now();
        new_revisions := new_revisions + 1;
    END LOOP;
    UPDATE regions SET cursor = p_next_cursor, updated_at = now() WHERE id = p_region;
    RETURN QUERY SELECT n, new_revisions;
END
$$;

CREATE TABLE governance_commands (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),   -- the commandId sent to the registry
    region_id        text NOT NULL REFERENCES regions (id),
    kind             text NOT NULL CHECK (kind IN ('QUEUE_CAPACITY', 'REIMAGE_NODE', 'PARTNER_ROUTING')),
    target           text NOT NULL CHECK (char_length(target) BETWEEN 1 AND 200),
    params           jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'ACKNOWLEDGED', 'FAILED')),
    actor            text NOT NULL,
    reason           text NOT NULL,
    idempotency_key  text NOT NULL UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    rule_id          text,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    issued_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    acknowledged_at  timestamptz
);
CREATE INDEX governance_commands_due ON governance_commands (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX governance_commands_region ON governance_commands (region_id, issued_at DESC);

CREATE TABLE governance_command_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    command_id   uuid NOT NULL REFERENCES governance_commands (id),
    from_status  text,
    to_status    text NOT NULL,
    actor        text NOT NULL,
    detail       text,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX governance_command_events_command ON governance_command_events (command_id, id);
CREATE TRIGGER governance_command_events_append_only BEFORE UPDATE OR DELETE ON governance_command_events
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

CREATE TABLE admin_jobs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          text NOT NULL CHECK (kind IN ('SYNC_REGION', 'RECOVER_ENVIRONMENT')),
    region_id     text NOT NULL REFERENCES regions (id),
    params        jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    requested_by  text NOT NULL,
    reason        text NOT NULL,
    result        jsonb,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX admin_jobs_pending ON admin_jobs (requested_at) WHERE status = 'PENDING';

GRANT SELECT, INSERT, UPDATE, DELETE ON regions TO controlplane_app;
GRANT SELECT ON nodes, sweep_runs, jobs, job_revisions TO controlplane_app;
GRANT SELECT, INSERT, UPDATE ON governance_commands TO controlplane_app;
GRANT SELECT, INSERT ON governance_command_events TO controlplane_app;
GRANT SELECT, INSERT ON admin_jobs TO controlplane_app;

GRANT SELECT, UPDATE ON regions TO controlplane_sync;
GRANT SELECT, INSERT, UPDATE ON nodes, sweep_runs, jobs TO controlplane_sync;
GRANT SELECT, INSERT ON job_revisions TO controlplane_sync;
GRANT SELECT, INSERT, UPDATE ON governance_commands, admin_jobs TO controlplane_sync;
GRANT SELECT, INSERT ON governance_command_events TO controlplane_sync;
GRANT EXECUTE ON FUNCTION ingest_registry_page TO controlplane_sync;
REVOKE EXECUTE ON FUNCTION ingest_registry_page FROM PUBLIC;
