package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Error classes of a [Result]. The empty class means a 2xx answer.
const (
	// ClassTimeout: the attempt ran out of time, connecting, waiting
	// for the answer or reading its body.
	ClassTimeout = "timeout"
	// ClassConnect: the connection was refused, reset or unreachable,
	// or the endpoint closed it without answering.
	ClassConnect = "connect"
	// ClassDNS: the host name did not resolve.
	ClassDNS = "dns"
	// ClassTLS: the TLS handshake failed, for example on an untrusted
	// or expired certificate.
	ClassTLS = "tls"
	// ClassBlocked: the [Guard] refused the address the host resolved
	// to. Nothing was sent.
	ClassBlocked = "blocked"
	// ClassRedirect: the endpoint answered 3xx. Redirects are not
	// followed.
	ClassRedirect = "redirect"
	// ClassStatus: the endpoint answered with a status other than
	// 2xx, 3xx or 410.
	ClassStatus = "status"
	// ClassGone: the endpoint answered 410 Gone and wants no more
	// deliveries.
	ClassGone = "gone"
	// ClassCanceled: the caller's context was canceled (for example
	// on shutdown) before the attempt finished; it says nothing about
	// the endpoint.
	ClassCanceled = "canceled"
)

// Defaults of [SenderConfig].
const (
	DefaultTimeout         = 15 * time.Second
	DefaultMaxResponseBody = 8192
)

// MaxResponseHeaderBytes bounds a receiver's response headers; an answer
// with more fails the attempt.
const MaxResponseHeaderBytes = 64 << 10

const (
	// senderDrainLimit is how much of an unread response body Send
	// discards so the connection can be reused; past it the connection
	// is closed.
	senderDrainLimit      = 64 << 10
	senderDialTimeout     = 10 * time.Second
	senderTLSTimeout      = 10 * time.Second
	senderKeepAlive       = 30 * time.Second
	senderIdleConnTimeout = 90 * time.Second
	senderMaxIdlePerHost  = 100
	senderMaxIdleConns    = 1000
)

// SenderConfig configures a [Sender]. Zero values mean defaults.
type SenderConfig struct {
	// Timeout bounds one whole attempt, from dialling to reading the
	// body. 0 means 15s.
	Timeout time.Duration
	// MaxResponseBody is how many bytes of the response body are kept.
	// 0 means 8192.
	MaxResponseBody int
	// UserAgent, when set, is sent as User-Agent and cannot be
	// overridden by request headers.
	UserAgent string
	// Guard, when set, refuses connections to private addresses. nil
	// means no guard.
	Guard *Guard
	// TLSConfig, when set, replaces the default TLS client config (TLS
	// 1.2 or later, system roots). Tests use it to trust a test server.
	TLSConfig *tls.Config
}

// Sender POSTs webhook requests. It shares one connection pool between all
// endpoints, never follows redirects, uses no proxy and reads no
// environment. A Sender is safe for concurrent use.
type Sender struct {
	client    *http.Client
	transport *http.Transport
	timeout   time.Duration
	maxBody   int
	userAgent string
}

// NewSender returns a Sender configured by cfg.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponseBody <= 0 {
		cfg.MaxResponseBody = DefaultMaxResponseBody
	}
	dialer := &net.Dialer{
		Timeout:   senderDialTimeout,
		KeepAlive: senderKeepAlive,
	}
	if cfg.Guard != nil {
		dialer.Control = cfg.Guard.Control
	}
	tlsConfig := cfg.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   senderTLSTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          senderMaxIdleConns,
		MaxIdleConnsPerHost:   senderMaxIdlePerHost,
		IdleConnTimeout:       senderIdleConnTimeout,
		ExpectContinueTimeout: time.Second,
		// Response headers are kept with each attempt: a receiver must not
		// be able to make that row large (Go's default allows 10 MB).
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
	return &Sender{
		client: &http.Client{
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		transport: transport,
		timeout:   cfg.Timeout,
		maxBody:   cfg.MaxResponseBody,
		userAgent: cfg.UserAgent,
	}
}

