package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SecretKeySize is the length of the key that encrypts endpoint secrets at
// rest: 32 bytes, for AES-256-GCM.
const SecretKeySize = 32

// encPrefix starts every encrypted value: "enc:v1:" and the standard base64
// of the 12-byte nonce followed by the AES-256-GCM ciphertext and tag. A
// value without the prefix is plaintext, as written before a key was set.
const encPrefix = "enc:v1:"

var (
	// ErrSecretKey is returned when an encrypted secret cannot be read:
	// no key was configured, or not the key it was encrypted with.
	ErrSecretKey = errors.New("cannot decrypt endpoint secret: the secret key is missing or is not the one it was encrypted with")
	// ErrBadSecretKey is wrapped by [ParseKey] and [NewCipher] for a key
	// that is not 32 bytes of standard base64.
	ErrBadSecretKey = errors.New("the secret key must be 32 random bytes in standard base64; make one with `openssl rand -base64 32` or `hookd gen-secret-key`")
)

// Cipher encrypts endpoint secrets and private keys at rest with
// AES-256-GCM. Each value is bound to the endpoint it belongs to, so a
// ciphertext copied onto another endpoint's row does not decrypt. A Cipher
// is safe for concurrent use.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher returns a Cipher with a 32-byte key, as [ParseKey] returns.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("%w (got %d bytes)", ErrBadSecretKey, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

// ParseKey decodes a secret key given as the standard base64 of 32 bytes
// (HOOKD_SECRET_KEY). Surrounding white space is ignored. The error wraps
// [ErrBadSecretKey] and says how to make a key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: it is empty", ErrBadSecretKey)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: it is not standard base64", ErrBadSecretKey)
	}
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("%w: it decodes to %d bytes", ErrBadSecretKey, len(key))
	}
	return key, nil
}

// GenerateKey returns a new secret key: 32 random bytes in standard base64,
// the form [ParseKey] reads.
func GenerateKey() (string, error) {
	b := make([]byte, SecretKeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// seal encrypts a signing secret or private key of endpoint (its id, as
// additional data). A nil Cipher returns plain unchanged.
func (c *Cipher) seal(plain, endpoint string) string {
	return c.sealFor(plain, secretAAD(endpoint))
}

// open decrypts a stored signing secret or private key of endpoint.
// Plaintext values (no "enc:" prefix) are returned as they are, so a
// database written before a key was set keeps working. The error wraps
// [ErrSecretKey].
func (c *Cipher) open(stored, endpoint string) (string, error) {
	return c.openFor(stored, secretAAD(endpoint))
}

// sealFor encrypts plain bound to the additional data ad.
func (c *Cipher) sealFor(plain string, ad []byte) string {
	if c == nil {
		return plain
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // rand.Read does not fail on supported platforms
	}
	out := c.aead.Seal(nonce, nonce, []byte(plain), ad)
	return encPrefix + base64.StdEncoding.EncodeToString(out)
}

// openFor decrypts what sealFor made with the same ad; a value without
// the "enc:" prefix is plaintext and returned as it is.
func (c *Cipher) openFor(stored string, ad []byte) (string, error) {
	if !strings.HasPrefix(stored, "enc:") {
		return stored, nil
	}
	rest, ok := strings.CutPrefix(stored, encPrefix)
	if !ok {
		return "", fmt.Errorf("%w: unknown format %q", ErrSecretKey, stored[:min(len(stored), 8)])
	}
	if c == nil {
		return "", fmt.Errorf("%w: it is encrypted and no key is set", ErrSecretKey)
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	n := c.aead.NonceSize()
	if err != nil || len(raw) < n+c.aead.Overhead() {
		return "", fmt.Errorf("%w: the stored value is damaged", ErrSecretKey)
	}
	plain, err := c.aead.Open(nil, raw[:n], raw[n:], ad)
	if err != nil {
		return "", ErrSecretKey
	}
	return string(plain), nil
}

func secretAAD(endpoint string) []byte {
	return []byte("hookd endpoint secret " + endpoint)
}

// Reencrypted counts what [Store.ReencryptSecrets] rewrote.
type Reencrypted struct {
	Secrets int // signing secrets and private keys
	Headers int // endpoints whose custom headers were rewritten
}

// ReencryptSecrets rewrites every stored endpoint secret and private key,
// and every endpoint's custom headers, from the key from to the key to, in
// one transaction, and returns how many it rewrote. A nil from means the
// values are plaintext (a database from before a key was set); plaintext
// values are taken as they are whatever from is. A nil to writes
// plaintext. A value that to already decrypts (an earlier run) is left
// alone, so running it twice is harmless. It returns an error wrapping
// ErrSecretKey, and changes nothing, when a value decrypts with neither
// key.
func (s *Store) ReencryptSecrets(ctx context.Context, from, to *Cipher) (Reencrypted, error) {
	b, ok := s.db.(interface {
		Begin(ctx context.Context) (pgx.Tx, error)
	})
	if !ok {
		return Reencrypted{}, errors.New("reencrypt secrets: the store cannot begin a transaction")
	}
	var n Reencrypted
	err := pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		var err error
		if n.Headers, err = reencryptHeaders(ctx, tx, from, to); err != nil {
			return fmt.Errorf("custom headers: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT id, endpoint_id, secret FROM endpoint_secrets ORDER BY id FOR UPDATE`)
		if err != nil {
			return err
		}
		type row struct {
			id, endpoint uuid.UUID
			value        string
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.endpoint, &x.value)
			return x, err
		})
		if err != nil {
			return err
		}
		var ids []uuid.UUID
		var values []string
		for _, x := range list {
			ep := x.endpoint.String()
			if to != nil && strings.HasPrefix(x.value, encPrefix) {
				if _, err := to.open(x.value, ep); err == nil {
					continue // already under the new key
				}
			} else if to == nil && !strings.HasPrefix(x.value, "enc:") {
				continue // already plaintext
			}
			plain, err := from.open(x.value, ep)
			if err != nil {
				return fmt.Errorf("secret %s of endpoint %s: %w", x.id, x.endpoint, err)
			}
			ids = append(ids, x.id)
			values = append(values, to.seal(plain, ep))
		}
		if len(ids) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE endpoint_secrets s SET secret = t.secret
			FROM unnest($1::uuid[], $2::text[]) AS t(id, secret) WHERE s.id = t.id`, ids, values)
		n.Secrets = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return Reencrypted{}, fmt.Errorf("reencrypt secrets: %w", err)
	}
	return n, nil
}

// CheckSecretKey reports whether the Store's [Cipher] reads the stored
// secrets, by decrypting the newest encrypted secret and the newest
// encrypted custom headers, so that a process given the wrong key can
// refuse to start instead of failing every delivery. It returns nil when
// nothing is encrypted yet, and an error wrapping ErrSecretKey when the
// key does not fit.
func (s *Store) CheckSecretKey(ctx context.Context) error {
	var endpoint uuid.UUID
	var value string
	err := s.db.QueryRow(ctx, `SELECT endpoint_id, secret FROM endpoint_secrets WHERE secret LIKE 'enc:%'
		ORDER BY id DESC LIMIT 1`).Scan(&endpoint, &value)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return fmt.Errorf("check secret key: %w", err)
	default:
		if _, err := s.cipher.open(value, endpoint.String()); err != nil {
			return fmt.Errorf("check secret key: %w", err)
		}
	}
	if err := s.checkHeadersKey(ctx); err != nil {
		return fmt.Errorf("check secret key: %w", err)
	}
	return nil
}
