package delivery

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Key prefixes of the Standard Webhooks spec.
const (
	// SecretPrefix starts a symmetric signing secret (HMAC-SHA256, "v1").
	SecretPrefix = "whsec_"
	// PrivateKeyPrefix starts an asymmetric ed25519 signing key ("v1a").
	PrivateKeyPrefix = "whsk_"
	// PublicKeyPrefix starts the ed25519 public key that verifies "v1a".
	PublicKeyPrefix = "whpk_"
)

const (
	secretMinBytes = 24
	secretMaxBytes = 64
	secretGenBytes = 32
)

// ErrInvalidSecret is wrapped by [ValidateSecret] and [Sign] when a signing
// secret or key is malformed.
var ErrInvalidSecret = errors.New(`signing secret must be "whsec_" followed by the standard base64 of 24 to 64 bytes`)

// ErrInvalidKey is wrapped by [PublicKeyOf] and [Sign] when an ed25519
// signing key is malformed.
var ErrInvalidKey = errors.New(`signing key must be "whsk_" followed by the standard base64 of a 64-byte ed25519 private key`)

// GenerateSecret returns a new symmetric signing secret: "whsec_" and the
// standard base64 of 32 random bytes.
func GenerateSecret() (string, error) {
	b := make([]byte, secretGenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ValidateSecret reports whether s is "whsec_" followed by the standard
// base64 of 24 to 64 bytes. The error wraps [ErrInvalidSecret].
func ValidateSecret(s string) error {
	_, err := decodeSecret(s)
	return err
}

func decodeSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf(`%w: missing "whsec_" prefix`, ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: not standard base64", ErrInvalidSecret)
	}
	if len(key) < secretMinBytes || len(key) > secretMaxBytes {
		return nil, fmt.Errorf("%w: got %d bytes", ErrInvalidSecret, len(key))
	}
	return key, nil
}

// GenerateKeyPair returns a new ed25519 key pair for "v1a" signatures: the
// private key as "whsk_" and the standard base64 of its 64 bytes (seed then
// public key), and the public key as "whpk_" and the base64 of its 32 bytes.
func GenerateKeyPair() (privateKey, publicKey string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key pair: %w", err)
	}
	return PrivateKeyPrefix + base64.StdEncoding.EncodeToString(priv),
		PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub), nil
}

// PublicKeyOf returns the "whpk_" public key that verifies signatures made
// with the "whsk_" private key whsk. The error wraps [ErrInvalidKey].
func PublicKeyOf(whsk string) (string, error) {
	priv, err := decodePrivateKey(whsk)
	if err != nil {
		return "", err
	}
	pub, _ := priv.Public().(ed25519.PublicKey)
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub), nil
}

func decodePrivateKey(s string) (ed25519.PrivateKey, error) {
	rest, ok := strings.CutPrefix(s, PrivateKeyPrefix)
	if !ok {
		return nil, fmt.Errorf(`%w: missing "whsk_" prefix`, ErrInvalidKey)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: not standard base64", ErrInvalidKey)
	}
	if len(b) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: got %d bytes", ErrInvalidKey, len(b))
	}
	priv := ed25519.PrivateKey(b)
	// The last 32 bytes must be the public key of the seed, or receivers
	// holding the published public key could never verify.
	want := ed25519.NewKeyFromSeed(priv.Seed())
	if !want.Equal(priv) {
		return nil, fmt.Errorf("%w: public half does not match the seed", ErrInvalidKey)
	}
	return priv, nil
}

// Sign returns the value of the webhook-signature header for one attempt of
// a message: one signature per key, space-separated, in the order of keys.
// A "whsec_" secret gives "v1,<base64 HMAC-SHA256>" and a "whsk_" key gives
// "v1a,<base64 ed25519>", both over "{msgID}.{unix seconds of ts}.{payload}".
// Signing with several keys lets a rotated secret keep verifying during its
// grace period. The error wraps [ErrInvalidSecret] or [ErrInvalidKey].
func Sign(msgID string, ts time.Time, payload []byte, keys []string) (string, error) {
	if len(keys) == 0 {
		return "", errors.New("sign: no signing keys")
	}
	sigs := make([]string, 0, len(keys))
	for i, k := range keys {
		var (
			sig string
			err error
		)
		switch {
		case strings.HasPrefix(k, PrivateKeyPrefix):
			sig, err = signV1a(msgID, ts, payload, k)
		default:
			sig, err = signV1(msgID, ts, payload, k)
		}
		if err != nil {
			return "", fmt.Errorf("sign with key %d: %w", i+1, err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

func signV1(msgID string, ts time.Time, payload []byte, secret string) (string, error) {
	if _, err := decodeSecret(secret); err != nil {
		return "", err
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidSecret, err)
	}
	sig, err := wh.Sign(msgID, ts, payload)
	if err != nil {
		return "", fmt.Errorf("hmac: %w", err)
	}
	return sig, nil
}

func signV1a(msgID string, ts time.Time, payload []byte, whsk string) (string, error) {
	priv, err := decodePrivateKey(whsk)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(priv, signedContent(msgID, ts, payload))
	return "v1a," + base64.StdEncoding.EncodeToString(sig), nil
}

// signedContent is the byte string both signature schemes cover.
func signedContent(msgID string, ts time.Time, payload []byte) []byte {
	b := make([]byte, 0, len(msgID)+len(payload)+22)
	b = append(b, msgID...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts.Unix(), 10)
	b = append(b, '.')
	return append(b, payload...)
}
