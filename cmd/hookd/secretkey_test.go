package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestRotateSecretKeyCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.URL(t)

	oldKey, err := store.GenerateKey()
	require.NoError(t, err)
	newKey, err := store.GenerateKey()
	require.NoError(t, err)
	oldCipher, err := cipherOf(oldKey, "old")
	require.NoError(t, err)
	newCipher, err := cipherOf(newKey, "new")
	require.NoError(t, err)

	e := env{MaxConns: 2}
	p, err := e.openPool(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	st := store.New(p).WithCipher(oldCipher)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, &storetest.EndpointOpts{Headers: map[string]string{"Authorization": "Bearer tok_rot"}})

	rotate := func(from, to string) (int, string) {
		var stdout, stderr bytes.Buffer
		getenv := mapEnv(map[string]string{"DATABASE_URL": dbURL, "HOOKD_SECRET_KEY": from, "HOOKD_NEW_SECRET_KEY": to})
		code := run(ctx, []string{"rotate-secret-key"}, &stdout, &stderr, getenv, func() {})
		return code, stdout.String() + stderr.String()
	}

	// A wrong old key changes nothing.
	wrongKey, err := store.GenerateKey()
	require.NoError(t, err)
	code, out := rotate(wrongKey, newKey)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "nothing was changed")
	sec, err := st.CurrentSecret(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, storetest.TestSecret, sec.Secret)

	code, out = rotate(oldKey, newKey)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "re-encrypted 1 secrets and the custom headers of 1 endpoints")
	sec, err = store.New(p).WithCipher(newCipher).CurrentSecret(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, storetest.TestSecret, sec.Secret, "the new key opens the secret")
	got, err := store.New(p).WithCipher(newCipher).GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, "Bearer tok_rot", got.Headers["Authorization"], "and the custom headers")
	_, err = st.CurrentSecret(ctx, tn.ID, ep.ID)
	require.ErrorIs(t, err, store.ErrSecretKey, "the old key no longer does")
	_, err = st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.ErrorIs(t, err, store.ErrSecretKey)

	code, out = rotate(oldKey, newKey)
	require.Equal(t, 0, code, "running it again is harmless: %s", out)

	code, out = rotate(oldKey, "")
	require.Equal(t, 2, code)
	require.Contains(t, out, "HOOKD_NEW_SECRET_KEY is not set")
}
