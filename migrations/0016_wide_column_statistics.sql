-- The history's wide columns get no statistics.
--
-- No query filters, joins or sorts on an attempt's headers, timings,
-- response body, error text, URL or remote address, nor on a message's
-- payload, so their statistics are never read. Yet ANALYZE computed them
-- on every sampled row, and comparing jsonb values is its most expensive
-- part: 32,268 attempts from a benchmark run took 785 ms to analyze,
-- against 188 ms without those columns (README, Performance). A young install is analyzed as its tables double
-- (store/analyze.go), and autovacuum analyzes a day's partition as it
-- grows, both on the machine that is delivering.
--
-- A statistics target set on a partitioned table reaches its partitions
-- of the moment but not those created later, so hookd_ensure_partitions
-- now copies the partitioned tables' targets to their partitions.

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

-- hookd_ensure_partitions (0013's, renamed hookd_create_partitions) now
-- also gives every partition of the four tables the statistics targets
-- its table has, for the partitions it made and any other that lacks them.
ALTER FUNCTION hookd_ensure_partitions(date, integer) RENAME TO hookd_create_partitions;

CREATE FUNCTION hookd_ensure_partitions(first date, n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    made integer := hookd_create_partitions(first, n);
    col record;
BEGIN
    -- attstattarget is -1 (up to Postgres 16) or NULL (17) by default.
    FOR col IN SELECT i.inhrelid::regclass AS part, p.attname, p.attstattarget
            FROM pg_inherits i
            JOIN pg_attribute p ON p.attrelid = i.inhparent
            JOIN pg_attribute c ON c.attrelid = i.inhrelid AND c.attname = p.attname
            WHERE i.inhparent = ANY(ARRAY[to_regclass('messages'), to_regclass('deliveries'),
                    to_regclass('attempts'), to_regclass('message_payloads')]::oid[])
              AND p.attnum > 0 AND NOT p.attisdropped AND p.attstattarget >= 0
              AND c.attstattarget IS DISTINCT FROM p.attstattarget LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', col.part, col.attname, col.attstattarget);
    END LOOP;
    RETURN made;
END
$$;
