-- A new install's history starts in daily partitions.
--
-- 0013 made the tables that existed the "legacy" partitions, covering
-- every id up to the first UTC midnight at least an hour ahead, so that
-- rows written before the upgrade stay where they are. On a new install
-- (or any whose history was empty at the upgrade) those partitions hold
-- nothing, yet the first day or so of its history went into them: into
-- tables without the deliveries' fillfactor (so no HOT updates), that
-- retention deletes in batches rather than drops, and that the analyze
-- keeper (store/analyze.go) re-analyzed as one big table. When all four
-- are empty their range is cut back to yesterday's midnight (they stay,
-- empty, for ids from before it, as an import might write), and the days
-- from there get daily partitions like every other day.

DO $$
DECLARE
    first_day date := (now() AT TIME ZONE 'UTC')::date - 1; -- yesterday, for app clocks a little behind
    cut uuid := hookd_v7_floor(first_day::timestamp AT TIME ZONE 'UTC');
    tables text[] := ARRAY['messages', 'deliveries', 'attempts', 'message_payloads'];
    tbl text;
    has_rows boolean;
BEGIN
    FOREACH tbl IN ARRAY tables LOOP
        IF to_regclass(tbl || '_legacy') IS NULL THEN
            RETURN; -- dropped already (by retention, or historytest)
        END IF;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', tbl || '_legacy') INTO has_rows;
        IF has_rows THEN
            RETURN; -- an upgrade with a history: 0013's legacy partitions keep it
        END IF;
    END LOOP;
    FOREACH tbl IN ARRAY tables LOOP
        -- Empty, so the attach checks nothing; the legacy's indexes are
        -- matched to the partitioned ones again, not rebuilt.
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', tbl, tbl || '_legacy');
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)',
            tbl, tbl || '_legacy', cut);
    END LOOP;
    -- The bound that queries by message put on the legacy's deliveries
    -- moves down with it.
    EXECUTE format('CREATE OR REPLACE FUNCTION hookd_legacy_upper() RETURNS uuid LANGUAGE sql IMMUTABLE AS %L',
        format('SELECT %L::uuid', cut));
    PERFORM hookd_ensure_partitions(first_day, 2 + 3);
END
$$;
