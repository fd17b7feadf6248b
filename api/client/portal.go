package client

import (
	"context"
	"net/http"
	"time"
)

// PortalLink is a single-use login link to a tenant's customer portal.
type PortalLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PortalLinkParams sets a portal link's life; nil means the default.
type PortalLinkParams struct {
	// ExpiresInSeconds is from 1 to 604800 (0: 3600, an hour).
	ExpiresInSeconds int `json:"expires_in_seconds,omitempty"`
}

// CreatePortalLink mints a link that logs one of your customers into the
// portal of their tenant. It works once, until it expires. Admin keys
// only.
func (c *Client) CreatePortalLink(ctx context.Context, tenant string, p *PortalLinkParams) (*PortalLink, error) {
	if err := need("tenant id", tenant); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodPost, path: pathf("/api/v1/tenants/%s/portal-links", tenant)}
	if p != nil {
		cl.body = p
	}
	var out PortalLink
	cl.out = &out
	err := c.do(ctx, cl)
	return ptr(out, err)
}

// RevokePortalSessions ends every portal session of a tenant at once.
// Admin keys only.
func (c *Client) RevokePortalSessions(ctx context.Context, tenant string) error {
	if err := need("tenant id", tenant); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodPost, path: pathf("/api/v1/tenants/%s/sessions/revoke", tenant)})
}

// PortalSession is a logged-in portal session.
type PortalSession struct {
	TenantID   string `json:"tenant_id"`
	TenantName string `json:"tenant_name"`
	// CSRFToken must go with the session's state-changing requests.
	CSRFToken string         `json:"csrf_token"`
	ExpiresAt time.Time      `json:"expires_at"`
	Branding  PortalBranding `json:"branding"`
}

// PortalBranding is how the portal presents itself.
type PortalBranding struct {
	ProductName string  `json:"product_name"`
	LogoURL     *string `json:"logo_url"`
	AccentColor string  `json:"accent_color"`
}

// PortalSession reads the portal session that the HTTP client's cookie
// jar holds (see WithHTTPClient; the jar gets it by opening a portal
// link). It is for a client made with an empty key: an API key gets 403.
func (c *Client) PortalSession(ctx context.Context) (*PortalSession, error) {
	var out PortalSession
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/portal/session", out: &out, retry: true})
	return ptr(out, err)
}

// PortalLogout ends the portal session of the HTTP client's cookie jar;
// csrfToken is the session's (PortalSession's CSRFToken).
func (c *Client) PortalLogout(ctx context.Context, csrfToken string) error {
	return c.do(ctx, call{method: http.MethodPost, path: "/api/v1/portal/logout", header: http.Header{"X-Csrf-Token": {csrfToken}}})
}

// PortalSessionToken is a portal session for an embedded portal: the page
// sends SessionToken as its bearer key.
type PortalSessionToken struct {
	SessionToken string    `json:"session_token"`
	ExpiresAt    time.Time `json:"expires_at"`
	TenantID     string    `json:"tenant_id"`
	ReadOnly     bool      `json:"read_only"`
}

// CreatePortalSession spends a portal link's single-use token and starts
// a session that travels as a bearer token (what the embedded portal
// does). It needs no API key.
func (c *Client) CreatePortalSession(ctx context.Context, token string) (*PortalSessionToken, error) {
	var out PortalSessionToken
	err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/portal/sessions", body: map[string]string{"token": token}, out: &out})
	return ptr(out, err)
}
