-- Simulations run through the API (leads.Simulation): a replay of an
-- account's leads of a window through a proposed configuration, run in the
-- background by the server process named by runner, which renews
-- heartbeat_at while it has it queued or running. config is the proposed
-- spec as submitted and result the replay's outcome, both JSON kept as
-- text, byte for byte; error_* say why a failed one failed. Rows are
-- deleted once expires_at has passed.
CREATE TABLE simulations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    window_from   timestamp NOT NULL,
    window_to     timestamp NOT NULL,
    config        text,
    created_by    text NOT NULL,
    progress      bigint NOT NULL DEFAULT 0,
    total         bigint,
    result        text,
    error_code    text NOT NULL DEFAULT '',
    error_message text NOT NULL DEFAULT '',
    error_field   text NOT NULL DEFAULT '',
    runner        text NOT NULL,
    heartbeat_at  timestamp NOT NULL,
    created_at    timestamp NOT NULL,
    started_at    timestamp,
    finished_at   timestamp,
    expires_at    timestamp NOT NULL
);
--bun:split
CREATE INDEX simulations_account ON simulations (account_id, created_at DESC, id DESC);
--bun:split
-- The sweep of simulations whose runner died, and the purge.
CREATE INDEX simulations_unfinished ON simulations (heartbeat_at) WHERE status IN ('queued', 'running');
--bun:split
CREATE INDEX simulations_expiry ON simulations (expires_at);
