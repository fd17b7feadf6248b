package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

// The embedded portal: the SaaS puts /portal/embed in an iframe of its own
// dashboard (another site, allowed by PortalEmbedOrigins). Browsers that
// block third-party cookies never send a cookie there, so the page logs in
// without one: it reads the link's token from its URL's fragment and
// exchanges it here for a session token, which it keeps in memory (and
// sessionStorage, for a reload of the frame) and sends as
// `Authorization: Bearer`. No ambient credential means no CSRF: a request
// carries the session only when the portal's own script adds it.

const (
	// PortalSessionTokenPrefix starts every embedded portal's session token.
	PortalSessionTokenPrefix = "hk_session_"

	embedPagePath = "/portal/embed"
)

type portalSessionCreate struct {
	Token string `json:"token"`
}

type portalSessionTokenJSON struct {
	SessionToken string    `json:"session_token"`
	ExpiresAt    time.Time `json:"expires_at"`
	TenantID     string    `json:"tenant_id"`
	ReadOnly     bool      `json:"read_only"`
}

// createPortalSession spends a link's token and starts a bearer session;
// only the session token's hash is kept.
func (s *server) createPortalSession(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	var body portalSessionCreate
	if err := bind(c, &body); err != nil {
		return err
	}
	if !portalTokenPattern.MatchString(body.Token) {
		return fieldErr("token", "must be the token of a portal link (%s...)", PortalTokenPrefix)
	}
	token := NewKey(PortalSessionTokenPrefix)
	sess, err := s.st.RedeemPortalLink(c.Request().Context(), HashKey(body.Token),
		store.PortalSession{ID: HashKey(token), Bearer: true}, s.sessionTTL())
	if errors.Is(err, store.ErrNotFound) {
		return unauthorized("the portal link cannot be used: it was used already, has expired or was never made; mint a new one")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, portalSessionTokenJSON{SessionToken: token, ExpiresAt: sess.ExpiresAt,
		TenantID: sess.TenantID, ReadOnly: sess.Options.ReadOnly})
}

// framedLogin tells whether a login link is being opened inside an iframe
// (the link asks for it with embed=1, or the browser says so in
// Sec-Fetch-Dest) on a server that lets sites embed the portal: a cookie
// set there would not come back in a browser that blocks third-party
// cookies.
func (s *server) framedLogin(c echo.Context) bool {
	if len(s.cfg.PortalEmbedOrigins) == 0 {
		return false
	}
	r := c.Request()
	return r.URL.Query().Get("embed") == "1" || r.Header.Get("Sec-Fetch-Dest") == "iframe"
}

// secretPath is the route that shows an endpoint's signing secret.
const secretPath = "/api/v1/tenants/:tenant/endpoints/:endpoint/secret"

// readOnlyRefusal is the 403 a read-only portal session gets for anything
// but looking, and for signing secrets (which would let it sign webhooks of
// its own); nil when the request may go on. Logging out is allowed.
func readOnlyRefusal(c echo.Context) *Problem {
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead:
		if c.Path() == secretPath {
			return problem(http.StatusForbidden, "this portal session is read-only: it cannot see signing secrets")
		}
		return nil
	}
	if c.Path() == "/api/v1/portal/logout" {
		return nil
	}
	return problem(http.StatusForbidden, "this portal session is read-only: it can look at endpoints and the delivery log "+
		"but not change anything")
}
