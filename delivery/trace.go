package delivery

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd/store"
)

// Tracing follows one message from the SaaS's publish request to each of
// its attempts. The publish request's span (the API makes it, continuing a
// traceparent the SaaS sent) is kept with the message as a W3C
// traceparent. The fan-out and every attempt come later, on any worker, an
// attempt sometimes hours later, so each starts a span of its own with a
// link to the publish span rather than a child in the publish's trace.
// With no TracerProvider configured, every span is a no-op.

// tracerName names delivery's tracer (its instrumentation scope).
const tracerName = "github.com/hookd/hookd/delivery"

// Attributes hookd puts on its spans, beside OpenTelemetry's HTTP ones.
const (
	AttrTenantID       = attribute.Key("hookd.tenant_id")
	AttrEndpointID     = attribute.Key("hookd.endpoint_id")
	AttrMessageID      = attribute.Key("hookd.message_id")
	AttrDeliveryID     = attribute.Key("hookd.delivery_id")
	AttrEventType      = attribute.Key("hookd.event_type")
	AttrReplayID       = attribute.Key("hookd.replay_id")
	AttrAttempt        = attribute.Key("hookd.attempt") // 1 for a delivery's first attempt
	AttrTrigger        = attribute.Key("hookd.trigger") // scheduled or manual
	AttrErrorClass     = attribute.Key("hookd.error_class")
	AttrDeliveryStatus = attribute.Key("hookd.delivery_status") // after the attempt
	AttrEndpoints      = attribute.Key("hookd.endpoints")       // how many a fan-out matched
	AttrInline         = attribute.Key("hookd.fanout_inline")   // fanned out in the publish transaction
)

// Span names.
const (
	SpanFanout  = "hookd.fanout"
	SpanAttempt = "hookd.attempt"
)

var traceContext = propagation.TraceContext{}

// traceParentOf returns the W3C traceparent of the span in ctx, "" when
// there is none.
func traceParentOf(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c.Get("traceparent")
}

// linkTo links a span to the one a traceparent names; no link when it is
// empty or malformed.
func linkTo(traceParent string) trace.SpanStartOption {
	if traceParent == "" {
		return trace.WithLinks()
	}
	ctx := traceContext.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceParent})
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return trace.WithLinks()
	}
	return trace.WithLinks(trace.Link{SpanContext: sc})
}

// startFanout starts the span of m's fan-out, a new root linked to the
// publish span.
func (s *Service) startFanout(m store.Message, inline bool) trace.Span {
	_, span := s.tracer.Start(context.Background(), SpanFanout, linkTo(m.TraceParent),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrTenantID.String(m.TenantID), AttrMessageID.String(m.ID.String()),
			AttrEventType.String(m.EventType), AttrInline.Bool(inline)))
	return span
}

// startAttempt starts the span of one attempt of a delivery, linked to the
// span that published its message. ctx's span, if any, is its parent.
func (s *Service) startAttempt(ctx context.Context, wk store.Work, trigger string, replay uuid.UUID) (context.Context, trace.Span) {
	d, e, m := wk.Delivery, wk.Endpoint, wk.Message
	attrs := []attribute.KeyValue{
		AttrTenantID.String(d.TenantID), AttrEndpointID.String(e.ID.String()), AttrMessageID.String(m.ID.String()),
		AttrDeliveryID.String(d.ID.String()), AttrEventType.String(m.EventType),
		AttrAttempt.Int(d.Attempts + 1), AttrTrigger.String(trigger),
		semconv.HTTPRequestMethodPost,
	}
	if u, err := url.Parse(e.URL); err == nil {
		attrs = append(attrs, semconv.ServerAddress(u.Hostname()))
	}
	if replay != uuid.Nil {
		attrs = append(attrs, AttrReplayID.String(replay.String()))
	}
	return s.tracer.Start(ctx, SpanAttempt, linkTo(m.TraceParent),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// forwardTraceContext sets traceparent (and tracestate) of ctx's span on an
// attempt's request headers.
func forwardTraceContext(ctx context.Context, h http.Header) {
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
}

// traceResult records an attempt's answer on its span: an attempt that did
// not succeed is an error, described by its class.
func traceResult(span trace.Span, res Result, deliveryStatus string) {
	if res.StatusCode > 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(res.StatusCode))
	}
	span.SetAttributes(AttrDeliveryStatus.String(deliveryStatus))
	if !res.Success() {
		class := res.ErrorClass
		if class == "" {
			class = ClassStatus
		}
		span.SetAttributes(AttrErrorClass.String(class), semconv.ErrorTypeKey.String(class))
		span.SetStatus(codes.Error, res.Error)
	}
}

// endSpan ends span, marking it failed when err is a failure. A snooze
// (a retry later, a rate limit) is not one.
func endSpan(span trace.Span, err error) {
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// endSpans ends every span of spans, as endSpan does.
func endSpans(spans []trace.Span, err error) {
	for _, span := range spans {
		endSpan(span, err)
	}
}
