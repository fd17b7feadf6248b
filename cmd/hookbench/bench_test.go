package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// fakeHookd is a throwaway stand-in for hookd until the real one serves: it
// answers the API routes hookbench uses, on 127.0.0.1, and delivers each
// published message, signed, to every endpoint of its tenant. It can be
// told to misbehave, to check that hookbench notices.
type fakeHookd struct {
	t      *testing.T
	key    string
	srv    *httptest.Server
	client *http.Client

	dupSeq      int // deliver this seq twice to endpoint 0
	dropSeq     int // never deliver this seq to endpoint 0
	badSigEndpt int // sign deliveries to this endpoint with a wrong secret

	mu         sync.Mutex
	eventTypes map[string]bool
	endpoints  map[string][]*fakeEndpoint // by tenant
	wg         sync.WaitGroup
}

type fakeEndpoint struct {
	id, url, secret string
	wh              *standardwebhooks.Webhook
}

func newFakeHookd(t *testing.T) *fakeHookd {
	f := &fakeHookd{
		t: t, key: "hk_test_" + strconv.FormatInt(time.Now().UnixNano(), 36),
		dupSeq: -1, dropSeq: -1, badSigEndpt: -1,
		eventTypes: map[string]bool{}, endpoints: map[string][]*fakeEndpoint{},
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("PUT /api/v1/tenants/{t}", f.auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, map[string]any{"id": r.PathValue("t")})
	}))
	mux.HandleFunc("DELETE /api/v1/tenants/{t}", f.auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		delete(f.endpoints, r.PathValue("t"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /api/v1/event-types", f.auth(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Name string }
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.eventTypes[in.Name] {
			writeJSON(w, http.StatusConflict, map[string]any{"title": "exists"})
			return
		}
		f.eventTypes[in.Name] = true
		writeJSON(w, http.StatusCreated, map[string]any{"name": in.Name})
	}))
	mux.HandleFunc("POST /api/v1/tenants/{t}/endpoints", f.auth(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ URL string }
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
		secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		ep := &fakeEndpoint{id: uuid.NewString(), url: in.URL, secret: secret, wh: wh}
		f.mu.Lock()
		f.endpoints[r.PathValue("t")] = append(f.endpoints[r.PathValue("t")], ep)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"id": ep.id, "url": ep.url})
	}))
	mux.HandleFunc("GET /api/v1/tenants/{t}/endpoints/{e}/secret", f.auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, ep := range f.endpoints[r.PathValue("t")] {
			if ep.id == r.PathValue("e") {
				writeJSON(w, http.StatusOK, map[string]any{"secret": ep.secret})
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"title": "not found"})
	}))
	mux.HandleFunc("POST /api/v1/tenants/{t}/messages", f.auth(f.publish))
	f.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(func() {
		f.wg.Wait()
		f.srv.Close()
	})
	return f
}

func (f *fakeHookd) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.key {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"title": "unauthorized"})
			return
		}
		h(w, r)
	}
}

