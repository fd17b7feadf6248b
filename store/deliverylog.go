package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeliveryEntry is a delivery with what an operator looks at first: its
// message's event type, its endpoint's URL and how its latest attempt
// ended.
type DeliveryEntry struct {
	Delivery    Delivery
	EventType   string
	EndpointURL string
	// LastErrorClass and LastError describe the latest attempt when it got
	// no HTTP answer ("" otherwise, or when there was none).
	LastErrorClass string
	LastError      string
	LastAttemptAt  *time.Time
}

// ListDeliveries lists the deliveries of every tenant (or of f.TenantID)
// that match f, newest first. The cursor is the id of the last delivery
// of the previous page.
func (s *Store) ListDeliveries(ctx context.Context, f DeliveryFilter, p Page) ([]DeliveryEntry, string, error) {
	before, err := decodeIDCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	where, args := f.where(3)
	// The latest attempt is one backward probe of attempts (message_id, id).
	rows, err := s.db.Query(ctx, `SELECT `+prefixed("d.", deliveryCols)+`,
			coalesce(m.event_type, ''), coalesce(e.url, ''),
			coalesce(la.error_class, ''), coalesce(la.error, ''), la.started_at
		FROM deliveries d
		LEFT JOIN messages m ON m.id = d.message_id
		LEFT JOIN endpoints e ON e.id = d.endpoint_id
		LEFT JOIN LATERAL (
			SELECT a.error_class, a.error, a.started_at FROM attempts a
			WHERE a.message_id = d.message_id AND a.delivery_id = d.id AND a.id >= hookd_deliveries_from(d.message_id)
			ORDER BY a.id DESC LIMIT 1
		) la ON true
		WHERE ($1::uuid IS NULL OR d.id < $1) AND `+where+`
		ORDER BY d.id DESC LIMIT $2`, append([]any{before, p.Limit + 1}, args...)...)
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeliveryEntry, error) {
		var x DeliveryEntry
		d := &x.Delivery
		err := r.Scan(&d.ID, &d.TenantID, &d.MessageID, &d.EndpointID, &d.Status, &d.Attempts, &d.NextAttemptAt,
			&d.LastStatusCode, &d.CreatedAt, &d.UpdatedAt, &x.EventType, &x.EndpointURL,
			&x.LastErrorClass, &x.LastError, &x.LastAttemptAt)
		return x, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(x DeliveryEntry) string { return x.Delivery.ID.String() })
	return list, next, nil
}
