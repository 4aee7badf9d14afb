-- As for PostgreSQL (see ../postgres), in SQLite's spelling.
--
-- Rotation turns get a table of their own: the rotation's history (the last
-- assignee, to resume after lost Redis state, and the day's counts, for
-- daily caps) must not change when a lead is reassigned by hand or deleted.
CREATE TABLE rotation_turns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rotation_id bigint NOT NULL REFERENCES rotations (id) ON DELETE CASCADE,
    turn        bigint NOT NULL,
    assignee    text NOT NULL,
    -- No foreign key: the turn outlives a deleted lead.
    lead_id     bigint,
    assigned_at timestamp NOT NULL
);
--bun:split
CREATE INDEX rotation_turns_turn ON rotation_turns (rotation_id, turn);
--bun:split
CREATE INDEX rotation_turns_assigned_at ON rotation_turns (rotation_id, assigned_at);
--bun:split
INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at)
SELECT rotation_id, rotation_turn, assigned_to, id, COALESCE(assigned_at, created_at)
FROM leads WHERE rotation_id IS NOT NULL AND rotation_turn > 0;
--bun:split
DROP INDEX leads_rotation_turn;
--bun:split
DROP INDEX leads_rotation_assigned_at;
--bun:split
DROP INDEX leads_account_id;
--bun:split
DROP INDEX leads_team;
--bun:split
DROP INDEX leads_lead_source;
--bun:split
-- Listing: each filter has an index that also serves the keyset order, so a
-- page is an index range scan however large the account.
CREATE INDEX leads_list_created ON leads (account_id, archived, created_at, id);
--bun:split
CREATE INDEX leads_list_updated ON leads (account_id, archived, updated_at, id);
--bun:split
CREATE INDEX leads_list_status ON leads (account_id, status, created_at, id);
--bun:split
CREATE INDEX leads_list_assignee ON leads (account_id, assigned_to, created_at, id);
--bun:split
CREATE INDEX leads_list_team ON leads (team_id, created_at, id) WHERE team_id IS NOT NULL;
--bun:split
CREATE INDEX leads_list_source ON leads (lead_source_id, created_at, id) WHERE lead_source_id IS NOT NULL;
