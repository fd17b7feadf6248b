package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newCodeReceiver is a receiver that answers each delivery with the status
// in its payload's "code", or hangs up without an answer when it is 0.
func newCodeReceiver(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Code int }
		_ = json.NewDecoder(r.Body).Decode(&p)
		if p.Code == 0 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		if p.Code >= 300 && p.Code < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(p.Code)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

func TestAttemptFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	paid, voided := h.eventType(t, ""), h.eventType(t, "")
	ep := h.endpoint(t, tn, obj{"url": newCodeReceiver(t)})["id"].(string)
	base := "/api/v1/tenants/" + tn

	// The first message succeeds; the time between it and the others
	// splits the attempts in two.
	ok := h.publish(t, tn, paid, `{"code": 200}`)["id"].(string)
	h.waitDelivery(t, tn, ok, "succeeded")
	time.Sleep(5 * time.Millisecond)
	split := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	msgs := map[string]string{} // answer -> message id
	for _, m := range []struct {
		code      int
		eventType string
	}{{302, voided}, {400, paid}, {500, voided}, {0, paid}} {
		msgs[fmt.Sprint(m.code)] = h.publish(t, tn, m.eventType, fmt.Sprintf(`{"code": %d}`, m.code))["id"].(string)
	}
	for _, id := range msgs {
		// Up to three attempts each (the schedule is 50ms, 50ms): fewer
		// when the endpoint's circuit opened and a retry's time went by.
		h.waitDelivery(t, tn, id, "failed")
	}

	attempts := func(query string) []obj {
		t.Helper()
		return h.list(t, base+"/endpoints/"+ep+"/attempts?limit=250&"+query, adminKey).Data
	}
	messagesOf := func(as []obj) map[string]int {
		out := map[string]int{}
		for _, a := range as {
			out[a["message_id"].(string)]++
		}
		return out
	}
	all := messagesOf(attempts(""))
	require.Len(t, all, 5, "every message was attempted")
	// want is how many attempts the messages had, as filters should find them.
	want := func(ids ...string) map[string]int {
		out := map[string]int{}
		for _, id := range ids {
			out[id] = all[id]
		}
		return out
	}

	t.Run("status class", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, want(ok), messagesOf(attempts("status_class=2xx")))
		for class, code := range map[string]string{"3xx": "302", "4xx": "400", "5xx": "500"} {
			got := attempts("status_class=" + class)
			require.Equal(t, want(msgs[code]), messagesOf(got), class)
			for _, a := range got {
				require.Equal(t, code, fmt.Sprint(a["status_code"]), class)
			}
		}
		got := attempts("status_class=error")
		require.Equal(t, want(msgs["0"]), messagesOf(got))
		for _, a := range got {
			require.Nil(t, a["status_code"])
			require.NotNil(t, a["error"])
		}
		require.Equal(t, want(msgs["500"]), messagesOf(attempts("status_class=5xx&status=failed")))
		require.Empty(t, attempts("status_class=2xx&status=failed"))
	})

	t.Run("event type", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, want(msgs["302"], msgs["500"]), messagesOf(attempts("event_type="+voided)))
		require.Equal(t, want(ok, msgs["400"], msgs["0"]), messagesOf(attempts("event_type="+paid)))
		require.Empty(t, attempts("event_type="+paid+"&status_class=5xx"))
		require.Empty(t, attempts("event_type=never.published"))
	})

	t.Run("time", func(t *testing.T) {
		t.Parallel()
		at := url.QueryEscape(split.Format(time.RFC3339Nano))
		require.Equal(t, map[string]int{ok: 1}, messagesOf(attempts("until="+at)))
		require.Equal(t, want(msgs["302"], msgs["400"], msgs["500"], msgs["0"]), messagesOf(attempts("since="+at)))
		hour := url.QueryEscape(split.Add(-time.Hour).Format(time.RFC3339Nano))
		require.Equal(t, map[string]int{ok: 1}, messagesOf(attempts("since="+hour+"&until="+at)))
		require.Empty(t, attempts("since="+url.QueryEscape(time.Now().Add(time.Minute).Format(time.RFC3339))))
		for _, a := range attempts("since=" + at) {
			started, err := time.Parse(time.RFC3339Nano, a["started_at"].(string))
			require.NoError(t, err)
			require.False(t, started.Before(split), "started %s, since %s", started, split)
		}
	})

	t.Run("a message's attempts", func(t *testing.T) {
		t.Parallel()
		list := func(m, query string) []obj {
			t.Helper()
			return h.list(t, base+"/messages/"+m+"/attempts?"+query, adminKey).Data
		}
		require.Len(t, list(msgs["500"], "status_class=5xx"), all[msgs["500"]])
		require.Empty(t, list(msgs["400"], "status_class=5xx"))
		require.Len(t, list(msgs["400"], "status_class=4xx&event_type="+paid), all[msgs["400"]])
		require.Empty(t, list(msgs["400"], "event_type="+voided))
		require.Len(t, list(ok, "until="+url.QueryEscape(split.Format(time.RFC3339Nano))), 1)
		require.Empty(t, list(ok, "since="+url.QueryEscape(split.Format(time.RFC3339Nano))))
	})

	t.Run("refused filters", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ query, field string }{
			{"status_class=6xx", "status_class"},
			{"status_class=2XX", "status_class"},
			{"status_class=200", "status_class"},
			{"event_type=not%20a%20name", "event_type"},
			{"since=yesterday", "since"},
			{"until=2026-13-01T00:00:00Z", "until"},
			{"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
			{"status=lost", "status"},
		} {
			for _, path := range []string{base + "/endpoints/" + ep + "/attempts", base + "/messages/" + ok + "/attempts"} {
				status, header, raw := h.do(t, http.MethodGet, path+"?"+tc.query, adminKey, nil)
				requireInvalid(t, tc.field, status, header, raw)
			}
		}
	})

	t.Run("one attempt by id", func(t *testing.T) {
		t.Parallel()
		list := attempts("status_class=5xx")
		want := list[0]
		status, _, raw := h.do(t, http.MethodGet, base+"/attempts/"+want["id"].(string), adminKey, nil)
		require.Equal(t, want, decode[obj](t, http.StatusOK, status, raw))

		_, key := h.tenantKey(t, tn)
		status, _, raw = h.do(t, http.MethodGet, base+"/attempts/"+want["id"].(string), key, nil)
		require.Equal(t, want, decode[obj](t, http.StatusOK, status, raw), "the tenant's own key reads it")

		// Another tenant's path, or its key, does not find it.
		other := h.tenant(t)
		_, otherKey := h.tenantKey(t, other)
		for _, c := range []struct{ path, key string }{
			{"/api/v1/tenants/" + other + "/attempts/" + want["id"].(string), adminKey},
			{"/api/v1/tenants/" + other + "/attempts/" + want["id"].(string), otherKey},
			{base + "/attempts/" + want["id"].(string), otherKey},
			{base + "/attempts/0190a0a0-0000-7000-8000-000000000000", adminKey},
			{base + "/attempts/" + msgs["500"], adminKey}, // a message's id is not an attempt's
			{base + "/attempts/nope", adminKey},
		} {
			status, header, raw := h.do(t, http.MethodGet, c.path, c.key, nil)
			requireProblem(t, http.StatusNotFound, status, header, raw)
		}
	})
}
