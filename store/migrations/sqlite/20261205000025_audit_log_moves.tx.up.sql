-- The moves of leads from one owner to another (audit lead_reassigned: by
-- hand, an SLA's expiry, a returning contact re-routed), by account and
-- time: a replay (leads.HistoryStore LeadMoves) reads those since its
-- window's start. Only those entries are indexed, so the create path pays
-- nothing for it.
CREATE INDEX IF NOT EXISTS audit_log_moves ON audit_log (account_id, created_at, id) WHERE event = 'lead_reassigned';
