-- What was done with a lead (leads.Activity): a call, email, sms, meeting
-- or note, by whom and when. An activity belongs to its lead and goes with
-- it: deleting a lead deletes its activities (and the personal data their
-- notes hold), while the lead's audit trail, which has no foreign key,
-- keeps an activity_added entry of each (all but its note).
CREATE TABLE lead_activities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    lead_id     bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    type        text NOT NULL CHECK (type IN ('call', 'email', 'sms', 'meeting', 'note')),
    title       text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    occurred_at timestamp NOT NULL,
    completed   boolean NOT NULL DEFAULT true,
    outcome     text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamp NOT NULL
);
--bun:split
-- A lead's activities, newest first (GET /leads/{id}/activities pages by
-- occurred_at, id).
CREATE INDEX lead_activities_lead ON lead_activities (lead_id, occurred_at DESC, id DESC);
--bun:split
-- When the latest completed activity of the lead happened.
ALTER TABLE leads ADD COLUMN last_activity_at timestamp;
--bun:split
-- When the assignee first touched the lead in the current assignment
-- (since assigned_at); cleared by every new assignment.
ALTER TABLE leads ADD COLUMN first_touch_at timestamp;
--bun:split
-- When the assignee accepted the lead in the current assignment; cleared
-- by every new assignment.
ALTER TABLE leads ADD COLUMN accepted_at timestamp;
--bun:split
-- Whether the assignee's first activity in an assignment also accepts the
-- lead (leads.Account ActivityAccepts).
ALTER TABLE accounts ADD COLUMN activity_accepts boolean NOT NULL DEFAULT true;
