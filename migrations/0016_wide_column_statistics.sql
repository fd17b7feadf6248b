-- The history's wide columns get no statistics.
--
-- No query filters, joins or sorts on an attempt's headers, timings,
-- response body, error text, URL or remote address, nor on a message's
-- payload, so their statistics are never read. Yet ANALYZE computed them
-- on every sampled row, and comparing jsonb values is its most expensive
-- part: an attempts table of 20,000 rows as the benchmark writes them took
-- 640 ms to analyze, against 175 ms without those columns (README,
-- Performance). A young install is analyzed as its tables double
-- (store/analyze.go), and autovacuum analyzes a day's partition as it
-- grows, both on the machine that is delivering.
--
-- A statistics target set on a partitioned table reaches its partitions
-- of the moment but not those created later, so hookd_ensure_partitions
-- now copies the partitioned table's targets to each partition it makes.

ALTER TABLE attempts
    ALTER COLUMN request_headers SET STATISTICS 0,
    ALTER COLUMN response_headers SET STATISTICS 0,
    ALTER COLUMN timings SET STATISTICS 0,
    ALTER COLUMN response_body SET STATISTICS 0,
    ALTER COLUMN error SET STATISTICS 0,
    ALTER COLUMN url SET STATISTICS 0,
    ALTER COLUMN remote_addr SET STATISTICS 0;
ALTER TABLE messages ALTER COLUMN payload SET STATISTICS 0;
ALTER TABLE message_payloads ALTER COLUMN payload SET STATISTICS 0;

-- As 0013's, and each new partition takes its table's statistics targets.
CREATE OR REPLACE FUNCTION hookd_ensure_partitions(first date, n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    made integer := 0;
    d date;
    lo uuid;
    hi uuid;
    tbl text;
    part text;
    col record;
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
            -- attstattarget is -1 (up to Postgres 16) or NULL (17) by default.
            FOR col IN SELECT attname, attstattarget FROM pg_attribute
                    WHERE attrelid = to_regclass(tbl) AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0 LOOP
                EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS %s', part, col.attname, col.attstattarget);
            END LOOP;
            made := made + 1;
        END LOOP;
    END LOOP;
    RETURN made;
END
$$;
