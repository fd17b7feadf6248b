// Package api is hookd's REST API: the echo server, its routes, auth, the
// JSON wire types and the OpenAPI document. It maps store and delivery
// errors to HTTP in one place (problem.go).
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// Config wires the API. Zero values mean defaults.
type Config struct {
	Store    *store.Store
	Delivery *delivery.Service
	// AdminKey is the bootstrap admin key (HOOKD_ADMIN_KEY); more admin keys
	// may be stored hashed in the database.
	AdminKey string
	// Web serves the portal and console pages; nil serves a placeholder.
	Web http.Handler
	// Logger receives request errors; nil discards.
	Logger *slog.Logger
	// MaxPayloadBytes bounds a published payload (1 MiB).
	MaxPayloadBytes int64
	// HTTPSOnly refuses endpoint URLs that are not https.
	HTTPSOnly bool
	// Version is reported by /healthz.
	Version string
	// Registry receives the API's metrics and is served on /metrics; nil
	// makes a new one.
	Registry *prometheus.Registry
	// PublicURL is where browsers reach hookd, like https://hooks.example.com;
	// portal links start with it. Empty derives it from each request's
	// scheme and Host.
	PublicURL string
	// PortalSessionTTL is how long a portal session lasts (7 days).
	PortalSessionTTL time.Duration
	// Branding is the portal's look, reported by GET /api/v1/portal/session.
	Branding Branding
	// FailingAfter is how long every attempt must have failed for the API
	// to report an endpoint failing (HOOKD_FAILING_AFTER; 1 hour).
	FailingAfter time.Duration
	// TracerProvider makes a span for every /api/ request (trace.go); nil
	// makes none.
	TracerProvider trace.TracerProvider
	// PortalEmbedOrigins are the sites that may embed the portal in an
	// iframe (HOOKD_PORTAL_EMBED_ORIGINS; the web handler enforces it). With
	// none, embed links are refused and a link opened in an iframe logs in
	// as usual.
	PortalEmbedOrigins []string
	// MaxEndpointsPerTenant bounds how many endpoints one tenant may have
	// (100); it is counted in the database when one is created.
	MaxEndpointsPerTenant int
	// TestSendsPerMinute bounds how many test events one endpoint may be
	// sent a minute (10), counted in each process.
	TestSendsPerMinute int
}

// server holds the handlers' dependencies.
type server struct {
	cfg     Config
	st      *store.Store
	svc     *delivery.Service
	log     *slog.Logger
	keys    *keyCache
	checker *delivery.Validator // checks publishes, as PublishTx does
	metrics *metrics
	echo    *echo.Echo
	// adminHash is HashKey(cfg.AdminKey), nil without a bootstrap key.
	adminHash []byte
	testSends *sendLimiter
}

