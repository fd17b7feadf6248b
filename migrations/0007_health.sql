-- 0007_health: endpoint health, the circuit breaker, and parked deliveries.
--
-- Why: an endpoint that fails for days must be seen (failing), then
-- stopped (disabled), without costing other endpoints anything, and what
-- it missed while disabled must not be lost.
-- * failing_since is when the current run of failed attempts began (NULL
--   while the last attempt succeeded). It is written only when the run
--   starts or ends, never on every attempt, so health costs no write per
--   attempt. "failing" and auto-disable are judged from it by a periodic
--   job (delivery/health.go).
-- * The circuit state is kept by each worker process in memory (no write
--   per attempt); the columns record its last transition, for the API and
--   the pages to show.
-- * parked deliveries are those of a disabled endpoint: kept, with no job,
--   until the endpoint is enabled and asked to send them. has_parked says
--   whether counting them is worth a look (the count is not kept in a
--   column, which every publish to a disabled endpoint would have to lock).

ALTER TABLE endpoints
    ADD COLUMN failing_since    timestamptz,
    ADD COLUMN failing_notified boolean NOT NULL DEFAULT false,
    ADD COLUMN last_error       text NOT NULL DEFAULT '',
    ADD COLUMN last_failure_at  timestamptz,
    ADD COLUMN disabled_at      timestamptz,
    ADD COLUMN max_in_flight    integer,
    ADD COLUMN circuit_state    text NOT NULL DEFAULT 'closed',
    ADD COLUMN circuit_since    timestamptz,
    ADD COLUMN circuit_reason   text NOT NULL DEFAULT '',
    ADD COLUMN has_parked       boolean NOT NULL DEFAULT false;

UPDATE endpoints SET disabled_at = updated_at WHERE disabled;

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'succeeded', 'failed', 'parked'));

-- Deliveries that were retrying when their endpoint was disabled, before
-- this migration, are parked rather than left pending with no job.
UPDATE deliveries d SET status = 'parked', next_attempt_at = NULL
FROM endpoints e WHERE e.id = d.endpoint_id AND e.disabled AND d.status = 'pending';
UPDATE endpoints e SET has_parked = true
WHERE e.disabled AND EXISTS (SELECT 1 FROM deliveries d WHERE d.endpoint_id = e.id AND d.status = 'parked');
