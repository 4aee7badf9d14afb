-- A turn number is handed out once: the database refuses a second row with
-- the same (rotation_id, turn) (see the PostgreSQL migration of the same
-- name). SQLite has one writer, so a trigger that looks the number up (in
-- rotation_turns_turn) is as strict as a unique index, and unlike one it
-- leaves alone the rows written before the rule, which may repeat a number.
CREATE TRIGGER rotation_turns_turn_key BEFORE INSERT ON rotation_turns
WHEN EXISTS (SELECT 1 FROM rotation_turns WHERE rotation_id = NEW.rotation_id AND turn = NEW.turn)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: rotation_turns.rotation_id, rotation_turns.turn');
END;
