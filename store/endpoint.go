package store

import (
	"context"
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
	// Headers are sent with every attempt. They are stored encrypted,
	// like the signing secrets (see header.go).
	Headers map[string]string
	// SecretHeaders names headers, beyond the usual credential headers,
	// whose values are never shown: not in the attempt log, not by the
	// API (compared without regard to case).
	SecretHeaders []string
	RateLimit     *int
	// SignatureScheme is "v1" (HMAC-SHA256, whsec_ keys) or "v1a" (ed25519).
	SignatureScheme string
	Disabled        bool
	DisabledReason  string
	Metadata        []byte // a JSON object
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// DisabledAt is when it was last disabled.
	DisabledAt *time.Time
	// MaxInFlight caps its attempts in flight per worker process; nil is
	// the service's default.
	MaxInFlight *int
	// Health: FailingSince is when the current run of failed attempts
	// began (nil while the last attempt succeeded); LastError and
	// LastFailureAt describe the latest failure.
	FailingSince    *time.Time
	FailingNotified bool
	LastError       string
	LastFailureAt   *time.Time
	// Circuit is the last circuit-breaker transition a worker recorded:
	// CircuitClosed, CircuitOpen or CircuitHalfOpen, since when and why.
	Circuit       string
	CircuitSince  *time.Time
	CircuitReason string
	// ForwardTraceContext sends each attempt's traceparent to the endpoint.
	ForwardTraceContext bool
	// VersionPins maps event type names to the version of their payload
	// the endpoint is sent (version.go); one it does not name gets the
	// message's version.
	VersionPins map[string]int
}

// Circuit-breaker states.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half_open"
)

const endpointCols = `id, tenant_id, url, description, event_types, channels, headers, secret_headers, rate_limit,
	signature_scheme, disabled, disabled_reason, metadata, created_at, updated_at, ` + healthCols + `, version_pins`

// healthCols are the endpoint's health and circuit columns.
const healthCols = `disabled_at, max_in_flight, failing_since, failing_notified, last_error, last_failure_at,
	circuit_state, circuit_since, circuit_reason, forward_trace_context`

// fanoutCols are endpointCols without the custom headers (an empty
// object in their place): fan-out matches on filters and sends nothing,
// so it does not decrypt them.
const fanoutCols = `id, tenant_id, url, description, event_types, channels, '{}'::text AS headers, secret_headers,
	rate_limit, signature_scheme, disabled, disabled_reason, metadata, created_at, updated_at, ` + healthCols + `, version_pins`

// endpointDest returns the scan destinations of endpointCols into e, the
// headers as stored into headers.
func endpointDest(e *Endpoint, headers *string) []any {
	return []any{&e.ID, &e.TenantID, &e.URL, &e.Description, &e.EventTypes, &e.Channels, headers, &e.SecretHeaders,
		&e.RateLimit, &e.SignatureScheme, &e.Disabled, &e.DisabledReason, &e.Metadata, &e.CreatedAt, &e.UpdatedAt,
		&e.DisabledAt, &e.MaxInFlight, &e.FailingSince, &e.FailingNotified, &e.LastError, &e.LastFailureAt,
		&e.Circuit, &e.CircuitSince, &e.CircuitReason, &e.ForwardTraceContext,
		&e.VersionPins}
}

func (s *Store) scanEndpoint(row pgx.Row) (Endpoint, error) {
	var e Endpoint
	var headers string
	if err := row.Scan(endpointDest(&e, &headers)...); err != nil {
		return Endpoint{}, mapErr(err)
	}
	if err := s.openEndpointHeaders(&e, headers); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// openEndpointHeaders decrypts the stored headers of e into e.Headers.
// The error wraps [ErrSecretKey] when the Store's key does not open them.
func (s *Store) openEndpointHeaders(e *Endpoint, stored string) error {
	h, err := s.cipher.openHeaders(stored, e.ID.String())
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", e.ID, err)
	}
	e.Headers = h
	return nil
}

