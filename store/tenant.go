package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Tenant is one customer of the SaaS team. Its ID is chosen by the caller.
type Tenant struct {
	ID        string
	Name      string
	Metadata  []byte // a JSON object
	CreatedAt time.Time
	UpdatedAt time.Time
}

const tenantCols = `id, name, metadata, created_at, updated_at`

func scanTenant(row pgx.Row) (Tenant, error) {
	var t Tenant
	err := row.Scan(&t.ID, &t.Name, &t.Metadata, &t.CreatedAt, &t.UpdatedAt)
	return t, mapErr(err)
}

// UpsertTenant creates the tenant or updates its name and metadata. created
// tells which.
func (s *Store) UpsertTenant(ctx context.Context, t Tenant) (Tenant, bool, error) {
	var created bool
	row := s.db.QueryRow(ctx, `
		INSERT INTO tenants (id, name, metadata) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, metadata = EXCLUDED.metadata, updated_at = now()
		RETURNING `+tenantCols+`, (xmax = 0)`, t.ID, t.Name, orEmptyJSON(t.Metadata))
	err := row.Scan(&t.ID, &t.Name, &t.Metadata, &t.CreatedAt, &t.UpdatedAt, &created)
	if err != nil {
		return Tenant{}, false, fmt.Errorf("upsert tenant %s: %w", t.ID, mapErr(err))
	}
	return t, created, nil
}

// CreateTenants creates, in one statement, those of ts that do not exist
// yet, and leaves the others as they are. Publishes that create their
// tenant use it.
func (s *Store) CreateTenants(ctx context.Context, ts []Tenant) error {
	ids, names, metas := make([]string, len(ts)), make([]string, len(ts)), make([]string, len(ts))
	for i, t := range ts {
		ids[i], names[i], metas[i] = t.ID, t.Name, string(orEmptyJSON(t.Metadata))
	}
	_, err := s.db.Exec(ctx, `INSERT INTO tenants (id, name, metadata)
		SELECT id, name, metadata::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, name, metadata)
		ORDER BY id
		ON CONFLICT (id) DO NOTHING`, ids, names, metas)
	if err != nil {
		return fmt.Errorf("create %d tenants: %w", len(ts), mapErr(err))
	}
	return nil
}

// GetTenant returns ErrNotFound when there is no such tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (Tenant, error) {
	t, err := scanTenant(s.db.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, id))
	if err != nil {
		return Tenant{}, fmt.Errorf("get tenant %s: %w", id, err)
	}
	return t, nil
}

// ListTenants lists tenants newest first, without the [OperationalTenant].
func (s *Store) ListTenants(ctx context.Context, p Page) ([]Tenant, string, error) {
	c, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	// The operational tenant is hookd's own, not one of the SaaS's customers.
	q := `SELECT ` + tenantCols + ` FROM tenants WHERE id <> '` + OperationalTenant + `'`
	args := []any{p.Limit + 1}
	if c != nil {
		q += ` AND (created_at, id) < ($2, $3)`
		args = append(args, c.T, c.K)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT $1`
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list tenants: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tenant, error) { return scanTenant(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list tenants: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(t Tenant) string { return encodeCursor(t.CreatedAt, t.ID) })
	return list, next, nil
}

// DeleteTenant removes the tenant and what it owns outside the history
// (endpoints, keys, sessions: they cascade) at once, so that it is gone
// from the API. Its history (messages, deliveries, attempts) has no foreign
// key to tenants and can be large: [Store.PurgeTenant] deletes it in
// batches afterwards, from a job that delivery enqueues in the same
// transaction.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete tenant %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete tenant %s: %w", id, ErrNotFound)
	}
	return nil
}

// PurgeTenant deletes one batch of a deleted tenant's history: at most
// limit of its messages published before before (an id made when it was
// deleted, so that a tenant created again with the same id keeps what it
// publishes since), with their deliveries, attempts and payloads, and at
// most limit of its idempotency keys. Each statement takes only row locks,
// for a moment. It returns how many rows it deleted; call it until it
// returns 0.
func (s *Store) PurgeTenant(ctx context.Context, tenant string, before uuid.UUID, limit int) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM message_keys WHERE (tenant_id, idempotency_key) IN (
		SELECT tenant_id, idempotency_key FROM message_keys WHERE tenant_id = $1 AND message_id < $2 LIMIT $3)`,
		tenant, before, limit)
	if err != nil {
		return 0, fmt.Errorf("purge tenant %s: %w", tenant, err)
	}
	n := int(tag.RowsAffected())
	var gone int
	err = s.db.QueryRow(ctx, `WITH old AS (
			SELECT id FROM messages WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3
		), atts AS (
			DELETE FROM attempts a USING old WHERE a.message_id = old.id AND a.id >= hookd_deliveries_from(old.id)
			RETURNING 1
		), dels AS (
			DELETE FROM deliveries d USING old WHERE d.message_id = old.id
			  AND d.id >= hookd_deliveries_from(old.id) AND d.id < hookd_deliveries_to(old.id) RETURNING 1
		), pays AS (
			DELETE FROM message_payloads WHERE message_id IN (SELECT id FROM old) RETURNING 1
		), msgs AS (
			DELETE FROM messages WHERE id IN (SELECT id FROM old) RETURNING 1
		)
		SELECT (SELECT count(*) FROM atts) + (SELECT count(*) FROM dels) + (SELECT count(*) FROM pays)
			+ (SELECT count(*) FROM msgs)`, tenant, before, limit).Scan(&gone)
	if err != nil {
		return n, fmt.Errorf("purge tenant %s: %w", tenant, err)
	}
	return n + gone, nil
}
