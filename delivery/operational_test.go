package delivery_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// opEvent is an operational webhook as a receiver reads it.
type opEvent struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		TenantID    string    `json:"tenant_id"`
		EndpointID  uuid.UUID `json:"endpoint_id"`
		URL         string    `json:"url"`
		Reason      string    `json:"reason"`
		LastAttempt *struct {
			ID          uuid.UUID `json:"id"`
			MessageID   uuid.UUID `json:"message_id"`
			StatusCode  *int      `json:"status_code"`
			Error       *string   `json:"error"`
			ErrorDetail string    `json:"error_detail"`
		} `json:"last_attempt"`
		MessageID *uuid.UUID `json:"message_id"`
		EventType string     `json:"event_type"`
		Attempts  int        `json:"attempts"`
		Changed   []string   `json:"changed"`
	} `json:"data"`
}

func decodeEvent(t *testing.T, r received) opEvent {
	t.Helper()
	var ev opEvent
	require.NoError(t, json.Unmarshal(r.body, &ev), "body: %s", r.body)
	return ev
}

// opEndpoint makes the operational tenant and an endpoint of it.
func opEndpoint(t *testing.T, st *store.Store, url string, eventTypes ...string) store.Endpoint {
	t.Helper()
	require.NoError(t, st.EnsureOperationalTenant(context.Background()))
	return storetest.Endpoint(t, st, store.OperationalTenant, &storetest.EndpointOpts{URL: url, EventTypes: eventTypes})
}

// TestNotifyReachesOperationalEndpoints: an operational event goes, signed,
// to the operational endpoints that want its type, and to no other.
func TestNotifyReachesOperationalEndpoints(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, nil)

	// No operational tenant yet: nothing to do, and nothing stored.
	require.NoError(t, f.svc.Notify(ctx, delivery.OperationalEvent{Type: delivery.EventEndpointCreated, TenantID: tn.ID,
		EndpointID: ep.ID, URL: ep.URL}))

	changes := newReceiver(t, nil)
	all := newReceiver(t, nil)
	opEndpoint(t, f.st, changes.srv.URL, "endpoint.created", "endpoint.updated")
	opEndpoint(t, f.st, all.srv.URL)
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	require.NoError(t, f.svc.Notify(ctx, delivery.OperationalEvent{Type: delivery.EventEndpointUpdated, TenantID: tn.ID,
		EndpointID: ep.ID, URL: ep.URL, Changed: []string{"url"}, At: at}))
	require.NoError(t, f.svc.Notify(ctx, delivery.OperationalEvent{Type: delivery.EventEndpointDisabled, TenantID: tn.ID,
		EndpointID: ep.ID, URL: ep.URL, Reason: "410 Gone", LastAttempt: &delivery.AttemptSummary{
			ID: uuid.New(), MessageID: uuid.New(), StatusCode: 410, ErrorClass: "gone", Error: "410 Gone", StartedAt: at}}))
	require.Eventually(t, func() bool { return len(all.requests()) == 2 }, 15*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(changes.requests()) == 1 }, 15*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Len(t, changes.requests(), 1, "the disable is not among the types it chose")
	require.Zero(t, all.badSig+changes.badSig, "signed like every delivery")

	up := decodeEvent(t, changes.requests()[0])
	require.Equal(t, "endpoint.updated", up.Type)
	require.Equal(t, at, up.Timestamp)
	require.Equal(t, tn.ID, up.Data.TenantID)
	require.Equal(t, ep.ID, up.Data.EndpointID)
	require.Equal(t, ep.URL, up.Data.URL)
	require.Equal(t, []string{"url"}, up.Data.Changed)
	require.Nil(t, up.Data.LastAttempt)
	var off opEvent
	for _, r := range all.requests() {
		if ev := decodeEvent(t, r); ev.Type == "endpoint.disabled" {
			off = ev
		}
	}
	require.Equal(t, "410 Gone", off.Data.Reason)
	require.NotNil(t, off.Data.LastAttempt)
	require.Equal(t, 410, *off.Data.LastAttempt.StatusCode)
	require.Equal(t, "gone", *off.Data.LastAttempt.Error)
	require.Nil(t, off.Data.MessageID, "only message.attempt.exhausted names a message")

	// The same key is sent once.
	ev := delivery.OperationalEvent{Type: delivery.EventEndpointCreated, TenantID: tn.ID, EndpointID: ep.ID, URL: ep.URL, Key: "k1"}
	require.NoError(t, f.svc.Notify(ctx, ev))
	require.NoError(t, f.svc.Notify(ctx, ev))
	require.Eventually(t, func() bool { return len(changes.requests()) == 2 }, 15*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Len(t, changes.requests(), 2)

	// Not a type of the catalog: an error, nothing sent.
	require.Error(t, f.svc.Notify(ctx, delivery.OperationalEvent{Type: "endpoint.exploded", TenantID: tn.ID}))
}

