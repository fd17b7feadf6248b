package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/web"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

func TestPortalPageCarriesBranding(t *testing.T) {
	t.Parallel()
	h := web.Handler(web.Config{ProductName: "Acme <Hooks>", LogoURL: "https://cdn.example.com/logo.svg?a=1&b=2", AccentColor: "#0F766E"})

	res, body := get(t, h, "/portal/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	require.Contains(t, body, "<title>Acme &lt;Hooks&gt;</title>", "the product name is escaped")
	require.Contains(t, body, `src="https://cdn.example.com/logo.svg?a=1&amp;b=2"`)
	require.Contains(t, body, `<script type="module" src="/portal/assets/js/app.js">`)
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'")
	require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))

	res, body = get(t, h, "/portal/theme.css")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/css")
	require.Contains(t, body, "--accent: #0f766e;")
	require.Contains(t, body, "--on-accent: #ffffff;", "white reads better on a dark accent")
}

func TestDefaultsReplaceBadBranding(t *testing.T) {
	t.Parallel()
	cfg := web.Config{LogoURL: "javascript:alert(1)", AccentColor: "red; } body { display: none"}
	require.Error(t, cfg.Validate())
	h := web.Handler(cfg)
	_, body := get(t, h, "/portal/")
	require.Contains(t, body, "<title>"+web.DefaultProductName+"</title>")
	require.NotContains(t, body, "javascript:")
	require.NotContains(t, body, "brand-logo", "an unusable logo is left out")
	_, css := get(t, h, "/portal/theme.css")
	require.Contains(t, css, "--accent: "+web.DefaultAccentColor+";")
	require.NotContains(t, css, "display")
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  web.Config
		bad  string
	}{
		{"zero", web.Config{}, ""},
		{"good", web.Config{ProductName: "Acme", LogoURL: "https://acme.test/l.png", AccentColor: "#aabbcc"}, ""},
		{"path logo", web.Config{LogoURL: "/static/logo.png"}, ""},
		{"short colour", web.Config{AccentColor: "#abc"}, "accent colour"},
		{"named colour", web.Config{AccentColor: "teal"}, "accent colour"},
		{"relative logo", web.Config{LogoURL: "logo.png"}, "logo URL"},
		{"scheme-relative logo", web.Config{LogoURL: "//evil.test/x.png"}, "logo URL"},
		{"data logo", web.Config{LogoURL: "data:image/png;base64,AAAA"}, "logo URL"},
		{"long name", web.Config{ProductName: strings.Repeat("x", 101)}, "product name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if tc.bad == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.bad)
		})
	}
}

func TestPages(t *testing.T) {
	t.Parallel()
	h := web.Handler(web.Config{ProductName: "Acme"})
	for _, tc := range []struct {
		path, want string
		status     int
		ctype      string
	}{
		{"/", "operator console", http.StatusOK, "text/html"},
		{"/console", "Operator console", http.StatusOK, "text/html"},
		{"/portal/expired", "This link has expired. Ask for a new one.", http.StatusOK, "text/html"},
		{"/portal/assets/portal.css", ".topbar", http.StatusOK, "text/css"},
		{"/portal/assets/js/app.js", "import", http.StatusOK, "javascript"},
		{"/portal/assets/favicon.svg", "<svg", http.StatusOK, "image/svg+xml"},
		{"/portal/assets/", "", http.StatusNotFound, ""},
		{"/portal/assets/js/", "", http.StatusNotFound, ""},
		{"/portal/nope", "", http.StatusNotFound, ""},
		{"/elsewhere", "", http.StatusNotFound, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			res, body := get(t, h, tc.path)
			require.Equal(t, tc.status, res.StatusCode, "body: %s", body)
			require.Contains(t, body, tc.want)
			require.Contains(t, res.Header.Get("Content-Type"), tc.ctype)
		})
	}
	res, _ := get(t, h, "/portal")
	require.Equal(t, http.StatusMovedPermanently, res.StatusCode)
	require.Equal(t, "/portal/", res.Header.Get("Location"))
}

