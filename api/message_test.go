package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPublish(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	plain := h.eventType(t, "")
	typed := h.eventType(t, amountSchema)

	t.Run("202 with the message", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		payload := `{"b":1,  "a" : 2}`
		body := fmt.Sprintf(`{"event_type": %q, "payload": %s, "channels": ["eu"]}`, plain, payload)
		status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey, body)
		m := decode[obj](t, http.StatusAccepted, status, raw)
		require.NotEmpty(t, m["id"])
		require.Equal(t, tn, m["tenant_id"])
		require.Equal(t, plain, m["event_type"])
		require.Equal(t, []any{"eu"}, m["channels"])
		require.Nil(t, m["idempotency_key"])
		require.JSONEq(t, payload, string(mustJSON(t, m["payload"])))

		list := h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey)
		require.Len(t, list.Data, 1)
		require.Equal(t, m["id"], list.Data[0]["id"])
		got := h.getMessage(t, tn, m["id"].(string))
		require.Equal(t, []any{}, got["deliveries"], "no endpoint, no delivery")
	})

	for _, tc := range []struct {
		name, field, body string
		status            int
	}{
		{"payload an array", "payload", `{"event_type": %q, "payload": [1,2]}`, 422},
		{"payload a string", "payload", `{"event_type": %q, "payload": "hi"}`, 422},
		{"payload null", "payload", `{"event_type": %q, "payload": null}`, 422},
		{"payload missing", "payload", `{"event_type": %q}`, 422},
		{"bad channel", "channels", `{"event_type": %q, "payload": {}, "channels": ["a b"]}`, 422},
		{"idempotency key too long", "idempotency_key", `{"event_type": %q, "payload": {}, "idempotency_key": "` + strings.Repeat("k", 257) + `"}`, 422},
		{"idempotency key with NUL", "idempotency_key", `{"event_type": %q, "payload": {}, "idempotency_key": "a\u0000b"}`, 422},
		{"event type with NUL", "event_type", `{"event_type": "%s\u0000", "payload": {}}`, 422},
	} {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			t.Parallel()
			tn := h.tenant(t)
			status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey, fmt.Sprintf(tc.body, plain))
			requireInvalid(t, tc.field, status, header, raw)
			require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data, "bad input changes nothing")
		})
	}

	t.Run("invalid missing event type", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey, obj{"payload": obj{}})
		requireInvalid(t, "event_type", status, header, raw)
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data)
	})

	t.Run("invalid unknown event type", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
			obj{"event_type": "never.defined", "payload": obj{}})
		p := requireInvalid(t, "event_type", status, header, raw)
		require.Contains(t, p.Detail, "never.defined")
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data)
	})

	t.Run("invalid payload breaks the schema", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		for _, payload := range []string{`{"amount": "ten"}`, `{}`} {
			status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
				fmt.Sprintf(`{"event_type": %q, "payload": %s}`, typed, payload))
			p := requireProblem(t, http.StatusUnprocessableEntity, status, header, raw)
			require.NotEmpty(t, p.Errors)
			require.Contains(t, p.Detail, typed)
			for _, f := range p.fields() {
				require.True(t, strings.HasPrefix(f, "payload"), "field %q", f)
			}
			require.Contains(t, strings.Join(p.fields(), " ")+p.Detail, "amount", "the errors name the field")
		}
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data)
		h.publish(t, tn, typed, `{"amount": 10}`)
	})

	t.Run("unknown tenant is 404", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/nobody/messages", adminKey,
			obj{"event_type": plain, "payload": obj{}})
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})

	t.Run("header and body idempotency keys that differ", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		status, header, raw := h.doHeader(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
			obj{"event_type": plain, "payload": obj{}, "idempotency_key": "a"}, http.Header{"Idempotency-Key": {"b"}})
		requireInvalid(t, "idempotency_key", status, header, raw)
	})

	t.Run("list filters", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		before := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
		a := h.publish(t, tn, plain, `{"n":1}`)
		b := h.publish(t, tn, typed, `{"amount":1}`)
		all := h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey)
		require.Equal(t, []any{b["id"], a["id"]}, []any{all.Data[0]["id"], all.Data[1]["id"]}, "newest first")
		only := h.list(t, "/api/v1/tenants/"+tn+"/messages?event_type="+typed, adminKey)
		require.Len(t, only.Data, 1)
		require.Equal(t, b["id"], only.Data[0]["id"])
		require.Len(t, h.list(t, "/api/v1/tenants/"+tn+"/messages?since="+before, adminKey).Data, 2)
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/messages?until="+before, adminKey).Data)
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tn+"/messages?since=yesterday", adminKey, nil)
		requireInvalid(t, "since", status, header, raw)
		status, header, raw = h.do(t, http.MethodGet, "/api/v1/tenants/"+tn+"/messages?status=lost", adminKey, nil)
		requireInvalid(t, "status", status, header, raw)
	})

	t.Run("list filters by channel and endpoint", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		rc := newReceiver(t, nil)
		eu := h.endpoint(t, tn, obj{"url": rc.url, "channels": []string{"eu"}})["id"].(string)
		us := h.endpoint(t, tn, obj{"url": rc.url, "channels": []string{"us"}})["id"].(string)
		publish := func(channels ...string) string {
			t.Helper()
			body := obj{"event_type": plain, "payload": obj{}}
			if channels != nil {
				body["channels"] = channels
			}
			status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey, body)
			return decode[obj](t, http.StatusAccepted, status, raw)["id"].(string)
		}
		both, inEU, inUS, none := publish("eu", "us"), publish("eu"), publish("us"), publish()
		ids := func(query string) []any {
			t.Helper()
			var out []any
			for _, m := range h.list(t, "/api/v1/tenants/"+tn+"/messages?"+query, adminKey).Data {
				out = append(out, m["id"])
			}
			return out
		}
		require.Equal(t, []any{inEU, both}, ids("channel=eu"))
		require.Equal(t, []any{inUS, both}, ids("channel=us"))
		require.Empty(t, ids("channel=apac"))
		require.Len(t, ids(""), 4, "%s has no channel and is listed without the filter", none)
		require.Equal(t, []any{inEU, both}, ids("endpoint_id="+eu))
		require.Equal(t, []any{inUS, both}, ids("endpoint_id="+us))
		require.Equal(t, []any{inUS, both}, ids("endpoint_id="+us+"&channel=us&since=2020-01-01T00:00:00Z&until="+
			url.QueryEscape(time.Now().Add(time.Minute).Format(time.RFC3339))+"&event_type="+plain), "filters combine")
		require.Empty(t, ids("endpoint_id="+eu+"&channel=us"+"&status=failed"))
		for _, tc := range []struct{ query, field string }{
			{"channel=a%20b", "channel"},
			{"endpoint_id=nope", "endpoint_id"},
			{"event_type=not%20a%20name", "event_type"},
			{"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
		} {
			status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tn+"/messages?"+tc.query, adminKey, nil)
			requireInvalid(t, tc.field, status, header, raw)
		}
	})

	t.Run("unknown message is 404", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		for _, path := range []string{"/messages/0190a0a0-0000-7000-8000-000000000000", "/messages/0190a0a0-0000-7000-8000-000000000000/attempts", "/messages/nope"} {
			status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tn+path, adminKey, nil)
			requireProblem(t, http.StatusNotFound, status, header, raw)
		}
	})
}

