package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// purgeBatch is how many messages (with what hangs off them) one purge
// statement deletes.
const purgeBatch = 1000

// TenantPurgeArgs asks for a deleted tenant's history to be deleted, in
// batches: the messages made before Before (an id of the deletion's time)
// with their deliveries, attempts and payloads.
type TenantPurgeArgs struct {
	TenantID string    `json:"tenant_id"`
	Before   uuid.UUID `json:"before"`
}

// Kind is never renamed: jobs already queued carry it.
func (TenantPurgeArgs) Kind() string { return "hookd.tenant_purge" }

// InsertOpts puts the purge on the maintenance queue.
func (TenantPurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 25}
}

type tenantPurgeWorker struct {
	river.WorkerDefaults[TenantPurgeArgs]
	s *Service
}

// Work deletes batch after batch until nothing is left; a purge cut short
// (a timeout, a restart) is retried by River and goes on where it was.
func (w *tenantPurgeWorker) Work(ctx context.Context, job *river.Job[TenantPurgeArgs]) error {
	total := 0
	for ctx.Err() == nil {
		n, err := w.s.store.PurgeTenant(ctx, job.Args.TenantID, job.Args.Before, purgeBatch)
		if err != nil {
			return err
		}
		total += n
		if n == 0 {
			w.s.logger.Info("purged deleted tenant", "tenant", job.Args.TenantID, "rows", total)
			return nil
		}
	}
	return ctx.Err()
}

// Timeout gives a large tenant time to go.
func (w *tenantPurgeWorker) Timeout(*river.Job[TenantPurgeArgs]) time.Duration {
	return 30 * time.Minute
}

// DeleteTenant deletes a tenant at once, with its endpoints and keys, and
// enqueues, in the same transaction, the job that deletes its history in
// batches (store.PurgeTenant). ErrNotFound when there is no such tenant.
func (s *Service) DeleteTenant(ctx context.Context, id string) error {
	err := s.store.InTx(ctx, func(tx pgx.Tx) error {
		if err := s.store.WithTx(tx).DeleteTenant(ctx, id); err != nil {
			return err
		}
		_, err := s.river.InsertTx(ctx, tx, TenantPurgeArgs{TenantID: id, Before: store.NewID()}, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete tenant %s: %w", id, err)
	}
	return nil
}