// UserAgent returns the configured User-Agent, "" if none.
func (s *Sender) UserAgent() string {
	return s.userAgent
}

// CloseIdleConnections closes the pooled connections that are idle, for
// use on shutdown.
func (s *Sender) CloseIdleConnections() {
	s.transport.CloseIdleConnections()
}

// Request is one webhook POST.
type Request struct {
	// URL is the endpoint's URL.
	URL string
	// Headers are sent as given; Content-Type defaults to
	// application/json.
	Headers http.Header
	// Body is sent as is.
	Body []byte
}

// Result is what one attempt of a [Request] produced.
type Result struct {
	// StatusCode is the HTTP status answered, or 0 if none was.
	StatusCode int
	// ResponseHeaders are the response's headers, nil if none came.
	ResponseHeaders http.Header
	// ResponseBody is the first MaxResponseBody bytes of the body.
	ResponseBody []byte
	// Truncated is true when ResponseBody is not the whole body: it was
	// longer than MaxResponseBody, or it did not finish (Error says why).
	Truncated bool
	// ErrorClass is "" on a 2xx answer, else one of the Class
	// constants.
	ErrorClass string
	// Error says what went wrong, for people; "" on success.
	Error string
	// RemoteAddr is the IP:port actually connected to, "" if none was.
	RemoteAddr string
	// Duration is the whole attempt, from start to body read.
	Duration time.Duration
	// DNS is the time spent resolving the host (0 for IP literals and
	// reused connections).
	DNS time.Duration
	// Connect is the time spent on the TCP connect (0 on a reused
	// connection).
	Connect time.Duration
	// TLS is the time spent on the TLS handshake (0 for http and reused
	// connections).
	TLS time.Duration
	// TTFB is the time from the request being fully written to the first
	// byte of the answer: how long the endpoint took to respond.
	TTFB time.Duration
	// RetryAfter is the raw Retry-After header of the answer, if any.
	RetryAfter string
}

// Success reports whether the endpoint answered 2xx.
func (r Result) Success() bool {
	return r.ErrorClass == "" && r.StatusCode >= 200 && r.StatusCode < 300
}

// sendTimings collects httptrace events; callbacks may run on other
// goroutines, hence the mutex.
type sendTimings struct {
	mu                      sync.Mutex
	dnsStart, dnsDone       time.Time
	connStart, connDone     time.Time
	tlsStart, tlsDone       time.Time
	wroteRequest, firstByte time.Time
	remoteAddr              string
}

