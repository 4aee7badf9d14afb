-- PostgreSQL checks a foreign key row by row, each check a query of its own
-- (through SPI) that also locks the referenced row: a created lead ran
-- about eight of them. Three keys are checked for rows that another check
-- of the same transaction already vouches for, and go; what they did on
-- delete stays, done by triggers on the referenced rows, which are deleted
-- rarely:
--
--   audit_log.account_id -> accounts: two or three entries a lead. Every
--     entry is written in a transaction that holds a row which needs the
--     account: a lead's (its own key to accounts is kept, and locks the
--     account's row when the lead is inserted; an account deleted while a
--     lead's change is written waits for that lead's lock in its cascade),
--     or the account's own (a configuration change locks it first); the
--     console's entries are checked and locked by the store (accountAudit).
--     Deleting an account deleted its log: leadrotor_account_deleted does,
--     after the cascades (its name sorts after theirs).
--   rotation_turns.rotation_id, rotation_skips.rotation_id -> rotations:
--     a turn and its skips are written with the lead that the turn gives,
--     whose own key to rotations (kept) locks the rotation's row, so that
--     its deletion waits for the lead's commit and its trigger then sees
--     the turn. Deleting a rotation deleted its turns and skips:
--     leadrotor_rotation_deleted does. (A turn given to a lead that waited
--     does not name a new rotation: one given as its rotation is deleted
--     may outlive it, a row nothing reads.)
--
-- Without their checks, intake with every feature on two cores went up by
-- a sixth and PostgreSQL's CPU a lead down by about 70 us
-- (docs/BENCHMARKS.md, issue 18). The triggers name the tables in the
-- schema of the row deleted, whatever the search path of the session that
-- deletes it: one database may hold several leadrotor schemas.
CREATE FUNCTION leadrotor_account_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I.audit_log WHERE account_id = $1', TG_TABLE_SCHEMA) USING OLD.id;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER leadrotor_account_deleted AFTER DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION leadrotor_account_deleted();
--bun:split
CREATE FUNCTION leadrotor_rotation_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I.rotation_turns WHERE rotation_id = $1', TG_TABLE_SCHEMA) USING OLD.id;
    EXECUTE format('DELETE FROM %I.rotation_skips WHERE rotation_id = $1', TG_TABLE_SCHEMA) USING OLD.id;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER leadrotor_rotation_deleted AFTER DELETE ON rotations
    FOR EACH ROW EXECUTE FUNCTION leadrotor_rotation_deleted();
--bun:split
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_account_id_fkey;
--bun:split
ALTER TABLE rotation_turns DROP CONSTRAINT IF EXISTS rotation_turns_rotation_id_fkey;
--bun:split
ALTER TABLE rotation_skips DROP CONSTRAINT IF EXISTS rotation_skips_rotation_id_fkey;
