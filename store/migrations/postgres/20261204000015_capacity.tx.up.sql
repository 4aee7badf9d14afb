-- A rotation member's capacity (leads.RotationMember MaxOpenLeads): the
-- open leads it may have before it is passed over; 0 is no limit.
ALTER TABLE rotation_members ADD COLUMN max_open_leads integer NOT NULL DEFAULT 0;
--bun:split
-- The statuses of an open lead, which capacities count (leads.Account
-- OpenStatuses), comma-separated; '' is the default set.
ALTER TABLE accounts ADD COLUMN open_statuses text NOT NULL DEFAULT '';
