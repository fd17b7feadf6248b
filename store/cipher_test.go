package store_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func newCipher(t *testing.T) *store.Cipher {
	t.Helper()
	k, err := store.GenerateKey()
	require.NoError(t, err)
	raw, err := store.ParseKey(k)
	require.NoError(t, err)
	c, err := store.NewCipher(raw)
	require.NoError(t, err)
	return c
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	good := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, in, wantErr string
	}{
		{"32 bytes", good, ""},
		{"with a newline, as openssl prints it", good + "\n", ""},
		{"empty", "", "it is empty"},
		{"not base64", "not a key!", "not standard base64"},
		{"url-safe base64", strings.Repeat("_", 43) + "=", "not standard base64"},
		{"16 bytes", base64.StdEncoding.EncodeToString(make([]byte, 16)), "decodes to 16 bytes"},
		{"64 bytes", base64.StdEncoding.EncodeToString(make([]byte, 64)), "decodes to 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := store.ParseKey(tt.in)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Len(t, key, 32)
				return
			}
			require.ErrorIs(t, err, store.ErrBadSecretKey)
			require.ErrorContains(t, err, tt.wantErr)
			require.ErrorContains(t, err, "openssl rand -base64 32", "the error says how to make a key")
		})
	}
	_, err := store.NewCipher(make([]byte, 16))
	require.ErrorIs(t, err, store.ErrBadSecretKey)
	k1, err := store.GenerateKey()
	require.NoError(t, err)
	k2, err := store.GenerateKey()
	require.NoError(t, err)
	require.NotEqual(t, k1, k2)
}

// storedSecrets is what a dump of endpoint_secrets shows.
func storedSecrets(t *testing.T, tx pgx.Tx) map[uuid.UUID][]string {
	t.Helper()
	rows, err := tx.Query(context.Background(), `SELECT endpoint_id, secret FROM endpoint_secrets`)
	require.NoError(t, err)
	out := map[uuid.UUID][]string{}
	for rows.Next() {
		var id uuid.UUID
		var v string
		require.NoError(t, rows.Scan(&id, &v))
		out[id] = append(out[id], v)
	}
	require.NoError(t, rows.Err())
	return out
}

func requireNoPlaintext(t *testing.T, tx pgx.Tx) {
	t.Helper()
	for _, vs := range storedSecrets(t, tx) {
		for _, v := range vs {
			require.NotContains(t, v, "whsec_")
			require.NotContains(t, v, "whsk_")
			require.True(t, strings.HasPrefix(v, "enc:v1:"), v)
		}
	}
}

const testPrivateKey = "whsk_not-checked-by-the-store"

func TestSecretsEncryptedWithCipher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := storetest.Tx(t)
	c := newCipher(t)
	plain := store.New(nil).WithTx(tx)
	st := plain.WithCipher(c)
	tn := storetest.Tenant(t, st, nil)
	v1 := storetest.Endpoint(t, st, tn.ID, nil)
	v1a := storetest.Endpoint(t, st, tn.ID, &storetest.EndpointOpts{Secret: testPrivateKey, SignatureScheme: "v1a"})
	require.NoError(t, st.RotateSecret(ctx, tn.ID, v1.ID, "whsec_rotated", time.Hour))
	requireNoPlaintext(t, tx)
	require.Len(t, storedSecrets(t, tx)[v1.ID], 2)

	cur, err := st.CurrentSecret(ctx, tn.ID, v1.ID)
	require.NoError(t, err)
	require.Equal(t, "whsec_rotated", cur.Secret)
	cur, err = st.CurrentSecret(ctx, tn.ID, v1a.ID)
	require.NoError(t, err)
	require.Equal(t, testPrivateKey, cur.Secret)

	m := storetest.Message(t, st, tn.ID, "a")
	d := storetest.Delivery(t, st, tn.ID, m.ID, v1.ID)
	work, err := st.LoadWork(ctx, []uuid.UUID{d.ID})
	require.NoError(t, err)
	require.NoError(t, work[d.ID].SecretsErr)
	require.Equal(t, []string{"whsec_rotated", storetest.TestSecret}, work[d.ID].Secrets)

	// Without the key, or with another one, nothing decrypts.
	for name, other := range map[string]*store.Store{"no key": plain, "another key": plain.WithCipher(newCipher(t))} {
		_, err := other.CurrentSecret(ctx, tn.ID, v1.ID)
		require.ErrorIs(t, err, store.ErrSecretKey, name)
		work, err := other.LoadWork(ctx, []uuid.UUID{d.ID})
		require.NoError(t, err, "one unreadable key does not fail the batch")
		require.ErrorIs(t, work[d.ID].SecretsErr, store.ErrSecretKey, name)
		require.Empty(t, work[d.ID].Secrets)
	}

	// A ciphertext copied onto another endpoint's row does not decrypt there.
	_, err = tx.Exec(ctx, `UPDATE endpoint_secrets SET secret = (SELECT secret FROM endpoint_secrets
		WHERE endpoint_id = $1 LIMIT 1) WHERE endpoint_id = $2`, v1a.ID, v1.ID)
	require.NoError(t, err)
	_, err = st.CurrentSecret(ctx, tn.ID, v1.ID)
	require.ErrorIs(t, err, store.ErrSecretKey)
}

func TestReencryptSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := storetest.Tx(t)
	plain := store.New(nil).WithTx(tx)

	// A database from before a key was set.
	tn := storetest.Tenant(t, plain, nil)
	v1 := storetest.Endpoint(t, plain, tn.ID, &storetest.EndpointOpts{Headers: map[string]string{"Authorization": "Bearer tok_9f2"}})
	v1a := storetest.Endpoint(t, plain, tn.ID, &storetest.EndpointOpts{Secret: testPrivateKey, SignatureScheme: "v1a"})
	require.NoError(t, plain.RotateSecret(ctx, tn.ID, v1.ID, "whsec_rotated", time.Hour))
	first, second := newCipher(t), newCipher(t)
	// A key can be set before re-encrypting: plaintext still reads.
	cur, err := plain.WithCipher(first).CurrentSecret(ctx, tn.ID, v1.ID)
	require.NoError(t, err)
	require.Equal(t, "whsec_rotated", cur.Secret)

	require.NoError(t, plain.CheckSecretKey(ctx), "nothing encrypted yet")
	n, err := plain.ReencryptSecrets(ctx, nil, first)
	require.NoError(t, err)
	require.Equal(t, store.Reencrypted{Secrets: 3, Headers: 2}, n)
	require.NoError(t, plain.WithCipher(first).CheckSecretKey(ctx))
	require.ErrorIs(t, plain.CheckSecretKey(ctx), store.ErrSecretKey, "no key for encrypted secrets")
	require.ErrorIs(t, plain.WithCipher(second).CheckSecretKey(ctx), store.ErrSecretKey, "the wrong key")
	requireNoPlaintext(t, tx)
	requireHeadersSealed(t, tx, "tok_9f2")
	n, err = plain.ReencryptSecrets(ctx, nil, first)
	require.NoError(t, err)
	require.Zero(t, n, "running it again changes nothing")

	// Changing the key: the old one no longer decrypts, the new one does.
	n, err = plain.ReencryptSecrets(ctx, first, second)
	require.NoError(t, err)
	require.Equal(t, store.Reencrypted{Secrets: 3, Headers: 2}, n)
	requireNoPlaintext(t, tx)
	requireHeadersSealed(t, tx, "tok_9f2")
	_, err = plain.WithCipher(first).GetEndpoint(ctx, tn.ID, v1.ID)
	require.ErrorIs(t, err, store.ErrSecretKey, "the old key no longer opens the headers")
	got, err := plain.WithCipher(second).GetEndpoint(ctx, tn.ID, v1.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"Authorization": "Bearer tok_9f2"}, got.Headers)
	_, err = plain.WithCipher(first).CurrentSecret(ctx, tn.ID, v1.ID)
	require.ErrorIs(t, err, store.ErrSecretKey, "the old key no longer decrypts")
	for ep, want := range map[uuid.UUID]string{v1.ID: "whsec_rotated", v1a.ID: testPrivateKey} {
		cur, err := plain.WithCipher(second).CurrentSecret(ctx, tn.ID, ep)
		require.NoError(t, err)
		require.Equal(t, want, cur.Secret)
	}

	// A wrong old key changes nothing.
	before, beforeHeaders := storedSecrets(t, tx), storedHeaders(t, tx)
	_, err = plain.ReencryptSecrets(ctx, newCipher(t), newCipher(t))
	require.ErrorIs(t, err, store.ErrSecretKey)
	require.Equal(t, before, storedSecrets(t, tx))
	require.Equal(t, beforeHeaders, storedHeaders(t, tx))

	// And back to plaintext, for whoever needs to turn encryption off.
	n, err = plain.ReencryptSecrets(ctx, second, nil)
	require.NoError(t, err)
	require.Equal(t, store.Reencrypted{Secrets: 3, Headers: 2}, n)
	got, err = plain.GetEndpoint(ctx, tn.ID, v1.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"Authorization": "Bearer tok_9f2"}, got.Headers)
	cur, err = plain.CurrentSecret(ctx, tn.ID, v1.ID)
	require.NoError(t, err)
	require.Equal(t, "whsec_rotated", cur.Secret)
}
