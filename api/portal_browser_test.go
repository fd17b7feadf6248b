package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/web"
)

// chromiumPath is Debian's chromium, which CI installs.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless chromium driven through the DevTools protocol.
type browser struct {
	ctx    context.Context
	shots  string // where screenshots go
	mu     sync.Mutex
	errors []string // uncaught exceptions in the pages
	logs   []string // the browser's log (failed requests and the like)
}

// trouble is what the browser reported, for a failure message.
func (b *browser) trouble() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("exceptions: %q; log: %q", b.errors, b.logs)
}

// newBrowser starts chromium with a fresh profile and flags added to the
// defaults. It talks to loopback only: background services are off and
// every host name but 127.0.0.1 fails to resolve.
func newBrowser(t *testing.T, flags ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the portal's browser tests need Debian's chromium at %s: install the chromium package "+
			"(apt-get install chromium; .ci/run installs it): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, flags...)
	dir := os.Getenv("HOOKD_SCREENSHOTS_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hookd-portal-screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	b := &browser{shots: dir}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithListener(b.record))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	b.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", chromiumPath, err)
	}
	return b
}

// record keeps what the browser reports: exceptions and log entries.
func (b *browser) record(ev any) {
	var d *runtime.ExceptionDetails
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		d = e.ExceptionDetails
	case *log.EventEntryAdded:
		b.mu.Lock()
		b.logs = append(b.logs, fmt.Sprintf("%s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL))
		b.mu.Unlock()
	}
	if d == nil {
		return
	}
	msg := d.Text
	if d.Exception != nil {
		msg += " " + d.Exception.Description
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// do runs actions in the browser, each within a time limit.
func (b *browser) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for _, a := range actions {
		ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
		err := chromedp.Do(ctx, a)
		cancel()
		if err != nil {
			b.shot(t, "failure")
			t.Fatalf("browser: %v; the page says: %s; %s", err, b.text(t, "main"), b.trouble())
		}
	}
}

// eval evaluates JavaScript in the page.
func eval[T any](t *testing.T, b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	require.NoError(t, err, "evaluate %s", expr)
	return v
}

// click clicks the element the CSS selector sel finds first.
func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// setValue sets the value of a form field.
func setValue(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), value)
}

// wait polls a JavaScript condition until it holds.
func (b *browser) wait(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.shot(t, "failure")
			t.Fatalf("browser: waited in vain for %s (%s); the page says: %s; %s", what, expr, b.text(t, "main"), b.trouble())
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// waitText waits until the element sel contains text.
func (b *browser) waitText(t *testing.T, sel, text string) {
	t.Helper()
	b.wait(t, fmt.Sprintf("%q in %s", text, sel),
		fmt.Sprintf(`document.querySelector(%q)?.textContent.includes(%q)`, sel, text))
}

// text is the text of the first element sel matches ("" when none).
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel)))
	return s
}

// fetch calls the API from the page, as the portal's scripts do, and
// returns the status.
func (b *browser) fetch(t *testing.T, method, path, csrf string, body any) int {
	t.Helper()
	headers := map[string]string{"Content-Type": "application/json"}
	if csrf != "" {
		headers["X-CSRF-Token"] = csrf
	}
	h, _ := json.Marshal(headers)
	payload := "undefined"
	if body != nil {
		raw, _ := json.Marshal(body)
		q, _ := json.Marshal(string(raw))
		payload = string(q)
	}
	return eval[int](t, b, fmt.Sprintf(`fetch(%q, {method: %q, headers: %s, body: %s, credentials: "same-origin"}).then(r => r.status)`,
		path, method, h, payload), chromedp.EvalAwaitPromise)
}

