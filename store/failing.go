package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailingEndpoint is an endpoint in trouble, for the operators' console:
// disabled, in a run of failed attempts (failing_since set), or its latest
// attempt failed.
type FailingEndpoint struct {
	Endpoint Endpoint
	// LastStatusCode, LastErrorClass and LastError describe the latest
	// attempt (0 and "" when there was none or it got no answer).
	LastStatusCode int
	LastErrorClass string
	LastError      string
	LastAttemptAt  *time.Time
	// ProblemAt is when the trouble was last seen: the failed attempt, the
	// last failure of its run, or the last change of a disabled endpoint,
	// whichever is latest.
	ProblemAt time.Time
	// FailedDeliveries counts the endpoint's deliveries in status failed.
	FailedDeliveries int
}

// FailingEndpoints lists endpoints of every tenant that are disabled, in a
// run of failures or whose latest attempt failed, newest problem first. A
// run of failures lists the endpoint even when its attempts are gone (the
// retention pruned them).
//
// The latest attempt of each endpoint is one probe of attempts
// (endpoint_id, id DESC); the failed deliveries are counted, through
// deliveries (endpoint_id, id), for the endpoints of the page only.
func (s *Store) FailingEndpoints(ctx context.Context, p Page) ([]FailingEndpoint, string, error) {
	c, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	var at *time.Time
	var key string
	if c != nil {
		at, key = &c.T, c.K
	}
	rows, err := s.db.Query(ctx, `WITH failing AS (
			SELECT e.id, la.status_code, la.error_class, la.error, la.started_at,
				greatest(CASE WHEN la.status = 'failed' THEN la.started_at END,
					CASE WHEN e.disabled THEN e.updated_at END,
					CASE WHEN e.failing_since IS NOT NULL THEN coalesce(e.last_failure_at, e.failing_since) END) AS problem_at
			FROM endpoints e
			LEFT JOIN LATERAL (
				SELECT a.status, a.status_code, a.error_class, a.error, a.started_at
				FROM attempts a WHERE a.endpoint_id = e.id ORDER BY a.id DESC LIMIT 1
			) la ON true
			WHERE e.disabled OR la.status = 'failed' OR e.failing_since IS NOT NULL
		), page AS (
			SELECT * FROM failing
			WHERE $1::timestamptz IS NULL OR (problem_at, id::text) < ($1, $2)
			ORDER BY problem_at DESC, id::text DESC LIMIT $3
		)
		SELECT `+prefixed("e.", endpointCols)+`,
			coalesce(p.status_code, 0), coalesce(p.error_class, ''), coalesce(p.error, ''), p.started_at, p.problem_at,
			(SELECT count(*) FROM deliveries d WHERE d.endpoint_id = e.id AND d.status = 'failed')
		FROM page p JOIN endpoints e ON e.id = p.id
		ORDER BY p.problem_at DESC, p.id::text DESC`, at, key, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("failing endpoints: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailingEndpoint, error) {
		var f FailingEndpoint
		var headers string
		err := r.Scan(append(endpointDest(&f.Endpoint, &headers),
			&f.LastStatusCode, &f.LastErrorClass, &f.LastError, &f.LastAttemptAt, &f.ProblemAt, &f.FailedDeliveries)...)
		if err != nil {
			return f, err
		}
		return f, s.openEndpointHeaders(&f.Endpoint, headers)
	})
	if err != nil {
		return nil, "", fmt.Errorf("failing endpoints: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(f FailingEndpoint) string {
		return encodeCursor(f.ProblemAt, f.Endpoint.ID.String())
	})
	return list, next, nil
}

// prefixed qualifies each column of a column list with prefix ("e.").
func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