func TestPublishIdempotency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.eventType(t, "")
	for _, tc := range []struct {
		name   string
		header http.Header
		body   obj
	}{
		{"header", http.Header{"Idempotency-Key": {"order-42"}}, obj{}},
		{"body field", nil, obj{"idempotency_key": "order-42"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := h.tenant(t)
			rc := newReceiver(t, nil)
			h.endpoint(t, tn, obj{"url": rc.url})
			var first obj
			for i := range 3 {
				body := obj{"event_type": et, "payload": obj{"try": i}}
				for k, v := range tc.body {
					body[k] = v
				}
				status, _, raw := h.doHeader(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey, body, tc.header)
				m := decode[obj](t, http.StatusAccepted, status, raw)
				if i == 0 {
					first = m
					continue
				}
				require.Equal(t, first, m, "the same key returns the first message")
			}
			require.Equal(t, "order-42", first["idempotency_key"])
			require.Equal(t, map[string]any{"try": float64(0)}, first["payload"])
			h.waitDelivery(t, tn, first["id"].(string), "succeeded")
			time.Sleep(150 * time.Millisecond) // would a second request arrive?
			require.Len(t, rc.requests(), 1, "the receiver gets exactly one request")
			require.Len(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data, 1)

			// The key is per tenant.
			other := h.tenant(t)
			status, _, raw := h.doHeader(t, http.MethodPost, "/api/v1/tenants/"+other+"/messages", adminKey,
				obj{"event_type": et, "payload": obj{}, "idempotency_key": "order-42"}, nil)
			require.NotEqual(t, first["id"], decode[obj](t, http.StatusAccepted, status, raw)["id"])
		})
	}
}

