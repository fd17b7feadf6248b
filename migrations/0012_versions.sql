-- 0012_versions: versioned payloads. An event type carries one or more
-- schema versions; a message says which version its payload is and may
-- carry payloads of other versions too; an endpoint may pin a version per
-- event type and receives that version's payload.
--
-- Why the shapes are what they are:
-- * event_type_versions holds every version (schema, example, what changed,
--   deprecation). event_types keeps schema and example as the latest
--   version's, with its number in event_types.version, so that a publish of
--   the latest version (the usual one) reads the one row it read before.
--   Every existing event type becomes version 1 of itself.
-- * messages.version is the version of messages.payload, which stays where
--   it was: a message with one payload costs nothing more. The payloads of
--   other versions, when a publish carries several, are in message_payloads,
--   read only for a delivery to an endpoint that pins another version.
-- * message_payloads has no foreign key to messages (as the other hot
--   tables): retention and a tenant's delete remove its rows explicitly.
-- * endpoints.version_pins maps event type names to versions ({} = none).
--   A partial GIN index finds the endpoints that pin a version (for the
--   operator: who still uses a deprecated one) and stays empty while
--   nobody pins anything.
-- * deliveries.version is NULL except for a test event of a chosen
--   version, which goes to its endpoint in that version whatever it pins.
--   A NULL column costs no space, and no index covers it, so recording an
--   attempt stays a HOT update.

ALTER TABLE event_types ADD COLUMN version integer NOT NULL DEFAULT 1;

CREATE TABLE event_type_versions (
    event_type    text NOT NULL REFERENCES event_types (name) ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version >= 1),
    schema        bytea,
    example       bytea,
    changes       text NOT NULL DEFAULT '',
    deprecated_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_type, version)
);

INSERT INTO event_type_versions (event_type, version, schema, example, created_at, updated_at)
SELECT name, 1, schema, example, created_at, updated_at FROM event_types;

ALTER TABLE messages ADD COLUMN version integer NOT NULL DEFAULT 1;

CREATE TABLE message_payloads (
    message_id uuid NOT NULL,
    version    integer NOT NULL,
    payload    bytea NOT NULL,
    PRIMARY KEY (message_id, version)
);

ALTER TABLE endpoints ADD COLUMN version_pins jsonb NOT NULL DEFAULT '{}';
CREATE INDEX endpoints_version_pins_idx ON endpoints USING gin (version_pins jsonb_path_ops)
    WHERE version_pins <> '{}'::jsonb;

ALTER TABLE deliveries ADD COLUMN version integer;
