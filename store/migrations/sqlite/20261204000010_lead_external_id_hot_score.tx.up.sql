-- Two lead fields: external_id, the caller's own id of the contact (NULL
-- when not given), and hot_score, how hot the lead is (0 to 100, NULL when
-- not given; the Service checks the range). Both columns are nullable
-- without a default: adding them rewrites no row.
ALTER TABLE leads ADD COLUMN external_id text;
--bun:split
ALTER TABLE leads ADD COLUMN hot_score bigint;
