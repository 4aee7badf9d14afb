-- The lead search (GET /leads?q=) matches '%text%' in names, email, phone
-- and company: without an index, every search reads every lead of the table.
-- pg_trgm's GIN indexes serve such patterns from three characters on.
--
-- pg_trgm is a trusted extension (PostgreSQL 13+): a role with CREATE on the
-- database may create it, but not every production role can. Where it cannot
-- be created, the migration goes on without these indexes: the search still
-- works, unindexed, bounded by the request timeout and by the admission of
-- heavy reads (httpapi.ReadLimits); run CREATE EXTENSION pg_trgm as a
-- superuser and apply the indexes below by hand to get them later.
--
-- The extension goes to the public schema when it can, not to the first
-- schema of the search path: one database may hold several leadrotor schemas
-- (tests make one each), and dropping one must not drop the extension the
-- others' indexes use. The indexes name the operator class with the
-- extension's schema, whatever it is.
DO $$
DECLARE
    ext text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        EXCEPTION WHEN OTHERS THEN
            -- No privilege, no public schema, or another process creating
            -- it at this very moment: go on without it.
            RAISE NOTICE 'pg_trgm not created (%): lead search stays unindexed', SQLERRM;
        END;
    END IF;
    SELECT n.nspname INTO ext FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF ext IS NULL THEN
        RETURN;
    END IF;
    -- Each expression exactly as store.ListLeads writes it, so that the
    -- planner matches them; one index each, which a BitmapOr combines.
    EXECUTE format('CREATE INDEX leads_search_name ON leads USING gin (lower(first_name || '' '' || last_name) %I.gin_trgm_ops)', ext);
    EXECUTE format('CREATE INDEX leads_search_email ON leads USING gin (lower(email) %I.gin_trgm_ops)', ext);
    EXECUTE format('CREATE INDEX leads_search_phone ON leads USING gin (lower(phone) %I.gin_trgm_ops)', ext);
    EXECUTE format('CREATE INDEX leads_search_company ON leads USING gin (lower(company) %I.gin_trgm_ops)', ext);
END
$$;
