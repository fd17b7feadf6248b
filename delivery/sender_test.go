package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newReceiver starts an httptest server on loopback and returns it with a
// counter of the requests it got.
func newReceiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newTestSender(t *testing.T, cfg SenderConfig) *Sender {
	t.Helper()
	s := NewSender(cfg)
	t.Cleanup(s.CloseIdleConnections)
	return s
}

func TestSendSuccess(t *testing.T) {
	t.Parallel()

	type seen struct {
		method, contentType, userAgent, custom, webhookID string
		body                                              []byte
	}
	got := make(chan seen, 1)
	srv, _ := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{
			method:      r.Method,
			contentType: r.Header.Get("Content-Type"),
			userAgent:   r.Header.Get("User-Agent"),
			custom:      r.Header.Get("X-Custom"),
			webhookID:   r.Header.Get("webhook-id"),
			body:        body,
		}
		w.Header().Set("X-Receiver", "yes")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("thanks"))
	})

	s := newTestSender(t, SenderConfig{UserAgent: "hookd/test"})
	headers := http.Header{}
	headers.Set("webhook-id", "msg_1")
	headers.Set("X-Custom", "v")
	headers.Set("User-Agent", "someone-else")
	res := s.Send(context.Background(), Request{URL: srv.URL + "/hook", Headers: headers, Body: []byte(`{"a":1}`)})

	require.Empty(t, res.ErrorClass, res.Error)
	require.Empty(t, res.Error)
	require.True(t, res.Success())
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	require.Equal(t, "thanks", string(res.ResponseBody))
	require.False(t, res.Truncated)
	require.Equal(t, "yes", res.ResponseHeaders.Get("X-Receiver"))
	require.Equal(t, srv.Listener.Addr().String(), res.RemoteAddr)

	require.Positive(t, res.Duration)
	require.Positive(t, res.Connect)
	require.Positive(t, res.TTFB)
	require.Zero(t, res.DNS, "an IP literal needs no lookup")
	require.Zero(t, res.TLS, "plain http has no handshake")
	require.LessOrEqual(t, res.Connect+res.TTFB, res.Duration)

	r := <-got
	require.Equal(t, http.MethodPost, r.method)
	require.Equal(t, "application/json", r.contentType)
	require.Equal(t, "hookd/test", r.userAgent, "the configured user agent wins")
	require.Equal(t, "v", r.custom)
	require.Equal(t, "msg_1", r.webhookID)
	require.Equal(t, `{"a":1}`, string(r.body))
	require.Equal(t, "someone-else", headers.Get("User-Agent"), "caller's headers are not modified")
}

func TestSendTruncatesAndReusesConnection(t *testing.T) {
	t.Parallel()

	big := strings.Repeat("0123456789abcdef", 20<<10/16) // 20 KiB
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, big)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	s := newTestSender(t, SenderConfig{})
	for i := range 3 {
		res := s.Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
		require.Empty(t, res.ErrorClass, res.Error)
		require.True(t, res.Truncated)
		require.Len(t, res.ResponseBody, DefaultMaxResponseBody)
		require.Equal(t, big[:DefaultMaxResponseBody], string(res.ResponseBody))
		if i > 0 {
			require.Zero(t, res.Connect, "a reused connection has no connect time")
		}
	}
	require.Equal(t, int32(1), conns.Load(), "the rest of the body is drained so the connection is reused")

	small := newTestSender(t, SenderConfig{MaxResponseBody: 100})
	res := small.Send(context.Background(), Request{URL: srv.URL})
	require.True(t, res.Truncated)
	require.Equal(t, big[:100], string(res.ResponseBody))
}

func TestSendStatusClasses(t *testing.T) {
	t.Parallel()

	srv, _ := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "answer "+strconv.Itoa(code))
	})
	s := newTestSender(t, SenderConfig{})

	tests := []struct {
		code      int
		wantClass string
	}{
		{200, ""},
		{201, ""},
		{204, ""},
		{400, ClassStatus},
		{401, ClassStatus},
		{404, ClassStatus},
		{410, ClassGone},
		{429, ClassStatus},
		{500, ClassStatus},
		{503, ClassStatus},
		{301, ClassRedirect},
		{304, ClassRedirect},
		{307, ClassRedirect},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			t.Parallel()
			res := s.Send(context.Background(), Request{URL: srv.URL + "/?code=" + strconv.Itoa(tt.code)})
			require.Equal(t, tt.code, res.StatusCode)
			require.Equal(t, tt.wantClass, res.ErrorClass)
			if tt.wantClass == "" {
				require.Empty(t, res.Error)
				return
			}
			require.Contains(t, res.Error, "endpoint answered "+strconv.Itoa(tt.code))
			if tt.code != 304 {
				require.Equal(t, "answer "+strconv.Itoa(tt.code), string(res.ResponseBody))
			}
		})
	}
}

