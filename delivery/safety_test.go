package delivery_test

// The private-address guard, secrets at rest and the attempt log, end to
// end. Every connection stays on loopback: the guard is tested by pointing
// endpoints at 127.0.0.1 with the guard on.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestGuardBlocksLoopbackByDefault(t *testing.T) {
	t.Parallel()
	// The zero Config: no guard given, no networks allowed. The schedule has
	// steps left, so a retry would happen if a blocked attempt were retried.
	f := start(t, delivery.Config{Schedule: delivery.Schedule{50 * time.Millisecond, 50 * time.Millisecond}}, nil)
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	byIP := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/ip"})
	_, port, err := net.SplitHostPort(rc.srv.Listener.Addr().String())
	require.NoError(t, err)
	// The IPv4-mapped IPv6 form of the same address is judged as 127.0.0.1.
	// (Names are not tried here: a lookup could leave loopback. The guard
	// checks the address dialled after DNS; guard_test.go shows it.)
	mapped := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: "http://[::ffff:127.0.0.1]:" + port + "/mapped"})

	m := f.publish(t, tn.ID, "a.b", `{}`)
	for _, ep := range []store.Endpoint{byIP, mapped} {
		d := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryFailed)
		require.Equal(t, 1, d.Attempts, "%s: a blocked attempt is not retried", ep.URL)
	}
	time.Sleep(200 * time.Millisecond) // give a wrongful retry time to happen
	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 2)
	for _, a := range as {
		require.Equal(t, delivery.ClassBlocked, a.ErrorClass, "%s: %s", a.URL, a.Error)
		require.Contains(t, a.Error, "is not a public address")
		require.Zero(t, a.StatusCode)
		require.Empty(t, a.RemoteAddr, "no connection was made")
	}
	require.Empty(t, rc.requests(), "the receiver got nothing")
}

func TestGuardAllowsListedNetworks(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Len(t, rc.requests(), 1)
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	key, err := store.GenerateKey()
	require.NoError(t, err)
	raw, err := store.ParseKey(key)
	require.NoError(t, err)
	c, err := store.NewCipher(raw)
	require.NoError(t, err)
	f := start(t, delivery.Config{AllowNetworks: delivery.LoopbackNetworks()}, c)
	ctx := context.Background()

	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	v1 := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/v1"})
	whsk, pub := v1aKey(t)
	v1a := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/v1a", Secret: whsk, SignatureScheme: "v1a"})
	next := newSecret(t)
	require.NoError(t, f.st.RotateSecret(ctx, tn.ID, v1.ID, next, time.Hour))

	// What a dump of the database shows.
	rows, err := f.st.Pool().Query(ctx, `SELECT secret FROM endpoint_secrets`)
	require.NoError(t, err)
	var n int
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		require.NotContains(t, v, "whsec_")
		require.NotContains(t, v, "whsk_")
		require.True(t, strings.HasPrefix(v, "enc:v1:"), v)
		for _, plain := range []string{storetest.TestSecret, next, whsk} {
			require.NotContains(t, v, strings.SplitN(plain, "_", 2)[1], "no key material in the clear")
		}
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 3, n)

	// Delivery decrypts them and signs as usual.
	m := f.publish(t, tn.ID, "a.b", `{"secret":"safe"}`)
	f.waitStatus(t, tn.ID, m.ID, v1.ID, store.DeliverySucceeded)
	f.waitStatus(t, tn.ID, m.ID, v1a.ID, store.DeliverySucceeded)
	for _, r := range rc.requests() {
		sigs := signatures(r.header)
		switch r.path {
		case "/v1":
			require.Len(t, sigs, 2)
			require.True(t, verifiesAlone(t, r, sigs[0], next))
			require.True(t, verifiesAlone(t, r, sigs[1], storetest.TestSecret))
		case "/v1a":
			require.Len(t, sigs, 1)
			require.True(t, verifyEd25519(r, sigs[0], pub))
		}
	}
	cur, err := f.st.CurrentSecret(ctx, tn.ID, v1.ID)
	require.NoError(t, err)
	require.Equal(t, next, cur.Secret, "the API reads the secret decrypted")
}

func TestAttemptRecordsWhatACustomerNeeds(t *testing.T) {
	t.Parallel()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("X-Request-Id", "req_42")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`missing field "amount"` + strings.Repeat(".", 10000)))
	})
	plain := httptest.NewServer(handler)
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(handler)
	t.Cleanup(secure.Close)
	roots := x509.NewCertPool()
	roots.AddCert(secure.Certificate())

	f := setup(t, delivery.Config{Schedule: delivery.Schedule{},
		Sender: delivery.SenderConfig{TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, MaxResponseBody: 1024}})
	tn := storetest.Tenant(t, f.st, nil)
	epPlain := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: plain.URL + "/hook"})
	epTLS := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: secure.URL + "/hook"})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	f.waitStatus(t, tn.ID, m.ID, epPlain.ID, store.DeliveryFailed)
	f.waitStatus(t, tn.ID, m.ID, epTLS.ID, store.DeliveryFailed)

	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 2)
	for _, a := range as {
		srv := plain
		if a.EndpointID == epTLS.ID {
			srv = secure
		}
		require.Equal(t, srv.Listener.Addr().String(), a.RemoteAddr, "the address actually connected to")
		require.True(t, strings.HasPrefix(a.RemoteAddr, "127.0.0.1:"))
		require.Equal(t, srv.URL+"/hook", a.URL)

		require.Equal(t, m.ID.String(), a.RequestHeaders.Get("webhook-id"))
		require.NotEmpty(t, a.RequestHeaders.Get("webhook-timestamp"))
		require.Equal(t, "[redacted]", a.RequestHeaders.Get("webhook-signature"), "signatures are not kept")
		require.Equal(t, "application/json", a.RequestHeaders.Get("content-type"))

		require.Equal(t, http.StatusUnprocessableEntity, a.StatusCode)
		require.Equal(t, delivery.ClassStatus, a.ErrorClass)
		require.Contains(t, a.Error, "422")
		require.Equal(t, "req_42", a.ResponseHeaders.Get("X-Request-Id"))
		require.Len(t, a.ResponseBody, 1024, "the body is capped")
		require.True(t, a.BodyTruncated)
		require.True(t, strings.HasPrefix(string(a.ResponseBody), `missing field "amount"`))

		tm := a.Timings
		for _, d := range []time.Duration{tm.DNS, tm.Connect, tm.TLS, tm.TTFB} {
			require.GreaterOrEqual(t, d, time.Duration(0))
		}
		require.Zero(t, tm.DNS, "an IP literal needs no lookup")
		require.GreaterOrEqual(t, tm.TTFB, 20*time.Millisecond, "time to first byte includes the receiver's work")
		require.GreaterOrEqual(t, a.Duration, 50*time.Millisecond)
		if srv == secure {
			require.Positive(t, tm.TLS, "the TLS handshake is timed")
		} else {
			require.Zero(t, tm.TLS)
		}
	}
}

