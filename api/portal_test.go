package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/web"
)

const expiredText = "This link has expired. Ask for a new one."

func TestPortalLinkLogsInOnce(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks", AccentColor: "#0f766e"}})
	tenant := s.newTenant(t, "Globex")

	before := time.Now()
	out := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/portal-links", adminKey, nil)
	link := out["url"].(string)
	require.True(t, strings.HasPrefix(link, s.url+"/portal/login?token="+api.PortalTokenPrefix), "url: %s", link)
	expires, err := time.Parse(time.RFC3339, out["expires_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, before.Add(time.Hour), expires, time.Minute, "links last an hour by default")

	status, header, body := s.call(t, http.MethodGet, link, nil, nil, nil)
	require.Equal(t, http.StatusSeeOther, status, "body: %s", body)
	require.Equal(t, "/portal/", header.Get("Location"))
	require.Equal(t, "no-store", header.Get("Cache-Control"))
	require.Equal(t, "no-referrer", header.Get("Referrer-Policy"))
	cookies := (&http.Response{Header: header}).Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	require.Equal(t, api.SessionCookie, c.Name)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.Equal(t, "/", c.Path)
	require.False(t, c.Secure, "plain HTTP: a Secure cookie would not come back")
	require.Greater(t, c.MaxAge, int((7*24*time.Hour - time.Minute).Seconds()), "sessions last 7 days by default")

	sess := &portalSession{cookie: &http.Cookie{Name: c.Name, Value: c.Value}}
	info := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/portal/session", sess, nil)
	require.Equal(t, tenant, info["tenant_id"])
	require.Equal(t, "Globex", info["tenant_name"])
	require.NotEmpty(t, info["csrf_token"])
	require.Equal(t, map[string]any{"product_name": "Acme Webhooks", "logo_url": nil, "accent_color": "#0f766e", "dark": false}, info["branding"])

	// The same link again: the portal's "expired" page.
	status, header, body = s.call(t, http.MethodGet, link, nil, nil, nil)
	require.Equal(t, http.StatusGone, status)
	require.Contains(t, header.Get("Content-Type"), "text/html")
	require.Contains(t, string(body), expiredText)
	require.Contains(t, string(body), "Acme Webhooks", "the page looks like the portal")
	require.Empty(t, header.Values("Set-Cookie"))
}

func TestPortalLinkRefused(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, nil)
	tenant := s.newTenant(t, "Initech")
	link := s.mintLink(t, tenant)
	token := linkToken(t, link)

	// A token with one character changed, a token of the wrong shape, none.
	// The changed character stays in the token's alphabet, so the token is
	// well-formed but not one hookd made.
	flipped := []byte(token)
	if flipped[len(flipped)-3] == 'A' {
		flipped[len(flipped)-3] = 'B'
	} else {
		flipped[len(flipped)-3] = 'A'
	}
	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"tampered", "?token=" + string(flipped), http.StatusGone},
		{"malformed", "?token=abc", http.StatusBadRequest},
		{"missing", "", http.StatusBadRequest},
	} {
		status, header, body := s.call(t, http.MethodGet, "/portal/login"+tc.query, nil, nil, nil)
		require.Equal(t, tc.status, status, tc.name)
		require.Contains(t, string(body), expiredText, tc.name)
		require.Empty(t, header.Values("Set-Cookie"), tc.name)
	}
	s.openLink(t, link) // the genuine link still works

	// Expired: the link's time is up.
	expiring := s.mintLink(t, tenant)
	_, err := s.pool.Exec(context.Background(), `UPDATE portal_links SET expires_at = now() - interval '1 second'
		WHERE tenant_id = $1 AND used_at IS NULL`, tenant)
	require.NoError(t, err)
	status, _, body := s.call(t, http.MethodGet, expiring, nil, nil, nil)
	require.Equal(t, http.StatusGone, status)
	require.Contains(t, string(body), expiredText)

	// Without web pages the API still answers in words.
	bare := newPortalStack(t, &portalStackOpts{NoWeb: true})
	status, _, body = bare.call(t, http.MethodGet, "/portal/login?token=abc", nil, nil, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "This link has expired.")
}

