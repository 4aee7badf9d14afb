-- A rotation is a team's, the account's default, or neither: a pool that
-- routing rules send leads to. SQLite cannot alter a CHECK constraint, so the
-- table is rebuilt as its documentation says (ALTER TABLE, "making other
-- kinds of table schema changes"): with foreign keys off, so that dropping
-- the old table does not cascade to the members, turns and leads that refer
-- to it by name, and in a transaction of its own. The migration is not a
-- .tx. one because foreign_keys cannot change inside a transaction; it runs
-- on one connection (bun's migrator takes one for it).
PRAGMA foreign_keys = OFF;
--bun:split
BEGIN;
--bun:split
CREATE TABLE rotations_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    team_id           bigint,
    is_default        boolean NOT NULL DEFAULT false,
    name              text NOT NULL,
    fallback_assignee text NOT NULL DEFAULT '',
    timezone          text NOT NULL DEFAULT 'UTC',
    created_at        timestamp NOT NULL,
    updated_at        timestamp NOT NULL,
    CONSTRAINT rotations_team_or_default CHECK (team_id IS NULL OR NOT is_default),
    CONSTRAINT rotations_id_account_id_key UNIQUE (id, account_id),
    FOREIGN KEY (team_id, account_id) REFERENCES teams (id, account_id) ON DELETE CASCADE
);
--bun:split
INSERT INTO rotations_new (id, account_id, team_id, is_default, name, fallback_assignee, timezone, created_at, updated_at)
SELECT id, account_id, team_id, is_default, name, fallback_assignee, timezone, created_at, updated_at FROM rotations;
--bun:split
DROP TABLE rotations;
--bun:split
ALTER TABLE rotations_new RENAME TO rotations;
--bun:split
CREATE UNIQUE INDEX rotations_one_per_team ON rotations (team_id) WHERE team_id IS NOT NULL;
--bun:split
CREATE UNIQUE INDEX rotations_one_default ON rotations (account_id) WHERE is_default = 1;
--bun:split
COMMIT;
--bun:split
PRAGMA foreign_keys = ON;
