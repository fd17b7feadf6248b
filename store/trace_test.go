package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// TestTraceContextIsKept: a message keeps the traceparent it was published
// under, and an endpoint its forward_trace_context, through to the work an
// attempt loads.
func TestTraceContextIsKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

	ms, _, err := st.InsertMessages(ctx, []store.Message{
		{TenantID: tn.ID, EventType: "a", Payload: []byte(`{}`), TraceParent: tp},
		{TenantID: tn.ID, EventType: "a", Payload: []byte(`{}`)},
	})
	require.NoError(t, err)
	require.Equal(t, tp, ms[0].TraceParent)
	require.Empty(t, ms[1].TraceParent, "published without tracing")
	got, err := st.GetMessage(ctx, tn.ID, ms[0].ID)
	require.NoError(t, err)
	require.Equal(t, tp, got.TraceParent)

	ep := storetest.Endpoint(t, st, tn.ID, nil)
	require.False(t, ep.ForwardTraceContext, "off unless asked")
	ep.ForwardTraceContext = true
	ep, err = st.UpdateEndpoint(ctx, ep)
	require.NoError(t, err)
	require.True(t, ep.ForwardTraceContext)

	d := storetest.Delivery(t, st, tn.ID, ms[0].ID, ep.ID)
	work, err := st.LoadWork(ctx, []uuid.UUID{d.ID})
	require.NoError(t, err)
	require.Equal(t, tp, work[d.ID].Message.TraceParent)
	require.True(t, work[d.ID].Endpoint.ForwardTraceContext)
}
