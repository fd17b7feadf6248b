-- 0009_endpoint_rates: an endpoint's rate_limit holds across every worker
-- process, not per process.
--
-- Why one row per endpoint with a "theoretical arrival time" (the generic
-- cell rate algorithm): it is the smallest state that all workers can
-- agree on in one statement, and it spaces attempts evenly (one every
-- 1/rate seconds) instead of letting a second's worth go at once at each
-- second's start. Only rate-limited endpoints write it, once per attempt;
-- it is kept out of endpoints, whose row every attempt reads.

CREATE TABLE endpoint_rates (
    endpoint_id uuid PRIMARY KEY,
    tat         timestamptz NOT NULL
) WITH (fillfactor = 50);
