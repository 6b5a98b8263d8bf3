-- 0017: a job's partner. Like nodeId, a top-level string `partnerId` (1–200 bytes) of the
-- canonical payload is copied to an indexed column at ingest (the payload itself stays as
-- sent), so COMPLETED_WITH_FINDINGS can be counted per node and per partner. Jobs swept
-- before this migration get theirs with their next revision.

ALTER TABLE jobs ADD COLUMN partner_id text CHECK (char_length(partner_id) BETWEEN 1 AND 200);
CREATE INDEX jobs_findings ON jobs (region_id, updated_at) WHERE status = 'COMPLETED_WITH_FINDINGS';

-- The page functions gain the partner ids; the old signatures go, so nothing can ingest
-- without them.
DROP FUNCTION ingest_registry_page_from(text, bigint, text, text, text[], text[], text[], text[], bytea, integer[], integer[], text[]);
DROP FUNCTION ingest_registry_page(text, bigint, text, text[], text[], text[], text[], bytea, integer[], integer[], text[]);

-- One page of registry items in one call (one round trip), inside the caller's
-- transaction: a new revision only when the status or the payload bytes changed, items
-- applied in page order. Payloads arrive concatenated in one bytea with their offsets and
-- lengths, so no byte is ever escaped or re-encoded. Applied only from the cursor the
-- sweeper started at (compare-and-set under the region row's lock, as in 0010); a page
-- without a next cursor keeps the stored one.
CREATE FUNCTION ingest_registry_page_from(
    p_region text, p_sweep_run bigint, p_expected_cursor text, p_next_cursor text,
    p_job_ids text[], p_statuses text[], p_updated_at text[], p_node_ids text[], p_partner_ids text[],
    p_blob bytea, p_offsets integer[], p_lengths integer[], p_sha256_hex text[])
RETURNS TABLE (applied boolean, records integer, revisions integer)
LANGUAGE plpgsql AS $$
DECLARE
    stored text;
    i integer;
    n integer := coalesce(array_length(p_job_ids, 1), 0);
    current_rev integer;
    current_status text;
    current_sha bytea;
    new_revisions integer := 0;
BEGIN
    SELECT r.cursor INTO stored FROM regions r WHERE r.id = p_region FOR UPDATE;
    IF NOT FOUND OR stored IS DISTINCT FROM p_expected_cursor THEN
        RETURN QUERY SELECT false, 0, 0;
        RETURN;
    END IF;
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
        INSERT INTO jobs AS j (region_id, job_id, status, updated_at, node_id, partner_id, current_revision, payload_sha256)
        VALUES (p_region, p_job_ids[i], p_statuses[i], p_updated_at[i]::timestamptz, p_node_ids[i], p_partner_ids[i], current_rev,
                decode(p_sha256_hex[i], 'hex'))
        ON CONFLICT (region_id, job_id) DO UPDATE
            SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, node_id = EXCLUDED.node_id,
                partner_id = EXCLUDED.partner_id, current_revision = EXCLUDED.current_revision,
                payload_sha256 = EXCLUDED.payload_sha256, last_synced_at = now();
        new_revisions := new_revisions + 1;
    END LOOP;
    UPDATE regions SET cursor = COALESCE(p_next_cursor, stored), updated_at = now() WHERE id = p_region;
    RETURN QUERY SELECT true, n, new_revisions;
END
$$;

REVOKE EXECUTE ON FUNCTION ingest_registry_page_from FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ingest_registry_page_from TO controlplane_sync;