// CreateEndpoint stores e with its first signing secret (the secret and the
// custom headers encrypted when the Store has a [Cipher]). It returns ErrNotFound when the tenant does not
// exist.
func (s *Store) CreateEndpoint(ctx context.Context, e Endpoint, secret string) (Endpoint, error) {
	if e.ID == uuid.Nil {
		e.ID = NewID()
	}
	b := &pgx.Batch{}
	if e.SignatureScheme == "" {
		e.SignatureScheme = "v1"
	}
	b.Queue(`INSERT INTO endpoints (id, tenant_id, url, description, event_types, channels, headers, secret_headers,
			rate_limit, disabled, disabled_reason, metadata, signature_scheme, max_in_flight, forward_trace_context,
			disabled_at, version_pins)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, CASE WHEN $10 THEN now() END, $16)
		RETURNING `+endpointCols,
		e.ID, e.TenantID, e.URL, e.Description, orEmpty(e.EventTypes), orEmpty(e.Channels),
		s.cipher.sealHeaders(e.Headers, e.ID.String()), orEmpty(e.SecretHeaders),
		e.RateLimit, e.Disabled, e.DisabledReason, orEmptyJSON(e.Metadata), e.SignatureScheme, e.MaxInFlight,
		e.ForwardTraceContext, string(pinsJSON(e.VersionPins)))
	b.Queue(`INSERT INTO endpoint_secrets (id, endpoint_id, tenant_id, secret) VALUES ($1, $2, $3, $4)`,
		NewID(), e.ID, e.TenantID, s.cipher.seal(secret, e.ID.String()))
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	out, err := s.scanEndpoint(res.QueryRow())
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
// returns ErrNotFound when the tenant does not exist, except for the
// [OperationalTenant], which it creates (in the same transaction) on its
// first endpoint.
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
		if e.TenantID == OperationalTenant {
			if err := s.WithTx(tx).EnsureOperationalTenant(ctx); err != nil {
				return err
			}
		}
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
	e, err := s.scanEndpoint(s.db.QueryRow(ctx,
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
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return s.scanEndpoint(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list endpoints: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(e Endpoint) string { return e.ID.String() })
	return list, next, nil
}

// FanoutEndpoints returns every endpoint of a tenant, for fan-out, without
// their custom headers. Disabled ones are in it: their deliveries are
// parked.
func (s *Store) FanoutEndpoints(ctx context.Context, tenant string) ([]Endpoint, error) {
	rows, err := s.db.Query(ctx, `SELECT `+fanoutCols+` FROM endpoints
		WHERE tenant_id = $1 ORDER BY id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("active endpoints: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return s.scanEndpoint(r) })
	if err != nil {
		return nil, fmt.Errorf("active endpoints: %w", err)
	}
	return list, nil
}

// UpdateEndpoint writes every mutable field of e.
func (s *Store) UpdateEndpoint(ctx context.Context, e Endpoint) (Endpoint, error) {
	out, err := s.scanEndpoint(s.db.QueryRow(ctx, `UPDATE endpoints SET url = $3, description = $4,
			event_types = $5, channels = $6, headers = $7, secret_headers = $8, rate_limit = $9, disabled = $10,
			disabled_reason = $11, metadata = $12, max_in_flight = $13, forward_trace_context = $14, updated_at = now(),
			version_pins = $15,
			disabled_at = CASE WHEN $10 AND NOT disabled THEN now() WHEN $10 THEN disabled_at END,
			-- Enabled by hand: a fresh start for its health.
			failing_since = CASE WHEN disabled AND NOT $10 THEN NULL ELSE failing_since END,
			failing_notified = CASE WHEN disabled AND NOT $10 THEN false ELSE failing_notified END
		WHERE tenant_id = $1 AND id = $2 RETURNING `+endpointCols,
		e.TenantID, e.ID, e.URL, e.Description, orEmpty(e.EventTypes), orEmpty(e.Channels),
		s.cipher.sealHeaders(e.Headers, e.ID.String()), orEmpty(e.SecretHeaders),
		e.RateLimit, e.Disabled, e.DisabledReason, orEmptyJSON(e.Metadata), e.MaxInFlight, e.ForwardTraceContext,
		string(pinsJSON(e.VersionPins))))
	if err != nil {
		return Endpoint{}, fmt.Errorf("update endpoint %s: %w", e.ID, err)
	}
	return out, nil
}

// DisableEndpoint disables an endpoint with a reason and parks its pending
// deliveries, so that nothing more is sent to it until it is enabled and
// asked to send them. It reports whether the endpoint was enabled before
// (false: it was disabled already, or does not exist).
func (s *Store) DisableEndpoint(ctx context.Context, id uuid.UUID, reason string) (bool, error) {
	var was bool
	err := s.db.QueryRow(ctx, `WITH e AS (
			UPDATE endpoints n SET disabled = true, disabled_reason = $2, updated_at = now(),
				disabled_at = CASE WHEN o.disabled THEN n.disabled_at ELSE now() END
			FROM endpoints o WHERE n.id = $1 AND o.id = n.id
			RETURNING NOT o.disabled AS was_enabled
		)
		SELECT coalesce((SELECT was_enabled FROM e), false)`, id, reason).Scan(&was)
	if err != nil {
		return false, fmt.Errorf("disable endpoint %s: %w", id, err)
	}
	if _, err := s.ParkPending(ctx, id); err != nil {
		return was, err
	}
	return was, nil
}

// ParkPending parks the pending deliveries of a disabled endpoint and
// returns how many.
func (s *Store) ParkPending(ctx context.Context, endpoint uuid.UUID) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `WITH p AS (
			UPDATE deliveries SET status = 'parked', next_attempt_at = NULL, updated_at = now()
			WHERE endpoint_id = $1 AND status = 'pending'
			  AND EXISTS (SELECT 1 FROM endpoints WHERE id = $1 AND disabled)
			RETURNING 1
		), flag AS (
			UPDATE endpoints SET has_parked = true WHERE id = $1 AND NOT has_parked AND EXISTS (SELECT 1 FROM p)
		)
		SELECT count(*) FROM p`, endpoint).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("park deliveries of %s: %w", endpoint, err)
	}
	return n, nil
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
			ORDER BY expires_at DESC, id DESC LIMIT $2))`, endpoint, maxOldSecrets)
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
