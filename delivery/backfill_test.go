package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// TestBackfillMatchesAsFanoutWould publishes messages to a tenant without
// endpoints, then backfills endpoints with every kind of filter: each gets
// exactly the messages that fan-out would have given it, oldest first,
// as attempts with the trigger backfill, once.
func TestBackfillMatchesAsFanoutWould(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	tn := storetest.Tenant(t, f.st, nil)
	type msg struct {
		eventType string
		channels  []string
	}
	var published []store.Message
	for _, m := range []msg{
		{"invoice.paid", nil}, {"invoice.paid", []string{"eu"}}, {"invoice.voided", []string{"us"}},
		{"invoice.line.added", nil}, {"user.created", []string{"eu", "us"}}, {"invoices.misc", nil},
	} {
		published = append(published, f.publish(t, tn.ID, m.eventType, `{"n":1}`, m.channels...))
	}
	since := time.Now().Add(-time.Minute)
	rc := newReceiver(t, nil)

	for _, tc := range []struct {
		name       string
		eventTypes []string
		channels   []string
	}{
		{"everything", nil, nil},
		{"star", []string{"*"}, nil},
		{"one name", []string{"invoice.paid"}, nil},
		{"a prefix", []string{"invoice.*"}, nil},
		{"a prefix and a name", []string{"invoice.*", "user.created"}, nil},
		{"a channel", nil, []string{"eu"}},
		{"a name on a channel", []string{"invoice.paid"}, []string{"eu"}},
		{"nothing published", []string{"payout.sent"}, nil},
	} {
		ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/" + tc.name,
			EventTypes: tc.eventTypes, Channels: tc.channels})
		var want []uuid.UUID
		for _, m := range published {
			if delivery.Matches(ep, m.EventType, m.Channels) {
				want = append(want, m.ID)
			}
		}
		n, err := f.svc.CountBackfill(ctx, ep, since)
		require.NoError(t, err, tc.name)
		require.Equal(t, len(want), n, "%s: the dry run counts what fan-out would have sent", tc.name)

		r, more, err := f.svc.Backfill(ctx, "test", ep, since)
		require.NoError(t, err, tc.name)
		require.False(t, more, tc.name)
		require.Equal(t, len(want), r.Matched, tc.name)
		require.Equal(t, len(want), r.Enqueued, tc.name)
		require.Equal(t, store.ReplayFinished, r.Status, tc.name)
		for _, id := range want {
			f.waitStatus(t, tn.ID, id, ep.ID, store.DeliverySucceeded)
		}
		attempts, _, err := f.st.ListAttempts(ctx, tn.ID, store.AttemptFilter{EndpointID: ep.ID}, store.Page{Limit: 100})
		require.NoError(t, err, tc.name)
		got := map[uuid.UUID]bool{}
		for _, a := range attempts {
			require.Equal(t, store.TriggerBackfill, a.Trigger, tc.name)
			require.Equal(t, r.ID, a.ReplayID, "%s: the attempt counts for the backfill's record", tc.name)
			got[a.MessageID] = true
		}
		require.Len(t, got, len(want), tc.name)
		for _, id := range want {
			require.True(t, got[id], "%s: message %s was sent", tc.name, id)
		}

		// Again: nothing is left to send.
		n, err = f.svc.CountBackfill(ctx, ep, since)
		require.NoError(t, err)
		require.Zero(t, n, tc.name)
		r, _, err = f.svc.Backfill(ctx, "test", ep, since)
		require.NoError(t, err)
		require.Zero(t, r.Enqueued, tc.name)
	}
	require.Zero(t, rc.badSig, "every backfilled delivery is signed")

	// A disabled endpoint gets nothing.
	off := storetest.Endpoint(t, f.st, tn.ID, nil)
	_, err := f.st.DisableEndpoint(ctx, off.ID, "off")
	require.NoError(t, err)
	off, err = f.st.GetEndpoint(ctx, tn.ID, off.ID)
	require.NoError(t, err)
	n, err := f.svc.CountBackfill(ctx, off, since)
	require.NoError(t, err)
	require.Zero(t, n)
	r, _, err := f.svc.Backfill(ctx, "test", off, since)
	require.NoError(t, err)
	require.Zero(t, r.Enqueued)
}

// TestBackfillIsPacedByTheRateLimit backfills an endpoint limited to 5
// messages a second: 10 messages arrive over about two seconds, in the
// order they were published.
func TestBackfillIsPacedByTheRateLimit(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	tn := storetest.Tenant(t, f.st, nil)
	var ids []string
	for range 10 {
		ids = append(ids, f.publish(t, tn.ID, "invoice.paid", `{"n":1}`).ID.String())
	}
	rc := newReceiver(t, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	five := 5
	ep.RateLimit = &five
	ep, err := f.st.UpdateEndpoint(ctx, ep)
	require.NoError(t, err)

	start := time.Now()
	r, _, err := f.svc.Backfill(ctx, "test", ep, start.Add(-time.Minute))
	require.NoError(t, err)
	require.Equal(t, 10, r.Enqueued)
	require.Eventually(t, func() bool { return len(rc.requests()) == 10 }, 15*time.Second, 10*time.Millisecond)
	took := time.Since(start)
	t.Logf("10 messages at 5 a second took %s", took)
	// Unpaced, the limiter alone would let a burst of 5 through and the
	// rest within a second.
	require.GreaterOrEqual(t, took, 1700*time.Millisecond, "10 messages at 5 a second take about 2 s, not %s", took)
	for i, got := range rc.requests() {
		require.Equal(t, ids[i], got.header.Get("webhook-id"), "oldest first")
	}
}
