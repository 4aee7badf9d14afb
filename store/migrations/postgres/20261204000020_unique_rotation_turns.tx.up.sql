-- A turn number is handed out once: the database refuses a second row with
-- the same (rotation_id, turn). That is how a rotation whose Redis state
-- fell behind the turns recorded here (a Sentinel failover to a replica
-- that missed the last writes) is caught before it hands a turn out twice
-- (see rotation.Rotator.Resync). Rows written before this rule may repeat a
-- number (a state rebuilt while turns were in flight could do that): the
-- later rows of such a repeat are left out of the rule, the first of each
-- stays in it, and the plain index stays for the queries.
DO $$
DECLARE
    repeats bigint[];
BEGIN
    SELECT array_agg(id) INTO repeats FROM (
        SELECT id, row_number() OVER (PARTITION BY rotation_id, turn ORDER BY id) AS n FROM rotation_turns
    ) AS r WHERE n > 1;
    IF repeats IS NULL THEN
        CREATE UNIQUE INDEX rotation_turns_turn_key ON rotation_turns (rotation_id, turn);
        DROP INDEX rotation_turns_turn;
    ELSE
        EXECUTE format('CREATE UNIQUE INDEX rotation_turns_turn_key ON rotation_turns (rotation_id, turn) WHERE id <> ALL (%L::bigint[])', repeats);
    END IF;
END $$;