// TestNotifyTxFollowsTheTransaction: an event published in a transaction
// that rolls back is never sent; one that commits is.
func TestNotifyTxFollowsTheTransaction(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	opEndpoint(t, f.st, rc.srv.URL)
	ev := func(reason string) delivery.OperationalEvent {
		return delivery.OperationalEvent{Type: delivery.EventEndpointFailing, TenantID: "acme", EndpointID: uuid.New(),
			URL: "https://acme.example/hook", Reason: reason}
	}
	err := f.st.InTx(ctx, func(tx pgx.Tx) error {
		require.NoError(t, f.svc.NotifyTx(ctx, tx, ev("rolled back")))
		return context.Canceled
	})
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error { return f.svc.NotifyTx(ctx, tx, ev("committed")) }))
	require.Eventually(t, func() bool { return len(rc.requests()) == 1 }, 15*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Len(t, rc.requests(), 1)
	require.Equal(t, "committed", decodeEvent(t, rc.requests()[0]).Data.Reason)
}

// TestExhaustedDeliveryIsReported: a delivery that fails its last
// scheduled attempt is reported with the message and the last answer; a
// failing operational endpoint says nothing about itself.
func TestExhaustedDeliveryIsReported(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{Schedule: delivery.Schedule{20 * time.Millisecond}})
	ctx := context.Background()
	down := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		return http.StatusInternalServerError, nil, "down"
	})
	ops := newReceiver(t, nil)
	opEndpoint(t, f.st, ops.srv.URL, "message.attempt.exhausted")
	// An operational endpoint that fails as well: its own deliveries give
	// up too, and that is not reported (no loop).
	opEndpoint(t, f.st, down.srv.URL+"/ops", "message.attempt.exhausted")

	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: down.srv.URL + "/customer"})
	m := f.publish(t, tn.ID, "invoice.paid", `{"id":"inv_1"}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryFailed)
	require.Eventually(t, func() bool { return len(ops.requests()) == 1 }, 15*time.Second, 10*time.Millisecond)
	ev := decodeEvent(t, ops.requests()[0])
	require.Equal(t, "message.attempt.exhausted", ev.Type)
	require.Equal(t, tn.ID, ev.Data.TenantID)
	require.Equal(t, ep.ID, ev.Data.EndpointID)
	require.Equal(t, m.ID, *ev.Data.MessageID)
	require.Equal(t, "invoice.paid", ev.Data.EventType)
	require.Equal(t, 2, ev.Data.Attempts)
	require.Contains(t, ev.Data.Reason, "exhausted after 2 attempts")
	require.Equal(t, 500, *ev.Data.LastAttempt.StatusCode)
	require.Equal(t, "status", *ev.Data.LastAttempt.Error)
	attempts, _, err := f.st.ListAttempts(ctx, tn.ID, store.AttemptFilter{MessageID: m.ID}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, attempts[0].ID, ev.Data.LastAttempt.ID, "the last attempt, by the id the attempt log has")

	// The failing operational endpoint got the event twice (two attempts)
	// and its own exhausted delivery produced nothing more.
	time.Sleep(500 * time.Millisecond)
	require.Len(t, ops.requests(), 1, "one event: the customer's delivery, not the operational endpoint's")
	var toOps int
	for _, r := range down.requests() {
		if r.path == "/ops" {
			toOps++
		}
	}
	require.Equal(t, 2, toOps)

	// A manual re-send that fails again says nothing more.
	_, err = f.svc.Resend(ctx, "test", tn.ID, m.ID, uuid.Nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(down.requests()) >= 5 }, 15*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	require.Len(t, ops.requests(), 1)
}
