package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/web"
)

// embedOrigin is the site the tests' stacks let embed the portal.
const embedOrigin = "https://app.example.com"

func TestPortalEmbedLinkStartsABearerSession(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{AccentColor: "#4f46e5", EmbedOrigins: []string{embedOrigin}}})
	tenant := s.newTenant(t, "Globex")
	path := "/api/v1/tenants/" + tenant + "/portal-links"

	link := s.must(t, http.StatusCreated, http.MethodPost, path, adminKey,
		map[string]any{"embed": true, "accent": "#0F766E", "dark": true})["url"].(string)
	require.True(t, strings.HasPrefix(link, s.url+"/portal/embed#token="+api.PortalTokenPrefix),
		"the token is in the fragment, which no server sees: %s", link)

	// The page exchanges the token for a session token, once.
	status, header, raw := s.call(t, http.MethodPost, "/api/v1/portal/sessions", nil, map[string]any{"token": linkToken(t, link)}, nil)
	out := decode[obj](t, http.StatusCreated, status, raw)
	require.Equal(t, "no-store", header.Get("Cache-Control"))
	require.Empty(t, header.Values("Set-Cookie"), "no cookie at all")
	require.Equal(t, tenant, out["tenant_id"])
	require.Equal(t, false, out["read_only"])
	sess := &portalSession{bearer: out["session_token"].(string)}
	require.True(t, strings.HasPrefix(sess.bearer, api.PortalSessionTokenPrefix))
	status, header, raw = s.call(t, http.MethodPost, "/api/v1/portal/sessions", nil, map[string]any{"token": linkToken(t, link)}, nil)
	p := requireProblem(t, http.StatusUnauthorized, status, header, raw)
	require.Contains(t, p.Detail, "was used already, has expired or was never made")

	info := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/portal/session", sess, nil)
	require.Equal(t, tenant, info["tenant_id"])
	require.Equal(t, true, info["embedded"])
	require.Equal(t, false, info["read_only"])
	require.Empty(t, info["csrf_token"], "a bearer session needs no CSRF token")
	require.Equal(t, map[string]any{"product_name": "Webhooks", "logo_url": nil, "accent_color": "#0f766e", "dark": true},
		info["branding"], "the link's theme")

	// It changes things without a CSRF token: nothing sends it but the page.
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", sess,
		map[string]any{"url": "http://127.0.0.1:9/hook"})
	other := s.newTenant(t, "Initech")
	status, header, raw = s.call(t, http.MethodGet, "/api/v1/tenants/"+other+"/endpoints", sess, nil, nil)
	requireProblem(t, http.StatusNotFound, status, header, raw)

	// A session token works only as a bearer token, a cookie only as a cookie.
	status, _, _ = s.call(t, http.MethodGet, "/api/v1/portal/session", nil, nil,
		http.Header{"Cookie": {(&http.Cookie{Name: api.SessionCookie, Value: sess.bearer}).String()}})
	require.Equal(t, http.StatusUnauthorized, status)
	cookie := s.login(t, tenant)
	status, _, _ = s.call(t, http.MethodGet, "/api/v1/portal/session", api.PortalSessionTokenPrefix+cookie.cookie.Value, nil, nil)
	require.Equal(t, http.StatusUnauthorized, status)

	// Logging out ends it, and sets no cookie.
	status, header, _ = s.call(t, http.MethodPost, "/api/v1/portal/logout", sess, nil, nil)
	require.Equal(t, http.StatusNoContent, status)
	require.Empty(t, header.Values("Set-Cookie"))
	status, header, raw = s.call(t, http.MethodGet, "/api/v1/portal/session", sess, nil, nil)
	requireProblem(t, http.StatusUnauthorized, status, header, raw)
}

func TestPortalSessionExchangeRefused(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, nil)
	tenant := s.newTenant(t, "Hooli")
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no body", nil, http.StatusBadRequest, ""},
		{"malformed token", map[string]any{"token": "hk_portal_short"}, http.StatusUnprocessableEntity, "token"},
		{"an API key", map[string]any{"token": adminKey}, http.StatusUnprocessableEntity, "token"},
		{"unknown token", map[string]any{"token": api.NewKey(api.PortalTokenPrefix)}, http.StatusUnauthorized, ""},
		{"unknown field", map[string]any{"token": api.NewKey(api.PortalTokenPrefix), "tenant": tenant}, http.StatusBadRequest, ""},
	} {
		status, header, raw := s.call(t, http.MethodPost, "/api/v1/portal/sessions", nil, tc.body, nil)
		p := requireProblem(t, tc.status, status, header, raw)
		if tc.field != "" {
			require.Contains(t, p.fields(), tc.field, tc.name)
		}
	}

	// Links keep their options apart: a bad accent, and embedding on a
	// server that lets no site embed the portal.
	path := "/api/v1/tenants/" + tenant + "/portal-links"
	for _, tc := range []struct {
		body  map[string]any
		field string
		want  string
	}{
		{map[string]any{"accent": "teal"}, "accent", "#rrggbb"},
		{map[string]any{"accent": "#0f766e; color: red"}, "accent", "#rrggbb"},
		{map[string]any{"embed": true}, "embed", "HOOKD_PORTAL_EMBED_ORIGINS"},
	} {
		status, header, raw := s.call(t, http.MethodPost, path, adminKey, tc.body, nil)
		p := requireInvalid(t, tc.field, status, header, raw)
		require.Contains(t, p.Detail, tc.want)
	}
	status, header, raw := s.call(t, http.MethodPost, path, adminKey, map[string]any{"theme": "dark"}, nil)
	requireProblem(t, http.StatusBadRequest, status, header, raw)
}

