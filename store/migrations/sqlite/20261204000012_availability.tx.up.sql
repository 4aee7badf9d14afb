-- Members' availability, as for PostgreSQL (see ../postgres).
CREATE TABLE member_schedules (
    account_id text NOT NULL,
    email      text NOT NULL,
    schedule   text NOT NULL,
    PRIMARY KEY (account_id, email),
    FOREIGN KEY (account_id, email) REFERENCES members (account_id, email) ON DELETE CASCADE
);
--bun:split
CREATE TABLE member_time_off (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id text NOT NULL,
    email      text NOT NULL,
    starts_at  timestamp NOT NULL,
    ends_at    timestamp NOT NULL,
    note       text NOT NULL DEFAULT '',
    created_at timestamp NOT NULL,
    CONSTRAINT member_time_off_period CHECK (ends_at > starts_at),
    FOREIGN KEY (account_id, email) REFERENCES members (account_id, email) ON DELETE CASCADE
);
--bun:split
CREATE INDEX member_time_off_member ON member_time_off (account_id, email, starts_at);
--bun:split
CREATE TABLE holiday_calendars (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       text NOT NULL,
    timezone   text NOT NULL,
    dates      text NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    CONSTRAINT holiday_calendars_account_id_name_key UNIQUE (account_id, name),
    CONSTRAINT holiday_calendars_id_account_id_key UNIQUE (id, account_id)
);
--bun:split
-- SQLite adds a column with a foreign key of that column alone, so the
-- reference is to the calendar's id; that it is the member's own account's
-- is checked under the account's lock when the member's calendar is set.
ALTER TABLE members ADD COLUMN holiday_calendar_id bigint REFERENCES holiday_calendars (id);
--bun:split
CREATE INDEX members_holiday_calendar ON members (holiday_calendar_id) WHERE holiday_calendar_id IS NOT NULL;