func (f *fakeHookd) publish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EventType string          `json:"event_type"`
		Payload   json.RawMessage `json:"payload"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Payload) == 0 || in.Payload[0] != '{' {
		writeJSON(w, http.StatusBadRequest, map[string]any{"title": "bad payload"})
		return
	}
	f.mu.Lock()
	known := f.eventTypes[in.EventType]
	eps := f.endpoints[r.PathValue("t")]
	f.mu.Unlock()
	if !known {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"title": "unknown event type"})
		return
	}
	id := uuid.Must(uuid.NewV7()).String()
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "event_type": in.EventType})

	seq, _, _ := parsePayload(in.Payload)
	for i, ep := range eps {
		times := 1
		switch {
		case i == 0 && seq == f.dupSeq:
			times = 2
		case i == 0 && seq == f.dropSeq:
			times = 0
		}
		for range times {
			f.wg.Go(func() { f.deliver(i, ep, id, in.Payload) })
		}
	}
}

func (f *fakeHookd) deliver(i int, ep *fakeEndpoint, id string, payload []byte) {
	wh := ep.wh
	if i == f.badSigEndpt {
		wh, _ = standardwebhooks.NewWebhook("whsec_" + "d3JvbmcgLS0gd3JvbmcgLS0gd3Jvbmc=")
	}
	ts := time.Now()
	sig, err := wh.Sign(id, ts, payload)
	require.NoError(f.t, err)
	req, err := http.NewRequest(http.MethodPost, ep.url, bytes.NewReader(payload))
	require.NoError(f.t, err)
	req.Header.Set("content-type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := f.client.Do(req)
	if err != nil {
		return // the receiver has closed: the run is over
	}
	resp.Body.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TestBenchAgainstFakeHookd runs hookbench end to end, flags to report,
// against the fake: publishing, receiving, deduping, verifying, the drain,
// and the numbers it prints.
func TestBenchAgainstFakeHookd(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		args      string
		fake      func(*fakeHookd)
		wantCode  int
		endpoints int
		check     func(t *testing.T, r report)
	}{
		{
			name:      "closed loop, one endpoint, a duplicate",
			args:      "--messages 200 --concurrency 8 --verify-every 1",
			fake:      func(f *fakeHookd) { f.dupSeq = 7 },
			endpoints: 1,
			check: func(t *testing.T, r report) {
				require.Equal(t, "closed", r.Loop)
				require.Equal(t, 1, r.Duplicates, "the second delivery of seq 7 is a duplicate, not a new one")
				require.Equal(t, 201, r.SignaturesVerified)
				require.Zero(t, r.SignatureFailures)
			},
		},
		{
			name:      "open loop fan-out to three endpoints",
			args:      "--scenario fanout --endpoints 3 --rate 1000 --duration 200ms",
			endpoints: 3,
			check: func(t *testing.T, r report) {
				require.Equal(t, "open", r.Loop)
				require.Equal(t, 1000.0, r.Rate)
				require.Zero(t, r.Duplicates)
				require.Positive(t, r.SignaturesVerified, "every 100th of 600 is verified")
				require.Zero(t, r.SignatureFailures)
			},
		},
		{
			name:      "bad signatures are counted",
			args:      "--messages 200 --endpoints 2 --verify-every 1",
			fake:      func(f *fakeHookd) { f.badSigEndpt = 1 },
			wantCode:  1,
			endpoints: 2,
			check: func(t *testing.T, r report) {
				require.Equal(t, 400, r.SignaturesVerified)
				require.Equal(t, 200, r.SignatureFailures)
				require.Contains(t, r.FirstSignatureFailure, "/hook/1")
			},
		},
		{
			name:      "a lost delivery is reported missing after the drain timeout",
			args:      "--messages 200 --drain-timeout 300ms",
			fake:      func(f *fakeHookd) { f.dropSeq = 3 },
			wantCode:  1,
			endpoints: 1,
			check: func(t *testing.T, r report) {
				require.True(t, r.DrainTimedOut)
				require.Equal(t, 1, r.DeliveriesMissing)
				require.Equal(t, []string{"seq 3 to /hook/0"}, r.MissingSample)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeHookd(t)
			if tt.fake != nil {
				tt.fake(f)
			}
			args := append([]string{
				"--target", f.srv.URL, "--admin-key", f.key, "--json", "--progress", "0",
				"--hookd-pid", strconv.Itoa(os.Getpid()), "--drain-timeout", "10s",
			}, strings.Fields(tt.args)...)
			var stdout, stderr bytes.Buffer
			code := realMain(args, &stdout, &stderr)
			require.Equal(t, tt.wantCode, code, "stderr: %s", stderr.String())

			var r report
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), stdout.String())
			msgs := 200
			expected := msgs * tt.endpoints

			// Counts.
			require.Equal(t, msgs, r.Publishes)
			require.Zero(t, r.PublishErrors)
			require.Zero(t, r.PublishNotSent)
			require.Equal(t, tt.endpoints, r.Endpoints)
			require.Equal(t, expected, r.DeliveriesExpected)
			require.Equal(t, expected-r.DeliveriesMissing, r.DeliveriesReceived)
			require.Zero(t, r.Stray)

			// Sane numbers.
			require.Positive(t, r.PublishRate)
			require.Positive(t, r.DeliveryRate)
			require.LessOrEqual(t, r.DeliveryRate*r.DeliverySeconds, float64(expected)+0.5)
			for _, l := range []latencyMS{r.PublishLatency, r.EndToEndLatency} {
				require.Positive(t, l.P50)
				require.LessOrEqual(t, l.P50, l.P90)
				require.LessOrEqual(t, l.P90, l.P99)
				require.LessOrEqual(t, l.P99, l.Max)
				require.Less(t, l.Max, 10_000.0, "ms")
			}
			require.Equal(t, r.Publishes, r.PublishLatency.N)
			require.Equal(t, r.DeliveriesReceived, r.EndToEndLatency.N)
			require.NotNil(t, r.HookdCPUPer1k, "the fake runs in this process, whose pid was given")
			require.GreaterOrEqual(t, *r.HookdCPUPer1k, 0.0)
			require.NotNil(t, r.HookdPeakRSSBytes)
			require.Positive(t, *r.HookdPeakRSSBytes)
			require.Nil(t, r.PGCommitsPerDelivery, "no database URL was given")

			tt.check(t, r)

			var table bytes.Buffer
			require.NoError(t, r.writeTable(&table))
			for _, want := range []string{"publish latency p50/p90/p99/max", "end-to-end deliveries/s", fmt.Sprintf("%d of %d", r.DeliveriesReceived, expected)} {
				require.Contains(t, table.String(), want)
			}
			t.Logf("report:\n%s", table.String())
		})
	}
}
