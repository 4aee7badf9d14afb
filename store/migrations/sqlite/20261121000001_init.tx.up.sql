-- The initial schema, as for PostgreSQL (see ../postgres); SQLite spells
-- identity columns, timestamps and JSON its own way.
--
-- The initial schema. Rules that must hold under concurrency live here as
-- constraints, not only in code: one default rotation per account, one
-- rotation per team, a unique idempotency key per account, a unique email per
-- account where duplicates are rejected, and every reference within the
-- account that owns it (composite foreign keys carry account_id).

CREATE TABLE accounts (
    id               text PRIMARY KEY,
    name             text NOT NULL DEFAULT '',
    duplicate_policy text NOT NULL DEFAULT 'reject' CHECK (duplicate_policy IN ('reject', 'allow')),
    config_version   bigint NOT NULL DEFAULT 1,
    created_at       timestamp NOT NULL,
    updated_at       timestamp NOT NULL
);
--bun:split
CREATE TABLE members (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      text NOT NULL,
    role       text NOT NULL CHECK (role IN ('admin', 'manager', 'agent')),
    created_at timestamp NOT NULL,
    PRIMARY KEY (account_id, email)
);
--bun:split
CREATE INDEX members_email ON members (email);
--bun:split
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    email        text NOT NULL,
    prefix       text NOT NULL CONSTRAINT api_keys_prefix_key UNIQUE,
    hash         text NOT NULL CONSTRAINT api_keys_hash_key UNIQUE,
    name         text NOT NULL DEFAULT '',
    created_at   timestamp NOT NULL,
    last_used_at timestamp,
    revoked_at   timestamp
);
--bun:split
CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       text NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    CONSTRAINT teams_account_id_name_key UNIQUE (account_id, name),
    CONSTRAINT teams_id_account_id_key UNIQUE (id, account_id)
);
--bun:split
CREATE TABLE lead_sources (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id text NOT NULL,
    team_id    bigint NOT NULL,
    name       text NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    CONSTRAINT lead_sources_team_id_name_key UNIQUE (team_id, name),
    CONSTRAINT lead_sources_id_team_id_key UNIQUE (id, team_id),
    FOREIGN KEY (team_id, account_id) REFERENCES teams (id, account_id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX lead_sources_account ON lead_sources (account_id);
--bun:split
CREATE TABLE rotations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    team_id           bigint,
    is_default        boolean NOT NULL DEFAULT false,
    name              text NOT NULL,
    fallback_assignee text NOT NULL DEFAULT '',
    timezone          text NOT NULL DEFAULT 'UTC',
    created_at        timestamp NOT NULL,
    updated_at        timestamp NOT NULL,
    CONSTRAINT rotations_team_or_default CHECK ((team_id IS NULL) = is_default),
    CONSTRAINT rotations_id_account_id_key UNIQUE (id, account_id),
    FOREIGN KEY (team_id, account_id) REFERENCES teams (id, account_id) ON DELETE CASCADE
);
--bun:split
CREATE UNIQUE INDEX rotations_one_per_team ON rotations (team_id) WHERE team_id IS NOT NULL;
--bun:split
CREATE UNIQUE INDEX rotations_one_default ON rotations (account_id) WHERE is_default = 1;
--bun:split
CREATE TABLE rotation_members (
    rotation_id bigint NOT NULL,
    account_id  text NOT NULL,
    position    integer NOT NULL,
    email       text NOT NULL,
    weight      integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
    paused      boolean NOT NULL DEFAULT false,
    daily_cap   integer NOT NULL DEFAULT 0 CHECK (daily_cap >= 0),
    PRIMARY KEY (rotation_id, email),
    FOREIGN KEY (rotation_id, account_id) REFERENCES rotations (id, account_id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, email) REFERENCES members (account_id, email) ON DELETE CASCADE
);
--bun:split
CREATE INDEX rotation_members_member ON rotation_members (account_id, email);
--bun:split
CREATE TABLE leads (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id                 text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    team_id                    bigint,
    lead_source_id             bigint,
    application_id             text NOT NULL DEFAULT '',
    first_name                 text NOT NULL,
    last_name                  text NOT NULL,
    img_src                    text NOT NULL DEFAULT '',
    email                      text NOT NULL DEFAULT '',
    phone                      text NOT NULL DEFAULT '',
    company                    text NOT NULL DEFAULT '',
    job_title                  text NOT NULL DEFAULT '',
    branch                     text NOT NULL DEFAULT '',
    source                     text NOT NULL DEFAULT '',
    position                   text NOT NULL DEFAULT '',
    location                   text NOT NULL DEFAULT '',
    products_services_sold     text NOT NULL DEFAULT '',
    number_of_employees        bigint,
    current_payment_processor  text NOT NULL DEFAULT '',
    monthly_transaction_volume bigint,
    interested_in_switching    boolean,
    process_stage              text NOT NULL DEFAULT '',
    buying_role                text NOT NULL DEFAULT '',
    assigned_to                text NOT NULL DEFAULT '',
    notes                      text NOT NULL DEFAULT '',
    last_contacted             timestamp,
    archived                   boolean NOT NULL DEFAULT false,
    created_by                 text NOT NULL DEFAULT '',
    status                     text NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'contacted', 'qualified', 'converted', 'lost', 'follow_up')),
    metadata                   text,
    rotation_id                bigint REFERENCES rotations (id) ON DELETE SET NULL,
    rotation_turn              bigint NOT NULL DEFAULT 0,
    assigned_at                timestamp,
    email_norm                 text,
    email_unique               text,
    idempotency_key            text,
    idempotency_fingerprint    text NOT NULL DEFAULT '',
    created_at                 timestamp NOT NULL,
    updated_at                 timestamp NOT NULL,
    FOREIGN KEY (team_id, account_id) REFERENCES teams (id, account_id),
    FOREIGN KEY (lead_source_id, team_id) REFERENCES lead_sources (id, team_id)
);
--bun:split
CREATE UNIQUE INDEX leads_idempotency_key ON leads (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
--bun:split
CREATE UNIQUE INDEX leads_email_unique ON leads (account_id, email_unique) WHERE email_unique IS NOT NULL;
--bun:split
CREATE INDEX leads_email_norm ON leads (account_id, email_norm) WHERE email_norm IS NOT NULL;
--bun:split
CREATE INDEX leads_rotation_turn ON leads (rotation_id, rotation_turn) WHERE rotation_id IS NOT NULL;
--bun:split
CREATE INDEX leads_rotation_assigned_at ON leads (rotation_id, assigned_at) WHERE rotation_id IS NOT NULL;
--bun:split
CREATE INDEX leads_account_id ON leads (account_id, id);
--bun:split
CREATE INDEX leads_team ON leads (team_id) WHERE team_id IS NOT NULL;
--bun:split
CREATE INDEX leads_lead_source ON leads (lead_source_id) WHERE lead_source_id IS NOT NULL;
--bun:split
CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- No foreign key: a lead's trail outlives the lead.
    lead_id          bigint,
    event            text NOT NULL,
    user_email       text NOT NULL DEFAULT '',
    api_key          text,
    data             text NOT NULL DEFAULT '{}',
    request_method   text NOT NULL DEFAULT '',
    request_path     text NOT NULL DEFAULT '',
    request_headers  text,
    request_ip       text NOT NULL DEFAULT '',
    created_at       timestamp NOT NULL
);
--bun:split
CREATE INDEX audit_log_lead ON audit_log (lead_id, id) WHERE lead_id IS NOT NULL;
--bun:split
CREATE INDEX audit_log_account ON audit_log (account_id, id);