func TestPortalLinkOptions(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{PublicURL: "https://hooks.example.com/", SessionTTL: time.Hour})
	tenant := s.newTenant(t, "Umbrella")
	path := "/api/v1/tenants/" + tenant + "/portal-links"

	out := s.must(t, http.StatusCreated, http.MethodPost, path, adminKey, map[string]any{"expires_in_seconds": 60})
	link := out["url"].(string)
	require.True(t, strings.HasPrefix(link, "https://hooks.example.com/portal/login?token="), "PublicURL starts the link: %s", link)
	expires, err := time.Parse(time.RFC3339, out["expires_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Minute), expires, 10*time.Second)

	// Behind a TLS-terminating proxy the cookie is Secure.
	status, header, _ := s.call(t, http.MethodGet, "/portal/login?token="+linkToken(t, link), nil, nil,
		http.Header{"X-Forwarded-Proto": {"https"}})
	require.Equal(t, http.StatusSeeOther, status)
	c := (&http.Response{Header: header}).Cookies()[0]
	require.True(t, c.Secure)
	require.LessOrEqual(t, c.MaxAge, 3600, "PortalSessionTTL sets the session's length")

	for _, bad := range []int{0, -5, 604801} {
		status, header, body := s.call(t, http.MethodPost, path, adminKey, map[string]any{"expires_in_seconds": bad}, nil)
		requireInvalid(t, "expires_in_seconds", status, header, body)
	}
	status, header, body := s.call(t, http.MethodPost, "/api/v1/tenants/nobody-"+tenant+"/portal-links", adminKey, nil, nil)
	requireProblem(t, http.StatusNotFound, status, header, body)

	// Only admins mint links: not a tenant key, not a portal session.
	key := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/keys", adminKey, nil)["key"].(string)
	status, header, body = s.call(t, http.MethodPost, path, key, nil, nil)
	requireProblem(t, http.StatusForbidden, status, header, body)
	sess := s.login(t, tenant)
	status, header, body = s.call(t, http.MethodPost, path, sess, nil, nil)
	requireProblem(t, http.StatusForbidden, status, header, body)
	status, header, body = s.call(t, http.MethodGet, "/api/v1/portal/session", key, nil, nil)
	requireProblem(t, http.StatusForbidden, status, header, body)
}

func TestPortalSessionsRevoked(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, nil)
	tenant := s.newTenant(t, "Hooli")
	other := s.newTenant(t, "Pied Piper")
	first, second, kept := s.login(t, tenant), s.login(t, tenant), s.login(t, other)
	endpoints := "/api/v1/tenants/" + tenant + "/endpoints"
	s.must(t, http.StatusOK, http.MethodGet, endpoints, first, nil)

	// Only admins end sessions.
	status, header, body := s.call(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/sessions/revoke", first, nil, nil)
	requireProblem(t, http.StatusForbidden, status, header, body)
	status, header, body = s.call(t, http.MethodPost, "/api/v1/tenants/nobody-"+tenant+"/sessions/revoke", adminKey, nil, nil)
	requireProblem(t, http.StatusNotFound, status, header, body)

	s.must(t, http.StatusNoContent, http.MethodPost, "/api/v1/tenants/"+tenant+"/sessions/revoke", adminKey, nil)
	for _, sess := range []*portalSession{first, second} {
		status, header, body := s.call(t, http.MethodGet, endpoints, sess, nil, nil)
		p := requireProblem(t, http.StatusUnauthorized, status, header, body)
		require.Contains(t, p.Detail, "portal session has ended")
	}
	s.must(t, http.StatusOK, http.MethodGet, "/api/v1/portal/session", kept, nil) // another tenant's session lives on
	s.login(t, tenant)                                                            // and a new link logs in again

	// Logging out ends one session and clears its cookie.
	status, header, _ = s.call(t, http.MethodPost, "/api/v1/portal/logout", kept, nil, nil)
	require.Equal(t, http.StatusNoContent, status)
	cleared := (&http.Response{Header: header}).Cookies()
	require.Len(t, cleared, 1)
	require.Negative(t, cleared[0].MaxAge)
	status, header, body = s.call(t, http.MethodGet, "/api/v1/portal/session", kept, nil, nil)
	requireProblem(t, http.StatusUnauthorized, status, header, body)

	// An expired session is over too.
	late := s.login(t, tenant)
	_, err := s.pool.Exec(context.Background(), `UPDATE portal_sessions SET expires_at = now() - interval '1 second'
		WHERE tenant_id = $1 AND revoked_at IS NULL`, tenant)
	require.NoError(t, err)
	status, header, body = s.call(t, http.MethodGet, endpoints, late, nil, nil)
	requireProblem(t, http.StatusUnauthorized, status, header, body)
}

func TestPortalCSRF(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, nil)
	tenant := s.newTenant(t, "Vandelay")
	sess := s.login(t, tenant)
	endpoints := "/api/v1/tenants/" + tenant + "/endpoints"
	body := map[string]any{"url": "https://example.com/hook"}
	cookieOnly := func(header http.Header) (int, http.Header, []byte) {
		// A request as a cross-site form or script would make it: the
		// cookie rides along, the CSRF token does not.
		raw, _ := json.Marshal(body)
		req, err := http.NewRequest(http.MethodPost, s.url+endpoints, strings.NewReader(string(raw)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(sess.cookie)
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var p map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
		out, _ := json.Marshal(p)
		return res.StatusCode, res.Header, out
	}
	for name, header := range map[string]http.Header{
		"no token":    nil,
		"wrong token": {api.CSRFHeader: {sess.csrf + "x"}},
		"empty token": {api.CSRFHeader: {""}},
	} {
		status, h, raw := cookieOnly(header)
		p := requireProblem(t, http.StatusForbidden, status, h, raw)
		require.Contains(t, p.Detail, "missing or wrong CSRF token", name)
	}
	status, _, raw := s.call(t, http.MethodPost, "/api/v1/portal/logout", nil, nil,
		http.Header{"Cookie": {sess.cookie.String()}})
	require.Equal(t, http.StatusForbidden, status, "logging out needs the token too: %s", raw)

	list := s.must(t, http.StatusOK, http.MethodGet, endpoints, sess, nil) // reading needs no token
	require.Empty(t, list["data"], "nothing was created by the refused requests")
	s.must(t, http.StatusCreated, http.MethodPost, endpoints, sess, body) // with the token it works
}

// TestPortalSessionScope: a portal session reaches its own tenant's
// endpoints, messages and event types, and nothing of another tenant or of
// the administration.
func TestPortalSessionScope(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, nil)
	rc := newHookReceiver(t)
	mine, theirs := s.newTenant(t, "Mine"), s.newTenant(t, "Theirs")
	et := s.newEventType(t, "order.created", "An order was created.", `{"order":"ord_1"}`)
	theirEndpoint := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+theirs+"/endpoints", adminKey,
		map[string]any{"url": rc.url, "description": "theirs"})
	theirID := theirEndpoint["id"].(string)
	theirMessage := s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+theirs+"/messages", adminKey,
		map[string]any{"event_type": et, "payload": map[string]any{"n": 1}})["id"].(string)
	rc.waitFor(t, 1)

	sess := s.login(t, mine)
	own := "/api/v1/tenants/" + mine
	other := "/api/v1/tenants/" + theirs
	s.must(t, http.StatusOK, http.MethodGet, own+"/endpoints", sess, nil)
	s.must(t, http.StatusOK, http.MethodGet, own+"/messages", sess, nil)
	s.must(t, http.StatusOK, http.MethodGet, "/api/v1/event-types", sess, nil)

	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{http.MethodGet, other + "/endpoints", nil, http.StatusNotFound},
		{http.MethodGet, other + "/endpoints/" + theirID, nil, http.StatusNotFound},
		{http.MethodGet, own + "/endpoints/" + theirID, nil, http.StatusNotFound},
		{http.MethodGet, own + "/endpoints/" + theirID + "/secret", nil, http.StatusNotFound},
		{http.MethodGet, own + "/endpoints/" + theirID + "/stats", nil, http.StatusNotFound},
		{http.MethodGet, own + "/endpoints/" + theirID + "/attempts", nil, http.StatusNotFound},
		{http.MethodPatch, own + "/endpoints/" + theirID, map[string]any{"url": "https://evil.example/x"}, http.StatusNotFound},
		{http.MethodPatch, other + "/endpoints/" + theirID, map[string]any{"disabled": true}, http.StatusNotFound},
		{http.MethodDelete, own + "/endpoints/" + theirID, nil, http.StatusNotFound},
		{http.MethodPost, own + "/endpoints/" + theirID + "/secret/rotate", nil, http.StatusNotFound},
		{http.MethodPost, own + "/endpoints/" + theirID + "/test", map[string]any{"event_type": et}, http.StatusNotFound},
		{http.MethodPost, own + "/endpoints/" + theirID + "/recover", map[string]any{"since": "2020-01-01T00:00:00Z"}, http.StatusNotFound},
		{http.MethodGet, own + "/messages/" + theirMessage, nil, http.StatusNotFound},
		{http.MethodGet, other + "/messages/" + theirMessage + "/attempts", nil, http.StatusNotFound},
		{http.MethodPost, own + "/messages/" + theirMessage + "/resend", nil, http.StatusNotFound},
		{http.MethodPost, own + "/messages", map[string]any{"event_type": et, "payload": map[string]any{}}, http.StatusForbidden},
		{http.MethodPost, own + "/keys", nil, http.StatusForbidden},
		{http.MethodPost, own + "/sessions/revoke", nil, http.StatusForbidden},
		{http.MethodPut, own, map[string]any{"name": "renamed"}, http.StatusForbidden},
		{http.MethodGet, "/api/v1/tenants", nil, http.StatusForbidden},
		{http.MethodPost, "/api/v1/event-types", map[string]any{"name": "evil.event"}, http.StatusForbidden},
		{http.MethodPatch, "/api/v1/event-types/" + et, map[string]any{"description": "changed"}, http.StatusForbidden},
		{http.MethodDelete, "/api/v1/event-types/" + et, nil, http.StatusForbidden},
		{http.MethodPost, "/api/v1/replays", map[string]any{"status": "failed", "since": "2020-01-01T00:00:00Z"}, http.StatusForbidden},
	} {
		status, header, raw := s.call(t, tc.method, tc.path, sess, tc.body, nil)
		requireProblem(t, tc.status, status, header, raw)
	}

	// Nothing changed: their endpoint, their message and the event type
	// are as they were, and their receiver got nothing more.
	got := s.must(t, http.StatusOK, http.MethodGet, other+"/endpoints/"+theirID, adminKey, nil)
	require.Equal(t, theirEndpoint["url"], got["url"])
	require.Equal(t, false, got["disabled"])
	m := s.must(t, http.StatusOK, http.MethodGet, other+"/messages/"+theirMessage, adminKey, nil)
	require.Len(t, m["deliveries"], 1)
	require.EqualValues(t, 1, m["deliveries"].([]any)[0].(map[string]any)["attempts"])
	require.Equal(t, "An order was created.", s.must(t, http.StatusOK, http.MethodGet, "/api/v1/event-types/"+et, adminKey, nil)["description"])
	time.Sleep(100 * time.Millisecond)
	require.Len(t, rc.requests(), 1)
	require.Empty(t, s.must(t, http.StatusOK, http.MethodGet, own+"/messages", adminKey, nil)["data"], "nothing was published")
}

