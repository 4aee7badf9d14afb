-- A rotation's SLA (leads.SLA: acceptWithin, clock, maxReassignments,
-- whenExhausted) as JSON; NULL when it has none.
ALTER TABLE rotations ADD COLUMN sla text;
--bun:split
-- When the current assignment's time to accept runs out (leads.Lead
-- SLADueAt); NULL without an SLA. The timer itself is a job of the queue.
ALTER TABLE leads ADD COLUMN sla_due_at timestamp;
--bun:split
-- Each assignment whose time to accept ran out (leads.SLAExpiry), for the
-- stats: who let it expire, who got the lead instead ('' when nobody), and
-- what the expiry did (reassigned, keep, fallback, hold). Like rotation
-- turns, it outlives its lead (no foreign key) and goes with its rotation.
CREATE TABLE sla_expiries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    rotation_id   bigint NOT NULL REFERENCES rotations (id) ON DELETE CASCADE,
    lead_id       bigint NOT NULL,
    assignee      text NOT NULL,
    next_assignee text NOT NULL DEFAULT '',
    action        text NOT NULL,
    expired_at    timestamp NOT NULL
);
--bun:split
CREATE INDEX sla_expiries_rotation ON sla_expiries (rotation_id, expired_at);
