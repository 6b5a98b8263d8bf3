-- Registry pages ingested set-based (issue #20): one statement per page instead of a loop of
-- three or four statements per record. A page whose job ids are distinct (what a registry
-- sends) is joined against the jobs it names, locked together; unchanged jobs only get
-- last_synced_at; changed ones get their next revision and their jobs row in the same
-- statement. A page naming a job twice keeps the per-record loop of 0017, so the second
-- record still sees the first one's revision. Same signature, same result, same one
-- transaction with the cursor compare-and-set.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE OR REPLACE FUNCTION ingest_registry_page_from(
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
    IF n = (SELECT count(DISTINCT id) FROM unnest(p_job_ids) AS id) THEN
        WITH page AS (
            SELECT p.*, decode(p.sha_hex, 'hex') AS sha
            FROM unnest(p_job_ids, p_statuses, p_updated_at, p_node_ids, p_partner_ids, p_offsets, p_lengths, p_sha256_hex)
                 AS p (job_id, status, updated_at, node_id, partner_id, off, len, sha_hex)
        ), held AS (
            -- A join, probing the primary key once per item (`job_id = ANY (…)` compared every
            -- job of the region with every id of the page).
            SELECT j.job_id, j.current_revision, j.status, j.payload_sha256
            FROM page JOIN jobs j ON j.region_id = p_region AND j.job_id = page.job_id
            ORDER BY j.job_id FOR UPDATE OF j
        ), compared AS (
            SELECT page.*, coalesce(held.current_revision, 0) + 1 AS next_revision,
                   coalesce(held.status = page.status AND held.payload_sha256 = page.sha, false) AS unchanged
            FROM page LEFT JOIN held USING (job_id)
        ), synced AS (
            UPDATE jobs SET last_synced_at = now()
            FROM compared c WHERE c.unchanged AND jobs.region_id = p_region AND jobs.job_id = c.job_id
        ), revised AS (
            INSERT INTO job_revisions (region_id, job_id, revision, status, updated_at, updated_at_text, payload, payload_sha256, sweep_run_id)
            SELECT p_region, c.job_id, c.next_revision, c.status, c.updated_at::timestamptz, c.updated_at,
                   substring(p_blob FROM c.off + 1 FOR c.len), c.sha, p_sweep_run
            FROM compared c WHERE NOT c.unchanged
            RETURNING 1
        ), upserted AS (
            INSERT INTO jobs AS j (region_id, job_id, status, updated_at, node_id, partner_id, current_revision, payload_sha256)
            SELECT p_region, c.job_id, c.status, c.updated_at::timestamptz, c.node_id, c.partner_id, c.next_revision, c.sha
            FROM compared c WHERE NOT c.unchanged
            ON CONFLICT (region_id, job_id) DO UPDATE
                SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, node_id = EXCLUDED.node_id,
                    partner_id = EXCLUDED.partner_id, current_revision = EXCLUDED.current_revision,
                    payload_sha256 = EXCLUDED.payload_sha256, last_synced_at = now()
        )
        SELECT count(*) INTO new_revisions FROM revised;
    ELSE
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
    END IF;
    UPDATE regions SET cursor = COALESCE(p_next_cursor, stored), updated_at = now() WHERE id = p_region;
    RETURN QUERY SELECT true, n, new_revisions;
END
$$;
