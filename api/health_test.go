package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Messages published while an endpoint is disabled are parked for it; the
// endpoint shows how many, and enabling it with send_parked sends each
// with its original webhook-id.
func TestParkedWhileDisabledAreSentOnEnable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	tn := h.tenant(t)
	ep := h.endpoint(t, tn, obj{"url": rc.url})
	id := ep["id"].(string)
	path := "/api/v1/tenants/" + tn + "/endpoints/" + id
	health := ep["health"].(obj)
	require.Equal(t, "healthy", health["state"])
	require.Equal(t, "closed", ep["circuit"].(obj)["state"])

	status, _, raw := h.do(t, http.MethodPatch, path, adminKey, obj{"disabled": true, "disabled_reason": "maintenance"})
	off := decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, "disabled", off["health"].(obj)["state"])
	require.NotNil(t, off["health"].(obj)["since"])

	var ids []string
	for i := range 3 {
		m := h.publish(t, tn, et, `{"n":`+string(rune('0'+i))+`}`)
		ids = append(ids, m["id"].(string))
	}
	status, _, raw = h.do(t, http.MethodGet, path, adminKey, nil)
	got := decode[obj](t, http.StatusOK, status, raw)
	require.EqualValues(t, 3, got["parked_count"], "the count comes first")
	require.Empty(t, rc.requests(), "nothing is sent while disabled")

	// send_parked on a disabled endpoint is refused, and changes nothing.
	status, header, raw := h.do(t, http.MethodPatch, path, adminKey, obj{"send_parked": true})
	requireProblem(t, http.StatusUnprocessableEntity, status, header, raw)

	status, _, raw = h.do(t, http.MethodPatch, path, adminKey, obj{"disabled": false, "send_parked": true})
	on := decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, "healthy", on["health"].(obj)["state"])
	got3 := rc.waitRequests(t, 3)
	var webhookIDs []string
	for _, r := range got3 {
		webhookIDs = append(webhookIDs, r.header.Get("webhook-id"))
	}
	require.ElementsMatch(t, ids, webhookIDs, "each parked delivery goes with its original webhook-id")
	for _, m := range ids {
		h.waitDelivery(t, tn, m, "succeeded")
	}
	status, _, raw = h.do(t, http.MethodGet, path, adminKey, nil)
	require.EqualValues(t, 0, decode[obj](t, http.StatusOK, status, raw)["parked_count"])
}
