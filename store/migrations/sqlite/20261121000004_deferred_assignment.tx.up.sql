-- Leads whose rotation could not be asked (Redis down) are stored anyway and
-- wait, marked pending, for the background assigner, which takes them oldest
-- first: the partial index holds only the waiting ones.
ALTER TABLE leads ADD COLUMN assignment_pending boolean NOT NULL DEFAULT false;
--bun:split
CREATE INDEX leads_assignment_pending ON leads (id) WHERE assignment_pending;
--bun:split
-- Every few turns a turn's row keeps the rotation's whole state after it (the
-- members' current weights, as a JSON object), so that a state lost with
-- Redis is rebuilt exactly: that checkpoint plus the turns recorded since.
ALTER TABLE rotation_turns ADD COLUMN state text;
--bun:split
CREATE INDEX rotation_turns_checkpoint ON rotation_turns (rotation_id, turn) WHERE state IS NOT NULL;
--bun:split
CREATE INDEX rotation_skips_turn ON rotation_skips (rotation_id, turn);