func TestSendRedirectNotFollowed(t *testing.T) {
	t.Parallel()

	target, targetHits := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	srv, hits := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	})

	res := newTestSender(t, SenderConfig{}).Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
	require.Equal(t, ClassRedirect, res.ErrorClass)
	require.Equal(t, http.StatusFound, res.StatusCode)
	require.Contains(t, res.Error, "302 Found to "+target.URL+"/elsewhere")
	require.Contains(t, res.Error, "not followed")
	require.Equal(t, int32(1), hits.Load())
	require.Zero(t, targetHits.Load(), "the redirect target must receive nothing")
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()

	srv, _ := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})

	res := newTestSender(t, SenderConfig{Timeout: 200 * time.Millisecond}).
		Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
	require.Equal(t, ClassTimeout, res.ErrorClass, res.Error)
	require.Zero(t, res.StatusCode)
	require.NotEmpty(t, res.Error)
	require.GreaterOrEqual(t, res.Duration, 200*time.Millisecond)
	require.Less(t, res.Duration, 3*time.Second)
	require.Equal(t, srv.Listener.Addr().String(), res.RemoteAddr, "it connected, then waited")
}

// trickler answers 200 with a first chunk of head at once, then one byte
// every 20ms for 5s: an answer that does not finish within a short timeout.
func trickler(head string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, head)
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
	}
}

func TestSendUnfinishedBodyTimesOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		head    string
		maxBody int
		kept    string // what the body must start with
	}{
		{"stops before the cap", "ok", 0, "ok."},
		{"stops while the rest is drained", "0123456789abcdef", 8, "01234567"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newReceiver(t, trickler(tc.head))
			res := newTestSender(t, SenderConfig{Timeout: 300 * time.Millisecond, MaxResponseBody: tc.maxBody}).
				Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
			require.Equal(t, http.StatusOK, res.StatusCode, "the status line came")
			require.Equal(t, ClassTimeout, res.ErrorClass, res.Error)
			require.False(t, res.Success(), "an answer that does not finish is not an acknowledgement")
			require.Equal(t, "endpoint answered 200 OK but the response body did not finish within 300ms", res.Error)
			require.True(t, res.Truncated)
			require.True(t, strings.HasPrefix(string(res.ResponseBody), tc.kept), "what came is kept: %q", res.ResponseBody)
			require.GreaterOrEqual(t, res.Duration, 300*time.Millisecond)
			require.Less(t, res.Duration, 3*time.Second, "the timeout bounds the whole answer")
		})
	}
}

func TestSendUnfinishedErrorAnswerKeepsItsClass(t *testing.T) {
	t.Parallel()
	srv, _ := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusGone)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	res := newTestSender(t, SenderConfig{Timeout: 200 * time.Millisecond}).
		Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
	require.Equal(t, ClassGone, res.ErrorClass, "410 still disables the endpoint")
	require.Contains(t, res.Error, "endpoint answered 410 Gone; the response body did not finish")
	require.True(t, res.Truncated)
}

func TestSendConnectRefused(t *testing.T) {
	t.Parallel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	res := newTestSender(t, SenderConfig{}).Send(context.Background(), Request{URL: "http://" + addr + "/hook"})
	require.Equal(t, ClassConnect, res.ErrorClass, res.Error)
	require.Contains(t, res.Error, "refused")
	require.Zero(t, res.StatusCode)
	require.Empty(t, res.RemoteAddr)
}

func TestSendRetryAfter(t *testing.T) {
	t.Parallel()

	srv, _ := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})

	res := newTestSender(t, SenderConfig{}).Send(context.Background(), Request{URL: srv.URL})
	require.Equal(t, ClassStatus, res.ErrorClass)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.Equal(t, "120", res.RetryAfter)
	d, ok := ParseRetryAfter(res.RetryAfter, time.Now())
	require.True(t, ok)
	require.Equal(t, 2*time.Minute, d)
}

