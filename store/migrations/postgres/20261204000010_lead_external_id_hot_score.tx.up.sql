-- Two lead fields: external_id, the caller's own id of the contact (NULL
-- when not given), and hot_score, how hot the lead is (0 to 100, NULL when
-- not given; the Service checks the range). Both columns are nullable
-- without a default: adding them rewrites no row.
--
-- An external id is unique among the account's leads whatever the
-- account's duplicate policy (unlike emails, which need email_unique, set
-- only where the policy rejects duplicates), so the column itself carries
-- the unique rule. Deleting a lead removes its row, and with it its id.
-- The index also serves LeadFacts' lookup and the externalId filter. It
-- starts empty (no lead has an external id yet), but building it reads the
-- table once, holding writes to leads meanwhile.
ALTER TABLE leads ADD COLUMN external_id text;
--bun:split
ALTER TABLE leads ADD COLUMN hot_score bigint;
--bun:split
CREATE UNIQUE INDEX leads_external_id ON leads (account_id, external_id) WHERE external_id IS NOT NULL;
