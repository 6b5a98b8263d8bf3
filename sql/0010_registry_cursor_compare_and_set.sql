-- 0010: a registry page is applied only from the cursor its sweeper started it at
-- (compare-and-set, under the region row's lock), so two sweepers — after a failover, or a
-- lost session lock — can never both apply pages of one region nor move its cursor
-- backwards; and a page without a next cursor (allowed by the registry contract on the last
-- page) keeps the stored one instead of erasing it. A sweep that loses the race ends as
-- SUPERSEDED, which says nothing about the registry's health.

ALTER TABLE sweep_runs DROP CONSTRAINT sweep_runs_outcome_check;
ALTER TABLE sweep_runs ADD CONSTRAINT sweep_runs_outcome_check CHECK (outcome IN ('OK', 'PARTIAL', 'FAILED', 'SUPERSEDED'));

CREATE FUNCTION ingest_registry_page_from(
    p_region text, p_sweep_run bigint, p_expected_cursor text, p_next_cursor text,
    p_job_ids text[], p_statuses text[], p_updated_at text[], p_node_ids text[],
    p_blob bytea, p_offsets integer[], p_lengths integer[], p_sha256_hex text[])
RETURNS TABLE (applied boolean, records integer, revisions integer)
LANGUAGE plpgsql AS $$
DECLARE
    stored text;
BEGIN
    SELECT r.cursor INTO stored FROM regions r WHERE r.id = p_region FOR UPDATE;
    IF NOT FOUND OR stored IS DISTINCT FROM p_expected_cursor THEN
        RETURN QUERY SELECT false, 0, 0;
        RETURN;
    END IF;
    -- The page itself, as 0006's function applies it; then the cursor, kept when none came.
    RETURN QUERY
        SELECT true, p.records, p.revisions
        FROM ingest_registry_page(p_region, p_sweep_run, COALESCE(p_next_cursor, stored), p_job_ids, p_statuses,
                                  p_updated_at, p_node_ids, p_blob, p_offsets, p_lengths, p_sha256_hex) AS p;
END
$$;

REVOKE EXECUTE ON FUNCTION ingest_registry_page_from FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ingest_registry_page_from TO controlplane_sync;