func TestSendTLS(t *testing.T) {
	t.Parallel()

	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)

	res := newTestSender(t, SenderConfig{}).Send(context.Background(), Request{URL: srv.URL})
	require.Equal(t, ClassTLS, res.ErrorClass, res.Error)
	require.Contains(t, res.Error, "certificate")
	require.Zero(t, hits.Load())

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	trusting := newTestSender(t, SenderConfig{TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	res = trusting.Send(context.Background(), Request{URL: srv.URL})
	require.Empty(t, res.ErrorClass, res.Error)
	require.Positive(t, res.TLS)
	require.Equal(t, int32(1), hits.Load())

	// Plain http to a TLS port is a TLS failure on the server's side, and
	// https to a plain port is one on ours.
	plain, _ := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	res = trusting.Send(context.Background(), Request{URL: strings.Replace(plain.URL, "http://", "https://", 1)})
	require.Equal(t, ClassTLS, res.ErrorClass, res.Error)
}

func TestSendCanceled(t *testing.T) {
	t.Parallel()

	srv, hits := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	res := newTestSender(t, SenderConfig{}).Send(ctx, Request{URL: srv.URL})
	require.Equal(t, ClassCanceled, res.ErrorClass, res.Error)
	require.Zero(t, hits.Load())
}

func TestSendBadURL(t *testing.T) {
	t.Parallel()

	s := newTestSender(t, SenderConfig{})
	for _, u := range []string{"://nope", "ftp://127.0.0.1/"} {
		res := s.Send(context.Background(), Request{URL: u})
		require.Equal(t, ClassConnect, res.ErrorClass, u)
		require.NotEmpty(t, res.Error, u)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyError(t *testing.T) {
	t.Parallel()

	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "https://example.com/", Err: err} }
	dial := func(err error) error { return wrap(&net.OpError{Op: "dial", Net: "tcp", Err: err}) }
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"guard", dial(fmt.Errorf("%w: 10.0.0.1 is not a public address", ErrBlocked)), ClassBlocked},
		{"dns not found", dial(&net.DNSError{Err: "no such host", Name: "nope.example", IsNotFound: true}), ClassDNS},
		{"dns timeout", dial(&net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}), ClassDNS},
		{"refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), ClassConnect},
		{"reset", wrap(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), ClassConnect},
		{"host unreachable", dial(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), ClassConnect},
		{"network unreachable", dial(os.NewSyscallError("connect", syscall.ENETUNREACH)), ClassConnect},
		{"eof", wrap(io.EOF), ClassConnect},
		{"deadline", wrap(context.DeadlineExceeded), ClassTimeout},
		{"os deadline", wrap(os.ErrDeadlineExceeded), ClassTimeout},
		{"net timeout", dial(timeoutErr{}), ClassTimeout},
		{"canceled", wrap(context.Canceled), ClassCanceled},
		{"unknown authority", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), ClassTLS},
		{"hostname", wrap(x509.HostnameError{Host: "example.com", Certificate: &x509.Certificate{}}), ClassTLS},
		{"expired", wrap(x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{}}), ClassTLS},
		{"alert", wrap(tls.AlertError(40)), ClassTLS},
		{"record header", wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), ClassTLS},
		{"tls string", wrap(errors.New("tls: handshake failure")), ClassTLS},
		{"anything else", errors.New("something odd"), ClassConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, classifyError(tt.err))
		})
	}
}

func TestClassifyStatus(t *testing.T) {
	t.Parallel()

	tests := []struct {
		code int
		want string
	}{
		{200, ""}, {202, ""}, {299, ""},
		{100, ClassStatus},
		{300, ClassRedirect}, {302, ClassRedirect}, {308, ClassRedirect},
		{400, ClassStatus}, {409, ClassStatus}, {410, ClassGone}, {499, ClassStatus},
		{500, ClassStatus}, {599, ClassStatus},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, classifyStatus(tt.code))
		})
	}
}

func TestSendRefusesHugeResponseHeaders(t *testing.T) {
	t.Parallel()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for i := range 20 {
			w.Header().Set(fmt.Sprintf("X-Junk-%d", i), strings.Repeat("x", 8<<10)) // 160 KiB in all
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)

	res := newTestSender(t, SenderConfig{}).Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
	require.False(t, res.Success(), "an answer with headers past the limit is not a success")
	require.NotEmpty(t, res.ErrorClass)
	require.Contains(t, res.Error, "header")
	require.Empty(t, res.ResponseHeaders, "nothing of them is kept")
}