func TestPublishTooLarge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &harnessOpts{MaxPayloadBytes: 1024})
	et := h.eventType(t, "")
	tn := h.tenant(t)
	fits := fmt.Sprintf(`{"pad": %q}`, strings.Repeat("x", 1000))
	h.publish(t, tn, et, fits)

	for _, size := range []int{1100, 200 << 10} { // over the payload limit, and over the body limit too
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			payload := fmt.Sprintf(`{"pad": %q}`, strings.Repeat("x", size))
			status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
				fmt.Sprintf(`{"event_type": %q, "payload": %s}`, et, payload))
			p := requireProblem(t, http.StatusRequestEntityTooLarge, status, header, raw)
			require.Contains(t, p.Detail, "1024")
		})
	}
	require.Len(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data, 1, "nothing too large was stored")
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestPublishCreatesTenant(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.eventType(t, amountSchema)
	publish := func(t *testing.T, tenant string, body obj) (int, http.Header, []byte) {
		t.Helper()
		return h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/messages", adminKey, body)
	}
	getTenant := func(t *testing.T, tenant string) (int, obj) {
		t.Helper()
		status, _, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tenant, adminKey, nil)
		var out obj
		require.NoError(t, json.Unmarshal(raw, &out))
		return status, out
	}

	t.Run("created with its first message, left alone after", func(t *testing.T) {
		t.Parallel()
		tn := uniq("new_")
		status, _, raw := publish(t, tn, obj{"event_type": et, "payload": obj{"amount": 1},
			"tenant": obj{"name": "New Co", "metadata": obj{"plan": "pro"}}})
		m := decode[obj](t, http.StatusAccepted, status, raw)
		require.Equal(t, tn, m["tenant_id"])
		status, got := getTenant(t, tn)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "New Co", got["name"])
		require.Equal(t, obj{"plan": "pro"}, got["metadata"])
		require.Equal(t, []any{m["id"]}, ids(h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey)))

		// The tenant exists now: its name and metadata stay as they are.
		status, _, raw = publish(t, tn, obj{"event_type": et, "payload": obj{"amount": 2}, "tenant": obj{"name": "Renamed"}})
		decode[obj](t, http.StatusAccepted, status, raw)
		_, again := getTenant(t, tn)
		require.Equal(t, got, again)
		require.Len(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data, 2)
	})

	t.Run("an empty tenant object is enough", func(t *testing.T) {
		t.Parallel()
		tn := uniq("org:")
		status, _, raw := publish(t, tn, obj{"event_type": et, "payload": obj{"amount": 1}, "tenant": obj{}})
		decode[obj](t, http.StatusAccepted, status, raw)
		status, got := getTenant(t, tn)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "", got["name"])
		require.Equal(t, obj{}, got["metadata"])
	})

	t.Run("without it, an unknown tenant is 404", func(t *testing.T) {
		t.Parallel()
		tn := uniq("nobody_")
		status, header, raw := publish(t, tn, obj{"event_type": et, "payload": obj{"amount": 1}})
		p := requireProblem(t, http.StatusNotFound, status, header, raw)
		require.Contains(t, p.Detail, `"tenant"`, "the answer says how to create it")
		status, _ = getTenant(t, tn)
		require.Equal(t, http.StatusNotFound, status)
	})

	t.Run("concurrent first publishes create it once", func(t *testing.T) {
		t.Parallel()
		tn := uniq("rush_")
		const n = 20
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Go(func() {
				statuses[i], _, _ = publish(t, tn, obj{"event_type": et, "payload": obj{"amount": i},
					"tenant": obj{"name": fmt.Sprintf("Rush %d", i)}})
			})
		}
		wg.Wait()
		for i, s := range statuses {
			require.Equal(t, http.StatusAccepted, s, "publish %d", i)
		}
		status, got := getTenant(t, tn)
		require.Equal(t, http.StatusOK, status)
		require.Regexp(t, `^Rush \d+$`, got["name"])
		require.Len(t, h.list(t, "/api/v1/tenants/"+tn+"/messages?limit=250", adminKey).Data, n)
	})

	for _, tc := range []struct {
		name, tenant, field string
		body                obj
	}{
		{"a bad id", "a%20b", "tenant", obj{"event_type": et, "payload": obj{"amount": 1}, "tenant": obj{}}},
		{"a long id", strings.Repeat("t", 129), "tenant", obj{"event_type": et, "payload": obj{"amount": 1}, "tenant": obj{}}},
		{"a long name", uniq("t_"), "tenant.name", obj{"event_type": et, "payload": obj{"amount": 1},
			"tenant": obj{"name": strings.Repeat("n", 257)}}},
		{"metadata not an object", uniq("t_"), "tenant.metadata", obj{"event_type": et, "payload": obj{"amount": 1},
			"tenant": obj{"metadata": []int{1}}}},
		{"an unknown event type", uniq("t_"), "event_type", obj{"event_type": "never.declared", "payload": obj{},
			"tenant": obj{"name": "X"}}},
		{"a payload that breaks the schema", uniq("t_"), "payload/amount", obj{"event_type": et,
			"payload": obj{"amount": "one"}, "tenant": obj{"name": "X"}}},
		{"the operational tenant", "hookd:operational", "tenant", obj{"event_type": et, "payload": obj{"amount": 1},
			"tenant": obj{}}},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := publish(t, tc.tenant, tc.body)
			requireInvalid(t, tc.field, status, header, raw)
			if tc.tenant != "hookd:operational" {
				status, _ = getTenant(t, tc.tenant)
				require.Equal(t, http.StatusNotFound, status, "a refused publish creates no tenant")
			}
		})
	}

	t.Run("tenant is for admins, as is publishing", func(t *testing.T) {
		t.Parallel()
		_, key := h.tenantKey(t, h.tenant(t))
		tn := uniq("t_")
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", key,
			obj{"event_type": et, "payload": obj{"amount": 1}, "tenant": obj{}})
		require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status, "body: %s", raw)
		requireProblem(t, status, status, header, raw)
		status, _ = getTenant(t, tn)
		require.Equal(t, http.StatusNotFound, status)
	})
}

func ids(p page) []any {
	out := []any{}
	for _, m := range p.Data {
		out = append(out, m["id"])
	}
	return out
}
