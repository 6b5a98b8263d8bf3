-- 0003: tenants and their append-only lifecycle history.
CREATE TABLE tenants_master (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug           text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    display_name   text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN (
                       'pending', 'provisioning', 'provisioning_failed', 'active',
                       'suspended', 'deprovisioning', 'deprovisioned')),
    site_hostname  text UNIQUE CHECK (site_hostname ~ '^[a-z0-9.-]{1,253}$'),
    plan           text NOT NULL DEFAULT 'trial' CHECK (plan ~ '^[a-z0-9_-]{1,40}$'),
    contact_email  text NOT NULL CHECK (char_length(contact_email) BETWEEN 3 AND 254),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenants_master_status_id ON tenants_master (status, id);
CREATE INDEX tenants_master_updated_at ON tenants_master (updated_at);

CREATE TABLE tenant_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants_master (id),
    from_status  text,
    to_status    text NOT NULL,
    actor        text NOT NULL,
    reason       text,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_events_tenant ON tenant_events (tenant_id, id);

-- History is append-only, for every role (the owner included): no UPDATE, no DELETE.
CREATE FUNCTION refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append-only table: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER tenant_events_append_only BEFORE UPDATE OR DELETE ON tenant_events
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER tenant_events_no_truncate BEFORE TRUNCATE ON tenant_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

GRANT SELECT, INSERT, UPDATE ON tenants_master TO controlplane_app;
GRANT SELECT, INSERT ON tenant_events TO controlplane_app;
