-- The account's own audit entries (configuration, members, keys, sign-ins)
-- carry no lead, and are few beside the leads' trails: a partial index holds
-- them alone, so that the console's audit page, and a filter by one of their
-- events, read only them. Leads' entries never enter it: the create path
-- pays nothing for it.
CREATE INDEX audit_log_account_events ON audit_log (account_id, event, id) WHERE lead_id IS NULL;
