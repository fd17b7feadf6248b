package store_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestPortalLinkLogsInOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)

	link, err := st.CreatePortalLink(ctx, store.PortalLink{Hash: hash("link"), TenantID: tn.ID, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Nil(t, link.UsedAt)

	sess, err := st.RedeemPortalLink(ctx, hash("link"), store.PortalSession{ID: hash("cookie"), TenantID: "ignored", CSRFToken: "csrf"}, 2*time.Hour)
	require.NoError(t, err)
	require.Equal(t, tn.ID, sess.TenantID, "the session is for the link's tenant")
	require.Equal(t, "csrf", sess.CSRFToken)
	require.WithinDuration(t, sess.CreatedAt.Add(2*time.Hour), sess.ExpiresAt, time.Second)

	_, err = st.RedeemPortalLink(ctx, hash("link"), store.PortalSession{ID: hash("cookie2"), CSRFToken: "x"}, time.Hour)
	require.ErrorIs(t, err, store.ErrNotFound, "a link logs in once")
	_, err = st.RedeemPortalLink(ctx, hash("unknown"), store.PortalSession{ID: hash("cookie3"), CSRFToken: "x"}, time.Hour)
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = st.CreatePortalLink(ctx, store.PortalLink{Hash: hash("old"), TenantID: tn.ID, ExpiresAt: time.Now().Add(-time.Second)})
	require.NoError(t, err)
	_, err = st.RedeemPortalLink(ctx, hash("old"), store.PortalSession{ID: hash("cookie4"), CSRFToken: "x"}, time.Hour)
	require.ErrorIs(t, err, store.ErrNotFound, "an expired link does not log in")

	got, err := st.PortalSessionByID(ctx, hash("cookie"))
	require.NoError(t, err)
	require.Equal(t, tn.ID, got.TenantID)
	_, err = st.PortalSessionByID(ctx, hash("cookie2"))
	require.ErrorIs(t, err, store.ErrNotFound)

	// Last, as it ends the test's transaction.
	_, err = st.CreatePortalLink(ctx, store.PortalLink{Hash: hash("nobody"), TenantID: "no-such-tenant", ExpiresAt: time.Now().Add(time.Hour)})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestPortalSessionsEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn, other := storetest.Tenant(t, st, nil), storetest.Tenant(t, st, nil)
	login := func(tenant, cookie string) {
		t.Helper()
		_, err := st.CreatePortalLink(ctx, store.PortalLink{Hash: hash("link-" + cookie), TenantID: tenant, ExpiresAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		_, err = st.RedeemPortalLink(ctx, hash("link-"+cookie), store.PortalSession{ID: hash(cookie), CSRFToken: "x"}, time.Hour)
		require.NoError(t, err)
	}
	login(tn.ID, "a")
	login(tn.ID, "b")
	login(other.ID, "c")

	require.NoError(t, st.RevokePortalSession(ctx, hash("a")))
	require.NoError(t, st.RevokePortalSession(ctx, hash("a")), "logging out twice is fine")
	_, err := st.PortalSessionByID(ctx, hash("a"))
	require.ErrorIs(t, err, store.ErrNotFound)

	n, err := st.RevokePortalSessions(ctx, tn.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only b was still live")
	_, err = st.PortalSessionByID(ctx, hash("b"))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.PortalSessionByID(ctx, hash("c"))
	require.NoError(t, err, "another tenant's session lives on")
}

func TestPortalLinkOptionsPassToTheSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	opts := store.PortalOptions{ReadOnly: true, AccentColor: "#0f766e", Dark: true}

	link, err := st.CreatePortalLink(ctx, store.PortalLink{Hash: hash("embed"), TenantID: tn.ID,
		ExpiresAt: time.Now().Add(time.Hour), Options: opts})
	require.NoError(t, err)
	require.Equal(t, opts, link.Options)
	sess, err := st.RedeemPortalLink(ctx, hash("embed"), store.PortalSession{ID: hash("token"), Bearer: true,
		Options: store.PortalOptions{}}, time.Hour)
	require.NoError(t, err)
	require.Equal(t, opts, sess.Options, "the link's options, not the caller's")
	require.True(t, sess.Bearer)
	require.Empty(t, sess.CSRFToken)
	got, err := st.PortalSessionByID(ctx, hash("token"))
	require.NoError(t, err)
	require.Equal(t, opts, got.Options)
	require.True(t, got.Bearer)

	_, err = st.CreatePortalLink(ctx, store.PortalLink{Hash: hash("plain"), TenantID: tn.ID, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	plain, err := st.RedeemPortalLink(ctx, hash("plain"), store.PortalSession{ID: hash("cookie"), CSRFToken: "x"}, time.Hour)
	require.NoError(t, err)
	require.Equal(t, store.PortalOptions{}, plain.Options)
	require.False(t, plain.Bearer)
}

func TestEndpointStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	since := time.Now().Add(-24 * time.Hour)

	s, err := st.EndpointStats(ctx, tn.ID, ep.ID, since)
	require.NoError(t, err)
	require.Equal(t, store.EndpointStats{EndpointID: ep.ID}, s, "no attempts: zeros and nils")

	attempt := func(status string, code int, started time.Time) {
		t.Helper()
		m := storetest.Message(t, st, tn.ID, "a")
		d := storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)
		require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{{Attempt: store.Attempt{TenantID: tn.ID,
			DeliveryID: d.ID, MessageID: m.ID, EndpointID: ep.ID, Trigger: store.TriggerScheduled, Status: status,
			StatusCode: code, URL: ep.URL, StartedAt: started}, Status: store.DeliveryFailed}}))
	}
	attempt(store.AttemptFailed, 500, time.Now().Add(-25*time.Hour))
	attempt(store.AttemptSucceeded, 200, time.Now().Add(-time.Hour))
	attempt(store.AttemptSucceeded, 204, time.Now().Add(-time.Minute))
	attempt(store.AttemptFailed, 0, time.Now()) // no answer: a timeout

	s, err = st.EndpointStats(ctx, tn.ID, ep.ID, since)
	require.NoError(t, err)
	require.Equal(t, 3, s.Attempts, "the attempt of 25 hours ago is out of the window")
	require.Equal(t, 2, s.Succeeded)
	require.Nil(t, s.LastStatusCode, "the latest attempt got no answer")
	require.NotNil(t, s.LastAttemptAt)

	other := storetest.Tenant(t, st, nil)
	s, err = st.EndpointStats(ctx, other.ID, ep.ID, since)
	require.NoError(t, err)
	require.Zero(t, s.Attempts, "another tenant sees nothing")
}
