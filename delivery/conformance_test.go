package delivery_test

// Standard Webhooks conformance: each test proves one requirement of the
// spec (https://www.standardwebhooks.com) against real receivers on
// loopback, verifying with the standard-webhooks library or, for ed25519,
// with implementations that are not ours.

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// signatures splits a webhook-signature header into its signatures.
func signatures(h http.Header) []string {
	return strings.Fields(h.Get("webhook-signature"))
}

// verifiesAlone reports whether the one signature sig, alone in the
// header, verifies with secret according to the standard-webhooks library.
func verifiesAlone(t *testing.T, r received, sig, secret string) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	h := r.header.Clone()
	h.Set("webhook-signature", sig)
	return wh.Verify(r.body, h) == nil
}

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := delivery.GenerateSecret()
	require.NoError(t, err)
	return s
}

func TestConformanceRotationSignsWithBothKeysDuringGrace(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	oldSecret := newSecret(t)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL, Secret: oldSecret})
	ctx := context.Background()

	newer := newSecret(t)
	require.NoError(t, f.st.RotateSecret(ctx, tn.ID, ep.ID, newer, time.Second))
	rotatedAt := time.Now()
	m1 := f.publish(t, tn.ID, "a.b", `{"during":"grace"}`)
	f.waitStatus(t, tn.ID, m1.ID, ep.ID, store.DeliverySucceeded)

	got := rc.requests()
	require.Len(t, got, 1)
	sigs := signatures(got[0].header)
	require.Len(t, sigs, 2, "one delivery carries both signatures, space-separated: %q", got[0].header.Get("webhook-signature"))
	require.True(t, verifiesAlone(t, got[0], sigs[0], newer), "the new secret's signature verifies alone")
	require.True(t, verifiesAlone(t, got[0], sigs[1], oldSecret), "the old secret's signature verifies alone")
	require.False(t, verifiesAlone(t, got[0], sigs[0], oldSecret))
	require.False(t, verifiesAlone(t, got[0], sigs[1], newer))

	// After the grace period only the new secret signs.
	time.Sleep(time.Until(rotatedAt.Add(1200 * time.Millisecond)))
	m2 := f.publish(t, tn.ID, "a.b", `{"after":"grace"}`)
	f.waitStatus(t, tn.ID, m2.ID, ep.ID, store.DeliverySucceeded)
	got = rc.requests()
	require.Len(t, got, 2)
	sigs = signatures(got[1].header)
	require.Len(t, sigs, 1, "after the grace period only the new key signs")
	require.True(t, verifiesAlone(t, got[1], sigs[0], newer))
	require.False(t, verifiesAlone(t, got[1], sigs[0], oldSecret))
}

