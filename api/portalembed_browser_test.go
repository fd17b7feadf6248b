package api_test

import (
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/web"
)

// hostSite is the SaaS's own dashboard on another loopback address (so
// another site than hookd's 127.0.0.1), with the portal in an iframe.
type hostSite struct {
	url string
}

// newHostSite serves a dashboard page on ip: GET /?src=<portal link>&theme=dark.
func newHostSite(t *testing.T, ip string) *hostSite {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err, "listen on %s (loopback)", ip)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = hostPage.Execute(w, map[string]any{"Src": r.URL.Query().Get("src"), "Dark": r.URL.Query().Get("theme") == "dark"})
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &hostSite{url: srv.URL}
}

// page is the address of the dashboard showing link.
func (h *hostSite) page(link string, dark bool) string {
	u := h.url + "/?src=" + template.URLQueryEscaper(link)
	if dark {
		u += "&theme=dark"
	}
	return u
}

var hostPage = template.Must(template.New("host").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Cloud · Settings</title>
<style>
  :root { font-family: system-ui, sans-serif; --bg: #eef1f5; --side: #1f2937; --text: #111827; --card: #fff; }
  :root.dark { --bg: #05070d; --side: #0b0f19; --text: #e5e7eb; --card: #0d1220; }
  body { margin: 0; display: grid; grid-template-columns: 200px 1fr; min-height: 100vh; background: var(--bg); color: var(--text); }
  aside { background: var(--side); color: #cbd5e1; padding: 20px 16px; }
  aside b { display: block; color: #fff; font-size: 18px; margin-bottom: 24px; }
  aside a { display: block; color: inherit; text-decoration: none; padding: 7px 10px; border-radius: 6px; font-size: 14px; }
  aside a.on { background: rgb(255 255 255 / 10%); color: #fff; }
  main { padding: 20px 28px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  p { margin: 0 0 16px; opacity: .7; font-size: 14px; }
  iframe { width: 100%; height: 760px; border: 0; border-radius: 10px; background: var(--card); box-shadow: 0 1px 3px rgb(0 0 0 / 12%); }
</style></head>
<body{{if .Dark}} class="dark"{{end}}>
<aside><b>Acme Cloud</b><a href="#">Projects</a><a href="#">Billing</a><a class="on" href="#">Webhooks</a><a href="#">Team</a></aside>
<main><h1>Webhooks</h1><p>Where Acme sends your events.</p>
<iframe id="portal" src="{{.Src}}" title="Webhooks portal"></iframe></main>
<script>document.documentElement.className = document.body.className;</script>
</body></html>`))

// frame attaches to the iframe whose address starts with prefix: chromium
// runs a frame of another site as a target of its own.
func (b *browser) frame(t *testing.T, prefix string) *browser {
	t.Helper()
	var id target.ID
	require.Eventually(t, func() bool {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			return false
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, prefix) {
				id = info.TargetID
				return true
			}
		}
		return false
	}, 15*time.Second, 50*time.Millisecond, "no iframe at %s", prefix)
	f := &browser{shots: b.shots}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id), chromedp.WithListener(f.record))
	t.Cleanup(cancel)
	f.ctx = ctx
	require.NoError(t, chromedp.Do(ctx))
	return f
}

// press clicks an element from a script: the frame is another target, so
// the page's mouse does not reach it.
func (b *browser) press(t *testing.T, sel string) {
	t.Helper()
	b.wait(t, sel, fmt.Sprintf(`document.querySelector(%q)`, sel))
	require.True(t, eval[bool](t, b, fmt.Sprintf(`(el => (el.click(), true))(document.querySelector(%q))`, sel)))
}

// shotFrame saves a screenshot of the page with the frame f in it, without
// the frame's toasts.
func (b *browser) shotFrame(t *testing.T, f *browser, name string) {
	t.Helper()
	require.True(t, eval[bool](t, f, `(document.querySelectorAll(".toast").forEach(e => e.remove()), true)`))
	f.wait(t, "the frame at its size", `window.innerWidth > 900`) // a new frame may be laid out narrow at first
	b.shot(t, name)
}

// TestEmbeddedPortalInBrowser embeds the portal in another site's page, in
// a chromium that blocks third-party cookies: the portal logs in without a
// cookie, adds an endpoint and delivers a test event; a site not on the
// list cannot frame it; a read-only link changes nothing.
func TestEmbeddedPortalInBrowser(t *testing.T) {
	t.Parallel()
	host := newHostSite(t, "127.0.0.2")
	stranger := newHostSite(t, "127.0.0.3")
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks", EmbedOrigins: []string{host.url}}})
	rc := newHookReceiver(t)
	tenant := s.newTenant(t, "Globex Corporation")
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/event-types", adminKey,
		`{"name": "invoice.paid", "description": "An invoice was paid in full.", "example": {"invoice_id": "in_1NqT3x", "amount_paid": 4200}}`)
	links := "/api/v1/tenants/" + tenant + "/portal-links"
	mint := func(opts map[string]any) string {
		opts["embed"] = true
		return s.must(t, http.StatusCreated, http.MethodPost, links, adminKey, opts)["url"].(string)
	}

	// The portal's pages name exactly the listed site as the one that may
	// frame them; the console no one.
	_, header, _ := s.call(t, http.MethodGet, "/portal/embed", nil, nil, nil)
	require.True(t, strings.HasSuffix(header.Get("Content-Security-Policy"), "frame-ancestors "+host.url), header.Get("Content-Security-Policy"))
	require.Empty(t, header.Get("X-Frame-Options"))
	_, header, _ = s.call(t, http.MethodGet, "/console", nil, nil, nil)
	require.Contains(t, header.Get("Content-Security-Policy"), "frame-ancestors 'none'")

	b := newBrowser(t,
		chromedp.Flag("test-third-party-cookie-phaseout", true), // block third-party cookies
		// Loopback only, as newBrowser's, and the two host sites' addresses.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE 127.0.0.2, EXCLUDE 127.0.0.3"))
	t.Logf("screenshots of the embedded portal: %s", b.shots)

	// hookd's own page, opened at the top, may keep a cookie of the kind
	// a frame would need (SameSite=None; Secure: 127.0.0.1 counts as secure).
	probe := `(document.cookie = "probe=1; SameSite=None; Secure; Path=/", document.cookie.includes("probe=1"))`
	b.do(t, chromedp.Navigate(s.url+"/portal/expired"))
	require.True(t, eval[bool](t, b, probe), "a first-party cookie")
	require.True(t, eval[bool](t, b, `(document.cookie = "probe=; Max-Age=0; SameSite=None; Secure; Path=/", !document.cookie.includes("probe"))`))

	// The light theme, with an accent of the host's.
	b.do(t, chromedp.Navigate(host.page(mint(map[string]any{"accent": "#0f766e"}), false)))
	f := b.frame(t, s.url+"/portal/embed")
	f.waitText(t, "main", "No endpoints yet — add one")
	f.waitText(t, "#tenant-name", "Globex Corporation")
	require.False(t, eval[bool](t, f, `location.href.includes("token=")`), "the token left the frame's address")
	require.Equal(t, "#0f766e", eval[string](t, f, `getComputedStyle(document.documentElement).getPropertyValue("--accent").trim()`))
	require.True(t, eval[bool](t, f, `document.querySelector("#logout").hidden`), "the host page logs in and out")
	require.True(t, eval[bool](t, f, `"ready" in document.documentElement.dataset && getComputedStyle(document.body).visibility === "visible"`),
		"shown once themed")

	// The browser blocks third-party cookies: the same cookie, set in the
	// frame, is dropped.
	require.False(t, eval[bool](t, f, probe), "a third-party cookie got through: the browser does not block them, so the test proves nothing")

	// Add an endpoint, reveal its secret, send a test event and see it
	// delivered, all inside the frame.
	f.press(t, `main a[href="#/endpoints/new"]`)
	f.wait(t, "the form", `document.querySelector("#ep-url")`)
	f.do(t,
		setValue(`#ep-url`, rc.url),
		setValue(`#ep-description`, "Billing service"))
	f.press(t, `#save-endpoint`)
	f.waitText(t, "#endpoint-url", rc.url)
	f.press(t, `#reveal-secret`)
	f.wait(t, "the secret", `/^whsec_[A-Za-z0-9+/=]{20,}$/.test(document.querySelector("#secret-value").textContent)`)
	rc.set(f.text(t, "#secret-value"), http.StatusOK, `{"received": true}`)
	f.do(t, setValue(`#test-event-type`, "invoice.paid"))
	f.press(t, `#send-test`)
	f.waitText(t, "#test-result", "Delivered")
	require.Contains(t, f.text(t, "#test-result"), "200 OK")
	got := rc.waitFor(t, 1)
	require.True(t, got[0].verified, "signed with the secret the embedded portal shows")
	f.waitText(t, "#recent-attempts", "200 OK")
	b.shotFrame(t, f, "embed-01-light-endpoint")

	// No cookie at all: the session is a token in the frame.
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.url + "/"}})
	require.NoError(t, err)
	require.Empty(t, cookies.Cookies, "hookd set no cookie")
	token := eval[string](t, f, `sessionStorage.getItem("hookd.portal.session-token") || ""`)
	require.True(t, strings.HasPrefix(token, api.PortalSessionTokenPrefix), "token: %q", token)

	// A reload of the frame keeps the session (sessionStorage).
	require.True(t, eval[bool](t, f, `(document.body.dataset.before = "reload", location.reload(), true)`))
	f.wait(t, "the reloaded page", `!document.body.dataset.before && document.querySelector("#endpoint-url")`)
	f.waitText(t, "#endpoint-url", rc.url)

	// A site that is not on the list cannot frame the portal: chromium
	// refuses to show it, so its script never spends the link.
	refused := mint(map[string]any{})
	b.do(t, chromedp.Navigate(stranger.page(refused, false)))
	b.wait(t, "the stranger's page", `document.querySelector("#portal")`)
	require.Eventually(t, func() bool {
		return strings.Contains(b.trouble(), "violates the following Content Security Policy directive: "+
			`\"frame-ancestors `+host.url+`\". The request has been blocked.`)
	}, 15*time.Second, 50*time.Millisecond,
		"chromium reports that it refused the frame: %s", b.trouble())
	blocked := b.frame(t, s.url+"/portal/embed")
	require.Eventually(t, func() bool {
		href, err := chromedp.Run(blocked.ctx, chromedp.Evaluate[string](`location.href`))
		return err == nil && strings.HasPrefix(href, "chrome-error://")
	}, 15*time.Second, 50*time.Millisecond, "the frame holds chromium's error page")
	require.False(t, eval[bool](t, blocked, `!!document.querySelector("#main, .topbar")`), "no portal in the frame")
	b.shot(t, "embed-00-refused-origin")
	s.exchange(t, refused) // the link was never used

	// Read-only, in the dark theme: no control that changes anything, and
	// the API refuses the session's writes.
	b.do(t, chromedp.Navigate(host.page(mint(map[string]any{"read_only": true, "dark": true, "accent": "#f59e0b"}), true)))
	ro := b.frame(t, s.url+"/portal/embed")
	ro.wait(t, "the endpoint list", `document.querySelector("#main a.row[data-endpoint]")`)
	require.Equal(t, "dark", eval[string](t, ro, `document.documentElement.dataset.theme || ""`))
	require.False(t, eval[bool](t, ro, `document.querySelector("#read-only").hidden`), "it says it is view only")
	noWrites := `!document.querySelector('#main a[href="#/endpoints/new"], #edit-endpoint, #toggle-endpoint, #delete-endpoint, ` +
		`#reveal-secret, #rotate-secret, #send-test, #recover, #resend-all, [data-resend], #fill-secret')`
	require.True(t, eval[bool](t, ro, noWrites), "the list has no write controls")
	ro.wait(t, "the health numbers", `document.querySelector("#main .rows").textContent.includes("%")`)
	b.shotFrame(t, ro, "embed-02-dark-read-only-endpoints")
	ro.press(t, `#main a.row[data-endpoint]`)
	ro.waitText(t, "#recent-attempts", "200 OK")
	require.True(t, eval[bool](t, ro, noWrites), "the endpoint page has no write controls")
	require.NotContains(t, ro.text(t, "main"), "whsec_")
	b.shotFrame(t, ro, "embed-03-dark-read-only-endpoint")
	ro.press(t, `#recent-attempts a[href^="#/messages/"]`)
	ro.waitText(t, "#attempts", "200 OK")
	require.True(t, eval[bool](t, ro, noWrites), "the message page has no write controls")
	b.shotFrame(t, ro, "embed-04-dark-read-only-message")
	require.True(t, eval[bool](t, ro, `(location.hash = "#/endpoints/new", true)`))
	ro.waitText(t, "main", "This view is read-only")

	roToken := &portalSession{bearer: eval[string](t, ro, `sessionStorage.getItem("hookd.portal.session-token") || ""`)}
	require.True(t, strings.HasPrefix(roToken.bearer, api.PortalSessionTokenPrefix))
	list := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints", roToken, nil)["data"].([]any)
	require.Len(t, list, 1)
	epID := list[0].(map[string]any)["id"].(string)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/endpoints", map[string]any{"url": "http://127.0.0.1:9/new"}},
		{http.MethodPatch, "/endpoints/" + epID, map[string]any{"disabled": true}},
		{http.MethodDelete, "/endpoints/" + epID, nil},
		{http.MethodPost, "/endpoints/" + epID + "/test", map[string]any{"event_type": "invoice.paid"}},
	} {
		status, header, raw := s.call(t, tc.method, "/api/v1/tenants/"+tenant+tc.path, roToken, tc.body, nil)
		p := requireProblem(t, http.StatusForbidden, status, header, raw)
		require.Contains(t, p.Detail, "read-only")
	}
	require.Equal(t, false, s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+epID, adminKey, nil)["disabled"])
	require.Len(t, rc.requests(), 1, "nothing more was sent")

	// The light theme once more, for its screenshot of the delivery log.
	b.do(t, chromedp.Navigate(host.page(mint(map[string]any{}), false)))
	lf := b.frame(t, s.url+"/portal/embed")
	lf.wait(t, "the endpoint list", `document.querySelector("#main a.row[data-endpoint]")`)
	lf.press(t, `a[data-nav="messages"]`)
	lf.wait(t, "the log", `document.querySelector("#log-rows")?.textContent.includes("succeeded")`)
	b.shotFrame(t, lf, "embed-05-light-delivery-log")

	for _, br := range []*browser{b, f, ro, lf} {
		br.mu.Lock()
		require.Empty(t, br.errors, "the pages threw no JavaScript errors")
		br.mu.Unlock()
	}
}
