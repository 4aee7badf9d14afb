-- The lead search (GET /leads?q=, the console's search) matches '%text%' in
-- names, email, phone and company: without an index every search reads
-- every lead of the account (0.5 to 0.9 s at a million leads). One pg_trgm
-- GIN index over the fields joined serves such patterns from three
-- characters on; store.ListLeads adds that expression, exactly as written
-- here, beside its per-field test (which keeps the result exact), so that
-- the planner can use it. One index rather than one per field: each lead
-- written updates one GIN index, not four (four cost a third of intake).
--
-- pg_trgm is a trusted extension (PostgreSQL 13+): a role with CREATE on the
-- database may create it, but not every production role can. Where it cannot
-- be created, the migration goes on without the index: the search still
-- works, unindexed, bounded by the request timeout and by the admission of
-- heavy reads; run CREATE EXTENSION pg_trgm as a superuser and create the
-- index below by hand to get it later.
--
-- The extension goes to the public schema when it can, not to the first
-- schema of the search path: one database may hold several leadrotor schemas
-- (tests make one each), and dropping one must not drop the extension the
-- others' indexes use. The index names the operator class with the
-- extension's schema, whatever it is.
--
-- On a large table this takes a while and holds writes to leads meanwhile;
-- to upgrade one without that pause, create the index first by hand with
-- CREATE INDEX CONCURRENTLY (same name and expression).
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
    EXECUTE format('CREATE INDEX IF NOT EXISTS leads_search ON leads USING gin ('
        || '(lower(first_name || '' '' || last_name || '' '' || email || '' '' || phone || '' '' || company)) %I.gin_trgm_ops)', ext);
END
$$;
