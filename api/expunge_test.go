package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPublishRetention(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.eventType(t, "")
	tn := h.tenant(t)
	path := "/api/v1/tenants/" + tn + "/messages"

	for _, tc := range []struct {
		retention string
		want      time.Duration
	}{{`"7d"`, 7 * 24 * time.Hour}, {`"36h"`, 36 * time.Hour}, {`3600`, time.Hour}} {
		status, _, raw := h.do(t, http.MethodPost, path, adminKey,
			fmt.Sprintf(`{"event_type": %q, "payload": {}, "retention": %s}`, et, tc.retention))
		m := decode[obj](t, http.StatusAccepted, status, raw)
		at, err := time.Parse(time.RFC3339Nano, m["expires_at"].(string))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(tc.want), at, time.Minute, tc.retention)
	}
	status, _, raw := h.do(t, http.MethodPost, path, adminKey, fmt.Sprintf(`{"event_type": %q, "payload": {}}`, et))
	require.Nil(t, decode[obj](t, http.StatusAccepted, status, raw)["expires_at"], "the global retention")

	for _, bad := range []string{`"7w"`, `"d"`, `"-1d"`, `"99999999999d"`, `10`, `-5`, `true`, `{}`, `"1.5h"`} {
		status, header, raw := h.do(t, http.MethodPost, path, adminKey,
			fmt.Sprintf(`{"event_type": %q, "payload": {}, "retention": %s}`, et, bad))
		requireInvalid(t, "retention", status, header, raw)
	}
	require.Len(t, h.list(t, path, adminKey).Data, 4, "no refused publish stored anything")
}

func TestExpungeMessage(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int) (int, string) { return http.StatusOK, `{"customer":"jane@example.com"}` })
	h := newHarness(t, nil)
	et := h.eventType(t, "")
	tn := h.tenant(t)
	h.endpoint(t, tn, obj{"url": rc.url})
	m := h.publish(t, tn, et, `{"email":"jane@example.com"}`)
	id := m["id"].(string)
	h.waitDelivery(t, tn, id, "succeeded")
	path := "/api/v1/tenants/" + tn + "/messages/" + id
	eventually(t, func() (bool, string) {
		n := len(h.list(t, path+"/attempts", adminKey).Data)
		return n == 1, fmt.Sprintf("%d attempts", n)
	})

	status, header, raw := h.do(t, http.MethodDelete, "/api/v1/tenants/"+tn+"/messages/0195d5c4-0000-7000-8000-000000000000/content", adminKey, nil)
	requireProblem(t, http.StatusNotFound, status, header, raw)

	status, _, raw = h.do(t, http.MethodDelete, path+"/content", adminKey, nil)
	gone := decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, true, gone["expunged"])
	require.Nil(t, gone["payload"])
	require.NotNil(t, gone["expunged_at"])

	got := h.getMessage(t, tn, id)
	require.Equal(t, true, got["expunged"])
	require.Nil(t, got["payload"])
	require.Equal(t, "succeeded", got["deliveries"].([]any)[0].(map[string]any)["status"], "the metadata stays")
	attempts := h.list(t, path+"/attempts", adminKey).Data
	require.Len(t, attempts, 1)
	require.Equal(t, true, attempts[0]["expunged"])
	require.Empty(t, attempts[0]["response_body"])
	require.EqualValues(t, 200, attempts[0]["status_code"])

	status, header, raw = h.do(t, http.MethodPost, path+"/resend", adminKey, nil)
	requireProblem(t, http.StatusConflict, status, header, raw)
	status, _, raw = h.do(t, http.MethodDelete, path+"/content", adminKey, nil)
	require.Equal(t, true, decode[obj](t, http.StatusOK, status, raw)["expunged"], "again: nothing more to do")
}