// TestScriptsNeverWriteHTML keeps the portal's scripts from turning data
// into markup: every text reaches the page through textContent or
// attribute values (the h() helper), never as HTML.
func TestScriptsNeverWriteHTML(t *testing.T) {
	t.Parallel()
	sink := regexp.MustCompile(`\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	var files int
	err := filepath.WalkDir("static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		files++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			require.False(t, sink.MatchString(line), "%s:%d writes HTML: %s", path, i+1, strings.TrimSpace(line))
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 5)
}

func TestFraming(t *testing.T) {
	t.Parallel()
	refuses := func(t *testing.T, res *http.Response) {
		t.Helper()
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	}
	paths := []string{"/", "/console", "/portal/", "/portal/embed", "/portal/expired"}

	// No embed origins: no page may be framed.
	closed := web.Handler(web.Config{})
	for _, p := range paths {
		res, _ := get(t, closed, p)
		require.Equal(t, http.StatusOK, res.StatusCode, p)
		refuses(t, res)
	}

	h := web.Handler(web.Config{EmbedOrigins: []string{"https://App.Example.com/", "http://127.0.0.2:8443", "https://app.example.com"}})
	for _, p := range []string{"/portal/", "/portal/embed", "/portal/expired"} {
		res, _ := get(t, h, p)
		csp := res.Header.Get("Content-Security-Policy")
		require.True(t, strings.HasSuffix(csp, "; frame-ancestors https://app.example.com http://127.0.0.2:8443"),
			"%s: exactly the origins, normalised and once each: %s", p, csp)
		require.Contains(t, csp, "default-src 'self'", "the rest of the policy stays")
		require.Empty(t, res.Header.Values("X-Frame-Options"), "%s: DENY would override nothing in new browsers but block old ones", p)
	}
	for _, p := range []string{"/", "/console"} {
		res, _ := get(t, h, p)
		refuses(t, res)
	}

	// The embedded page is the portal, marked for embedding, and its
	// brand link stays inside the frame.
	_, body := get(t, h, "/portal/embed")
	require.Contains(t, body, `<html lang="en" data-mode="embed">`)
	require.Contains(t, body, `<script type="module" src="/portal/assets/js/app.js">`)
	require.Contains(t, body, `class="brand" href="#/endpoints"`)
	_, body = get(t, h, "/portal/")
	require.Contains(t, body, `<html lang="en">`)
	require.Contains(t, body, `class="brand" href="/portal/"`)
}

func TestParseOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, bad string
	}{
		{"https://app.example.com", "https://app.example.com", ""},
		{" HTTPS://App.Example.COM/ ", "https://app.example.com", ""},
		{"http://127.0.0.2:8080", "http://127.0.0.2:8080", ""},
		{"http://localhost:3000", "http://localhost:3000", ""},
		{"app.example.com", "", "must start with https:// or http://"},
		{"ftp://app.example.com", "", "must start with https:// or http://"},
		{"https://app.example.com/dashboard", "", "no path"},
		{"https://app.example.com?x=1", "", "no path, query"},
		{"https://*.example.com", "", "wildcard"},
		{"https://user@app.example.com", "", "user name"},
		{"https://app.example.com:0", "", "port must be a number from 1 to 65535"},
		{"https://app.example.com:99999", "", "port must be"},
		{"https://app.example.com:https", "", "port must be"},
		{"https://", "", "is not a host name"},
		{"https://app.example.com; script-src 'self'", "", "is not a host name"},
		{"https://app.example.com https://evil.example", "", "no path"},
		{"https://[::1]:8080", "", "is not a host name"},
		{"'self'", "", "must start with"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := web.ParseOrigin(tc.in)
			if tc.bad != "" {
				require.ErrorContains(t, err, tc.bad)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	require.ErrorContains(t, web.Config{EmbedOrigins: []string{"https://ok.example.com", "nope"}}.Validate(), `embed origin: "nope" is not an origin`)
}
