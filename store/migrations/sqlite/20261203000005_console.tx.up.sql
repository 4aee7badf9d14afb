-- The web console's sign-in, as for PostgreSQL (see ../postgres); SQLite
-- spells timestamps its own way.
--
-- The web console's sign-in. Passwords and sessions belong to a user (an
-- email), like API keys, not to an account: one password opens every account
-- the user is a member of, and a session names the account it works in (NULL
-- until the user picks one). Session and invite tokens are stored as their
-- SHA-256 (hex) only. ttl_ms is how long a session lasts unused (its expiry
-- slides); a session's account has no foreign key to members, so that a
-- removed member's session is refused by the check on each use, not lost
-- silently. Invites are used once: used_at is set in the transaction that
-- accepts one.

CREATE TABLE member_passwords (
    email         text PRIMARY KEY,
    password_hash text NOT NULL,
    updated_at    timestamp NOT NULL
);
--bun:split
CREATE TABLE console_sessions (
    token_hash text PRIMARY KEY,
    email      text NOT NULL,
    account_id text REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    ttl_ms     bigint NOT NULL CHECK (ttl_ms > 0),
    created_at timestamp NOT NULL,
    expires_at timestamp NOT NULL
);
--bun:split
CREATE INDEX console_sessions_email ON console_sessions (email);
--bun:split
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
--bun:split
CREATE TABLE invites (
    token_hash text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      text NOT NULL,
    role       text NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
    kind       text NOT NULL CHECK (kind IN ('invite', 'reset')),
    created_by text NOT NULL DEFAULT '',
    created_at timestamp NOT NULL,
    expires_at timestamp NOT NULL,
    used_at    timestamp
);
--bun:split
CREATE INDEX invites_expires_at ON invites (expires_at);
