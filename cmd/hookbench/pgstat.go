package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// pgStats reads hookd's Postgres counters over one connection.
type pgStats struct {
	conn *pgx.Conn
}

// pgSample is a reading of the counters.
type pgSample struct {
	commits  int64 // pg_stat_database.xact_commit of the current database
	walBytes int64 // pg_current_wal_lsn(), as bytes: WAL written by the cluster
}

// openPGStats connects to databaseURL, which must point at loopback or a
// Unix socket.
func openPGStats(ctx context.Context, databaseURL string) (*pgStats, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	hosts := []string{cfg.Host}
	for _, fb := range cfg.Fallbacks {
		hosts = append(hosts, fb.Host)
	}
	for _, h := range hosts {
		if !strings.HasPrefix(h, "/") && !isLoopbackHost(h) {
			return nil, fmt.Errorf("database host %q is not loopback or a Unix socket", h)
		}
	}
	cfg.DialFunc = loopbackDialContext()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Postgres: %w", err)
	}
	return &pgStats{conn: conn}, nil
}

// sample reads the counters. The statistics that pg_stat_database shows are
// flushed by each backend at most once a second while it is busy and within
// about 10 s of it going idle, so a reading taken right after a burst lags;
// see the settle wait in run.
func (p *pgStats) sample(ctx context.Context) (pgSample, error) {
	var s pgSample
	err := p.conn.QueryRow(ctx, `
		SELECT xact_commit, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint
		FROM pg_stat_database
		WHERE datname = current_database()`).Scan(&s.commits, &s.walBytes)
	if err != nil {
		return pgSample{}, fmt.Errorf("read pg_stat_database: %w", err)
	}
	return s, nil
}

func (p *pgStats) close(ctx context.Context) {
	_ = p.conn.Close(ctx) // nothing to flush
}

// riverJobs counts the unfinished jobs of hookd's delivery queues by
// queue and state ("deliver/available", "deliver_retry/scheduled", …).
// A snoozed job is scheduled.
func (p *pgStats) riverJobs(ctx context.Context) (map[string]int, error) {
	rows, err := p.conn.Query(ctx, `
		SELECT queue, state::text, count(*)
		FROM river_job
		WHERE queue IN ('deliver', 'deliver_retry') AND state IN ('available', 'running', 'scheduled', 'retryable')
		GROUP BY queue, state`)
	if err != nil {
		return nil, fmt.Errorf("count river jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var queue, state string
		var n int
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return nil, fmt.Errorf("count river jobs: %w", err)
		}
		out[queue+"/"+state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count river jobs: %w", err)
	}
	return out, nil
}