func TestUnfinishedAnswerIsATimeout(t *testing.T) {
	t.Parallel()
	// The receiver sends "200 OK" and a first chunk at once, then one byte
	// every 20ms, long past the 300ms timeout.
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "accepted")
		w.(http.Flusher).Flush()
		for range 250 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			_, _ = io.WriteString(w, ".")
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)

	f := setup(t, delivery.Config{Schedule: delivery.Schedule{}, Sender: delivery.SenderConfig{Timeout: 300 * time.Millisecond}})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: srv.URL})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryFailed)

	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 1)
	a := as[0]
	require.Equal(t, int32(1), hits.Load(), "the receiver got the request")
	require.Equal(t, store.AttemptFailed, a.Status)
	require.Equal(t, http.StatusOK, a.StatusCode)
	require.Equal(t, delivery.ClassTimeout, a.ErrorClass)
	require.Equal(t, "endpoint answered 200 OK but the response body did not finish within 300ms", a.Error)
	require.True(t, a.BodyTruncated, "the body kept is not the whole answer")
	require.True(t, strings.HasPrefix(string(a.ResponseBody), "accepted"), "%q", a.ResponseBody)
	require.GreaterOrEqual(t, a.Duration, 300*time.Millisecond)
}

func TestCredentialHeadersReachTheReceiverOnly(t *testing.T) {
	t.Parallel()
	key, err := store.GenerateKey()
	require.NoError(t, err)
	raw, err := store.ParseKey(key)
	require.NoError(t, err)
	c, err := store.NewCipher(raw)
	require.NoError(t, err)
	f := start(t, delivery.Config{AllowNetworks: delivery.LoopbackNetworks()}, c)
	ctx := context.Background()

	headers := map[string]string{
		"Authorization":   "Bearer sk_live_auth_4f1c",
		"Cookie":          "session=sess_cookie_9a2e",
		"X-Api-Key":       "ak_apikey_77d0",
		"X-Session-Token": "tok_session_51b3",
		"X-Tenant-Pin":    "pin_marked_0c6e", // marked secret by the endpoint
		"X-Source":        "hookd-plain-header",
	}
	secrets := []string{"sk_live_auth_4f1c", "sess_cookie_9a2e", "ak_apikey_77d0", "tok_session_51b3", "pin_marked_0c6e"}
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL, Headers: headers,
		SecretHeaders: []string{"x-tenant-pin"}})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)

	// The receiver gets every header in clear.
	got := rc.requests()
	require.Len(t, got, 1)
	for k, v := range headers {
		require.Equal(t, v, got[0].header.Get(k), k)
	}

	// The attempt log shows the plain one and hides the rest.
	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 1)
	for k, v := range headers {
		want := delivery.Redacted
		if k == "X-Source" {
			want = v
		}
		require.Equal(t, []string{want}, as[0].RequestHeaders.Values(k), k)
	}

	// What a dump of the database shows: no header value in clear, in the
	// endpoint's row or in the attempt's.
	var stored, logged string
	require.NoError(t, f.st.Pool().QueryRow(ctx, `SELECT headers FROM endpoints WHERE id = $1`, ep.ID).Scan(&stored))
	require.True(t, strings.HasPrefix(stored, "enc:v1:"), stored)
	for _, v := range append(secrets, "hookd-plain-header", "Authorization") {
		require.NotContains(t, stored, v)
	}
	require.NoError(t, f.st.Pool().QueryRow(ctx, `SELECT request_headers::text FROM attempts WHERE message_id = $1`, m.ID).Scan(&logged))
	for _, v := range secrets {
		require.NotContains(t, logged, v)
	}
	require.Contains(t, logged, "hookd-plain-header")

	// A store with the wrong key cannot read them, and does not fall back
	// to anything.
	other, err := store.GenerateKey()
	require.NoError(t, err)
	rawOther, err := store.ParseKey(other)
	require.NoError(t, err)
	wrong, err := store.NewCipher(rawOther)
	require.NoError(t, err)
	_, err = store.New(f.st.Pool()).WithCipher(wrong).GetEndpoint(ctx, tn.ID, ep.ID)
	require.ErrorIs(t, err, store.ErrSecretKey)
}
