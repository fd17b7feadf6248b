package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd/delivery"
)

// spanRecorder is an in-memory OpenTelemetry SDK that keeps every span.
func spanRecorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// spansNamed returns the ended spans called name.
func spansNamed(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// attrs maps a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// linkedTo reports whether s links to the span sc.
func linkedTo(s sdktrace.ReadOnlySpan, sc trace.SpanContext) bool {
	for _, l := range s.Links() {
		if l.SpanContext.TraceID() == sc.TraceID() && l.SpanContext.SpanID() == sc.SpanID() {
			return true
		}
	}
	return false
}

// TestPublishIsTracedToEveryAttempt follows one message from the SaaS's
// traceparent through its publish span to the fan-out and every attempt,
// and to the receivers that asked for the trace context.
func TestPublishIsTracedToEveryAttempt(t *testing.T) {
	t.Parallel()
	tp, rec := spanRecorder(t)
	h := newHarness(t, &harnessOpts{TracerProvider: tp})
	tn := h.tenant(t)
	et := h.eventType(t, "")

	forwarded := newReceiver(t, nil)
	flaky := newReceiver(t, func(n int) (int, string) {
		if n == 1 {
			return http.StatusInternalServerError, "down"
		}
		return http.StatusOK, "ok"
	})
	fwdEp := h.endpoint(t, tn, obj{"url": forwarded.url, "forward_trace_context": true})
	require.Equal(t, true, fwdEp["forward_trace_context"])
	flakyEp := h.endpoint(t, tn, obj{"url": flaky.url})
	require.Equal(t, false, flakyEp["forward_trace_context"], "off unless asked")

	const saasTrace, saasSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	status, _, raw := h.doHeader(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
		obj{"event_type": et, "payload": obj{"n": 1}},
		http.Header{"Traceparent": {"00-" + saasTrace + "-" + saasSpan + "-01"}})
	msg := decode[obj](t, http.StatusAccepted, status, raw)
	msgID := msg["id"].(string)

	got := forwarded.waitRequests(t, 1)
	flakyGot := flaky.waitRequests(t, 2)
	eventually(t, func() (bool, string) {
		n := len(spansNamed(rec, delivery.SpanAttempt))
		return n == 3, "attempt spans ended: want 3"
	})

	// The publish span continues the SaaS's trace.
	pubs := spansNamed(rec, "POST /api/v1/tenants/:tenant/messages")
	require.Len(t, pubs, 1)
	pub := pubs[0]
	require.Equal(t, saasTrace, pub.Parent().TraceID().String())
	require.Equal(t, saasSpan, pub.Parent().SpanID().String())
	require.True(t, pub.Parent().IsRemote())
	require.Equal(t, trace.SpanKindServer, pub.SpanKind())
	require.Equal(t, msgID, attrs(pub)["hookd.message_id"].AsString())
	require.Equal(t, tn, attrs(pub)["hookd.tenant_id"].AsString())
	require.Equal(t, int64(http.StatusAccepted), attrs(pub)["http.response.status_code"].AsInt64())

	// The fan-out links to it.
	fans := spansNamed(rec, delivery.SpanFanout)
	require.Len(t, fans, 1)
	require.True(t, linkedTo(fans[0], pub.SpanContext()), "the fan-out links to the publish span")
	require.Equal(t, msgID, attrs(fans[0])["hookd.message_id"].AsString())
	require.Equal(t, int64(2), attrs(fans[0])["hookd.endpoints"].AsInt64())

	// Every attempt links to it, and says which delivery, try and answer it was.
	byEndpoint := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spansNamed(rec, delivery.SpanAttempt) {
		require.True(t, linkedTo(s, pub.SpanContext()), "the attempt links to the publish span")
		require.Equal(t, trace.SpanKindClient, s.SpanKind())
		a := attrs(s)
		require.Equal(t, tn, a["hookd.tenant_id"].AsString())
		require.Equal(t, msgID, a["hookd.message_id"].AsString())
		require.Equal(t, "scheduled", a["hookd.trigger"].AsString())
		_, err := uuid.Parse(a["hookd.delivery_id"].AsString())
		require.NoError(t, err, "hookd.delivery_id")
		byEndpoint[a["hookd.endpoint_id"].AsString()] = append(byEndpoint[a["hookd.endpoint_id"].AsString()], s)
	}
	require.Len(t, byEndpoint[fwdEp["id"].(string)], 1)
	flakySpans := byEndpoint[flakyEp["id"].(string)]
	require.Len(t, flakySpans, 2)
	if attrs(flakySpans[0])["hookd.attempt"].AsInt64() == 2 {
		flakySpans[0], flakySpans[1] = flakySpans[1], flakySpans[0]
	}
	first, second := attrs(flakySpans[0]), attrs(flakySpans[1])
	require.Equal(t, int64(1), first["hookd.attempt"].AsInt64())
	require.Equal(t, int64(http.StatusInternalServerError), first["http.response.status_code"].AsInt64())
	require.Equal(t, "status", first["hookd.error_class"].AsString())
	require.Equal(t, "pending", first["hookd.delivery_status"].AsString())
	require.Equal(t, codes.Error, flakySpans[0].Status().Code, "a failed attempt is an error")
	require.Equal(t, int64(2), second["hookd.attempt"].AsInt64())
	require.Equal(t, int64(http.StatusOK), second["http.response.status_code"].AsInt64())
	require.Equal(t, "succeeded", second["hookd.delivery_status"].AsString())
	require.NotContains(t, second, attribute.Key("hookd.error_class"))
	require.Equal(t, codes.Unset, flakySpans[1].Status().Code)
	require.Equal(t, first["hookd.delivery_id"], second["hookd.delivery_id"], "one delivery, two attempts")

	// The receiver that asked gets the attempt span's traceparent; the other none.
	att := byEndpoint[fwdEp["id"].(string)][0].SpanContext()
	require.Equal(t, "00-"+att.TraceID().String()+"-"+att.SpanID().String()+"-01", got[0].header.Get("traceparent"))
	for _, r := range flakyGot {
		require.Empty(t, r.header.Get("traceparent"), "not forwarded unless the endpoint asks")
	}

	// The setting can be changed.
	status, _, raw = h.do(t, http.MethodPatch, "/api/v1/tenants/"+tn+"/endpoints/"+fwdEp["id"].(string), adminKey,
		obj{"forward_trace_context": false})
	require.Equal(t, false, decode[obj](t, http.StatusOK, status, raw)["forward_trace_context"])
	status, _, raw = h.do(t, http.MethodGet, "/api/v1/tenants/"+tn+"/endpoints/"+fwdEp["id"].(string), adminKey, nil)
	require.Equal(t, false, decode[obj](t, http.StatusOK, status, raw)["forward_trace_context"])
	status, header, raw := h.do(t, http.MethodPatch, "/api/v1/tenants/"+tn+"/endpoints/"+fwdEp["id"].(string), adminKey,
		obj{"forward_trace_context": "yes"})
	requireInvalid(t, "forward_trace_context", status, header, raw)
}

// TestPublishWithoutTraceparentStartsATrace: a publish without trace
// context gets a trace of its own, which its attempt links to.
func TestPublishWithoutTraceparentStartsATrace(t *testing.T) {
	t.Parallel()
	tp, rec := spanRecorder(t)
	h := newHarness(t, &harnessOpts{TracerProvider: tp})
	tn := h.tenant(t)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	h.endpoint(t, tn, obj{"url": rc.url, "forward_trace_context": true})
	h.publish(t, tn, et, `{"n": 1}`)
	got := rc.waitRequests(t, 1)
	eventually(t, func() (bool, string) {
		return len(spansNamed(rec, delivery.SpanAttempt)) == 1, "no attempt span"
	})
	pub := spansNamed(rec, "POST /api/v1/tenants/:tenant/messages")[0]
	require.False(t, pub.Parent().IsValid(), "a new trace")
	att := spansNamed(rec, delivery.SpanAttempt)[0]
	require.True(t, linkedTo(att, pub.SpanContext()))
	require.True(t, strings.HasPrefix(got[0].header.Get("traceparent"), "00-"+att.SpanContext().TraceID().String()+"-"))
}

// TestNoTracingForwardsNothing: without a TracerProvider there are no
// spans, and an endpoint that asks for trace context gets no traceparent,
// even when the publisher sent one.
func TestNoTracingForwardsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	h.endpoint(t, tn, obj{"url": rc.url, "forward_trace_context": true})
	status, _, _ := h.doHeader(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
		obj{"event_type": et, "payload": obj{"n": 1}},
		http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	require.Equal(t, http.StatusAccepted, status)
	got := rc.waitRequests(t, 1)
	require.Empty(t, got[0].header.Get("traceparent"))
}
