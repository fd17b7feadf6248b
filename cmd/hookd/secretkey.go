package main

import (
	"context"
	"fmt"

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
		`Re-encrypts every stored signing secret from the key in HOOKD_SECRET_KEY
(empty: the secrets are stored in plain text) to the key in
HOOKD_NEW_SECRET_KEY, in one transaction, on the database at DATABASE_URL.
Then restart every hookd with HOOKD_SECRET_KEY set to the new key.`)
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
	fmt.Fprintf(a.stdout, "re-encrypted %d secrets; now restart hookd with HOOKD_SECRET_KEY set to the new key\n", n)
	return nil
}
