package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Endpoint is where one tenant wants its messages sent.
type Endpoint struct {
	ID          uuid.UUID
	TenantID    string
	URL         string
	Description string
	EventTypes  []string // empty = all; "invoice.*" matches by prefix
	Channels    []string // empty = all
	Headers     map[string]string
	RateLimit   *int
	// SignatureScheme is "v1" (HMAC-SHA256, whsec_ keys) or "v1a" (ed25519).
	SignatureScheme string
	Disabled        bool
	DisabledReason  string
	Metadata        []byte // a JSON object
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

const endpointCols = `id, tenant_id, url, description, event_types, channels, headers, rate_limit, signature_scheme,
	disabled, disabled_reason, metadata, created_at, updated_at`

func scanEndpoint(row pgx.Row) (Endpoint, error) {
	var e Endpoint
	var headers []byte
	err := row.Scan(&e.ID, &e.TenantID, &e.URL, &e.Description, &e.EventTypes, &e.Channels, &headers,
		&e.RateLimit, &e.SignatureScheme, &e.Disabled, &e.DisabledReason, &e.Metadata, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return Endpoint{}, mapErr(err)
	}
	if err := json.Unmarshal(headers, &e.Headers); err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %s headers: %w", e.ID, err)
	}
	return e, nil
}

func headersJSON(h map[string]string) []byte {
	if h == nil {
		h = map[string]string{}
	}
	b, _ := json.Marshal(h)
	return b
}

// CreateEndpoint stores e with its first signing secret (encrypted when the
// Store has a [Cipher]). It returns ErrNotFound when the tenant does not
// exist.
func (s *Store) CreateEndpoint(ctx context.Context, e Endpoint, secret string) (Endpoint, error) {
	if e.ID == uuid.Nil {
		e.ID = NewID()
	}
	b := &pgx.Batch{}
	if e.SignatureScheme == "" {
		e.SignatureScheme = "v1"
	}
	b.Queue(`INSERT INTO endpoints (id, tenant_id, url, description, event_types, channels, headers, rate_limit,
			disabled, disabled_reason, metadata, signature_scheme)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING `+endpointCols,
		e.ID, e.TenantID, e.URL, e.Description, orEmpty(e.EventTypes), orEmpty(e.Channels), headersJSON(e.Headers),
		e.RateLimit, e.Disabled, e.DisabledReason, orEmptyJSON(e.Metadata), e.SignatureScheme)
	b.Queue(`INSERT INTO endpoint_secrets (id, endpoint_id, tenant_id, secret) VALUES ($1, $2, $3, $4)`,
		NewID(), e.ID, e.TenantID, s.cipher.seal(secret, e.ID.String()))
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	out, err := scanEndpoint(res.QueryRow())
	if err != nil {
		return Endpoint{}, fmt.Errorf("create endpoint: %w", err)
	}
	if _, err := res.Exec(); err != nil {
		return Endpoint{}, fmt.Errorf("create endpoint secret: %w", mapErr(err))
	}
	return out, nil
}

// CreateEndpointWithin is CreateEndpoint for a tenant that may have at
// most limit endpoints. In one transaction it locks the tenant's row (so
// that concurrent creates for one tenant are counted one after the other),
// counts its endpoints and returns ErrTooMany when it has limit already. It
// returns ErrNotFound when the tenant does not exist.
func (s *Store) CreateEndpointWithin(ctx context.Context, e Endpoint, secret string, limit int) (Endpoint, error) {
	var out Endpoint
	// On a pool this is a transaction; in one (WithTx), a savepoint.
	db, ok := s.db.(interface {
		Begin(context.Context) (pgx.Tx, error)
	})
	if !ok {
		return Endpoint{}, fmt.Errorf("create endpoint of %s: the store cannot begin a transaction", e.TenantID)
	}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, e.TenantID).Scan(&n); err != nil {
			return mapErr(err)
		}
		err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT FROM endpoints WHERE tenant_id = $1 LIMIT $2) AS e`,
			e.TenantID, limit).Scan(&n)
		if err != nil {
			return err
		}
		if n >= limit {
			return ErrTooMany
		}
		out, err = s.WithTx(tx).CreateEndpoint(ctx, e, secret)
		return err
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("create endpoint of %s: %w", e.TenantID, err)
	}
	return out, nil
}

// GetEndpoint returns ErrNotFound unless the endpoint exists and belongs to tenant.
func (s *Store) GetEndpoint(ctx context.Context, tenant string, id uuid.UUID) (Endpoint, error) {
	e, err := scanEndpoint(s.db.QueryRow(ctx,
		`SELECT `+endpointCols+` FROM endpoints WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if err != nil {
		return Endpoint{}, fmt.Errorf("get endpoint %s: %w", id, err)
	}
	return e, nil
}

// ListEndpoints lists a tenant's endpoints newest first.
func (s *Store) ListEndpoints(ctx context.Context, tenant string, p Page) ([]Endpoint, string, error) {
	after, err := decodeIDCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.Query(ctx, `SELECT `+endpointCols+` FROM endpoints
		WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`, tenant, after, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list endpoints: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list endpoints: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(e Endpoint) string { return e.ID.String() })
	return list, next, nil
}