func TestConformanceRotationKeepsAtMostTenOldKeys(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	first := newSecret(t)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL, Secret: first})
	ctx := context.Background()
	all := []string{first}
	for range 12 {
		s := newSecret(t)
		require.NoError(t, f.st.RotateSecret(ctx, tn.ID, ep.ID, s, time.Hour))
		all = append(all, s)
	}
	m := f.publish(t, tn.ID, "a.b", `{}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	got := rc.requests()
	require.Len(t, got, 1)
	sigs := signatures(got[0].header)
	require.Len(t, sigs, 11, "the current key and the 10 newest old keys")

	// Newest first: the current key, then the old keys from the most recent.
	for i, sig := range sigs {
		require.True(t, verifiesAlone(t, got[0], sig, all[len(all)-1-i]), "signature %d", i)
	}
	for _, dropped := range all[:2] {
		for _, sig := range sigs {
			require.False(t, verifiesAlone(t, got[0], sig, dropped), "a key past the 10 kept no longer signs")
		}
	}
}

// v1aKey makes an ed25519 key pair with the standard library, independent
// of hookd's GenerateKeyPair, and returns it in Standard Webhooks form.
func v1aKey(t *testing.T) (whsk string, pub ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return delivery.PrivateKeyPrefix + base64.StdEncoding.EncodeToString(priv), pub
}

// verifyEd25519 checks a "v1a,<base64>" signature the way the spec says,
// with crypto/ed25519 rather than hookd's signing code.
func verifyEd25519(r received, sig string, pub ed25519.PublicKey) bool {
	b64, ok := strings.CutPrefix(sig, "v1a,")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return false
	}
	content := r.header.Get("webhook-id") + "." + r.header.Get("webhook-timestamp") + "." + string(r.body)
	return ed25519.Verify(pub, []byte(content), raw)
}

// nodeVerify is a Standard Webhooks v1a verifier written against Node's
// own crypto (OpenSSL's ed25519): it reads the delivery's headers, body and
// the whpk_ public key and prints true or false.
const nodeVerify = `
const crypto = require('crypto');
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const { publicKey, id, timestamp, signature, body } = JSON.parse(input);
  const raw = Buffer.from(publicKey.replace(/^whpk_/, ''), 'base64');
  const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  const content = Buffer.from(id + '.' + timestamp + '.' + body, 'utf8');
  const ok = signature.split(' ').some((s) => {
    const [version, sig] = s.split(',');
    return version === 'v1a' && crypto.verify(null, content, key, Buffer.from(sig, 'base64'));
  });
  process.stdout.write(ok ? 'true' : 'false');
});
`

func runNodeVerify(t *testing.T, node, publicKey string, r received, body string) bool {
	t.Helper()
	in, err := json.Marshal(map[string]string{"publicKey": publicKey, "id": r.header.Get("webhook-id"),
		"timestamp": r.header.Get("webhook-timestamp"), "signature": r.header.Get("webhook-signature"), "body": body})
	require.NoError(t, err)
	cmd := exec.Command(node, "-e", nodeVerify)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node: %s", out)
	return string(out) == "true"
}

func TestConformanceV1aVerifiesWithIndependentEd25519(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	whsk, pub := v1aKey(t)
	whpk := delivery.PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
	shown, err := delivery.PublicKeyOf(whsk)
	require.NoError(t, err)
	require.Equal(t, whpk, shown, "the whpk_ key hookd shows is the key pair's public key")

	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL, Secret: whsk, SignatureScheme: "v1a"})
	require.Equal(t, "v1a", ep.SignatureScheme)
	payload := `{"amount": 4200, "currency":"eur"}`
	m := f.publish(t, tn.ID, "invoice.paid", payload)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)

	got := rc.requests()
	require.Len(t, got, 1)
	r := got[0]
	sigs := signatures(r.header)
	require.Len(t, sigs, 1)
	require.Regexp(t, `^v1a,[A-Za-z0-9+/]{86}==$`, sigs[0], "v1a,<base64 of a 64-byte ed25519 signature>")
	require.Equal(t, payload, string(r.body))

	t.Run("Go crypto/ed25519", func(t *testing.T) {
		require.True(t, verifyEd25519(r, sigs[0], pub))
		tampered := r
		tampered.body = []byte(strings.Replace(payload, "4200", "4201", 1))
		require.False(t, verifyEd25519(tampered, sigs[0], pub), "a changed body does not verify")
	})
	t.Run("Node crypto", func(t *testing.T) {
		node, err := exec.LookPath("node")
		require.NoError(t, err, "this check needs Node.js (apt-get install nodejs); .ci/run installs it")
		require.True(t, runNodeVerify(t, node, whpk, r, payload))
		require.False(t, runNodeVerify(t, node, whpk, r, strings.Replace(payload, "4200", "4201", 1)),
			"a changed body does not verify")
		other, _ := v1aKey(t)
		otherPub, err := delivery.PublicKeyOf(other)
		require.NoError(t, err)
		require.False(t, runNodeVerify(t, node, otherPub, r, payload), "another key does not verify")
	})

	// A rotated v1a endpoint signs with both private keys during the grace
	// period; each signature verifies with its own public key.
	next, nextPub := v1aKey(t)
	require.NoError(t, f.st.RotateSecret(context.Background(), tn.ID, ep.ID, next, time.Hour))
	m2 := f.publish(t, tn.ID, "invoice.paid", `{}`)
	f.waitStatus(t, tn.ID, m2.ID, ep.ID, store.DeliverySucceeded)
	got = rc.requests()
	sigs = signatures(got[1].header)
	require.Len(t, sigs, 2)
	require.True(t, verifyEd25519(got[1], sigs[0], nextPub))
	require.True(t, verifyEd25519(got[1], sigs[1], pub))
}

func TestConformanceHeaders(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL,
		Headers: map[string]string{"Webhook-Id": "msg.forged", "Webhook-Timestamp": "1", "X-Custom": "yes"}})
	m := f.publish(t, tn.ID, "a.b", `{"k":"v"}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)

	got := rc.requests()
	require.Len(t, got, 1)
	h := got[0].header
	id := h.Get("webhook-id")
	require.Equal(t, m.ID.String(), id, "webhook-id is the message id, not user-controlled")
	require.NotContains(t, id, ".", "webhook-id has no '.', which separates the signed content")
	require.Len(t, h.Values("webhook-id"), 1)
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	require.NoError(t, err, "webhook-timestamp is integer Unix seconds")
	require.InDelta(t, time.Now().Unix(), ts, 5)
	require.Regexp(t, regexp.MustCompile(`^v1,[A-Za-z0-9+/]{43}=$`), h.Get("webhook-signature"))
	require.Equal(t, "application/json", h.Get("content-type"))
	require.Equal(t, "yes", h.Get("X-Custom"), "custom headers are sent")
	require.Zero(t, rc.badSig)
}

