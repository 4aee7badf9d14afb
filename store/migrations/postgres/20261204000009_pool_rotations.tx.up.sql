-- A rotation is a team's, the account's default, or neither: a pool that
-- routing rules send leads to ("Hot leads", "Enterprise"). It is never both.
ALTER TABLE rotations DROP CONSTRAINT rotations_team_or_default;
--bun:split
ALTER TABLE rotations ADD CONSTRAINT rotations_team_or_default CHECK (team_id IS NULL OR NOT is_default);
