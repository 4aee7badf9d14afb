-- An account's routing rules, in order, as for PostgreSQL (see ../postgres).
CREATE TABLE routing_rules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    name       text NOT NULL,
    enabled    boolean NOT NULL,
    conditions text NOT NULL,
    action     text NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
--bun:split
CREATE UNIQUE INDEX routing_rules_name ON routing_rules (account_id, name);
