-- How an account recognises a returning contact (leads.ReturningPolicy),
-- as the JSON the API takes; off by default.
ALTER TABLE accounts ADD COLUMN returning_policy jsonb NOT NULL DEFAULT '{"matchBy":[],"windowDays":0,"ownerGone":"route"}';
--bun:split
-- The lookups of a returning contact by phone and by email domain (email
-- has leads_email_norm, externalId its unique index), newest first.
CREATE INDEX leads_returning_phone ON leads (account_id, phone, created_at) WHERE phone <> '';
--bun:split
CREATE INDEX leads_returning_domain ON leads (account_id, (split_part(email_norm, '@', 2)), created_at) WHERE email_norm IS NOT NULL;
--bun:split
-- The leads returning contacts brought their owners (rotation statistics
-- show them apart: they take no turn). Only those entries are indexed, so
-- the create path of every other lead pays nothing for it.
CREATE INDEX audit_log_returning ON audit_log (account_id, created_at)
    WHERE event = 'lead_assigned' AND (data ->> 'reason') = 'returning_owner';