// shot saves a full-page PNG of what the browser shows.
func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	// Toasts of earlier steps would hide what the page shows.
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll(".toast").forEach(e => e.remove()), true`))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// TestPortalInBrowser drives the customer portal in chromium through what a
// customer does: log in with a link, add an endpoint, test it, rotate its
// secret, look at a failure and resend it, and try to reach another
// customer's things.
func TestPortalInBrowser(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks", AccentColor: "#0f766e"}})
	rc := newHookReceiver(t)
	tenant := s.newTenant(t, "Globex Corporation")
	other := s.newTenant(t, "Initech")
	example := `{"invoice_id": "in_1NqT3x", "customer": "cus_9s8d", "amount_paid": 4200, "currency": "eur"}`
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/event-types", adminKey, `{"name": "invoice.paid",
		"description": "An invoice was paid in full.",
		"schema": {"type": "object", "required": ["invoice_id", "amount_paid"], "properties": {
			"invoice_id": {"type": "string"}, "customer": {"type": "string"},
			"amount_paid": {"type": "integer", "minimum": 0}, "currency": {"type": "string"}}},
		"example": `+example+`}`)
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/event-types", adminKey,
		`{"name": "customer.created", "description": "A customer signed up.", "example": {"customer": "cus_9s8d", "email": "ada@example.com"}}`)
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/event-types", adminKey, `{"name": "payout.sent"}`)

	// The other customer's endpoint and message, which must stay out of reach.
	theirs := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+other+"/endpoints", adminKey,
		map[string]any{"url": "http://127.0.0.1:9/initech", "description": "Initech's", "disabled": true})
	theirID := theirs["id"].(string)
	theirMsg := s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+other+"/messages", adminKey,
		map[string]any{"event_type": "customer.created", "payload": map[string]any{"customer": "cus_x"}})["id"].(string)

	link := s.mintLink(t, tenant)
	b := newBrowser(t)
	t.Logf("screenshots of the portal: %s", b.shots)

	// Log in: the link sets the cookie and opens the (empty) endpoint list.
	b.do(t, chromedp.Navigate(link))
	b.waitText(t, "main", "No endpoints yet — add one")
	b.waitText(t, "#tenant-name", "Globex Corporation")
	b.waitText(t, ".brand-name", "Acme Webhooks")
	loc := eval[string](t, b, "location.href")
	require.Equal(t, s.url+"/portal/#/endpoints", loc, "the token is gone from the address bar")
	b.shot(t, "01-endpoints-empty")

	// Add an endpoint. A bad URL is refused next to the field.
	b.do(t, click(`main a[href="#/endpoints/new"]`))
	b.wait(t, "the form", `document.querySelector("#ep-url")`)
	b.do(t,
		setValue(`#ep-url`, "ftp://files.example/hook"),
		click(`#save-endpoint`))
	b.wait(t, "the url error", `document.querySelector('[data-field="url"] .field-error')`)
	b.shot(t, "02-endpoint-form-error")
	b.do(t,
		setValue(`#ep-url`, rc.url),
		setValue(`#ep-description`, "Billing service (production)"),
		click(`input[value="invoice.paid"]`),
		click(`input[value="customer.created"]`),
		click(`#add-header`),
		setValue(`.header-row .hk`, "X-Team"),
		setValue(`.header-row .hv`, "billing"),
		// A credential header, hidden by its name, and one the customer
		// marks secret.
		click(`#add-header`),
		setValue(`.header-row:nth-child(2) .hk`, "Authorization"),
		setValue(`.header-row:nth-child(2) .hv`, "Bearer tok_portal_8c1"),
		click(`#add-header`),
		setValue(`.header-row:nth-child(3) .hk`, "X-Tenant-Pin"),
		setValue(`.header-row:nth-child(3) .hv`, "pin_portal_3f7"),
		click(`.header-row:nth-child(3) .hs`),
		click(`#save-endpoint`))
	b.waitText(t, "#endpoint-url", rc.url)
	list := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints", adminKey, nil)["data"].([]any)
	require.Len(t, list, 1)
	ep := list[0].(map[string]any)
	epID := ep["id"].(string)
	require.ElementsMatch(t, []any{"invoice.paid", "customer.created"}, ep["event_types"])
	require.Equal(t, map[string]any{"X-Team": "billing", "Authorization": "[redacted]", "X-Tenant-Pin": "[redacted]"}, ep["headers"])
	require.Equal(t, []any{"X-Tenant-Pin"}, ep["secret_headers"])
	b.waitText(t, "main", "X-Tenant-Pin: [redacted]")
	shown := b.text(t, "main")
	require.NotContains(t, shown, "tok_portal_8c1", "the page never shows a secret header's value")
	require.NotContains(t, shown, "pin_portal_3f7")

	// The secret is hidden until revealed; the receiver verifies with what
	// the page shows.
	require.NotContains(t, b.text(t, "#secret-value"), "whsec_M", "hidden at first")
	b.do(t, click(`#reveal-secret`))
	b.wait(t, "the secret", `/^whsec_[A-Za-z0-9+/=]{20,}$/.test(document.querySelector("#secret-value").textContent)`)
	secret := b.text(t, "#secret-value")
	rc.set(secret, http.StatusOK, `{"received": true}`)

	// Send a test event and see it delivered.
	b.do(t,
		setValue(`#test-event-type`, "invoice.paid"),
		click(`#send-test`))
	b.waitText(t, "#test-result", "Delivered")
	require.Contains(t, b.text(t, "#test-result"), "200 OK")
	got := rc.waitFor(t, 1)
	require.True(t, got[0].verified, "the signature verifies with the secret the portal shows")
	require.Equal(t, example, string(got[0].body))
	require.Equal(t, "billing", got[0].header.Get("X-Team"))
	require.Equal(t, "Bearer tok_portal_8c1", got[0].header.Get("Authorization"), "the receiver gets the real values")
	require.Equal(t, "pin_portal_3f7", got[0].header.Get("X-Tenant-Pin"))
	b.waitText(t, "main", "Recent deliveries")
	b.shot(t, "03-endpoint-detail")

	// Rotate the secret with no grace period: only the new one signs.
	b.do(t,
		setValue(`#grace-hours`, "0"),
		click(`#rotate-secret`),
		click(`dialog button[value="ok"]`))
	b.wait(t, "the new secret", fmt.Sprintf(`(t => t.startsWith("whsec_") && t !== %q)(document.querySelector("#secret-value").textContent)`, secret))
	rotated := b.text(t, "#secret-value")
	rc.set(rotated, http.StatusOK, `{"received": true}`)
	sendTest(t, b)
	b.waitText(t, "#test-result", "Delivered")
	got = rc.waitFor(t, 2)
	require.True(t, got[1].verified, "signed with the new secret")
	old, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	require.Error(t, old.Verify(got[1].body, got[1].header), "the old secret stopped at once")

	// The receiver breaks: the test shows the failure, the log its answer.
	rc.set(rotated, http.StatusInternalServerError, "nope")
	sendTest(t, b)
	b.waitText(t, "#test-result", "Failed")
	require.Contains(t, b.text(t, "#test-result"), "500 Internal Server Error")
	b.do(t, click(`a[data-nav="messages"]`))
	b.wait(t, "three messages with their status", `document.querySelectorAll("#log-rows a[data-message]").length === 3 &&
		document.querySelector("#log-rows").textContent.includes("failed") && !document.querySelector("#log-rows").textContent.includes("…")`)
	b.shot(t, "04-delivery-log")
	b.do(t, click(`#log-rows a[data-message]`)) // the newest: the failed one
	b.waitText(t, "#attempts pre.body", "nope")
	require.Contains(t, b.text(t, "#attempts"), "500 Internal Server Error")
	require.NotContains(t, b.text(t, "main"), "tok_portal_8c1", "nor does the delivery log")
	require.Contains(t, b.text(t, "#attempts"), "X-Receiver", "the response headers are shown")
	b.waitText(t, "main", "in_1NqT3x") // the payload
	b.shot(t, "05-message-failed")

	// Fixed: resend it and see it succeed.
	rc.set(rotated, http.StatusOK, `{"received": true}`)
	b.do(t, click(`button[data-resend="`+epID+`"]`))
	b.wait(t, "the second attempt", `document.querySelectorAll("#attempts details.attempt").length === 2 &&
		document.querySelector("#attempts details.attempt summary").textContent.includes("200 OK")`)
	b.waitText(t, "main table", "succeeded")
	got = rc.waitFor(t, 4)
	require.True(t, got[3].verified)
	require.Equal(t, got[2].header.Get("webhook-id"), got[3].header.Get("webhook-id"), "a resend keeps the webhook-id")
	b.shot(t, "06-message-resent")

	// Recover failed since…: one more failure, recovered from the log
	// filtered by the endpoint.
	rc.set(rotated, http.StatusServiceUnavailable, "maintenance")
	failed := s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints/"+epID+"/test", adminKey,
		map[string]any{"event_type": "customer.created"})["message_id"].(string)
	rc.waitFor(t, 5)
	waitDeliveryStatus(t, s, tenant, failed, "failed")
	rc.set(rotated, http.StatusOK, "ok")
	b.do(t, chromedp.Navigate(s.url+"/portal/#/messages?endpoint_id="+epID+"&status=failed"))
	b.wait(t, "the failed message", `document.querySelectorAll("#log-rows a[data-message]").length === 1`)
	b.do(t, click(`#recover`))
	b.waitText(t, "#toasts", "Sending 1 failed deliveries again.")
	waitDeliveryStatus(t, s, tenant, failed, "succeeded")

	// Edit, disable and enable; the list shows health at a glance.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+epID+"/edit"))
	b.wait(t, "the edit form", `document.querySelector("#ep-description")?.value === "Billing service (production)"`)
	// The rows come in name order: Authorization, X-Team, X-Tenant-Pin.
	require.Equal(t, "Authorization", eval[string](t, b, `document.querySelector(".header-row:nth-child(1) .hk").value`))
	require.Empty(t, eval[string](t, b, `document.querySelector(".header-row:nth-child(1) .hv").value`), "a hidden value is not in the form")
	require.True(t, eval[bool](t, b, `document.querySelector(".header-row:nth-child(1) .hs").disabled`), "a credential header is always secret")
	require.True(t, eval[bool](t, b, `document.querySelector(".header-row:nth-child(3) .hs").checked`))
	b.shot(t, "07-endpoint-edit")
	b.do(t,
		setValue(`#ep-description`, "Billing service"),
		setValue(`.header-row:nth-child(2) .hv`, "billing-eu"),
		click(`#save-endpoint`))
	b.waitText(t, "#endpoint-description", "Billing service")
	stored, err := s.st.GetEndpoint(context.Background(), tenant, uuid.MustParse(epID))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"X-Team": "billing-eu", "Authorization": "Bearer tok_portal_8c1", "X-Tenant-Pin": "pin_portal_3f7"},
		stored.Headers, "saving the form keeps the hidden values")
	require.Equal(t, []string{"X-Tenant-Pin"}, stored.SecretHeaders)
	b.do(t,
		click(`#toggle-endpoint`),
		setValue(`dialog input`, "moving servers"),
		click(`dialog button[value="ok"]`))
	b.waitText(t, "#disabled-banner", "This endpoint is disabled")
	b.waitText(t, "#disabled-reason", "moving servers")
	b.do(t, click(`a[data-nav="endpoints"]`))
	b.waitText(t, "#main .rows", "moving servers")
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+epID))
	b.waitText(t, "#toggle-endpoint", "Enable")
	b.do(t, click(`#toggle-endpoint`))
	b.waitText(t, "#toggle-endpoint", "Disable")

	// Delete with confirmation.
	spare := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey,
		map[string]any{"url": "http://127.0.0.1:9/old-hook", "description": "Old staging hook"})["id"].(string)
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+spare))
	b.waitText(t, "#endpoint-url", "old-hook")
	b.do(t,
		click(`#delete-endpoint`),
		click(`dialog button[value="ok"]`))
	b.wait(t, "the list without it", `location.hash === "#/endpoints" && document.querySelectorAll("#main a.row[data-endpoint]").length === 1`)
	status, _, _ := s.call(t, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+spare, adminKey, nil, nil)
	require.Equal(t, http.StatusNotFound, status)
	b.wait(t, "the health numbers", `document.querySelector("#main .rows").textContent.includes("%")`)
	b.shot(t, "07-endpoints")

	// The event catalog and how to verify, with the secret filled in.
	b.do(t, click(`a[data-nav="event-types"]`))
	b.wait(t, "the catalog", `document.querySelectorAll("[data-event-type]").length === 3`)
	require.Contains(t, b.text(t, `[data-event-type="invoice.paid"]`), "amount_paid")
	b.shot(t, "08-event-catalog")
	b.do(t, click(`a[data-nav="verify"]`))
	b.waitText(t, "#verify-code", "whsec_YOUR_ENDPOINT_SECRET")
	b.do(t, click(`#fill-secret`))
	b.waitText(t, "#verify-code", rotated)
	require.Contains(t, b.text(t, "#verify-code"), `from "standardwebhooks"`)
	b.do(t, click(`.tab[data-lang="go"]`))
	b.waitText(t, "#verify-code", "standardwebhooks.NewWebhook(\""+rotated+"\")")
	b.shot(t, "09-verify")

	// Another customer's things, through the UI: not found.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+theirID))
	b.waitText(t, "main", "Not found")
	require.NotContains(t, b.text(t, "main"), "Initech's")
	b.shot(t, "10-other-tenant-not-found")
	b.do(t, chromedp.Navigate(s.url+"/portal/#/messages/"+theirMsg))
	b.waitText(t, "main", "Not found")

	// ... and through the API with the session cookie, from the page and
	// from outside it: refused, and nothing changed.
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{})
	require.NoError(t, err)
	var sess *portalSession
	for _, c := range cookies.Cookies {
		if c.Name == api.SessionCookie {
			require.True(t, c.HTTPOnly, "scripts cannot read the session cookie")
			sess = &portalSession{cookie: &http.Cookie{Name: c.Name, Value: c.Value}}
		}
	}
	require.NotNil(t, sess)
	sess.csrf = s.must(t, http.StatusOK, http.MethodGet, "/api/v1/portal/session", sess, nil)["csrf_token"].(string)
	theirPath := "/api/v1/tenants/" + other + "/endpoints/" + theirID
	ownPath := "/api/v1/tenants/" + tenant + "/endpoints/" + theirID
	require.Equal(t, http.StatusNotFound, b.fetch(t, "GET", theirPath, "", nil))
	require.Equal(t, http.StatusNotFound, b.fetch(t, "DELETE", theirPath, sess.csrf, nil))
	require.Equal(t, http.StatusNotFound, b.fetch(t, "PATCH", ownPath, sess.csrf, map[string]any{"disabled": false}))
	require.Equal(t, http.StatusForbidden, b.fetch(t, "POST", "/api/v1/tenants/"+tenant+"/messages", sess.csrf,
		map[string]any{"event_type": "invoice.paid", "payload": map[string]any{}}))
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{http.MethodGet, theirPath, nil, http.StatusNotFound},
		{http.MethodGet, theirPath + "/secret", nil, http.StatusNotFound},
		{http.MethodPatch, theirPath, map[string]any{"disabled": false}, http.StatusNotFound},
		{http.MethodDelete, ownPath, nil, http.StatusNotFound},
		{http.MethodPost, ownPath + "/test", map[string]any{"event_type": "invoice.paid"}, http.StatusNotFound},
		{http.MethodPost, "/api/v1/tenants/" + tenant + "/messages/" + theirMsg + "/resend", nil, http.StatusNotFound},
		{http.MethodGet, "/api/v1/tenants/" + other + "/messages", nil, http.StatusNotFound},
		{http.MethodPost, "/api/v1/tenants/" + other + "/portal-links", nil, http.StatusNotFound},
		{http.MethodPost, "/api/v1/tenants/" + tenant + "/portal-links", nil, http.StatusForbidden},
	} {
		status, header, raw := s.call(t, tc.method, tc.path, sess, tc.body, nil)
		requireProblem(t, tc.status, status, header, raw)
	}
	after := s.must(t, http.StatusOK, http.MethodGet, theirPath, adminKey, nil)
	require.Equal(t, true, after["disabled"], "their endpoint is as it was")
	require.Equal(t, "Initech's", after["description"])

	// CSRF: the cookie without the token changes nothing.
	require.Equal(t, http.StatusForbidden, b.fetch(t, "POST", "/api/v1/tenants/"+tenant+"/endpoints", "",
		map[string]any{"url": "http://127.0.0.1:9/csrf"}))
	status, header, raw := s.call(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", nil,
		map[string]any{"url": "http://127.0.0.1:9/csrf"}, http.Header{"Cookie": {sess.cookie.String()}})
	p := requireProblem(t, http.StatusForbidden, status, header, raw)
	require.Contains(t, p.Detail, "missing or wrong CSRF token")
	require.Len(t, s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints", adminKey, nil)["data"], 1)

	// On a phone.
	b.do(t, chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.url+"/portal/#/endpoints"))
	b.wait(t, "the list on a phone", `document.querySelector("#main .rows")?.textContent.includes("%")`)
	require.False(t, eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`), "no sideways scrolling at 390px")
	b.shot(t, "11-phone-endpoints")
	b.do(t, chromedp.Navigate(s.url+"/portal/#/messages/"+failed))
	b.waitText(t, "#attempts", "maintenance")
	require.False(t, eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`), "no sideways scrolling at 390px")
	b.shot(t, "12-phone-message")
	b.do(t, chromedp.EmulateViewport(1280, 900))

	// The used link: the expired page.
	b.do(t, chromedp.Navigate(link))
	b.waitText(t, "main", "This link has expired. Ask for a new one.")
	b.shot(t, "13-link-expired")
	status, _, _ = s.call(t, http.MethodGet, link, nil, nil, nil)
	require.Equal(t, http.StatusGone, status)

	// Log out: the session is over for the API too.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints"))
	b.wait(t, "the list", `document.querySelector("#main .rows")`)
	b.do(t, click(`#logout`))
	b.waitText(t, "main", "Your session has ended")
	b.shot(t, "14-logged-out")
	status, _, _ = s.call(t, http.MethodGet, "/api/v1/portal/session", sess, nil, nil)
	require.Equal(t, http.StatusUnauthorized, status)

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.errors, "the pages threw no JavaScript errors")
}

// sendTest clicks "Send test event" once the previous one has its answer.
func sendTest(t *testing.T, b *browser) {
	t.Helper()
	b.wait(t, "the send button", `!document.querySelector("#send-test").disabled`)
	b.do(t, click(`#send-test`))
	b.wait(t, "the new test", `!document.querySelector("#test-result").textContent.includes("Delivered")`)
}

// waitDeliveryStatus waits until a message's only delivery has status.
func waitDeliveryStatus(t *testing.T, s *portalStack, tenant, message, status string) {
	t.Helper()
	require.Eventually(t, func() bool {
		m := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/messages/"+message, adminKey, nil)
		ds, _ := m["deliveries"].([]any)
		return len(ds) == 1 && ds[0].(map[string]any)["status"] == status
	}, 15*time.Second, 20*time.Millisecond, "the delivery of %s never became %s", message, status)
}
