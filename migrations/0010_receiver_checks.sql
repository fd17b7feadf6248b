-- 0010_receiver_checks: receiver self-checks. A customer asks hookd, from
-- the portal or the API, to send a short series of labelled requests to
-- their own endpoint (a valid one, a bad signature, a tampered body, stale
-- and future timestamps, a duplicate, a rotated key) and reads a report.
--
-- Why these tables and not rows in attempts:
-- * A check's requests are not deliveries: there is no message and no
--   delivery row, and attempts.delivery_id and message_id stay NOT NULL.
-- * Nothing that judges an endpoint's health (the failing list, its stats,
--   failing_since, the circuit, auto-disable) reads these tables, so a
--   check whose forged requests are rightly refused, or whose receiver
--   answers 410, can never count against the endpoint.
-- * check_results holds each row of the report: what was sent and what came
--   back in the shape of an attempt (trigger 'check' on the wire; redacted
--   request headers, status, response headers, the start of the body, error
--   class, timings), the verdict, and what to change.
-- * A run is inserted with its River job in one transaction that first
--   locks the endpoint row, so "one run per endpoint per minute" holds
--   across every API process: the state is created_at of the latest run.
-- * Rows go with their endpoint (ON DELETE CASCADE; endpoints go with their
--   tenant), and only an endpoint's latest 20 runs are kept.

CREATE TABLE checks (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL,
    endpoint_id uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    url         text NOT NULL,
    event_type  text NOT NULL DEFAULT '',
    payload     bytea NOT NULL,
    webhook_id  text NOT NULL,
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'aborted')),
    error       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX checks_endpoint_idx ON checks (endpoint_id, id DESC);

CREATE TABLE check_results (
    check_id         uuid NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    name             text NOT NULL,
    verdict          text NOT NULL CHECK (verdict IN ('pass', 'warn', 'fail')),
    sent             text NOT NULL DEFAULT '',
    got              text NOT NULL DEFAULT '',
    fix              text NOT NULL DEFAULT '',
    url              text NOT NULL,
    request_headers  jsonb NOT NULL DEFAULT '{}',
    status_code      integer,
    response_headers jsonb NOT NULL DEFAULT '{}',
    response_body    bytea,
    body_truncated   boolean NOT NULL DEFAULT false,
    error_class      text NOT NULL DEFAULT '',
    error            text NOT NULL DEFAULT '',
    remote_addr      text NOT NULL DEFAULT '',
    duration_ms      integer NOT NULL DEFAULT 0,
    timings          jsonb NOT NULL DEFAULT '{}',
    started_at       timestamptz NOT NULL,
    PRIMARY KEY (check_id, name)
);
