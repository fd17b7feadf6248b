-- 0013_partitions: the history (messages, deliveries, attempts and
-- message_payloads) is partitioned by day, so that retention drops whole
-- partitions instead of deleting rows one by one, and so that a list or a
-- page reads the few partitions its ids fall in.
--
-- Why the shapes are what they are:
-- * Every table is partitioned by RANGE on its UUIDv7 id (message_payloads
--   on message_id), with daily bounds written as the smallest UUIDv7 of
--   each UTC midnight (hookd_v7_floor). The primary key (id) is then valid
--   on the partitioned table, keyset paging on id is unchanged, and a
--   bound on the id (which the store already adds for time filters)
--   prunes partitions.
-- * A unique index of a partitioned table must contain the partition key,
--   so deliveries (message_id, endpoint_id) and messages (tenant_id,
--   idempotency_key) cannot be unique across partitions:
--   - a delivery's id carries its message's timestamp (store.DeliveryID),
--     so every delivery of a message lives in the message's partition, and
--     a unique index on (message_id, endpoint_id) in each partition is
--     enough. It is created per partition (hookd_ensure_partitions) and
--     inserts use ON CONFLICT DO NOTHING without a target, which consults
--     the partition's own unique indexes.
--   - idempotency keys move to message_keys, a small plain table with its
--     own primary key, deleted in batches by retention.
-- * The existing tables become the "legacy" partition of each, covering
--   every id before the first UTC midnight at least an hour ahead. ATTACH
--   scans the legacy table once to check the bound, under the lock this
--   migration holds (a table of tens of millions of rows takes some
--   seconds; the upgrade blocks writes meanwhile). The legacy's own
--   indexes become the partitioned indexes' partitions (same definitions,
--   no rebuild), its unique index on (message_id, endpoint_id) keeps
--   guarding deliveries of old messages. Retention deletes it in batches,
--   as before, until its whole range has expired, then drops it.
-- * Partitions are created ahead by a periodic job (and by every migrate),
--   a few days at a time: each partition costs planning time, so the
--   table has about retention + 4 of them.
-- * expires_at is a message's own, shorter retention; expunged_at marks a
--   message and its attempts whose content was removed (compliance).
-- * Storage parameters cannot be set on a partitioned table: each
--   deliveries partition gets fillfactor 80 when it is created.

