package store_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func newCheck(tenant string, endpoint uuid.UUID) store.Check {
	return store.Check{TenantID: tenant, EndpointID: endpoint, URL: "http://127.0.0.1:9/hook",
		Payload: []byte(`{"a": 1}`), WebhookID: store.NewID().String()}
}

func TestCheckRateLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	other := storetest.Tenant(t, st, nil)

	_, err := st.CreateCheck(ctx, newCheck(other.ID, ep.ID), time.Minute, time.Hour)
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's endpoint")

	c, err := st.CreateCheck(ctx, newCheck(tn.ID, ep.ID), time.Minute, time.Hour)
	require.NoError(t, err)
	require.Equal(t, store.CheckRunning, c.Status)

	_, err = st.CreateCheck(ctx, newCheck(tn.ID, ep.ID), time.Minute, 0)
	var soon *store.CheckTooSoonError
	require.ErrorAs(t, err, &soon)
	require.False(t, soon.Running)
	require.InDelta(t, time.Minute.Seconds(), soon.Wait.Seconds(), 1, "the whole minute is left (now() is fixed in a transaction)")

	_, err = st.CreateCheck(ctx, newCheck(tn.ID, ep.ID), 0, time.Hour)
	require.ErrorAs(t, err, &soon, "one is still running")
	require.True(t, soon.Running)
	require.Contains(t, soon.Error(), "still running")

	require.NoError(t, st.FinishCheck(ctx, c.ID, store.CheckFinished, ""))
	_, err = st.CreateCheck(ctx, newCheck(tn.ID, ep.ID), 0, time.Hour)
	require.NoError(t, err, "finished, and no minimum gap")

	// Another endpoint has its own limit.
	ep2 := storetest.Endpoint(t, st, tn.ID, nil)
	_, err = st.CreateCheck(ctx, newCheck(tn.ID, ep2.ID), time.Minute, time.Hour)
	require.NoError(t, err)
}

func TestCheckResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	c, err := st.CreateCheck(ctx, newCheck(tn.ID, ep.ID), 0, 0)
	require.NoError(t, err)

	started := time.Now().Truncate(time.Millisecond)
	valid := store.CheckResult{Name: "valid", Verdict: store.VerdictPass, Sent: "a correctly signed example event",
		Got: "answered 204 No Content in 3 ms", Attempt: store.Attempt{
			URL: c.URL, StatusCode: 204, StartedAt: started, Duration: 3 * time.Millisecond, RemoteAddr: "127.0.0.1:9",
			RequestHeaders:  http.Header{"Webhook-Check": {"valid"}, "Webhook-Signature": {"[redacted]"}},
			ResponseHeaders: http.Header{"X-Receiver": {"test"}}, ResponseBody: []byte("ok"),
			Timings: store.Timings{TTFB: 2500 * time.Microsecond},
		}}
	bad := store.CheckResult{Name: "bad_signature", Verdict: store.VerdictWarn, Got: "no answer",
		Attempt: store.Attempt{URL: c.URL, ErrorClass: "timeout", Error: "took too long", StartedAt: started}}
	require.NoError(t, st.RecordCheckResults(ctx, c.ID, []store.CheckResult{valid, bad}))
	bad.Verdict, bad.Fix = store.VerdictFail, "answer 4xx"
	require.NoError(t, st.RecordCheckResults(ctx, c.ID, []store.CheckResult{bad}), "a result is replaced, not added")

	got, err := st.GetCheck(ctx, tn.ID, ep.ID, c.ID)
	require.NoError(t, err)
	require.Len(t, got.Results, 2)
	byName := map[string]store.CheckResult{}
	for _, r := range got.Results {
		byName[r.Name] = r
	}
	v := byName["valid"]
	require.Equal(t, store.VerdictPass, v.Verdict)
	require.Equal(t, "answered 204 No Content in 3 ms", v.Got)
	require.Equal(t, store.TriggerCheck, v.Attempt.Trigger)
	require.Equal(t, store.AttemptSucceeded, v.Attempt.Status)
	require.Equal(t, 204, v.Attempt.StatusCode)
	require.Equal(t, "valid", v.Attempt.RequestHeaders.Get("Webhook-Check"))
	require.Equal(t, "test", v.Attempt.ResponseHeaders.Get("X-Receiver"))
	require.Equal(t, "ok", string(v.Attempt.ResponseBody))
	require.Equal(t, 2500*time.Microsecond, v.Attempt.Timings.TTFB)
	require.True(t, started.Equal(v.Attempt.StartedAt))
	b := byName["bad_signature"]
	require.Equal(t, store.VerdictFail, b.Verdict)
	require.Equal(t, "answer 4xx", b.Fix)
	require.Equal(t, store.AttemptFailed, b.Attempt.Status)
	require.Zero(t, b.Attempt.StatusCode)

	_, err = st.GetCheck(ctx, tn.ID, storetest.Endpoint(t, st, tn.ID, nil).ID, c.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "through another endpoint")

	require.NoError(t, st.FinishCheck(ctx, c.ID, store.CheckAborted, "no keys"))
	require.NoError(t, st.FinishCheck(ctx, c.ID, store.CheckFinished, ""), "an ended check stays as it ended")
	got, err = st.GetCheck(ctx, tn.ID, ep.ID, c.ID)
	require.NoError(t, err)
	require.Equal(t, store.CheckAborted, got.Status)
	require.Equal(t, "no keys", got.Error)
	require.NotNil(t, got.FinishedAt)

	// The work of a check has its endpoint's keys, current first.
	require.NoError(t, st.RotateSecret(ctx, tn.ID, ep.ID, "whsec_rotated", time.Hour))
	w, err := st.LoadCheckWork(ctx, c.ID)
	require.NoError(t, err)
	require.NoError(t, w.SecretsErr)
	require.Equal(t, []string{"whsec_rotated", storetest.TestSecret}, w.Secrets)
	require.Equal(t, ep.ID, w.Endpoint.ID)
	require.Len(t, w.Check.Results, 2)

	// Last: the failed insert ends the test's transaction.
	require.ErrorIs(t, st.RecordCheckResults(ctx, uuid.New(), []store.CheckResult{bad}), store.ErrNotFound)
}

func TestChecksListedKeptAndDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	var ids []uuid.UUID
	for range 22 {
		c, err := st.CreateCheck(ctx, newCheck(tn.ID, ep.ID), 0, 0)
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	var seen []uuid.UUID
	cursor := ""
	for {
		page, next, err := st.ListChecks(ctx, tn.ID, ep.ID, store.Page{Limit: 8, Cursor: cursor})
		require.NoError(t, err)
		for _, c := range page {
			seen = append(seen, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, 20, "the latest 20 are kept")
	require.Equal(t, ids[21], seen[0], "newest first")
	require.Equal(t, ids[2], seen[19])

	require.NoError(t, st.DeleteEndpoint(ctx, tn.ID, ep.ID))
	_, err := st.GetCheck(ctx, tn.ID, ep.ID, ids[21])
	require.ErrorIs(t, err, store.ErrNotFound, "checks go with their endpoint")
	_, err = st.LoadCheckWork(ctx, ids[21])
	require.ErrorIs(t, err, store.ErrNotFound)
}
