-- As for PostgreSQL: the lookup by email domain gets an index that the
-- duplicate-email lookup cannot use (partial on the domain not being
-- empty, a term the domain lookup states).
CREATE INDEX IF NOT EXISTS leads_email_domain ON leads (account_id, (substr(email_norm, instr(email_norm, '@') + 1)), created_at)
    WHERE substr(email_norm, instr(email_norm, '@') + 1) <> '';
--bun:split
DROP INDEX IF EXISTS leads_returning_domain;
