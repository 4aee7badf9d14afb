-- The returning-contact lookup by email domain gets an index that only it
-- can use. leads_returning_domain (000011) was partial on "email_norm IS NOT
-- NULL", which the duplicate-email lookup of every create implies too: when
-- the statistics said the account had no lead with an email (a table of
-- phone-only or bulk-loaded leads, analyzed before the new leads came), that
-- index looked empty, the create path's generic plan read the account's
-- leads through it by account alone, filtering on the email, and every
-- create cost more than the last until autovacuum analyzed again (10 % of
-- the table later): on 2,000,000 leads, 122 leads/s and PostgreSQL 8 ms a
-- lead over 10 minutes (docs/BENCHMARKS.md, stop 40). Partial on the domain
-- not being empty, which a lookup of a domain states and a lookup of an
-- email does not, it is out of the email lookup's reach. IF NOT EXISTS: on
-- a large table an operator may build it beforehand with CREATE INDEX
-- CONCURRENTLY (docs/deploy.md), so that this migration holds no writes.
CREATE INDEX IF NOT EXISTS leads_email_domain ON leads (account_id, (split_part(email_norm, '@', 2)), created_at)
    WHERE split_part(email_norm, '@', 2) <> '';
--bun:split
DROP INDEX IF EXISTS leads_returning_domain;
