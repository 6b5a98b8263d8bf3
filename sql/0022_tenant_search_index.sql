-- The console's tenant search (slug, name or contact domain containing a text, any case) from
-- a trigram index instead of a walk over every tenant: pg_trgm ships with postgresql-contrib and
-- is a trusted extension (PostgreSQL 13+), so the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tenants_master_search ON tenants_master
    USING gin (lower(slug || ' ' || display_name || ' ' || coalesce(contact_domain, '')) gin_trgm_ops);