// TestFramedLoginGoesToTheEmbeddedPortal: a plain link put in an iframe
// (the browser says so in Sec-Fetch-Dest, or the link in embed=1) is sent
// on to /portal/embed unspent, where the page exchanges it; no cookie.
func TestFramedLoginGoesToTheEmbeddedPortal(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{EmbedOrigins: []string{embedOrigin}}})
	tenant := s.newTenant(t, "Vandelay")
	for _, header := range []http.Header{{"Sec-Fetch-Dest": {"iframe"}}, nil} {
		link := s.mintLink(t, tenant)
		token := linkToken(t, link)
		path := "/portal/login?token=" + token
		if header == nil {
			path += "&embed=1"
		}
		status, got, _ := s.call(t, http.MethodGet, path, nil, nil, header)
		require.Equal(t, http.StatusSeeOther, status)
		require.Equal(t, "/portal/embed#token="+token, got.Get("Location"))
		require.Empty(t, got.Values("Set-Cookie"))
		require.Equal(t, "no-referrer", got.Get("Referrer-Policy"))
		s.exchange(t, link) // unspent until now
	}
	// Opened at the top, a link sets the cookie as before.
	status, got, _ := s.call(t, http.MethodGet, "/portal/login?token="+linkToken(t, s.mintLink(t, tenant)), nil, nil,
		http.Header{"Sec-Fetch-Dest": {"document"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/portal/", got.Get("Location"))
	require.NotEmpty(t, got.Values("Set-Cookie"))

	// A server that lets no site embed the portal logs in with the cookie
	// (and its pages refuse to be framed anyway).
	closed := newPortalStack(t, nil)
	tn := closed.newTenant(t, "Kramerica")
	status, got, _ = closed.call(t, http.MethodGet, "/portal/login?token="+linkToken(t, closed.mintLink(t, tn))+"&embed=1", nil, nil,
		http.Header{"Sec-Fetch-Dest": {"iframe"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/portal/", got.Get("Location"))
	require.Contains(t, got.Get("Set-Cookie"), api.SessionCookie)
}

// TestReadOnlyPortalSession: a read-only link's session, by cookie or by
// token, sees endpoints and the delivery log and changes nothing.
func TestReadOnlyPortalSession(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{EmbedOrigins: []string{embedOrigin}}})
	tenant := s.newTenant(t, "Pied Piper")
	et := s.newEventType(t, "invoice.paid", "An invoice was paid.", `{"id": "in_1"}`)
	ep := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey,
		map[string]any{"url": "http://127.0.0.1:9/hook", "description": "as it was"})
	epID := ep["id"].(string)
	msg := s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+tenant+"/messages", adminKey,
		map[string]any{"event_type": et, "payload": map[string]any{"id": "in_1"}})["id"].(string)

	path := "/api/v1/tenants/" + tenant + "/portal-links"
	mint := func(embed bool) string {
		return s.must(t, http.StatusCreated, http.MethodPost, path, adminKey, map[string]any{"read_only": true, "embed": embed})["url"].(string)
	}
	token := s.exchange(t, mint(true))
	cookie := s.openLink(t, mint(false))
	base := "/api/v1/tenants/" + tenant
	for name, sess := range map[string]*portalSession{"token": token, "cookie": cookie} {
		info := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/portal/session", sess, nil)
		require.Equal(t, true, info["read_only"], name)
		require.Equal(t, name == "token", info["embedded"], name)

		// It sees.
		for _, p := range []string{"/endpoints", "/endpoints/" + epID, "/endpoints/" + epID + "/stats",
			"/endpoints/" + epID + "/attempts", "/messages", "/messages/" + msg, "/messages/" + msg + "/attempts"} {
			s.must(t, http.StatusOK, http.MethodGet, base+p, sess, nil)
		}
		s.must(t, http.StatusOK, http.MethodGet, "/api/v1/event-types", sess, nil)

		// It changes nothing, and sees no secret.
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, "/endpoints", map[string]any{"url": "http://127.0.0.1:9/new"}},
			{http.MethodPatch, "/endpoints/" + epID, map[string]any{"description": "changed"}},
			{http.MethodPatch, "/endpoints/" + epID, map[string]any{"disabled": true}},
			{http.MethodDelete, "/endpoints/" + epID, nil},
			{http.MethodGet, "/endpoints/" + epID + "/secret", nil},
			{http.MethodPost, "/endpoints/" + epID + "/secret/rotate", map[string]any{}},
			{http.MethodPost, "/endpoints/" + epID + "/test", map[string]any{"event_type": et}},
			{http.MethodPost, "/endpoints/" + epID + "/recover", map[string]any{}},
			{http.MethodPost, "/messages/" + msg + "/resend", map[string]any{}},
		} {
			status, header, raw := s.call(t, tc.method, base+tc.path, sess, tc.body, nil)
			p := requireProblem(t, http.StatusForbidden, status, header, raw)
			require.Contains(t, p.Detail, "this portal session is read-only", "%s %s %s", name, tc.method, tc.path)
		}
	}
	after := s.must(t, http.StatusOK, http.MethodGet, base+"/endpoints/"+epID, adminKey, nil)
	require.Equal(t, "as it was", after["description"])
	require.Equal(t, false, after["disabled"])
	require.Len(t, s.must(t, http.StatusOK, http.MethodGet, base+"/endpoints", adminKey, nil)["data"], 1)
	attempts := s.must(t, http.StatusOK, http.MethodGet, base+"/messages/"+msg+"/attempts", adminKey, nil)["data"].([]any)
	require.LessOrEqual(t, len(attempts), 1, "no resend")

	// Logging out is not a change it is kept from.
	s.must(t, http.StatusNoContent, http.MethodPost, "/api/v1/portal/logout", token, nil)
	s.must(t, http.StatusNoContent, http.MethodPost, "/api/v1/portal/logout", cookie, nil)
}
