-- 0004: connector metadata. The control plane stores a *reference* to a credential held in a
-- secret store (kv:erp_cred:<tenant>, vault:…), never the credential; the application
-- refuses values that look like secrets, and the shape check here is the last line.
ALTER TABLE tenants_master
    ADD COLUMN connector_kind text CHECK (connector_kind IN ('frappe', 'odoo', 'sap_b1', 'netsuite', 'dynamics365')),
    ADD COLUMN connector_credential_ref text CHECK (
        connector_credential_ref ~ '^(kv|vault|aws-sm|gcp-sm|azure-kv):[A-Za-z0-9._/:@-]{1,200}$'),
    ADD CONSTRAINT tenants_master_connector_ref_needs_kind
        CHECK (connector_credential_ref IS NULL OR connector_kind IS NOT NULL);

CREATE INDEX tenants_master_connector_kind_id ON tenants_master (connector_kind, id) WHERE connector_kind IS NOT NULL;
