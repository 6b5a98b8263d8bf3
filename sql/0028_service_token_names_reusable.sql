-- The partial index of 0027 now keeps current names unique; the table-wide constraint goes.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE service_tokens VALIDATE CONSTRAINT service_tokens_rate_limit_whole;
-- squawk-ignore ban-drop-constraint
ALTER TABLE service_tokens DROP CONSTRAINT service_tokens_name_key;  -- replaced by 0027's index, not removed
