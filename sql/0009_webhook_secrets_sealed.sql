-- 0009: webhook signing secrets encrypted at rest. New endpoints store only `secret_sealed`
-- (AES-256-GCM under CONTROLPLANE_SECRETS_KEYS, bound to the row's id); `cpctl secrets reseal`
-- seals rows written before this migration and clears their plaintext. Exactly one of the two
-- columns holds the secret.
ALTER TABLE webhook_endpoints ADD COLUMN secret_sealed bytea;
ALTER TABLE webhook_endpoints ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_one_secret CHECK ((secret IS NULL) <> (secret_sealed IS NULL));
