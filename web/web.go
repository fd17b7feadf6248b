// Package web is hookd's browser UI: the customer portal at /portal and the
// operator console at /console (plain HTML, CSS and JavaScript modules
// embedded in the binary, no build step), and a placeholder for /. The
// pages are clients of the public JSON API under /api/v1, authenticated by
// the portal session cookie (portal), a portal session token sent as a
// bearer token (the portal embedded in another site's page, /portal/embed)
// or an admin key sent as a bearer key (console); this package serves
// files only and imports nothing else of hookd's.
package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Config brands the portal so that it looks like the SaaS's own, and says
// which sites may embed it. Zero values mean the defaults.
type Config struct {
	// ProductName is shown in the header and the title ("Webhooks").
	ProductName string
	// LogoURL is an image shown before the product name: an absolute
	// http(s) URL or a path on this host. Empty shows none.
	LogoURL string
	// AccentColor is the colour of buttons and links, as #rrggbb
	// ("#4f46e5").
	AccentColor string
	// EmbedOrigins may show the portal's pages in an iframe, like
	// https://app.example.com (see ParseOrigin). Empty lets no site frame
	// any page; the console and the other pages never may.
	EmbedOrigins []string
}

// Defaults of Config.
const (
	DefaultProductName = "Webhooks"
	DefaultAccentColor = "#4f46e5"
)

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidColor tells whether s is a colour as #rrggbb.
func ValidColor(s string) bool { return colorPattern.MatchString(s) }

// Validate reports what is wrong with c, naming the setting at fault, so
// that a bad setting stops hookd at start rather than being ignored.
func (c Config) Validate() error {
	var errs []error
	if c.AccentColor != "" && !ValidColor(c.AccentColor) {
		errs = append(errs, fmt.Errorf("accent colour %q: must be #rrggbb, like #4f46e5", c.AccentColor))
	}
	if c.LogoURL != "" && !validLogo(c.LogoURL) {
		errs = append(errs, fmt.Errorf("logo URL %q: must be an absolute http(s) URL or a path starting with /", c.LogoURL))
	}
	if len(c.ProductName) > 100 {
		errs = append(errs, errors.New("product name: must be at most 100 characters"))
	}
	for _, o := range c.EmbedOrigins {
		if _, err := ParseOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("embed origin: %w", err))
		}
	}
	return errors.Join(errs...)
}

var originHost = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// ParseOrigin checks that s is a web origin, scheme://host[:port] with an
// http or https scheme, as a browser names the page that embeds the
// portal, and returns it in lower case without a trailing slash. Paths,
// queries, wildcards, user names and IPv6 addresses are refused: an origin
// goes into a Content-Security-Policy header as it is.
func ParseOrigin(s string) (string, error) {
	scheme, rest, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return "", fmt.Errorf("%q is not an origin: it must start with https:// or http://, like https://app.example.com", s)
	}
	rest = strings.TrimSuffix(rest, "/")
	host, port, hasPort := strings.Cut(rest, ":")
	if strings.ContainsAny(host, "/?#@*") || strings.ContainsAny(port, "/?#@*") {
		return "", fmt.Errorf("%q is not an origin: give only the scheme, host and port, like https://app.example.com, "+
			"with no path, query, user name or wildcard", s)
	}
	if !originHost.MatchString(host) {
		return "", fmt.Errorf("%q is not an origin: %q is not a host name", s, host)
	}
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", fmt.Errorf("%q is not an origin: the port must be a number from 1 to 65535", s)
		}
	}
	return scheme + "://" + rest, nil
}