func TestSendTestEvent(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, nil)
	rc, bystander := newHookReceiver(t), newHookReceiver(t)
	tenant := s.newTenant(t, "Stark")
	example := `{"invoice": "in_1", "amount": 4200,  "lines": [1, 2]}`
	withExample := s.newEventType(t, "invoice.paid", "An invoice was paid.", example)
	bare := s.newEventType(t, "invoice.voided", "", "")
	archived := s.newEventType(t, "invoice.old", "", "")
	s.must(t, http.StatusOK, http.MethodDelete, "/api/v1/event-types/"+archived, adminKey, nil)

	base := "/api/v1/tenants/" + tenant + "/endpoints"
	// The endpoint only wants another event type: a test goes to it anyway.
	ep := s.must(t, http.StatusCreated, http.MethodPost, base, adminKey, map[string]any{"url": rc.url, "event_types": []string{"user.*"}})
	s.must(t, http.StatusCreated, http.MethodPost, base, adminKey, map[string]any{"url": bystander.url})
	id := ep["id"].(string)
	secret := s.must(t, http.StatusOK, http.MethodGet, base+"/"+id+"/secret", adminKey, nil)["secret"].(string)
	rc.set(secret, http.StatusOK, "thanks")

	key := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/keys", adminKey, nil)["key"].(string)
	sent := s.must(t, http.StatusAccepted, http.MethodPost, base+"/"+id+"/test", key, map[string]any{"event_type": withExample})
	got := rc.waitFor(t, 1)
	require.Equal(t, example, string(got[0].body), "the example's exact bytes")
	require.True(t, got[0].verified, "signed like any delivery")
	require.Equal(t, sent["message_id"], got[0].header.Get("webhook-id"))
	m := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/messages/"+sent["message_id"].(string), key, nil)
	require.Equal(t, withExample, m["event_type"])
	require.Len(t, m["deliveries"], 1, "to this endpoint only")

	s.must(t, http.StatusAccepted, http.MethodPost, base+"/"+id+"/test", key, map[string]any{"event_type": bare})
	got = rc.waitFor(t, 2)
	require.Equal(t, "{}", string(got[1].body), "no example: an empty object")

	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "event_type"},
		{map[string]any{"event_type": "no.such.type"}, "event_type"},
		{map[string]any{"event_type": archived}, "event_type"},
	} {
		status, header, raw := s.call(t, http.MethodPost, base+"/"+id+"/test", key, tc.body, nil)
		requireInvalid(t, tc.field, status, header, raw)
	}
	s.must(t, http.StatusOK, http.MethodPatch, base+"/"+id, adminKey, map[string]any{"disabled": true})
	status, header, raw := s.call(t, http.MethodPost, base+"/"+id+"/test", key, map[string]any{"event_type": bare}, nil)
	p := requireProblem(t, http.StatusConflict, status, header, raw)
	require.Contains(t, p.Detail, "disabled")
	status, header, raw = s.call(t, http.MethodPost, base+"/01890000-0000-7000-8000-000000000000/test", key, map[string]any{"event_type": bare}, nil)
	requireProblem(t, http.StatusNotFound, status, header, raw)

	time.Sleep(100 * time.Millisecond)
	require.Empty(t, bystander.requests(), "other endpoints get no test events")
	require.Len(t, rc.requests(), 2)
}

