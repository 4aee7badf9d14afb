-- The trigram index of lead search (000006) takes each new lead's trigrams
-- into its pending list, and the insert that finds the list past
-- gin_pending_list_limit merges all of it into the index, inside that
-- insert's statement: with the default 4 MB, a group commit every second or
-- two stalled for tens of milliseconds, and every lead queued behind the
-- one writer with it. A list of 256 kB is merged as often as it is small:
-- the create path's p99 went from 71-78 to 52-57 ms, PostgreSQL's CPU a
-- lead no higher (docs/BENCHMARKS.md). The change takes no lock that
-- blocks writes. The index is absent where pg_trgm was not available.
ALTER INDEX IF EXISTS leads_search SET (gin_pending_list_limit = 256);