func (t *sendTimings) trace() *httptrace.ClientTrace {
	now := func(dst *time.Time) {
		t.mu.Lock()
		*dst = time.Now()
		t.mu.Unlock()
	}
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { now(&t.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { now(&t.dnsDone) },
		ConnectStart: func(string, string) {
			t.mu.Lock()
			if t.connStart.IsZero() { // first of happy-eyeballs' dials
				t.connStart = time.Now()
			}
			t.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				now(&t.connDone)
			}
		},
		TLSHandshakeStart: func() { now(&t.tlsStart) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { now(&t.tlsDone) },
		GotConn: func(info httptrace.GotConnInfo) {
			t.mu.Lock()
			t.remoteAddr = info.Conn.RemoteAddr().String()
			t.mu.Unlock()
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { now(&t.wroteRequest) },
		GotFirstResponseByte: func() { now(&t.firstByte) },
	}
}

func traceSpan(from, to time.Time) time.Duration {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

func (t *sendTimings) fill(res *Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	res.DNS = traceSpan(t.dnsStart, t.dnsDone)
	res.Connect = traceSpan(t.connStart, t.connDone)
	res.TLS = traceSpan(t.tlsStart, t.tlsDone)
	res.TTFB = traceSpan(t.wroteRequest, t.firstByte)
	res.RemoteAddr = t.remoteAddr
}

// Send POSTs r and reports what happened. It never returns an error:
// failures are classified in [Result.ErrorClass] and described in
// [Result.Error]. The attempt is bounded by the configured Timeout and by
// ctx.
func (s *Sender) Send(ctx context.Context, r Request) (res Result) {
	start := time.Now()
	tm := &sendTimings{}
	defer func() {
		tm.fill(&res)
		res.Duration = time.Since(start)
	}()

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, tm.trace())

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		res.ErrorClass = ClassConnect
		res.Error = fmt.Sprintf("build request: %v", err)
		return res
	}
	if r.Headers != nil {
		req.Header = r.Headers.Clone()
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.userAgent != "" {
		req.Header.Set("User-Agent", s.userAgent)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		res.ErrorClass = classifyError(err)
		res.Error = describeError(err)
		return res
	}
	defer resp.Body.Close()

	res.StatusCode = resp.StatusCode
	res.ResponseHeaders = resp.Header
	res.RetryAfter = resp.Header.Get("Retry-After")

	body, readErr := readBody(resp.Body, s.maxBody)
	if len(body) > s.maxBody {
		body = body[:s.maxBody]
		res.Truncated = true
	}
	res.ResponseBody = body

	res.ErrorClass = classifyStatus(resp.StatusCode)
	if res.ErrorClass != "" {
		res.Error = describeStatus(resp)
	}
	if readErr != nil {
		// The answer did not finish within the timeout (or the connection
		// broke): what was read is kept, marked as cut short. A 2xx status
		// line alone is not an acknowledgement, so the attempt fails with
		// the read's error class (see the README, "Unfinished answers").
		res.Truncated = true
		class := classifyError(readErr)
		msg := "the response body did not finish: " + describeError(readErr)
		if class == ClassTimeout {
			msg = fmt.Sprintf("the response body did not finish within %s", s.timeout)
		}
		if res.ErrorClass == "" {
			res.ErrorClass = class
			res.Error = "endpoint answered " + resp.Status + " but " + msg
		} else {
			res.Error += "; " + msg
		}
	}
	return res
}

// readBody reads up to limit+1 bytes of body, then discards up to
// senderDrainLimit more so that the connection can be reused. It returns
// the bytes read and the error that stopped the body before its end, if
// one did: a body that stops coming while it is drained is as unfinished
// as one that stops before the limit. A body longer than limit plus the
// drain limit is not read further and counts as finished; the connection
// is then closed rather than reused.
func readBody(body io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, int64(limit)+1))
	if err != nil || len(b) <= limit {
		return b, err
	}
	if _, err := io.CopyN(io.Discard, body, senderDrainLimit); err != nil && !errors.Is(err, io.EOF) {
		return b, err
	}
	return b, nil
}

// classifyStatus maps an HTTP status to an error class, "" for 2xx.
func classifyStatus(code int) string {
	switch {
	case code >= 200 && code < 300:
		return ""
	case code == http.StatusGone:
		return ClassGone
	case code >= 300 && code < 400:
		return ClassRedirect
	default:
		return ClassStatus
	}
}

func describeStatus(resp *http.Response) string {
	msg := "endpoint answered " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc := resp.Header.Get("Location"); loc != "" {
			msg += " to " + loc
		}
		msg += " (redirects are not followed)"
	}
	return msg
}

// classifyError maps an error from http.Client.Do to an error class.
func classifyError(err error) string {
	var (
		dnsErr     *net.DNSError
		recErr     tls.RecordHeaderError
		alertErr   tls.AlertError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, ErrBlocked):
		return ClassBlocked
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.As(err, &dnsErr):
		return ClassDNS
	case errors.As(err, &recErr), errors.As(err, &alertErr),
		errors.As(err, &verifyErr), errors.As(err, &unknownCA),
		errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return ClassTLS
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ClassConnect
	}
	// Some TLS failures are plain strings, such as net/http's "server gave
	// HTTP response to HTTPS client"; match them last.
	msg := err.Error()
	for _, s := range []string{"tls: ", "x509: ", "HTTP response to HTTPS client"} {
		if strings.Contains(msg, s) {
			return ClassTLS
		}
	}
	return ClassConnect
}

// describeError drops the url.Error wrapper, which only repeats the
// method and the URL the caller already has.
func describeError(err error) string {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err.Error()
	}
	return err.Error()
}