// ActiveEndpoints returns every enabled endpoint of a tenant, for fan-out.
func (s *Store) ActiveEndpoints(ctx context.Context, tenant string) ([]Endpoint, error) {
	rows, err := s.db.Query(ctx, `SELECT `+endpointCols+` FROM endpoints
		WHERE tenant_id = $1 AND NOT disabled ORDER BY id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("active endpoints: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, fmt.Errorf("active endpoints: %w", err)
	}
	return list, nil
}

// UpdateEndpoint writes every mutable field of e.
func (s *Store) UpdateEndpoint(ctx context.Context, e Endpoint) (Endpoint, error) {
	out, err := scanEndpoint(s.db.QueryRow(ctx, `UPDATE endpoints SET url = $3, description = $4,
			event_types = $5, channels = $6, headers = $7, rate_limit = $8, disabled = $9, disabled_reason = $10,
			metadata = $11, updated_at = now()
		WHERE tenant_id = $1 AND id = $2 RETURNING `+endpointCols,
		e.TenantID, e.ID, e.URL, e.Description, orEmpty(e.EventTypes), orEmpty(e.Channels), headersJSON(e.Headers),
		e.RateLimit, e.Disabled, e.DisabledReason, orEmptyJSON(e.Metadata)))
	if err != nil {
		return Endpoint{}, fmt.Errorf("update endpoint %s: %w", e.ID, err)
	}
	return out, nil
}

// DisableEndpoint disables an endpoint with a reason and fails its pending
// deliveries, so that nothing more is sent to it.
func (s *Store) DisableEndpoint(ctx context.Context, id uuid.UUID, reason string) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE endpoints SET disabled = true, disabled_reason = $2, updated_at = now() WHERE id = $1`, id, reason)
	b.Queue(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = now()
		WHERE endpoint_id = $1 AND status = 'pending'`, id)
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("disable endpoint %s: %w", id, err)
	}
	return nil
}

// DeleteEndpoint removes an endpoint, its deliveries and its secrets. Its
// attempts stay in the log.
func (s *Store) DeleteEndpoint(ctx context.Context, tenant string, id uuid.UUID) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2`, tenant, id)
	b.Queue(`DELETE FROM endpoints WHERE tenant_id = $1 AND id = $2`, tenant, id)
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	tag, err := res.Exec()
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete endpoint %s: %w", id, ErrNotFound)
	}
	return nil
}

// Secret is one signing key of an endpoint. ExpiresAt is nil for the
// current key and set for a rotated-out key still in its grace period.
// Secret is the key itself, decrypted, except from [Store.AllSecrets].
type Secret struct {
	ID         uuid.UUID
	EndpointID uuid.UUID
	Secret     string
	ExpiresAt  *time.Time
	CreatedAt  time.Time
}

// CurrentSecret returns the key that signs from now on. It returns
// ErrSecretKey when the key is encrypted and the Store's [Cipher] cannot
// decrypt it.
func (s *Store) CurrentSecret(ctx context.Context, tenant string, endpoint uuid.UUID) (Secret, error) {
	var sec Secret
	err := s.db.QueryRow(ctx, `SELECT id, endpoint_id, secret, expires_at, created_at FROM endpoint_secrets
		WHERE tenant_id = $1 AND endpoint_id = $2 AND expires_at IS NULL`, tenant, endpoint).
		Scan(&sec.ID, &sec.EndpointID, &sec.Secret, &sec.ExpiresAt, &sec.CreatedAt)
	if err != nil {
		return Secret{}, fmt.Errorf("current secret of %s: %w", endpoint, mapErr(err))
	}
	if sec.Secret, err = s.cipher.open(sec.Secret, endpoint.String()); err != nil {
		return Secret{}, fmt.Errorf("current secret of %s: %w", endpoint, err)
	}
	return sec, nil
}

// maxOldSecrets is how many rotated-out keys are kept in their grace period.
const maxOldSecrets = 10

// RotateSecret makes secret the current key; the old current key keeps
// signing for grace, and only the newest maxOldSecrets old keys are kept.
func (s *Store) RotateSecret(ctx context.Context, tenant string, endpoint uuid.UUID, secret string, grace time.Duration) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE endpoint_secrets SET expires_at = now() + $3::interval
		WHERE tenant_id = $1 AND endpoint_id = $2 AND expires_at IS NULL`, tenant, endpoint, grace)
	b.Queue(`INSERT INTO endpoint_secrets (id, endpoint_id, tenant_id, secret) VALUES ($1, $2, $3, $4)`,
		NewID(), endpoint, tenant, s.cipher.seal(secret, endpoint.String()))
	b.Queue(`DELETE FROM endpoint_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL AND (expires_at <= now()
		OR id NOT IN (SELECT id FROM endpoint_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL
			ORDER BY expires_at DESC LIMIT $2))`, endpoint, maxOldSecrets)
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("rotate secret of %s: %w", endpoint, mapErr(err))
	}
	return nil
}

// AllSecrets returns every stored key as it is stored: encrypted values
// stay encrypted. [Store.ReencryptSecrets] is what changes the key.
func (s *Store) AllSecrets(ctx context.Context) ([]Secret, error) {
	rows, err := s.db.Query(ctx, `SELECT id, endpoint_id, secret, expires_at, created_at FROM endpoint_secrets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("all secrets: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Secret, error) {
		var sec Secret
		err := r.Scan(&sec.ID, &sec.EndpointID, &sec.Secret, &sec.ExpiresAt, &sec.CreatedAt)
		return sec, err
	})
	if err != nil {
		return nil, fmt.Errorf("all secrets: %w", err)
	}
	return list, nil
}

// SetSecretValue overwrites one stored key with value as given (no
// encryption is applied).
func (s *Store) SetSecretValue(ctx context.Context, id uuid.UUID, value string) error {
	if _, err := s.db.Exec(ctx, `UPDATE endpoint_secrets SET secret = $2 WHERE id = $1`, id, value); err != nil {
		return fmt.Errorf("set secret %s: %w", id, err)
	}
	return nil
}
