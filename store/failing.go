package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailingEndpoint is an endpoint in trouble, for the operators' console:
// disabled, or in a run of failed attempts (failing_since set).
type FailingEndpoint struct {
	Endpoint Endpoint
	// LastStatusCode, LastErrorClass and LastError describe the latest
	// attempt (0 and "" when there was none or it got no answer).
	LastStatusCode int
	LastErrorClass string
	LastError      string
	LastAttemptAt  *time.Time
	// ProblemAt is when the trouble was last seen: the last failure of its
	// run (recorded at most once a minute), or the last change of a
	// disabled endpoint, whichever is latest.
	ProblemAt time.Time
	// FailedDeliveries counts the endpoint's deliveries in status failed.
	FailedDeliveries int
}

// FailingEndpoints lists endpoints of every tenant that are disabled or in
// a run of failures, newest problem first, with each one's latest attempt.
// A run of failures begins with a failed attempt (delivery/health.go), so
// an endpoint whose latest attempt failed is listed; one whose attempts
// hookd itself refused (the address guard) is not, as those say nothing of
// the endpoint. A run of failures lists the endpoint even when its
// attempts are gone (the retention pruned them).
//
// The page is read from the endpoints' own columns, through a partial
// index of the endpoints in trouble (migration 0015), so its cost does
// not grow with the healthy endpoints or the history. The latest attempt
// (one probe of attempts (endpoint_id, id DESC)) and the count of failed
// deliveries (through deliveries (endpoint_id, id)) are read for the
// endpoints of the page only.
func (s *Store) FailingEndpoints(ctx context.Context, p Page) ([]FailingEndpoint, string, error) {
	c, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	args := []any{p.Limit + 1}
	after := "" // the cursor, written so that it is the index's bound, not a filter
	if c != nil {
		args = append(args, c.T, c.K)
		after = `AND (` + problemAt + `, e.id::text) < ($2, $3)`
	}
	rows, err := s.db.Query(ctx, `SELECT `+prefixed("e.", endpointCols)+`,
			coalesce(la.status_code, 0), coalesce(la.error_class, ''), coalesce(la.error, ''), la.started_at, e.problem_at,
			(SELECT count(*) FROM deliveries d WHERE d.endpoint_id = e.id AND d.status = 'failed')
		FROM (
			SELECT e.*, `+problemAt+` AS problem_at
			FROM endpoints e
			WHERE (e.disabled OR e.failing_since IS NOT NULL)
				`+after+`
			ORDER BY `+problemAt+` DESC, e.id::text DESC LIMIT $1
		) e
		LEFT JOIN LATERAL (
			SELECT a.status_code, a.error_class, a.error, a.started_at
			FROM attempts a WHERE a.endpoint_id = e.id ORDER BY a.id DESC LIMIT 1
		) la ON true
		ORDER BY e.problem_at DESC, e.id::text DESC`, args...)
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

// problemAt is when an endpoint's trouble was last seen: the last failure
// of its run of failures, or the last change of a disabled endpoint,
// whichever is latest. It is the key of endpoints_trouble_idx (migration
// 0015), and must stay written as it is there for the index to serve.
const problemAt = `greatest(CASE WHEN e.disabled THEN e.updated_at END,
	CASE WHEN e.failing_since IS NOT NULL THEN coalesce(e.last_failure_at, e.failing_since) END)`

// prefixed qualifies each column of a column list with prefix ("e.").
func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