// New returns the HTTP handler of the whole API (and the web pages).
func New(cfg Config) http.Handler {
	cfg.MaxPayloadBytes = cmp.Or(cfg.MaxPayloadBytes, 1<<20)
	if cfg.FailingAfter > 0 {
		failingAfter = cfg.FailingAfter // the same for every server of the process
	}
	cfg.MaxEndpointsPerTenant = cmp.Or(cfg.MaxEndpointsPerTenant, defaultMaxEndpoints)
	cfg.TestSendsPerMinute = cmp.Or(cfg.TestSendsPerMinute, defaultTestSends)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = noop.NewTracerProvider()
	}
	s := &server{cfg: cfg, st: cfg.Store, svc: cfg.Delivery, log: cfg.Logger, keys: newKeyCache(10 * time.Second),
		checker: &delivery.Validator{MaxPayloadBytes: cfg.MaxPayloadBytes}}
	s.metrics = newMetrics(cfg.Registry)
	s.testSends = newSendLimiter(cfg.TestSendsPerMinute)
	if cfg.AdminKey != "" {
		s.adminHash = HashKey(cfg.AdminKey)
	}

	e := echo.New()
	s.echo = e
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover())
	e.Use(traceRequests(cfg.TracerProvider.Tracer(tracerName, trace.WithInstrumentationVersion(cmp.Or(cfg.Version, "dev")))))
	e.Use(s.metrics.middleware)
	e.Use(noSniff)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	e.GET("/api/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/json", openAPIDoc)
	})

	v1 := e.Group("/api/v1", s.limitBody, s.authenticate, s.checkInput, refuseOperationalTenant)
	v1.PUT("/tenants/:tenant", s.putTenant, adminOnly)
	v1.GET("/tenants", s.listTenants, adminOnly)
	v1.GET("/tenants/:tenant", s.getTenant, adminOnly)
	v1.DELETE("/tenants/:tenant", s.deleteTenant, adminOnly)

	v1.POST("/event-types", s.createEventType, adminOnly)
	v1.GET("/event-types", s.listEventTypes)
	v1.GET("/event-types/:name", s.getEventType)
	v1.PUT("/event-types/:name", s.putEventType, adminOnly)
	v1.PATCH("/event-types/:name", s.patchEventType, adminOnly)
	v1.DELETE("/event-types/:name", s.archiveEventType, adminOnly)
	v1.GET("/event-types/:name/versions/:version/endpoints", s.listVersionEndpoints, adminOnly) // version.go

	t := v1.Group("/tenants/:tenant", s.tenantScope)
	t.POST("/keys", s.createKey, adminOnly)
	t.GET("/keys", s.listKeys, adminOnly)
	t.DELETE("/keys/:key", s.revokeKey, adminOnly)

	t.POST("/endpoints", s.createEndpoint)
	t.GET("/endpoints", s.listEndpoints)
	t.GET("/endpoints/:endpoint", s.getEndpoint)
	t.PATCH("/endpoints/:endpoint", s.patchEndpoint)
	t.DELETE("/endpoints/:endpoint", s.deleteEndpoint)
	t.GET("/endpoints/:endpoint/secret", s.getSecret)
	t.POST("/endpoints/:endpoint/secret/rotate", s.rotateSecret)
	t.POST("/endpoints/:endpoint/recover", s.recoverEndpoint)
	t.GET("/endpoints/:endpoint/attempts", s.endpointAttempts)
	t.POST("/endpoints/:endpoint/backfill", s.backfillEndpoint)

	t.POST("/messages", s.publish, adminOnly)
	t.GET("/messages", s.listMessages)
	t.GET("/messages/:message", s.getMessage)
	t.GET("/messages/:message/attempts", s.messageAttempts)
	t.POST("/messages/:message/resend", s.resend)
	t.DELETE("/messages/:message/content", s.expungeMessage, adminOnly)
	t.GET("/attempts/:attempt", s.getAttempt)

	v1.POST("/replays", s.createReplay, adminOnly)
	v1.GET("/replays", s.listReplays, adminOnly)
	v1.GET("/replays/:replay", s.getReplay, adminOnly)

	// Across tenants, for the operators' console.
	v1.GET("/endpoints/failing", s.listFailingEndpoints, adminOnly)
	v1.GET("/deliveries", s.listDeliveries, adminOnly)
	v1.GET("/queue", s.getQueue, adminOnly)

	// The SaaS's own operational endpoints (operational.go).
	op := v1.Group("/operational-endpoints", adminOnly, operationalScope)
	op.POST("", s.createOperationalEndpoint)
	op.GET("", s.listEndpoints)
	op.GET("/:endpoint", s.getEndpoint)
	op.PATCH("/:endpoint", s.patchEndpoint)
	op.DELETE("/:endpoint", s.deleteEndpoint)
	op.GET("/:endpoint/secret", s.getSecret)
	op.POST("/:endpoint/secret/rotate", s.rotateSecret)
	op.GET("/:endpoint/attempts", s.endpointAttempts)

	// The customer portal: links, sessions and what its pages need.
	e.GET("/portal/login", s.portalLogin)
	e.POST("/api/v1/portal/sessions", s.createPortalSession, s.limitBody, s.checkInput) // the token is its credential
	v1.GET("/portal/session", s.getPortalSession)
	v1.POST("/portal/logout", s.portalLogout)
	t.POST("/portal-links", s.createPortalLink, adminOnly)
	t.POST("/sessions/revoke", s.revokePortalSessions, adminOnly)
	t.GET("/endpoints/:endpoint/stats", s.endpointStats)
	t.POST("/endpoints/:endpoint/test", s.sendTestEvent)
	t.POST("/endpoints/:endpoint/check", s.startCheck)
	t.GET("/endpoints/:endpoint/checks", s.listChecks)
	t.GET("/endpoints/:endpoint/checks/:check", s.getCheck)

	web := cfg.Web
	if web == nil {
		web = placeholder{}
	}
	e.RouteNotFound("/api/*", noRoute)
	e.Any("/*", echo.WrapHandler(web))
	return e
}

// maxBodyBytes bounds the body of every API request but publish, which has
// its own limit (MaxPayloadBytes, plus room for the rest of the body).
const maxBodyBytes = 256 << 10

// limitBody caps request bodies so that no route reads without bound.
func (s *server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Body != nil {
			limit := int64(maxBodyBytes)
			if isPublish(c) {
				// Up to delivery.MaxPayloads payloads of versions.
				limit = delivery.MaxPayloads*s.cfg.MaxPayloadBytes + 64<<10
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		}
		return next(c)
	}
}

func isPublish(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && c.Path() == "/api/v1/tenants/:tenant/messages"
}

// noSniff tells browsers to take the API's content types as they are
// (JSON and problem+json are never to be sniffed into HTML). The web
// pages set their own headers.
func noSniff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() != "/*" {
			c.Response().Header().Set("X-Content-Type-Options", "nosniff")
		}
		return next(c)
	}
}

// noRoute answers a path under /api/ that no route takes, so that it gets
// a problem+json 404 rather than the web pages' own.
func noRoute(c echo.Context) error { return echo.ErrNotFound }

// allowedMethods lists the methods that have a route for path, for a 405's
// Allow header. Catch-all routes (ending in *) do not count.
func (s *server) allowedMethods(path string) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := s.echo.NewContext(nil, nil)
		s.echo.Router().Find(m, path, probe)
		if p := probe.Path(); p != "" && !strings.HasSuffix(p, "*") {
			allow = append(allow, m)
		}
	}
	return allow
}

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": cmp.Or(s.cfg.Version, "dev")})
}

func (s *server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Pool().Ping(ctx); err != nil {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterUnavailable))
		return problem(http.StatusServiceUnavailable, "not ready: the database is unreachable")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// placeholder answers for the web pages until they are built in.
type placeholder struct{}

func (placeholder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("content-type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><title>hookd</title><h1>hookd</h1>
<p>The API is at <code>/api/v1</code>; its OpenAPI document at <a href="/api/openapi.json">/api/openapi.json</a>.</p>`))
}
