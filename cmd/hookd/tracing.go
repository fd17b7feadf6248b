package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Traces go over OTLP to the collector named by the standard
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and
// nowhere when neither is set. OpenTelemetry's SDK reads the other
// standard OTEL_* variables itself: OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
// _COMPRESSION and _CERTIFICATE, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. That is the one place
// where a library reads the environment: it is the contract every
// OpenTelemetry SDK keeps, and only cmd/hookd builds the SDK.

// tracingShutdown is how long spans still buffered get to reach the
// collector when hookd stops.
const tracingShutdown = 5 * time.Second

// startTracing returns the tracer provider for the libraries and a stop
// function that flushes it, to be called after the workers have stopped.
func startTracing(ctx context.Context, getenv func(string) string, logger *slog.Logger) (trace.TracerProvider, func(), error) {
	endpoint := cmp.Or(strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")))
	disabled, _ := strconv.ParseBool(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")))
	if endpoint == "" || disabled || strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")) == "none" {
		return noop.NewTracerProvider(), func() {}, nil
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, usageErrorf("OTEL_EXPORTER_OTLP_ENDPOINT is %q; give the collector's URL, like http://otel-collector:4318", endpoint)
	}
	protocol := cmp.Or(strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")),
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_PROTOCOL")), "http/protobuf")
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, nil, usageErrorf("OTEL_EXPORTER_OTLP_PROTOCOL is %q; hookd sends traces over http/protobuf (the default) or grpc", protocol)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opentelemetry exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("hookd"), semconv.ServiceVersion(Version())),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID())
	if errors.Is(err, resource.ErrPartialResource) {
		logger.Warn("opentelemetry resource", "err", err) // a malformed OTEL_RESOURCE_ATTRIBUTES, say
	} else if err != nil {
		return nil, nil, fmt.Errorf("opentelemetry resource: %w", err)
	}
	// The SDK reports failed exports here: into hookd's log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("opentelemetry", "err", err) }))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	logger.Info("sending traces", "endpoint", endpoint, "protocol", protocol)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), tracingShutdown)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			logger.Warn("flush traces", "err", err)
		}
	}
	return tp, stop, nil
}
