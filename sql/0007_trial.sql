-- 0007: the public trial funnel: the runtime email-domain dictionary (with a version and a
-- NOTIFY so every backend reloads within seconds), signup attempt logs (keyed hashes, never
-- raw addresses or IPs), manual-approval drafts, their decisions, and the email outbox.

CREATE TABLE email_domains (
    domain    text PRIMARY KEY CHECK (domain ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$'
                                      AND char_length(domain) <= 253),
    kind      text NOT NULL CHECK (kind IN ('free', 'disposable', 'blocked', 'allowed')),
    source    text NOT NULL DEFAULT 'manual',
    added_at  timestamptz NOT NULL DEFAULT now(),
    added_by  text NOT NULL DEFAULT current_user
);
CREATE INDEX email_domains_kind ON email_domains (kind);

CREATE TABLE email_domains_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO email_domains_version (version) VALUES (1);

CREATE FUNCTION email_domains_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE email_domains_version SET version = version + 1, changed_at = now();
    PERFORM pg_notify('email_domains_changed', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER email_domains_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON email_domains
    FOR EACH STATEMENT EXECUTE FUNCTION email_domains_changed();

-- The major global and Korean free-mail providers, and a few well-known disposable services.
-- The README says how to load the full public lists (cpctl domains import).
INSERT INTO email_domains (domain, kind, source) VALUES
    ('gmail.com', 'free', 'seed'), ('googlemail.com', 'free', 'seed'), ('yahoo.com', 'free', 'seed'),
    ('yahoo.co.uk', 'free', 'seed'), ('yahoo.co.jp', 'free', 'seed'), ('yahoo.co.kr', 'free', 'seed'),
    ('ymail.com', 'free', 'seed'), ('hotmail.com', 'free', 'seed'), ('outlook.com', 'free', 'seed'),
    ('live.com', 'free', 'seed'), ('msn.com', 'free', 'seed'), ('icloud.com', 'free', 'seed'), ('me.com', 'free', 'seed'),
    ('mac.com', 'free', 'seed'), ('aol.com', 'free', 'seed'), ('proton.me', 'free', 'seed'),
    ('protonmail.com', 'free', 'seed'), ('gmx.com', 'free', 'seed'), ('gmx.de', 'free', 'seed'), ('web.de', 'free', 'seed'),
    ('mail.ru', 'free', 'seed'), ('yandex.ru', 'free', 'seed'), ('yandex.com', 'free', 'seed'), ('zoho.com', 'free', 'seed'),
    ('qq.com', 'free', 'seed'), ('163.com', 'free', 'seed'), ('126.com', 'free', 'seed'), ('sina.com', 'free', 'seed'),
    ('naver.com', 'free', 'seed'), ('daum.net', 'free', 'seed'), ('hanmail.net', 'free', 'seed'), ('nate.com', 'free', 'seed'),
    ('kakao.com', 'free', 'seed'), ('korea.com', 'free', 'seed'), ('hanmir.com', 'free', 'seed'),
    ('dreamwiz.com', 'free', 'seed'), ('empal.com', 'free', 'seed'), ('paran.com', 'free', 'seed'),
    ('lycos.co.kr', 'free', 'seed'), ('chol.com', 'free', 'seed'), ('freechal.com', 'free', 'seed'),
    ('hitel.net', 'free', 'seed'), ('netian.com', 'free', 'seed'),
    ('mailinator.com', 'disposable', 'seed'), ('guerrillamail.com', 'disposable', 'seed'),
    ('10minutemail.com', 'disposable', 'seed'), ('tempmail.com', 'disposable', 'seed'),
    ('temp-mail.org', 'disposable', 'seed'), ('yopmail.com', 'disposable', 'seed'), ('trashmail.com', 'disposable', 'seed'),
    ('sharklasers.com', 'disposable', 'seed'), ('getnada.com', 'disposable', 'seed'), ('dispostable.com', 'disposable', 'seed');

-- The domain of each tenant's contact, to answer existing_tenant without parsing addresses per request.
ALTER TABLE tenants_master ADD COLUMN contact_domain text GENERATED ALWAYS AS (lower(split_part(contact_email, '@', 2))) STORED;
CREATE INDEX tenants_master_contact_domain ON tenants_master (contact_domain);

CREATE TABLE signup_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    trace_id      text NOT NULL,
    step          text NOT NULL CHECK (step IN ('email_check', 'draft', 'otp_send', 'otp_verify', 'submit_details')),
    email_domain  text,
    email_hash    bytea,            -- HMAC-SHA256 with CONTROLPLANE_HASH_KEY, never the address
    ip_hash       bytea,            -- the same for the client IP
    outcome       text NOT NULL,
    draft_id      uuid
);
CREATE INDEX signup_attempts_time ON signup_attempts (occurred_at);
CREATE INDEX signup_attempts_email_step ON signup_attempts (email_hash, step, occurred_at);

CREATE TABLE trial_drafts (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    secret_hash             bytea NOT NULL CHECK (length(secret_hash) = 32),
    status                  text NOT NULL DEFAULT 'draft'
                            CHECK (status IN ('draft', 'email_verified', 'submitted', 'approved', 'rejected')),
    email                   text NOT NULL,
    work_email              text,
    work_email_verified_at  timestamptz,
    -- The current one-time code: only its keyed hash, set by the sync when it sends the email.
    otp_generation          integer NOT NULL DEFAULT 0,
    otp_hash                bytea,
    otp_expires_at          timestamptz,
    otp_attempts            integer NOT NULL DEFAULT 0,
    otp_sends               integer NOT NULL DEFAULT 0,
    otp_requested_at        timestamptz,
    company_name            text,
    contact_name            text,
    country                 text CHECK (country ~ '^[A-Z]{2}$'),
    company_size            text,
    use_case                text,
    submitted_at            timestamptz,
    tenant_id               uuid REFERENCES tenants_master (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trial_drafts_status ON trial_drafts (status, submitted_at);

CREATE TABLE trial_decisions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    draft_id    uuid NOT NULL REFERENCES trial_drafts (id),
    decision    text NOT NULL CHECK (decision IN ('approved', 'rejected')),
    actor       text NOT NULL,
    reason      text,
    tenant_id   uuid,
    decided_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER trial_decisions_append_only BEFORE UPDATE OR DELETE ON trial_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

CREATE TABLE email_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template         text NOT NULL CHECK (template IN ('work_email_otp')),
    to_address       text NOT NULL,
    draft_id         uuid REFERENCES trial_drafts (id),
    otp_generation   integer,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'superseded', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE status = 'pending';

GRANT SELECT, INSERT, UPDATE, DELETE ON email_domains TO controlplane_app;
GRANT SELECT ON email_domains_version TO controlplane_app, controlplane_sync;
GRANT UPDATE ON email_domains_version TO controlplane_app;
GRANT SELECT, INSERT ON signup_attempts TO controlplane_app;
GRANT SELECT, INSERT, UPDATE ON trial_drafts TO controlplane_app;
GRANT SELECT, INSERT ON trial_decisions TO controlplane_app;
GRANT SELECT, INSERT ON email_outbox TO controlplane_app;

GRANT SELECT, DELETE ON signup_attempts TO controlplane_sync;
GRANT SELECT, UPDATE ON trial_drafts TO controlplane_sync;
GRANT SELECT, UPDATE ON email_outbox TO controlplane_sync;
