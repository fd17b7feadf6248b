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

func TestSendTestToOneEndpoint(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	rc, bystander := newReceiver(t, nil), newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	// The endpoint wants other event types: a test reaches it all the same.
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL, EventTypes: []string{"user.*"}})
	storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: bystander.srv.URL})
	example := `{ "invoice": "in_1",  "amount": 10 }`
	_, err := f.st.CreateEventType(ctx, store.EventType{Name: "invoice.paid", Example: []byte(example)})
	require.NoError(t, err)
	_, err = f.st.CreateEventType(ctx, store.EventType{Name: "invoice.voided"})
	require.NoError(t, err)

	m, err := f.svc.SendTest(ctx, tn.ID, ep.ID, "invoice.paid")
	require.NoError(t, err)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	got := rc.requests()
	require.Len(t, got, 1)
	require.Equal(t, example, string(got[0].body), "the example's exact bytes")
	require.Zero(t, rc.badSig)
	require.Equal(t, m.ID.String(), got[0].header.Get("webhook-id"))

	m2, err := f.svc.SendTest(ctx, tn.ID, ep.ID, "invoice.voided")
	require.NoError(t, err)
	f.waitStatus(t, tn.ID, m2.ID, ep.ID, store.DeliverySucceeded)
	require.Equal(t, "{}", string(rc.requests()[1].body), "no example: an empty object")

	ds, err := f.st.MessageDeliveries(ctx, tn.ID, m.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1, "one delivery, to this endpoint")
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, bystander.requests())
}

func TestSendTestRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, nil)
	_, err := f.st.CreateEventType(ctx, store.EventType{Name: "a.b"})
	require.NoError(t, err)
	_, err = f.st.CreateEventType(ctx, store.EventType{Name: "old.one", Archived: true})
	require.NoError(t, err)
	other := storetest.Tenant(t, f.st, nil)

	_, err = f.svc.SendTest(ctx, other.ID, ep.ID, "a.b")
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's endpoint")
	_, err = f.svc.SendTest(ctx, tn.ID, uuid.New(), "a.b")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.svc.SendTest(ctx, tn.ID, ep.ID, "no.such")
	require.ErrorIs(t, err, delivery.ErrEventType)
	_, err = f.svc.SendTest(ctx, tn.ID, ep.ID, "old.one")
	require.ErrorIs(t, err, delivery.ErrEventType)

	ep.Disabled, ep.DisabledReason = true, "off"
	_, err = f.st.UpdateEndpoint(ctx, ep)
	require.NoError(t, err)
	_, err = f.svc.SendTest(ctx, tn.ID, ep.ID, "a.b")
	require.ErrorIs(t, err, delivery.ErrEndpointDisabled)

	ms, _, err := f.st.ListMessages(ctx, tn.ID, store.MessageFilter{}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, ms, "nothing was stored for the refused tests")
}
