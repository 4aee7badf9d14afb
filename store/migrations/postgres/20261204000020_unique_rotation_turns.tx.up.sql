-- A turn number is handed out once: the database refuses a second row with
-- the same (rotation_id, turn). That is how a rotation whose Redis state
-- fell behind the turns recorded here (a Sentinel failover to a replica
-- that missed the last writes) is caught before it hands a turn out twice
-- (see rotation.Rotator.Resync). Rows written before this rule may repeat a
-- number (a state rebuilt while turns were in flight could do that): then
-- the rule covers the rows written from now on only, and the plain index
-- stays for the queries.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM rotation_turns GROUP BY rotation_id, turn HAVING count(*) > 1) THEN
        EXECUTE format('CREATE UNIQUE INDEX rotation_turns_turn_key ON rotation_turns (rotation_id, turn) WHERE id > %s',
            (SELECT max(id) FROM rotation_turns));
    ELSE
        CREATE UNIQUE INDEX rotation_turns_turn_key ON rotation_turns (rotation_id, turn);
        DROP INDEX rotation_turns_turn;
    END IF;
END $$;
