package api

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

// The customer portal's access: admins mint single-use login links for a
// tenant; opening one starts a cookie session for that tenant only, which
// the portal's pages use to call this same API. Every state-changing
// request made with the cookie must carry the session's CSRF token. A
// portal embedded in another site's page gets a bearer session token
// instead (embed.go).

const (
	// PortalTokenPrefix starts every portal link token.
	PortalTokenPrefix = "hk_portal_"
	// SessionCookie is the portal session's cookie.
	SessionCookie = "hookd_session"
	// CSRFHeader carries the session's CSRF token on state-changing requests.
	CSRFHeader = "X-CSRF-Token"

	defaultLinkTTL    = time.Hour
	maxLinkTTL        = 7 * 24 * time.Hour
	defaultSessionTTL = 7 * 24 * time.Hour
	sessionKey        = "hookd.portal_session"
	expiredPagePath   = "/portal/expired"
)

// Branding is how the portal presents itself; GET /api/v1/portal/session
// reports it. Zero values mean the defaults.
type Branding struct {
	ProductName string // "Webhooks"
	LogoURL     string // none
	AccentColor string // #rrggbb; "#4f46e5"
}

var (
	accentPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	// portalTokenPattern is the shape of a token NewKey(PortalTokenPrefix) makes.
	portalTokenPattern = regexp.MustCompile(`^` + PortalTokenPrefix + `[A-Za-z0-9_-]{43}$`)
)

func (b Branding) withDefaults() Branding {
	if b.ProductName == "" {
		b.ProductName = "Webhooks"
	}
	if !accentPattern.MatchString(b.AccentColor) {
		b.AccentColor = "#4f46e5"
	}
	return b
}

type portalLinkBody struct {
	ExpiresInSeconds *int    `json:"expires_in_seconds"`
	Embed            bool    `json:"embed"`
	ReadOnly         bool    `json:"read_only"`
	Accent           *string `json:"accent"`
	Dark             bool    `json:"dark"`
}

type portalLinkJSON struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// createPortalLink mints a single-use login link; only its hash is kept.
func (s *server) createPortalLink(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := c.Param("tenant")
	var body portalLinkBody
	if c.Request().ContentLength != 0 {
		if err := bind(c, &body); err != nil {
			return err
		}
	}
	ttl := defaultLinkTTL
	if n := body.ExpiresInSeconds; n != nil {
		// Checked before it becomes a Duration, which would overflow.
		if *n < 1 || *n > int(maxLinkTTL/time.Second) {
			return fieldErr("expires_in_seconds", "must be from 1 to %d (7 days)", int(maxLinkTTL/time.Second))
		}
		ttl = time.Duration(*n) * time.Second
	}
	opts := store.PortalOptions{ReadOnly: body.ReadOnly, Dark: body.Dark}
	if body.Accent != nil {
		if !accentPattern.MatchString(*body.Accent) {
			return fieldErr("accent", "must be a colour as #rrggbb, like #0f766e")
		}
		opts.AccentColor = strings.ToLower(*body.Accent)
	}
	if body.Embed && len(s.cfg.PortalEmbedOrigins) == 0 {
		return fieldErr("embed", "no site may embed the portal on this server: its operators list the sites "+
			"that may in HOOKD_PORTAL_EMBED_ORIGINS")
	}
	url, expires, err := newPortalLink(ctx, s.st, s.publicURL(c), tenant, ttl, opts, body.Embed)
	if err != nil {
		return notFound(err, "tenant %s", tenant)
	}
	return c.JSON(http.StatusCreated, portalLinkJSON{URL: url, ExpiresAt: expires})
}

// NewPortalLink mints a single-use portal login link for tenant, valid for
// ttl, and returns its URL (baseURL + "/portal/login?token=...") and expiry.
// Only the token's hash is stored. It returns an error wrapping
// store.ErrNotFound when the tenant does not exist. `hookd dev` uses it to
// print a link at start.
func NewPortalLink(ctx context.Context, st *store.Store, baseURL, tenant string, ttl time.Duration) (string, time.Time, error) {
	return newPortalLink(ctx, st, baseURL, tenant, ttl, store.PortalOptions{}, false)
}

