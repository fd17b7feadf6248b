package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// storedHeaders is what a dump of endpoints.headers shows.
func storedHeaders(t *testing.T, tx pgx.Tx) map[uuid.UUID]string {
	t.Helper()
	rows, err := tx.Query(context.Background(), `SELECT id, headers FROM endpoints`)
	require.NoError(t, err)
	out := map[uuid.UUID]string{}
	for rows.Next() {
		var id uuid.UUID
		var v string
		require.NoError(t, rows.Scan(&id, &v))
		out[id] = v
	}
	require.NoError(t, rows.Err())
	return out
}

// requireHeadersSealed checks that every endpoint's headers are sealed and
// that none of plain shows in them.
func requireHeadersSealed(t *testing.T, tx pgx.Tx, plain ...string) {
	t.Helper()
	for id, v := range storedHeaders(t, tx) {
		require.True(t, strings.HasPrefix(v, "enc:v1:"), "endpoint %s: %s", id, v)
		for _, p := range plain {
			require.NotContains(t, v, p)
		}
	}
}

func TestHeadersEncryptedWithCipher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := storetest.Tx(t)
	plain := store.New(nil).WithTx(tx)
	st := plain.WithCipher(newCipher(t))
	tn := storetest.Tenant(t, st, nil)
	headers := map[string]string{"Authorization": "Bearer tok_a1b2", "X-Source": "src_c3d4"}
	ep := storetest.Endpoint(t, st, tn.ID, &storetest.EndpointOpts{Headers: headers, SecretHeaders: []string{"X-Source"}})
	other := storetest.Endpoint(t, st, tn.ID, nil)
	requireHeadersSealed(t, tx, "tok_a1b2", "src_c3d4", "Authorization", "X-Source")
	require.Equal(t, headers, ep.Headers, "create answers the headers in clear")
	require.Equal(t, []string{"X-Source"}, ep.SecretHeaders)

	got, err := st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, headers, got.Headers)
	require.Equal(t, []string{"X-Source"}, got.SecretHeaders)
	list, _, err := st.ListEndpoints(ctx, tn.ID, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 2)
	got.Headers["X-Source"] = "src_e5f6"
	got.SecretHeaders = nil
	got, err = st.UpdateEndpoint(ctx, got)
	require.NoError(t, err)
	require.Equal(t, "src_e5f6", got.Headers["X-Source"])
	require.Empty(t, got.SecretHeaders)
	requireHeadersSealed(t, tx, "tok_a1b2", "src_e5f6")

	m := storetest.Message(t, st, tn.ID, "a")
	d := storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)
	work, err := st.LoadWork(ctx, []uuid.UUID{d.ID})
	require.NoError(t, err)
	require.NoError(t, work[d.ID].SecretsErr)
	require.Equal(t, "Bearer tok_a1b2", work[d.ID].Endpoint.Headers["Authorization"], "an attempt gets them in clear")

	// Without the key, or with another one, they do not open.
	for name, o := range map[string]*store.Store{"no key": plain, "another key": plain.WithCipher(newCipher(t))} {
		_, err := o.GetEndpoint(ctx, tn.ID, ep.ID)
		require.ErrorIs(t, err, store.ErrSecretKey, name)
		require.ErrorIs(t, o.CheckSecretKey(ctx), store.ErrSecretKey, name)
		work, err := o.LoadWork(ctx, []uuid.UUID{d.ID})
		require.NoError(t, err, "one unreadable endpoint does not fail the batch")
		require.ErrorIs(t, work[d.ID].SecretsErr, store.ErrSecretKey, name)
		require.Empty(t, work[d.ID].Endpoint.Headers)
	}
	require.NoError(t, st.CheckSecretKey(ctx))

	// A sealed value copied onto another endpoint's row, or a sealed
	// signing secret copied into the headers, does not open there.
	_, err = tx.Exec(ctx, `UPDATE endpoints SET headers = (SELECT headers FROM endpoints WHERE id = $1) WHERE id = $2`,
		ep.ID, other.ID)
	require.NoError(t, err)
	_, err = st.GetEndpoint(ctx, tn.ID, other.ID)
	require.ErrorIs(t, err, store.ErrSecretKey)
	_, err = tx.Exec(ctx, `UPDATE endpoints SET headers = (SELECT secret FROM endpoint_secrets WHERE endpoint_id = $1)
		WHERE id = $1`, other.ID)
	require.NoError(t, err)
	_, err = st.GetEndpoint(ctx, tn.ID, other.ID)
	require.ErrorIs(t, err, store.ErrSecretKey)
}

func TestSealHeaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := storetest.Tx(t)
	plain := store.New(nil).WithTx(tx)

	// Endpoints written without a key hold their headers in plain text.
	tn := storetest.Tenant(t, plain, nil)
	headers := map[string]string{"X-Api-Key": "ak_0d9e", "Cookie": "c=cookie_8f7a"}
	ep := storetest.Endpoint(t, plain, tn.ID, &storetest.EndpointOpts{Headers: headers})
	storetest.Endpoint(t, plain, tn.ID, nil)
	require.Contains(t, storedHeaders(t, tx)[ep.ID], "ak_0d9e")
	n, err := plain.SealHeaders(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "without a key there is nothing to seal with")

	// A key can be set first: the plain rows still read.
	st := plain.WithCipher(newCipher(t))
	got, err := st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, headers, got.Headers)

	n, err = st.SealHeaders(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	requireHeadersSealed(t, tx, "ak_0d9e", "cookie_8f7a")
	got, err = st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, headers, got.Headers)

	n, err = st.SealHeaders(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "running it again changes nothing")
}
