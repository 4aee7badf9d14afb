-- As for PostgreSQL (see ../postgres), in SQLite's spelling.
--
-- The members each turn passed over, and why, for a rotation's statistics
-- (skips by reason per member in a time window).
CREATE TABLE rotation_skips (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rotation_id bigint NOT NULL REFERENCES rotations (id) ON DELETE CASCADE,
    turn        bigint NOT NULL,
    member      text NOT NULL,
    reason      text NOT NULL,
    slots       integer NOT NULL,
    skipped_at  timestamp NOT NULL
);
--bun:split
CREATE INDEX rotation_skips_window ON rotation_skips (rotation_id, skipped_at);
