package delivery

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

func webhookHeaders(msgID string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, msgID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return h
}

func mustSecret(t *testing.T) string {
	t.Helper()
	s, err := GenerateSecret()
	require.NoError(t, err)
	return s
}

func TestGenerateSecret(t *testing.T) {
	t.Parallel()

	a := mustSecret(t)
	b := mustSecret(t)
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"))
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	require.NoError(t, err)
	require.Len(t, raw, 32)
	require.NoError(t, ValidateSecret(a))
}

func TestValidateSecret(t *testing.T) {
	t.Parallel()

	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name    string
		secret  string
		wantErr string
	}{
		{"24 bytes", "whsec_" + b64(24), ""},
		{"64 bytes", "whsec_" + b64(64), ""},
		{"spec example", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		{"23 bytes", "whsec_" + b64(23), "got 23 bytes"},
		{"65 bytes", "whsec_" + b64(65), "got 65 bytes"},
		{"no prefix", b64(32), `missing "whsec_" prefix`},
		{"wrong prefix", "whsk_" + b64(32), `missing "whsec_" prefix`},
		{"empty", "", `missing "whsec_" prefix`},
		{"url base64", "whsec_" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 30))), "not standard base64"},
		{"no padding", "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 25)), "not standard base64"},
		{"garbage", "whsec_!!!!", "not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateSecret(tt.secret)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidSecret)
			require.ErrorContains(t, err, `signing secret must be "whsec_" followed by the standard base64 of 24 to 64 bytes`)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// The example from the Standard Webhooks specification.
func TestSignKnownAnswer(t *testing.T) {
	t.Parallel()

	sig, err := Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0),
		[]byte(`{"test": 2432232314}`), []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	require.NoError(t, err)
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", sig)
}

func TestSignVerifiesWithStandardWebhooks(t *testing.T) {
	t.Parallel()

	oldKey, newKey, otherKey := mustSecret(t), mustSecret(t), mustSecret(t)
	msgID := "msg_2f1d"
	ts := time.Now()
	payload := []byte(`{"b":1,"a":[2,3]}`)

	sig, err := Sign(msgID, ts, payload, []string{oldKey, newKey})
	require.NoError(t, err)
	parts := strings.Split(sig, " ")
	require.Len(t, parts, 2)
	for _, p := range parts {
		require.True(t, strings.HasPrefix(p, "v1,"), p)
	}

	headers := webhookHeaders(msgID, ts, sig)
	for _, key := range []string{oldKey, newKey} {
		wh, err := standardwebhooks.NewWebhook(key)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(payload, headers), "either key alone must verify")
	}

	wh, err := standardwebhooks.NewWebhook(otherKey)
	require.NoError(t, err)
	require.ErrorIs(t, wh.Verify(payload, headers), standardwebhooks.ErrNoMatchingSignature)

	wh, err = standardwebhooks.NewWebhook(oldKey)
	require.NoError(t, err)
	require.Error(t, wh.Verify([]byte(`{"a":[2,3],"b":1}`), headers), "reordered payload must not verify")
	require.Error(t, wh.Verify(payload, webhookHeaders("msg_other", ts, sig)), "other message id must not verify")
	require.Error(t, wh.Verify(payload, webhookHeaders(msgID, ts.Add(-time.Second), sig)), "other timestamp must not verify")
}

func TestSignV1a(t *testing.T) {
	t.Parallel()

	whsk, whpk, err := GenerateKeyPair()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(whsk, "whsk_"))
	require.True(t, strings.HasPrefix(whpk, "whpk_"))

	derived, err := PublicKeyOf(whsk)
	require.NoError(t, err)
	require.Equal(t, whpk, derived)

	secret := mustSecret(t)
	msgID := "msg_v1a"
	ts := time.Unix(1700000000, 0)
	payload := []byte(`{"hello":"world"}`)

	sig, err := Sign(msgID, ts, payload, []string{secret, whsk})
	require.NoError(t, err)
	parts := strings.Split(sig, " ")
	require.Len(t, parts, 2)
	require.True(t, strings.HasPrefix(parts[0], "v1,"))
	sigB64, ok := strings.CutPrefix(parts[1], "v1a,")
	require.True(t, ok, parts[1])

	// Verify independently, from the public key alone.
	pub, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whpk, "whpk_"))
	require.NoError(t, err)
	require.Len(t, pub, ed25519.PublicKeySize)
	raw, err := base64.StdEncoding.DecodeString(sigB64)
	require.NoError(t, err)
	content := []byte(msgID + ".1700000000." + string(payload))
	require.True(t, ed25519.Verify(pub, content, raw))
	require.False(t, ed25519.Verify(pub, []byte(msgID+".1700000001."+string(payload)), raw))

	// The HMAC signature next to it still verifies with the v1 library.
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	require.NoError(t, wh.VerifyIgnoringTimestamp(payload, webhookHeaders(msgID, ts, sig)))
}

func TestSignErrors(t *testing.T) {
	t.Parallel()

	whsk, _, err := GenerateKeyPair()
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsk, "whsk_"))
	require.NoError(t, err)
	raw[40] ^= 0xff // public half no longer matches the seed
	mismatched := "whsk_" + base64.StdEncoding.EncodeToString(raw)

	tests := []struct {
		name    string
		keys    []string
		wantIs  error
		wantErr string
	}{
		{"no keys", nil, nil, "no signing keys"},
		{"bad secret", []string{mustSecret(t), "whsec_short"}, ErrInvalidSecret, "sign with key 2"},
		{"unknown prefix", []string{"abc"}, ErrInvalidSecret, `missing "whsec_" prefix`},
		{"short whsk", []string{"whsk_" + base64.StdEncoding.EncodeToString(make([]byte, 32))}, ErrInvalidKey, "got 32 bytes"},
		{"mismatched whsk", []string{mismatched}, ErrInvalidKey, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Sign("msg", time.Now(), []byte("{}"), tt.keys)
			require.Error(t, err)
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}

	_, err = PublicKeyOf("whpk_abc")
	require.ErrorIs(t, err, ErrInvalidKey)
}
