-- Webhook endpoints (leads.WebhookEndpoint): where an account's lead events
-- are posted. event_types is a comma-separated list of leads.EventType.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url             text NOT NULL,
    secret          text NOT NULL,
    event_types     text NOT NULL,
    format          text NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'slack')),
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text NOT NULL DEFAULT '',
    created_at      timestamp NOT NULL,
    updated_at      timestamp NOT NULL
);
--bun:split
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, id);
--bun:split
-- The delivery log: one row per attempt, with the body posted, which a
-- redelivery posts again.
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    account_id  text NOT NULL,
    event_id    text NOT NULL,
    event_type  text NOT NULL,
    attempt     integer NOT NULL,
    status_code integer NOT NULL DEFAULT 0,
    succeeded   boolean NOT NULL,
    error       text NOT NULL DEFAULT '',
    duration_ms bigint NOT NULL DEFAULT 0,
    at          timestamp NOT NULL,
    payload     text NOT NULL
);
--bun:split
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
