// Package web is hookd's browser UI: the customer portal at /portal and the
// operator console at /console (plain HTML, CSS and JavaScript modules
// embedded in the binary, no build step), and a placeholder for /. The
// pages are clients of the public JSON API under /api/v1, authenticated by
// the portal session cookie (portal) or an admin key sent as a bearer key
// (console); this package serves files only and imports nothing else of
// hookd's.
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
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Config brands the portal so that it looks like the SaaS's own. Zero
// values mean the defaults.
type Config struct {
	// ProductName is shown in the header and the title ("Webhooks").
	ProductName string
	// LogoURL is an image shown before the product name: an absolute
	// http(s) URL or a path on this host. Empty shows none.
	LogoURL string
	// AccentColor is the colour of buttons and links, as #rrggbb
	// ("#4f46e5").
	AccentColor string
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
	return errors.Join(errs...)
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
	return c
}

// page is what the templates are given.
type page struct {
	ProductName string
	LogoURL     string
}

// Handler serves the web pages:
//
//	/                       a placeholder with links
//	/console                the operator console (a single page; it asks for an admin key)
//	/portal/                the customer portal (a single page)
//	/portal/expired         "this link has expired" (the API serves it for a spent login link)
//	/portal/theme.css       the accent colour
//	/portal/assets/...      the portal's and the console's scripts, styles and images
//
// Anything else is 404. GET /portal/login is the API's, not this handler's.
func Handler(cfg Config) http.Handler {
	cfg = cfg.withDefaults()
	tmpl := template.Must(template.ParseFS(templateFiles, "templates/*.html"))
	render := func(name string) []byte {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, page{ProductName: cfg.ProductName, LogoURL: cfg.LogoURL}); err != nil {
			panic(fmt.Sprintf("web: render %s: %v", name, err)) // the templates are ours and fixed
		}
		return buf.Bytes()
	}
	pages := map[string][]byte{
		"/":               render("home.html"),
		"/console":        render("console.html"),
		"/portal/":        render("portal.html"),
		"/portal/expired": render("expired.html"),
	}
	theme := []byte(themeCSS(cfg.AccentColor))
	assets, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix("/portal/assets/", http.FileServerFS(assets))

	mux := http.NewServeMux()
	for path, body := range pages {
		pattern := "GET " + path
		if strings.HasSuffix(path, "/") {
			pattern += "{$}" // the page itself, not everything under it
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			secure(w.Header())
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(body)
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
// calls only from this origin, no framing, no sniffing.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: http: data:; object-src 'none'; "+
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
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
