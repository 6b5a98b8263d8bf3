-- 0008: the read-only role reads what reports and debugging need, never a secret, a hash or a
-- personal field. 0001 handed it SELECT on every future table by default; that default goes,
-- and each table is granted explicitly, column by column where a table holds anything secret.
-- The README's "Database privileges" matrix lists the result; a test compares it with
-- PostgreSQL's own answer (has_table_privilege / has_column_privilege) for every column.

ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM controlplane_readonly;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM controlplane_readonly;

-- Whole tables: history, governance and dictionary data without secrets or personal fields.
GRANT SELECT ON schema_history, tenant_events, webhook_delivery_attempts, provisioning_callbacks,
                regions, nodes, sweep_runs, jobs, job_revisions, governance_commands, governance_command_events,
                admin_jobs, email_domains, email_domains_version, trial_decisions
    TO controlplane_readonly;

-- Without the token's hash and its hint (the hint is the token's first characters).
GRANT SELECT (id, name, scopes, created_at, created_by, revoked_at) ON service_tokens TO controlplane_readonly;
-- Without the contact address and the credential reference.
GRANT SELECT (id, slug, display_name, status, site_hostname, plan, contact_domain, connector_kind, created_at, updated_at)
    ON tenants_master TO controlplane_readonly;
-- Without the signing secret (whoever holds it can forge webhooks to the subscriber).
GRANT SELECT (id, url, events, created_at, disabled_at, deleted_at) ON webhook_endpoints TO controlplane_readonly;
-- Without the payload (tenant data, contact address included).
GRANT SELECT (id, message_id, endpoint_id, event_type, status, attempts, next_attempt_at, last_error, created_at, delivered_at)
    ON webhook_outbox TO controlplane_readonly;
-- Without the keyed hashes of addresses.
GRANT SELECT (id, occurred_at, trace_id, step, email_domain, outcome, draft_id) ON signup_attempts TO controlplane_readonly;
-- Without the draft secret's hash, the addresses, the code's state, the contact's name and the free text.
GRANT SELECT (id, status, company_name, country, company_size, submitted_at, tenant_id, created_at, updated_at)
    ON trial_drafts TO controlplane_readonly;
-- Without the recipient's address.
GRANT SELECT (id, template, draft_id, otp_generation, status, attempts, next_attempt_at, last_error, created_at, sent_at)
    ON email_outbox TO controlplane_readonly;