CREATE FUNCTION hookd_v7_floor(t timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0') || '70008000000000000000')::uuid
$$;

CREATE FUNCTION hookd_v7_ms(id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT ('x' || left(replace(id::text, '-', ''), 12))::bit(48)::bigint
$$;

CREATE FUNCTION hookd_v7_at_ms(ms bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (lpad(to_hex(greatest(ms, 0)), 12, '0') || '70008000000000000000')::uuid
$$;

-- hookd_deliveries_from and hookd_deliveries_to bound the ids of the
-- deliveries of a message: [from, to). A delivery made since 0013 has its
-- message's millisecond (store.DeliveryID); one of the legacy partition
-- was made after its message (a minute of slack for clocks), anywhere
-- below the legacy's upper bound (hookd_legacy_upper, set below). A query
-- by message_id that adds "id >= from AND id < to" reads one partition.
-- The attempts of a message are at or after hookd_deliveries_from too.
CREATE FUNCTION hookd_deliveries_from(message uuid) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT hookd_v7_at_ms(hookd_v7_ms(message) - 60000)
$$;

-- hookd_ensure_partitions creates the daily partitions of the days from
-- first for n days that do not exist yet and are not covered by another
-- partition (the legacy one), and returns how many tables it created.
CREATE FUNCTION hookd_ensure_partitions(first date, n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    made integer := 0;
    d date;
    lo uuid;
    hi uuid;
    tbl text;
    part text;
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        d := first + i;
        lo := hookd_v7_floor(d::timestamp AT TIME ZONE 'UTC');
        hi := hookd_v7_floor((d + 1)::timestamp AT TIME ZONE 'UTC');
        FOREACH tbl IN ARRAY ARRAY['messages', 'deliveries', 'attempts', 'message_payloads'] LOOP
            part := tbl || '_p' || to_char(d, 'YYYYMMDD');
            CONTINUE WHEN to_regclass(part) IS NOT NULL;
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, tbl, lo, hi)
                    || CASE WHEN tbl = 'deliveries' THEN ' WITH (fillfactor = 80)' ELSE '' END;
            EXCEPTION
                WHEN invalid_object_definition THEN CONTINUE; -- the day is inside the legacy partition
                WHEN duplicate_table THEN CONTINUE; -- made meanwhile by another process
            END;
            IF tbl = 'deliveries' THEN
                EXECUTE format('CREATE UNIQUE INDEX %I ON %I (message_id, endpoint_id)', part || '_pair_key', part);
            END IF;
            made := made + 1;
        END LOOP;
    END LOOP;
    RETURN made;
END
$$;

-- Idempotency keys, one row per (tenant, key), pointing at the first
-- message published with it.
CREATE TABLE message_keys (
    tenant_id       text NOT NULL,
    idempotency_key text NOT NULL,
    message_id      uuid NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX message_keys_message_idx ON message_keys (message_id);
INSERT INTO message_keys (tenant_id, idempotency_key, message_id)
SELECT tenant_id, idempotency_key, id FROM messages WHERE idempotency_key IS NOT NULL;

ALTER TABLE messages ADD COLUMN expires_at timestamptz, ADD COLUMN expunged_at timestamptz;
ALTER TABLE attempts ADD COLUMN expunged_at timestamptz;

-- The legacy tables, renamed with their indexes so that the partitioned
-- tables' index names stay what they were.
ALTER TABLE messages RENAME TO messages_legacy;
ALTER INDEX messages_pkey RENAME TO messages_legacy_pkey;
ALTER INDEX messages_tenant_idx RENAME TO messages_legacy_tenant_idx;
ALTER INDEX messages_idempotency_idx RENAME TO messages_legacy_idempotency_idx;
ALTER TABLE deliveries RENAME TO deliveries_legacy;
ALTER INDEX deliveries_pkey RENAME TO deliveries_legacy_pkey;
ALTER INDEX deliveries_endpoint_idx RENAME TO deliveries_legacy_endpoint_idx;
ALTER INDEX deliveries_message_id_endpoint_id_key RENAME TO deliveries_legacy_pair_key;
ALTER TABLE attempts RENAME TO attempts_legacy;
ALTER INDEX attempts_pkey RENAME TO attempts_legacy_pkey;
ALTER INDEX attempts_message_idx RENAME TO attempts_legacy_message_idx;
ALTER INDEX attempts_replay_idx RENAME TO attempts_legacy_replay_idx;
ALTER INDEX attempts_endpoint_idx RENAME TO attempts_legacy_endpoint_idx;
ALTER TABLE message_payloads RENAME TO message_payloads_legacy;
ALTER INDEX message_payloads_pkey RENAME TO message_payloads_legacy_pkey;

CREATE TABLE messages (LIKE messages_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id))
    PARTITION BY RANGE (id);
CREATE INDEX messages_tenant_idx ON messages (tenant_id, id DESC);
CREATE INDEX messages_expires_idx ON messages (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE deliveries (LIKE deliveries_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id))
    PARTITION BY RANGE (id);
CREATE INDEX deliveries_endpoint_idx ON deliveries (endpoint_id, id);

CREATE TABLE attempts (LIKE attempts_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id))
    PARTITION BY RANGE (id);
CREATE INDEX attempts_message_idx ON attempts (message_id, id);
CREATE INDEX attempts_replay_idx ON attempts (replay_id) WHERE replay_id IS NOT NULL;
CREATE INDEX attempts_endpoint_idx ON attempts (endpoint_id, id DESC);

CREATE TABLE message_payloads (LIKE message_payloads_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (message_id, version)) PARTITION BY RANGE (message_id);

DO $$
DECLARE
    -- The first UTC midnight at least an hour from now: ids made before
    -- the migration (by app clocks a little ahead, too) stay below it.
    cut_day date := ((now() + interval '1 hour') AT TIME ZONE 'UTC')::date + 1;
    cut uuid := hookd_v7_floor(cut_day::timestamp AT TIME ZONE 'UTC');
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['messages', 'deliveries', 'attempts', 'message_payloads'] LOOP
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)',
            tbl, tbl || '_legacy', cut);
    END LOOP;
    PERFORM hookd_ensure_partitions(cut_day, 3);
    -- IMMUTABLE, so that the planner folds it and prunes at plan time.
    EXECUTE format('CREATE FUNCTION hookd_legacy_upper() RETURNS uuid LANGUAGE sql IMMUTABLE AS %L',
        format('SELECT %L::uuid', cut));
END
$$;

CREATE FUNCTION hookd_deliveries_to(message uuid) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT greatest(hookd_v7_at_ms(hookd_v7_ms(message) + 1), hookd_legacy_upper())
$$;

DROP INDEX messages_legacy_idempotency_idx;
