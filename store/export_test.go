package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// DeliveriesTable is deliveriesTable, for the tests of store_test.
func (s *Store) DeliveriesTable(ctx context.Context, lo, hi uuid.UUID) string {
	return s.deliveriesTable(ctx, lo, hi).name
}

// MinV7 is minV7, for the tests of store_test.
func MinV7(t time.Time) uuid.UUID { return minV7(t) }
