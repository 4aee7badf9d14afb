-- The moves of leads from one owner to another (audit lead_reassigned: by
-- hand, an SLA's expiry, a returning contact re-routed), by account and
-- time: a replay (leads.HistoryStore LeadMoves) reads those since its
-- window's start. Only those entries are indexed, so the create path pays
-- nothing for it. IF NOT EXISTS: on a large audit log, an operator may
-- build it beforehand with CREATE INDEX CONCURRENTLY (docs/deploy.md), so
-- that this migration does not hold the table's writes for the build.
CREATE INDEX IF NOT EXISTS audit_log_moves ON audit_log (account_id, created_at, id) WHERE event = 'lead_reassigned';