// newPortalLink is NewPortalLink with the link's options. An embed link
// opens /portal/embed with the token in the fragment, which browsers never
// send to a server or in a Referer.
func newPortalLink(ctx context.Context, st *store.Store, baseURL, tenant string, ttl time.Duration,
	opts store.PortalOptions, embed bool,
) (string, time.Time, error) {
	token := NewKey(PortalTokenPrefix)
	link, err := st.CreatePortalLink(ctx, store.PortalLink{Hash: HashKey(token), TenantID: tenant,
		ExpiresAt: time.Now().Add(ttl), Options: opts})
	if err != nil {
		return "", time.Time{}, err
	}
	base := strings.TrimRight(baseURL, "/")
	if embed {
		return base + embedPagePath + "#token=" + token, link.ExpiresAt, nil
	}
	return base + "/portal/login?token=" + token, link.ExpiresAt, nil
}

// publicURL is Config.PublicURL, or the scheme and host the request came to.
func (s *server) publicURL(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// revokePortalSessions ends every portal session of a tenant at once.
func (s *server) revokePortalSessions(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := c.Param("tenant")
	if _, err := s.st.GetTenant(ctx, tenant); err != nil {
		return notFound(err, "tenant %s", tenant)
	}
	if _, err := s.st.RevokePortalSessions(ctx, tenant); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// portalLogin spends a link's token and starts a session: it sets the
// cookie and sends the browser to the portal. A token that cannot be used
// gets the portal's "this link has expired" page. A link opened in an
// iframe (see framedLogin) is sent on to the embedded portal instead,
// unspent, as a cookie would not come back there.
func (s *server) portalLogin(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token must not leak to other sites
	token := c.QueryParam("token")
	if !portalTokenPattern.MatchString(token) {
		return s.expiredPage(c, http.StatusBadRequest)
	}
	if s.framedLogin(c) {
		return c.Redirect(http.StatusSeeOther, embedPagePath+"#token="+token)
	}
	cookie := NewKey("")
	sess, err := s.st.RedeemPortalLink(c.Request().Context(), HashKey(token),
		store.PortalSession{ID: HashKey(cookie), CSRFToken: NewKey("")}, s.sessionTTL())
	if errors.Is(err, store.ErrNotFound) {
		return s.expiredPage(c, http.StatusGone)
	}
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name:     SessionCookie,
		Value:    cookie,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		MaxAge:   int(time.Until(sess.ExpiresAt).Seconds()),
		HttpOnly: true,
		Secure:   c.Scheme() == "https",
		SameSite: http.SameSiteLaxMode,
	})
	return c.Redirect(http.StatusSeeOther, "/portal/")
}

func (s *server) sessionTTL() time.Duration {
	if s.cfg.PortalSessionTTL > 0 {
		return s.cfg.PortalSessionTTL
	}
	return defaultSessionTTL
}

// expiredPage answers status with the web handler's /portal/expired page,
// so that it looks like the portal, or with a bare page when there is no
// web handler.
func (s *server) expiredPage(c echo.Context, status int) error {
	if s.cfg.Web == nil {
		return c.HTML(status, `<!doctype html><meta charset="utf-8"><title>Link expired</title>`+
			`<h1>This link has expired.</h1><p>Ask for a new one.</p>`)
	}
	r := c.Request().Clone(c.Request().Context())
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.RequestURI = expiredPagePath, "", "", expiredPagePath
	r.Method = http.MethodGet
	for _, h := range []string{"If-Modified-Since", "If-None-Match", "If-Range", "Range"} {
		r.Header.Del(h)
	}
	s.cfg.Web.ServeHTTP(&statusWriter{ResponseWriter: c.Response(), status: status}, r)
	return nil
}

