package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hookd/hookd/store"
)

func runGenSecretKey(_ context.Context, a cmdArgs) error {
	fs := newFlagSet("gen-secret-key", "gen-secret-key",
		`Prints a new random key for HOOKD_SECRET_KEY: the base64 of 32 bytes.`)
	if err := fs.parse(a.args, a.stdout); err != nil {
		return err
	}
	key, err := store.GenerateKey()
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, key)
	return nil
}

func runRotateSecretKey(ctx context.Context, a cmdArgs) error {
	fs := newFlagSet("rotate-secret-key", "rotate-secret-key",
		`Re-encrypts every stored signing secret and endpoint custom header from
the key in HOOKD_SECRET_KEY (empty: they are stored in plain text) to the
key in HOOKD_NEW_SECRET_KEY, in one transaction, on the database at
DATABASE_URL. Then restart every hookd with HOOKD_SECRET_KEY set to the new
key.`)
	if err := fs.parse(a.args, a.stdout); err != nil {
		return err
	}
	e, err := loadEnv(a.getenv, a.stderr)
	if err != nil {
		return err
	}
	if e.DatabaseURL == "" {
		return usageErrorf("DATABASE_URL is not set; rotate-secret-key needs the database whose secrets it re-encrypts")
	}
	newKey := a.getenv("HOOKD_NEW_SECRET_KEY")
	if newKey == "" {
		return usageErrorf("HOOKD_NEW_SECRET_KEY is not set; make a new key with 'hookd gen-secret-key'")
	}
	to, err := cipherOf(newKey, "HOOKD_NEW_SECRET_KEY")
	if err != nil {
		return err
	}
	var from *store.Cipher
	if e.SecretKey != "" {
		if from, err = cipherOf(e.SecretKey, "HOOKD_SECRET_KEY"); err != nil {
			return err
		}
	}
	e.MaxConns = 2
	pool, err := e.openPool(ctx, e.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := store.New(pool).ReencryptSecrets(ctx, from, to)
	if err != nil {
		return fmt.Errorf("re-encrypt secrets (nothing was changed): %w", err)
	}
	fmt.Fprintf(a.stdout, "re-encrypted %d secrets and the custom headers of %d endpoints; now restart hookd with HOOKD_SECRET_KEY set to the new key\n",
		n.Secrets, n.Headers)
	return nil
}

// sealHeaders encrypts the endpoint custom headers still stored in plain
// text (from before migration 0004) with st's key; serve and dev run it on
// start, after migrating.
func sealHeaders(ctx context.Context, st *store.Store, logger *slog.Logger) error {
	n, err := st.SealHeaders(ctx)
	if err != nil {
		return fmt.Errorf("encrypt endpoint custom headers: %w", err)
	}
	if n > 0 {
		logger.Info("encrypted the custom headers of endpoints stored in plain text", "endpoints", n)
	}
	return nil
}
