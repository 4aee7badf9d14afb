-- PostgreSQL indexes the lead search with pg_trgm at this version; SQLite
-- keeps reading the account's leads for it. This step keeps both dialects'
-- migration histories alike.
SELECT 1;
