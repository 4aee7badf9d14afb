-- The Idempotency-Key of a create that updated a lead instead of creating
-- one (an upsert by email or externalId that found a live lead): a retry
-- with the same key and body is then answered with that lead, not applied
-- again (no second lead_returned). A created lead keeps its key on its own
-- row (leads.idempotency_key); LeadFacts looks in both. The key goes with
-- its lead.
CREATE TABLE idempotency_keys (
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    lead_id     bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    created_at  timestamp NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_lead ON idempotency_keys (lead_id);
