-- The console's failing endpoints are read from the endpoints' health.
--
-- The list used to probe every endpoint's latest attempt (one index probe
-- of each day's attempts partition per endpoint) to find those whose last
-- attempt failed: 56 ms with 4,000 endpoints and 50M attempts, and growing
-- with the number of endpoints, healthy or not. An endpoint in trouble is
-- now what its own columns say: disabled, or in a run of failures
-- (failing_since, set by the first failed attempt of a run). This partial
-- index holds those endpoints only, keyed by when their trouble was last
-- seen (store.FailingEndpoints's problem_at), so the page reads as many
-- rows as it shows, however many endpoints are healthy.

CREATE INDEX endpoints_trouble_idx ON endpoints
    ((greatest(CASE WHEN disabled THEN updated_at END,
               CASE WHEN failing_since IS NOT NULL THEN coalesce(last_failure_at, failing_since) END)) DESC,
     (id::text) DESC)
    WHERE disabled OR failing_since IS NOT NULL;
