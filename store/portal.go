package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PortalLink is a single-use login link of the customer portal. Only the
// hash of its token is stored.
type PortalLink struct {
	Hash      []byte
	TenantID  string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
	// Options pass to the session the link starts.
	Options PortalOptions
}

// PortalOptions are what a portal link asks of the session it starts.
type PortalOptions struct {
	// ReadOnly sessions may look but change nothing.
	ReadOnly bool
	// AccentColor is the theme's colour as #rrggbb; "" means the
	// configured one.
	AccentColor string
	// Dark asks for the dark theme.
	Dark bool
}

// CreatePortalLink stores a link. It returns ErrNotFound when the tenant
// does not exist. Links and sessions that ended more than a day ago are
// removed on the way, which keeps both tables small.
func (s *Store) CreatePortalLink(ctx context.Context, l PortalLink) (PortalLink, error) {
	b := &pgx.Batch{}
	b.Queue(`WITH old_links AS (DELETE FROM portal_links WHERE expires_at < now() - interval '1 day')
		DELETE FROM portal_sessions WHERE expires_at < now() - interval '1 day' OR revoked_at < now() - interval '1 day'`)
	b.Queue(`INSERT INTO portal_links (hash, tenant_id, expires_at, read_only, accent_color, dark)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING hash, tenant_id, expires_at, used_at, created_at, read_only, accent_color, dark`,
		l.Hash, l.TenantID, l.ExpiresAt, l.Options.ReadOnly, l.Options.AccentColor, l.Options.Dark)
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return PortalLink{}, fmt.Errorf("clean portal links: %w", err)
	}
	var out PortalLink
	err := res.QueryRow().Scan(&out.Hash, &out.TenantID, &out.ExpiresAt, &out.UsedAt, &out.CreatedAt,
		&out.Options.ReadOnly, &out.Options.AccentColor, &out.Options.Dark)
	if err != nil {
		return PortalLink{}, fmt.Errorf("create portal link: %w", mapErr(err))
	}
	return out, nil
}

// PortalSession is a logged-in portal browser. ID is the hash of the
// cookie value or, for a Bearer session, of the session token.
type PortalSession struct {
	ID        []byte
	TenantID  string
	CSRFToken string // "" for Bearer sessions, which need none
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	// Options are the link's.
	Options PortalOptions
	// Bearer sessions travel as a token in the Authorization header (an
	// embedded portal); the others as a cookie.
	Bearer bool
}

const portalSessionCols = `id, tenant_id, csrf_token, created_at, expires_at, revoked_at, read_only, accent_color, dark, bearer`

func scanPortalSession(row pgx.Row) (PortalSession, error) {
	var p PortalSession
	err := row.Scan(&p.ID, &p.TenantID, &p.CSRFToken, &p.CreatedAt, &p.ExpiresAt, &p.RevokedAt,
		&p.Options.ReadOnly, &p.Options.AccentColor, &p.Options.Dark, &p.Bearer)
	return p, mapErr(err)
}

// RedeemPortalLink spends the unused, unexpired link with hash linkHash and
// starts session for the link's tenant with the link's options
// (session.TenantID and session.Options are ignored), in one statement: a
// link logs in once. It returns ErrNotFound when no such
// link can be used (unknown, used or expired).
func (s *Store) RedeemPortalLink(ctx context.Context, linkHash []byte, session PortalSession, ttl time.Duration) (PortalSession, error) {
	out, err := scanPortalSession(s.db.QueryRow(ctx, `WITH link AS (
			UPDATE portal_links SET used_at = now()
			WHERE hash = $1 AND used_at IS NULL AND expires_at > now()
			RETURNING tenant_id, read_only, accent_color, dark
		)
		INSERT INTO portal_sessions (id, tenant_id, csrf_token, expires_at, read_only, accent_color, dark, bearer)
		SELECT $2, tenant_id, $3, now() + $4::interval, read_only, accent_color, dark, $5 FROM link
		RETURNING `+portalSessionCols, linkHash, session.ID, session.CSRFToken, ttl, session.Bearer))
	if err != nil {
		return PortalSession{}, fmt.Errorf("redeem portal link: %w", err)
	}
	return out, nil
}

// PortalSessionByID returns the live session (not expired, not revoked)
// with that id, or ErrNotFound.
func (s *Store) PortalSessionByID(ctx context.Context, id []byte) (PortalSession, error) {
	out, err := scanPortalSession(s.db.QueryRow(ctx, `SELECT `+portalSessionCols+` FROM portal_sessions
		WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`, id))
	if err != nil {
		return PortalSession{}, fmt.Errorf("portal session: %w", err)
	}
	return out, nil
}

// RevokePortalSession ends one session (logout). Ending one that has
// already ended is not an error.
func (s *Store) RevokePortalSession(ctx context.Context, id []byte) error {
	if _, err := s.db.Exec(ctx, `UPDATE portal_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id); err != nil {
		return fmt.Errorf("revoke portal session: %w", err)
	}
	return nil
}

// RevokePortalSessions ends every live session of a tenant and returns how
// many it ended.
func (s *Store) RevokePortalSessions(ctx context.Context, tenant string) (int, error) {
	tag, err := s.db.Exec(ctx, `UPDATE portal_sessions SET revoked_at = now()
		WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > now()`, tenant)
	if err != nil {
		return 0, fmt.Errorf("revoke portal sessions of %s: %w", tenant, err)
	}
	return int(tag.RowsAffected()), nil
}