func TestEndpointStats(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, nil)
	rc := newHookReceiver(t)
	tenant := s.newTenant(t, "Wayne")
	et := s.newEventType(t, "user.created", "", `{"user":"u_1"}`)
	base := "/api/v1/tenants/" + tenant + "/endpoints"
	id := s.must(t, http.StatusCreated, http.MethodPost, base, adminKey, map[string]any{"url": rc.url})["id"].(string)
	sess := s.login(t, tenant)

	stats := s.must(t, http.StatusOK, http.MethodGet, base+"/"+id+"/stats", sess, nil)
	require.Equal(t, map[string]any{"endpoint_id": id, "attempts_24h": 0.0, "succeeded_24h": 0.0, "success_rate_24h": nil,
		"last_status_code": nil, "last_attempt_at": nil}, stats)

	for i, code := range []int{200, 200, 200, 500} {
		rc.set("", code, "")
		s.must(t, http.StatusAccepted, http.MethodPost, base+"/"+id+"/test", sess, map[string]any{"event_type": et})
		rc.waitFor(t, i+1)
		require.Eventually(t, func() bool {
			st := s.must(t, http.StatusOK, http.MethodGet, base+"/"+id+"/stats", sess, nil)
			return st["attempts_24h"] == float64(i+1)
		}, 10*time.Second, 20*time.Millisecond)
	}
	stats = s.must(t, http.StatusOK, http.MethodGet, base+"/"+id+"/stats", sess, nil)
	require.Equal(t, 3.0, stats["succeeded_24h"])
	require.Equal(t, 0.75, stats["success_rate_24h"])
	require.Equal(t, 500.0, stats["last_status_code"])
	last, err := time.Parse(time.RFC3339Nano, stats["last_attempt_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), last, time.Minute)

	// Attempts older than a day leave the numbers but stay the latest.
	_, err = s.pool.Exec(context.Background(), `UPDATE attempts SET started_at = started_at - interval '25 hours' WHERE endpoint_id = $1`, id)
	require.NoError(t, err)
	stats = s.must(t, http.StatusOK, http.MethodGet, base+"/"+id+"/stats", sess, nil)
	require.Equal(t, 0.0, stats["attempts_24h"])
	require.Nil(t, stats["success_rate_24h"])
	require.Equal(t, 500.0, stats["last_status_code"])
}
