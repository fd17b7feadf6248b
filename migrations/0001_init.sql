-- 0001_init: hookd's whole data model in one step.
--
-- Why the shapes are what they are:
-- * Payloads are bytea, never jsonb: the signature is over the exact bytes
--   the publisher sent, and jsonb would reorder keys and change whitespace.
-- * Every row that belongs to a tenant carries tenant_id, so that every
--   query can be scoped by it and a tenant's delete cascades through all of
--   it.
-- * Ids are UUIDv7 made by the application: time-ordered, so lists page by
--   keyset on the id alone ("newest first" = id descending).
-- * Delivery state lives in deliveries; River's jobs only drive the work.
--   A job that finds its delivery gone or finished simply stops.
-- * The hot tables (messages, deliveries, attempts) have no foreign key to
--   tenants: every publish would take a KEY SHARE lock on the same tenant
--   row, and concurrent publishes turn that into multixacts. Deleting a
--   tenant or an endpoint deletes their rows explicitly instead (store).
-- * deliveries has no index on status and a fillfactor below 100, so that
--   recording an attempt is a HOT update that touches no index. Neither
--   deliveries nor attempts has an index on tenant_id: every query reaches
--   them through a message or an endpoint, and a tenant's delete goes
--   through its messages. Each index is one more B-tree insert per delivery.

CREATE TABLE tenants (
    id          text PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_types (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    schema      bytea,
    example     bytea,
    archived    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE endpoints (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url             text NOT NULL,
    description     text NOT NULL DEFAULT '',
    event_types     text[] NOT NULL DEFAULT '{}',
    channels        text[] NOT NULL DEFAULT '{}',
    headers         jsonb NOT NULL DEFAULT '{}',
    rate_limit      integer,
    signature_scheme text NOT NULL DEFAULT 'v1' CHECK (signature_scheme IN ('v1', 'v1a')),
    disabled        boolean NOT NULL DEFAULT false,
    disabled_reason text NOT NULL DEFAULT '',
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_tenant_idx ON endpoints (tenant_id, id);

-- Signing keys of an endpoint. The one with expires_at NULL is current;
-- rotated-out keys keep signing until expires_at (the grace period).
CREATE TABLE endpoint_secrets (
    id          uuid PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    tenant_id   text NOT NULL,
    secret      text NOT NULL,
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoint_secrets_endpoint_idx ON endpoint_secrets (endpoint_id);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL,
    event_type      text NOT NULL,
    payload         bytea NOT NULL,
    channels        text[] NOT NULL DEFAULT '{}',
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_tenant_idx ON messages (tenant_id, id DESC);
CREATE UNIQUE INDEX messages_idempotency_idx ON messages (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL,
    message_id       uuid NOT NULL,
    endpoint_id      uuid NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_status_code integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, endpoint_id)
) WITH (fillfactor = 80);
CREATE INDEX deliveries_endpoint_idx ON deliveries (endpoint_id, id);

-- The attempt log, written in batches on the hot path.
CREATE TABLE attempts (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL,
    delivery_id      uuid NOT NULL,
    message_id       uuid NOT NULL,
    endpoint_id      uuid NOT NULL,
    attempt          integer NOT NULL,
    trigger          text NOT NULL,
    status           text NOT NULL,
    status_code      integer,
    request_headers  jsonb NOT NULL DEFAULT '{}',
    response_headers jsonb NOT NULL DEFAULT '{}',
    response_body    bytea,
    body_truncated   boolean NOT NULL DEFAULT false,
    error_class      text NOT NULL DEFAULT '',
    error            text NOT NULL DEFAULT '',
    remote_addr      text NOT NULL DEFAULT '',
    url              text NOT NULL,
    duration_ms      integer NOT NULL DEFAULT 0,
    timings          jsonb NOT NULL DEFAULT '{}',
    replay_id        uuid,
    started_at       timestamptz NOT NULL
);
CREATE INDEX attempts_message_idx ON attempts (message_id, id);
CREATE INDEX attempts_replay_idx ON attempts (replay_id) WHERE replay_id IS NOT NULL;
CREATE INDEX attempts_endpoint_idx ON attempts (endpoint_id, id DESC);

-- Operators' bulk replays: who asked, with which filter, and how far along.
CREATE TABLE replays (
    id          uuid PRIMARY KEY,
    created_by  text NOT NULL,
    filter      jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'running',
    matched     integer NOT NULL DEFAULT 0,
    enqueued    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- API keys, stored as SHA-256 hashes only. tenant_id NULL = admin key.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    tenant_id   text REFERENCES tenants (id) ON DELETE CASCADE,
    hash        bytea NOT NULL UNIQUE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