func TestConformanceTimestampResignedPerAttempt(t *testing.T) {
	t.Parallel()
	// Steps of 1.5s (±20% jitter) put the attempts in different seconds.
	f := setup(t, delivery.Config{Schedule: delivery.Schedule{1500 * time.Millisecond}})
	arrived := make(chan time.Time, 2)
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header, string) {
		arrived <- time.Now()
		if n == 1 {
			return http.StatusServiceUnavailable, nil, ""
		}
		return http.StatusOK, nil, ""
	})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	d := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Equal(t, 2, d.Attempts)

	got := rc.requests()
	require.Len(t, got, 2)
	require.Zero(t, rc.badSig, "both attempts verify with the standard-webhooks library")
	var stamps []int64
	for _, r := range got {
		ts, err := strconv.ParseInt(r.header.Get("webhook-timestamp"), 10, 64)
		require.NoError(t, err)
		at := <-arrived
		require.InDelta(t, at.Unix(), ts, 1, "the timestamp is the attempt's, not the message's")
		stamps = append(stamps, ts)
	}
	require.Greater(t, stamps[1], stamps[0], "each attempt is signed anew with its own timestamp")
	require.NotEqual(t, got[0].header.Get("webhook-signature"), got[1].header.Get("webhook-signature"))
	require.Equal(t, got[0].header.Get("webhook-id"), got[1].header.Get("webhook-id"))
}

// rawServer answers every connection on loopback with reply, whatever the
// request, for answers net/http's server will not send.
func rawServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(c, reply)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestConformanceOnly2xxIsSuccess(t *testing.T) {
	t.Parallel()
	// No retries: each delivery ends with its first answer.
	f := setup(t, delivery.Config{Schedule: delivery.Schedule{}})
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header, string) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		if code == 0 {
			return http.StatusOK, nil, "" // a followed redirect would land here
		}
		return code, http.Header{"Location": {"/followed"}}, ""
	})
	tn := storetest.Tenant(t, f.st, nil)

	tests := []struct {
		name  string
		url   string
		ok    bool
		class string
	}{
		{"200", rc.srv.URL + "/status/200", true, ""},
		{"201", rc.srv.URL + "/status/201", true, ""},
		{"202", rc.srv.URL + "/status/202", true, ""},
		{"204", rc.srv.URL + "/status/204", true, ""},
		{"299", rc.srv.URL + "/status/299", true, ""},
		{"101 as the final answer", rawServer(t, "HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n"), false, delivery.ClassStatus},
		{"102 and no final answer", rawServer(t, "HTTP/1.1 102 Processing\r\n\r\n"), false, delivery.ClassConnect},
		{"300", rc.srv.URL + "/status/300", false, delivery.ClassRedirect},
		{"301", rc.srv.URL + "/status/301", false, delivery.ClassRedirect},
		{"302", rc.srv.URL + "/status/302", false, delivery.ClassRedirect},
		{"303", rc.srv.URL + "/status/303", false, delivery.ClassRedirect},
		{"307", rc.srv.URL + "/status/307", false, delivery.ClassRedirect},
		{"308", rc.srv.URL + "/status/308", false, delivery.ClassRedirect},
		{"400", rc.srv.URL + "/status/400", false, delivery.ClassStatus},
		{"404", rc.srv.URL + "/status/404", false, delivery.ClassStatus},
		{"500", rc.srv.URL + "/status/500", false, delivery.ClassStatus},
		{"600", rc.srv.URL + "/status/600", false, delivery.ClassStatus},
	}
	byEndpoint := map[uuid.UUID]int{}
	for i, tt := range tests {
		ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: tt.url})
		byEndpoint[ep.ID] = i
	}
	m := f.publish(t, tn.ID, "a.b", `{}`)
	for id, i := range byEndpoint {
		tt := tests[i]
		want := store.DeliveryFailed
		if tt.ok {
			want = store.DeliverySucceeded
		}
		d := f.waitStatus(t, tn.ID, m.ID, id, want)
		require.Equal(t, 1, d.Attempts, tt.name)
	}
	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, len(tests))
	for _, a := range as {
		tt := tests[byEndpoint[a.EndpointID]]
		require.Equal(t, tt.class, a.ErrorClass, "%s: %s", tt.name, a.Error)
	}
	for _, r := range rc.requests() {
		require.NotEqual(t, "/followed", r.path, "redirects are never followed")
	}
}
