-- The key a returning contact is recognised by its phone (leads.PhoneKey):
-- the digits of a phone written with digits and " +-.()/" alone, the
-- phone as written when it holds anything else, '' when it has fewer than
-- 5 digits. The leads stored before are keyed here in SQL, by the same
-- rule (TestPhoneKeyMigrationAgreesWithGo holds them equal); new ones by
-- the store. The returning lookup's index moves from phone to the key.
ALTER TABLE leads ADD COLUMN phone_key text NOT NULL DEFAULT '';
--bun:split
UPDATE leads SET phone_key = CASE
    WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) < 5 THEN ''
    WHEN phone ~ '^[-0-9 +.()/]*$' THEN regexp_replace(phone, '[^0-9]', '', 'g')
    ELSE btrim(phone)
END
WHERE phone <> '';
--bun:split
DROP INDEX IF EXISTS leads_returning_phone;
--bun:split
CREATE INDEX leads_returning_phone ON leads (account_id, phone_key, created_at) WHERE phone_key <> '';
