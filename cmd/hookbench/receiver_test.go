package main

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// A grouped receiver takes message seq on the endpoints of group
// seq % groups only, counts the rest as stray, answers /fail/ with 500 and
// /ok/ with 204 without measuring them, and knows what is missing.
func TestGroupedReceiver(t *testing.T) {
	t.Parallel()
	rcv, err := newGroupedReceiver(2, 2, 4, 0) // endpoints 0,1 (group 0) and 2,3 (group 1); seq 0…3
	require.NoError(t, err)
	t.Cleanup(rcv.close)

	post := func(path string, seq int) int {
		body := appendPayload(nil, seq, time.Now().UnixNano(), 0)
		req, err := http.NewRequest(http.MethodPost, rcv.base+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("webhook-id", uuid.NewString())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, d := range []struct{ seq, ep int }{{0, 0}, {0, 1}, {1, 2}, {2, 1}} {
		require.Equal(t, http.StatusNoContent, post(hookPathPrefix+strconv.Itoa(d.ep), d.seq))
	}
	require.Equal(t, http.StatusNoContent, post("/hook/0", 1), "seq 1 is group 1's")
	require.Equal(t, http.StatusInternalServerError, post("/fail/7", 0))
	require.Equal(t, http.StatusNoContent, post("/ok/3", 0))

	st := rcv.stats()
	require.Equal(t, 4, st.unique)
	require.Equal(t, 1, st.stray)
	require.Len(t, st.latencies, 4)
	require.EqualValues(t, 1, rcv.failed.Load())
	require.EqualValues(t, 1, rcv.okAnswered.Load())

	n, sample := rcv.missing([]bool{true, true, true, false}, 10)
	require.Equal(t, 2, n, "seq 3 was not acknowledged")
	require.Equal(t, []string{"seq 1 to /hook/3", "seq 2 to /hook/0"}, sample)
}

// waitForAcked waits for the accepted messages themselves: a delivery of
// one whose publish was cut short (not accepted) does not stand in for an
// accepted one still on its way, as it does for waitFor's count.
func TestWaitForAcked(t *testing.T) {
	t.Parallel()
	rcv, err := newReceiver(1, 3, 0)
	require.NoError(t, err)
	t.Cleanup(rcv.close)
	post := func(seq int) {
		body := appendPayload(nil, seq, time.Now().UnixNano(), 0)
		req, err := http.NewRequest(http.MethodPost, rcv.base+hookPathPrefix+"0", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("webhook-id", uuid.NewString())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	acked := []bool{true, false, true}
	post(0)
	post(1) // its publish was cut short, yet hookd delivered it
	ctx := t.Context()
	require.True(t, rcv.waitFor(ctx, 2, time.Now().Add(time.Second)), "the count is satisfied")
	require.False(t, rcv.waitForAcked(ctx, acked, time.Now().Add(100*time.Millisecond)), "seq 2 has not arrived")
	post(2)
	require.True(t, rcv.waitForAcked(ctx, acked, time.Now().Add(time.Second)))
}
