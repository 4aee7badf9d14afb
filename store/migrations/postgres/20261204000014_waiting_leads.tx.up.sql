-- What a rotation does with a lead no member can take (leads.Rotation
-- WhenNobodyEligible): '' (its fallback assignee if any, else unassigned),
-- fallback, unassigned or hold.
ALTER TABLE rotations ADD COLUMN when_nobody_eligible text NOT NULL DEFAULT '';
--bun:split
-- Why a held lead waits (assignmentStatus "waiting"): such a lead is
-- assignment_pending, as one deferred through a Redis outage is, so the
-- background assigner finds both by the one index, oldest first; '' for
-- every other lead.
ALTER TABLE leads ADD COLUMN waiting_reason text NOT NULL DEFAULT '';