// statusWriter turns a 200 into status.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code == http.StatusOK {
		code = w.status
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// sessionPrincipal authenticates a request by its portal session: secret
// is the cookie's value, or the session token sent as a bearer token
// (bearer). Each works only the way its session was started. A
// state-changing request with the cookie must also carry the session's
// CSRF token; one with a bearer token needs none, as nothing sends it
// without the page's say. A read-only session may only look (readOnlyRefusal).
func (s *server) sessionPrincipal(c echo.Context, secret string, bearer bool) (principal, error) {
	id := HashKey(secret)
	sess, err := s.st.PortalSessionByID(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sess.Bearer != bearer) {
		return principal{}, unauthorized("the portal session has ended (expired, logged out or revoked); open a new portal link")
	}
	if err != nil {
		return principal{}, err
	}
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead:
	default:
		got := c.Request().Header.Get(CSRFHeader)
		if !bearer && (got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1) {
			return principal{}, problem(http.StatusForbidden,
				"missing or wrong CSRF token: send the csrf_token of GET /api/v1/portal/session in the "+CSRFHeader+" header")
		}
	}
	if sess.Options.ReadOnly {
		if p := readOnlyRefusal(c); p != nil {
			return principal{}, p
		}
	}
	c.Set(sessionKey, sess)
	return principal{TenantID: sess.TenantID, Name: "portal:" + hex.EncodeToString(id[:4])}, nil
}

func portalSessionOf(c echo.Context) (store.PortalSession, bool) {
	sess, ok := c.Get(sessionKey).(store.PortalSession)
	return sess, ok
}

type brandingJSON struct {
	ProductName string  `json:"product_name"`
	LogoURL     *string `json:"logo_url"`
	AccentColor string  `json:"accent_color"`
	Dark        bool    `json:"dark"`
}

type portalSessionJSON struct {
	TenantID   string       `json:"tenant_id"`
	TenantName string       `json:"tenant_name"`
	CSRFToken  string       `json:"csrf_token"`
	ExpiresAt  time.Time    `json:"expires_at"`
	ReadOnly   bool         `json:"read_only"`
	Embedded   bool         `json:"embedded"`
	Branding   brandingJSON `json:"branding"`
}

func errNoSession() error {
	return problem(http.StatusForbidden, "this route is for portal sessions (the "+SessionCookie+
		" cookie a portal link sets, or an embedded portal's session token); an API key has no session")
}

// getPortalSession tells the portal's pages who they act for, the CSRF
// token to send and how to look.
func (s *server) getPortalSession(c echo.Context) error {
	sess, ok := portalSessionOf(c)
	if !ok {
		return errNoSession()
	}
	t, err := s.st.GetTenant(c.Request().Context(), sess.TenantID)
	if err != nil {
		return notFound(err, "tenant %s", sess.TenantID)
	}
	b := s.cfg.Branding.withDefaults()
	if sess.Options.AccentColor != "" {
		b.AccentColor = sess.Options.AccentColor // the link's, to match the page it is embedded in
	}
	out := portalSessionJSON{TenantID: t.ID, TenantName: t.Name, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt,
		ReadOnly: sess.Options.ReadOnly, Embedded: sess.Bearer,
		Branding: brandingJSON{ProductName: b.ProductName, AccentColor: b.AccentColor, Dark: sess.Options.Dark}}
	if b.LogoURL != "" {
		out.Branding.LogoURL = &b.LogoURL
	}
	return c.JSON(http.StatusOK, out)
}

// portalLogout ends the request's session and clears its cookie.
func (s *server) portalLogout(c echo.Context) error {
	sess, ok := portalSessionOf(c)
	if !ok {
		return errNoSession()
	}
	if err := s.st.RevokePortalSession(c.Request().Context(), sess.ID); err != nil {
		return err
	}
	if sess.Bearer {
		return c.NoContent(http.StatusNoContent)
	}
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: c.Scheme() == "https", SameSite: http.SameSiteLaxMode})
	return c.NoContent(http.StatusNoContent)
}
