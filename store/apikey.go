package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// APIKey is a stored API key: only its hash is kept. TenantID is "" for an
// admin key.
type APIKey struct {
	ID        uuid.UUID
	TenantID  string
	Hash      []byte
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

const apiKeyCols = `id, coalesce(tenant_id, ''), hash, prefix, created_at, revoked_at`

func scanAPIKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.TenantID, &k.Hash, &k.Prefix, &k.CreatedAt, &k.RevokedAt)
	return k, mapErr(err)
}

// CreateAPIKey stores a key's hash. An admin key whose hash is already
// stored is left as it is (so a bootstrap key can be stored on every start).
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	if k.ID == uuid.Nil {
		k.ID = NewID()
	}
	var tenant *string
	if k.TenantID != "" {
		tenant = &k.TenantID
	}
	out, err := scanAPIKey(s.db.QueryRow(ctx, `INSERT INTO api_keys (id, tenant_id, hash, prefix) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hash) DO UPDATE SET prefix = EXCLUDED.prefix RETURNING `+apiKeyCols, k.ID, tenant, k.Hash, k.Prefix))
	if err != nil {
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return out, nil
}

// APIKeyByHash returns the unrevoked key with that hash, or ErrNotFound.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if err != nil {
		return APIKey{}, fmt.Errorf("api key: %w", err)
	}
	return k, nil
}

// ListAPIKeys lists a tenant's unrevoked keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, tenant string) ([]APIKey, error) {
	rows, err := s.db.Query(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL
		ORDER BY id DESC`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return list, nil
}

// RevokeAPIKey revokes one of a tenant's keys.
func (s *Store) RevokeAPIKey(ctx context.Context, tenant string, id uuid.UUID) error {
	tag, err := s.db.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL`,
		tenant, id)
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke api key %s: %w", id, ErrNotFound)
	}
	return nil
}