func validLogo(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if u.Scheme == "" {
		return u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(s, "//")
	}
	return (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// withDefaults fills empty settings and replaces invalid ones by the
// defaults: a colour goes into CSS and a URL into an attribute, so nothing
// unchecked may reach the page.
func (c Config) withDefaults() Config {
	if c.ProductName == "" || len(c.ProductName) > 100 {
		c.ProductName = DefaultProductName
	}
	if !ValidColor(c.AccentColor) {
		c.AccentColor = DefaultAccentColor
	}
	if !validLogo(c.LogoURL) {
		c.LogoURL = ""
	}
	var origins []string
	for _, o := range c.EmbedOrigins {
		if o, err := ParseOrigin(o); err == nil && !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	c.EmbedOrigins = origins
	return c
}

// page is what the templates are given.
type page struct {
	ProductName string
	LogoURL     string
	Embed       bool // the portal in another site's iframe (/portal/embed)
}

// Handler serves the web pages:
//
//	/                       a placeholder with links
//	/console                the operator console (a single page; it asks for an admin key)
//	/portal/                the customer portal (a single page)
//	/portal/embed           the same, for an iframe: it logs in with the token in its URL's fragment
//	/portal/expired         "this link has expired" (the API serves it for a spent login link)
//	/portal/theme.css       the accent colour
//	/portal/assets/...      the portal's and the console's scripts, styles and images
//
// Anything else is 404. GET /portal/login is the API's, not this handler's.
//
// The portal's pages (/portal/, /portal/embed, /portal/expired) may be
// framed by cfg.EmbedOrigins and no one else; every other page by no one.
func Handler(cfg Config) http.Handler {
	cfg = cfg.withDefaults()
	tmpl := template.Must(template.ParseFS(templateFiles, "templates/*.html"))
	render := func(name string, embed bool) []byte {
		var buf bytes.Buffer
		p := page{ProductName: cfg.ProductName, LogoURL: cfg.LogoURL, Embed: embed}
		if err := tmpl.ExecuteTemplate(&buf, name, p); err != nil {
			panic(fmt.Sprintf("web: render %s: %v", name, err)) // the templates are ours and fixed
		}
		return buf.Bytes()
	}
	type served struct {
		body   []byte
		portal bool // may be framed by cfg.EmbedOrigins
	}
	pages := map[string]served{
		"/":               {render("home.html", false), false},
		"/console":        {render("console.html", false), false},
		"/portal/":        {render("portal.html", false), true},
		"/portal/embed":   {render("portal.html", true), true},
		"/portal/expired": {render("expired.html", false), true},
	}
	theme := []byte(themeCSS(cfg.AccentColor))
	assets, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix("/portal/assets/", http.FileServerFS(assets))

	mux := http.NewServeMux()
	for path, pg := range pages {
		pattern := "GET " + path
		if strings.HasSuffix(path, "/") {
			pattern += "{$}" // the page itself, not everything under it
		}
		var framers []string
		if pg.portal {
			framers = cfg.EmbedOrigins
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			secure(w.Header(), framers)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(pg.body)
		})
	}
	mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /portal", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/portal/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /portal/theme.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(theme)
	})
	mux.HandleFunc("GET /portal/assets/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		files.ServeHTTP(w, r)
	})
	return mux
}

// secure sets the headers every page carries: scripts, styles and API
// calls only from this origin, no sniffing, and no framing but by framers
// (checked origins; none refuses every site).
func secure(h http.Header, framers []string) {
	ancestors := "'none'"
	if len(framers) > 0 {
		ancestors = strings.Join(framers, " ")
	}
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: http: data:; object-src 'none'; "+
		"base-uri 'none'; form-action 'self'; frame-ancestors "+ancestors)
	h.Set("X-Content-Type-Options", "nosniff")
	if len(framers) == 0 {
		// For browsers without CSP level 2; with an allowlist there is no
		// X-Frame-Options equivalent, and frame-ancestors overrides it.
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Referrer-Policy", "no-referrer")
}

// themeCSS sets the accent colour and the colour of text on it (white or
// near-black, whichever reads better).
func themeCSS(accent string) string {
	var r, g, b int
	_, _ = fmt.Sscanf(accent, "#%02x%02x%02x", &r, &g, &b)
	// Relative luminance, roughly (sRGB weights without linearising).
	lum := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 255
	on := "#ffffff"
	if lum > 0.6 {
		on = "#111827"
	}
	return fmt.Sprintf(":root {\n  --accent: %s;\n  --on-accent: %s;\n}\n", strings.ToLower(accent), on)
}
