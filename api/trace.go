package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd/delivery"
)

// tracerName names the API's tracer (its instrumentation scope).
const tracerName = "github.com/hookd/hookd/api"

// traceRequests gives every /api/ request a server span, named by its
// route, continuing the traceparent the caller sent. The publish request's
// span is the one a message's fan-out and attempts link to (delivery's
// trace.go). Pages, probes and /metrics get none.
func traceRequests(tracer trace.Tracer) echo.MiddlewareFunc {
	prop := propagation.TraceContext{}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !strings.HasPrefix(req.URL.Path, "/api/") {
				return next(c)
			}
			route := c.Path()
			ctx := prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx, span := tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.HTTPRequestMethodKey.String(req.Method), semconv.HTTPRoute(route),
					semconv.URLPath(req.URL.Path)))
			defer span.End()
			if t := c.Param("tenant"); t != "" {
				span.SetAttributes(delivery.AttrTenantID.String(t))
			}
			c.SetRequest(req.WithContext(ctx))
			if err := next(c); err != nil {
				c.Error(err) // answer now, so that the status below is the real one
			}
			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return nil
		}
	}
}
