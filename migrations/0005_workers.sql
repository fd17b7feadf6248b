-- 0005_workers: a heartbeat row per worker process, so that a job left
-- `running` by a process that died (kill -9, OOM, a lost machine) is
-- retried within seconds rather than after River's stuck-job rescue.
--
-- Why a table and not River's own: open-source River records which client
-- attempted a job (river_job.attempted_by) but not whether that client is
-- still alive. Each worker upserts its row every couple of seconds; a job
-- whose last attempt belongs to a worker whose row has gone stale is an
-- orphan (delivery/rescue.go). The table holds one row per live process,
-- plus dead ones until they are cleared an hour later.

CREATE TABLE workers (
    id          text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now()
);
