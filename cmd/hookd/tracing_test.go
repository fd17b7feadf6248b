package main

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestStartTracing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		sdk  bool   // an SDK provider, not the no-op one
		bad  string // a usage error containing this
	}{
		{name: "unset", env: map[string]string{}},
		{name: "disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}},
		{name: "exporter none", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "http", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, sdk: true},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, sdk: true},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, sdk: true},
		{name: "not a url", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, bad: "OTEL_EXPORTER_OTLP_ENDPOINT is \"collector:4318\""},
		{name: "protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, bad: "OTEL_EXPORTER_OTLP_PROTOCOL is \"http/json\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, stop, err := startTracing(context.Background(), mapEnv(tc.env), slog.New(slog.DiscardHandler))
			if tc.bad != "" {
				require.ErrorContains(t, err, tc.bad)
				require.Equal(t, 2, exitCode(err))
				return
			}
			require.NoError(t, err)
			defer stop()
			_, isSDK := tp.(*sdktrace.TracerProvider)
			_, isNoop := tp.(noop.TracerProvider)
			require.Equal(t, tc.sdk, isSDK, "%T", tp)
			require.Equal(t, !tc.sdk, isNoop, "%T", tp)
		})
	}
}

// otlpReceiver is a tiny OTLP collector on loopback, over http/protobuf
// or grpc, that keeps the spans it is sent.
type otlpReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	url   string
	mu    sync.Mutex
	reqs  []*collectortrace.ExportTraceServiceRequest
	types []string // each request's content type
}

func newOTLPReceiver(t *testing.T, protocol string) *otlpReceiver {
	t.Helper()
	o := &otlpReceiver{}
	if protocol == "grpc" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := grpc.NewServer()
		collectortrace.RegisterTraceServiceServer(srv, o)
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(srv.Stop)
		o.url = "http://" + ln.Addr().String() // http: without TLS
		return o
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		o.keep(&req, r.Header.Get("Content-Type"))
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	o.url = srv.URL
	return o
}

// Export is the grpc TraceService's one method.
func (o *otlpReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	o.keep(req, "application/grpc")
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (o *otlpReceiver) keep(req *collectortrace.ExportTraceServiceRequest, contentType string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reqs, o.types = append(o.reqs, req), append(o.types, contentType)
}

// otlpSpan is a span as received, with its resource's attributes.
type otlpSpan struct {
	span     *tracepb.Span
	resource map[string]string
}

func (o *otlpReceiver) spans() []otlpSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []otlpSpan
	for _, req := range o.reqs {
		for _, rs := range req.ResourceSpans {
			res := stringAttrs(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, otlpSpan{span: s, resource: res})
				}
			}
		}
	}
	return out
}

func stringAttrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.GetValue().GetStringValue()
	}
	return m
}

// TestServeSendsTraces: with OTEL_EXPORTER_OTLP_ENDPOINT set, hookd sends
// its spans over OTLP (http/protobuf by default, or grpc): the publish span
// continuing the caller's traceparent, and the attempt span linked to it.
func TestServeSendsTraces(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{"", "grpc"} {
		name := protocol
		if name == "" {
			name = "default" // http/protobuf
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testServeSendsTraces(t, protocol)
		})
	}
}

func testServeSendsTraces(t *testing.T, protocol string) {
	bin := buildHookd(t)
	secretKey, err := store.GenerateKey()
	require.NoError(t, err)
	otlp := newOTLPReceiver(t, protocol)
	got := make(chan *http.Request, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	env := append(devEnv(), "DATABASE_URL="+storetest.URL(t), "HOOKD_SECRET_KEY="+secretKey,
		"HOOKD_ALLOW_NETWORKS=127.0.0.0/8",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.url,
		"OTEL_BSP_SCHEDULE_DELAY=100") // ms: export soon, not after 5 s
	if protocol != "" {
		env = append(env, "OTEL_EXPORTER_OTLP_PROTOCOL="+protocol)
	}
	p := startServe(t, bin, env, roleAll)

	c := apiClient{base: "http://" + p.addr}
	c.do(t, "POST", "/api/v1/event-types", `{"name":"order.shipped"}`, http.StatusCreated)
	c.do(t, "PUT", "/api/v1/tenants/shop", `{"name":"Shop"}`, http.StatusCreated)
	c.do(t, "POST", "/api/v1/tenants/shop/endpoints", `{"url":"`+receiver.URL+`/hook","forward_trace_context":true}`, http.StatusCreated)
	const saasTrace, saasSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest("POST", c.base+"/api/v1/tenants/shop/messages", strings.NewReader(`{"event_type":"order.shipped","payload":{"order":7}}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+saasTrace+"-"+saasSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	var delivered *http.Request
	select {
	case delivered = <-got:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery; hookd said:\n%s", p.out.String())
	}

	var pub, attempt *tracepb.Span
	var res map[string]string
	require.Eventually(t, func() bool {
		for _, s := range otlp.spans() {
			switch s.span.Name {
			case "POST /api/v1/tenants/:tenant/messages":
				pub, res = s.span, s.resource
			case "hookd.attempt":
				attempt = s.span
			}
		}
		return pub != nil && attempt != nil
	}, 20*time.Second, 50*time.Millisecond, "no publish and attempt spans reached the collector:\n%s", p.out.String())

	otlp.mu.Lock()
	want := "application/x-protobuf" // OTLP over http/protobuf
	if protocol == "grpc" {
		want = "application/grpc"
	}
	require.Equal(t, want, otlp.types[0])
	otlp.mu.Unlock()
	require.Equal(t, "hookd", res["service.name"])
	require.NotEmpty(t, res["service.version"])
	require.Equal(t, saasTrace, hex.EncodeToString(pub.TraceId), "the publish continues the caller's trace")
	require.Equal(t, saasSpan, hex.EncodeToString(pub.ParentSpanId))
	require.Len(t, attempt.Links, 1)
	require.Equal(t, pub.SpanId, attempt.Links[0].SpanId, "the attempt links to the publish span")
	require.Equal(t, "00-"+hex.EncodeToString(attempt.TraceId)+"-"+hex.EncodeToString(attempt.SpanId)+"-01",
		delivered.Header.Get("traceparent"), "the receiver that asked joins the attempt's trace")
}
