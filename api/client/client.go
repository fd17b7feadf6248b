// Package client is a Go client for hookd's REST API: one method for every
// operation of the OpenAPI document (/api/openapi.json), typed requests and
// answers, errors as *Error (the API's problem+json, with the fields at
// fault), and iterators over lists.
//
// Publishing takes five lines:
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("HOOKD_KEY"))
//	msg, err := c.Publish(ctx, "acme", client.PublishParams{
//		EventType: "invoice.paid",
//		Payload:   map[string]any{"id": "inv_1"},
//	})
//
// Every method takes a context. Calls that are safe to repeat (GET, PUT,
// DELETE, CountReplay's dry run, and Publish, which always sends an
// idempotency key) are retried with backoff on network errors and on 429,
// 502, 503 and 504 answers, waiting as Retry-After says when it is short;
// see Retry. Other POSTs and PATCHes are sent once.
//
// Lists come a page at a time (ListMessages, ...) or as iterators that
// follow next_cursor (AllMessages, ...):
//
//	for m, err := range c.AllMessages(ctx, "acme", nil) { ... }
//
// The package imports only the standard library and github.com/google/uuid,
// so an app that uses it pulls in nothing else.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Client calls one hookd. Make one with New; it is safe for concurrent
// use. Bound a call's time with its context (or the HTTP client's
// Timeout): the default HTTP client has none.
type Client struct {
	base      string // like http://127.0.0.1:8080, no trailing slash
	key       string
	http      *http.Client
	retry     Retry
	userAgent string
}

// Retry says how calls that are safe to repeat are retried. Zero values
// mean the defaults.
type Retry struct {
	// Attempts is how many times a call is tried in all (4). 1 turns
	// retries off.
	Attempts int
	// MinWait is the wait before the first retry (100ms); each retry waits
	// twice as long as the one before, with jitter, up to MaxWait (5s).
	MinWait time.Duration
	MaxWait time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 4
	}
	if r.MinWait <= 0 {
		r.MinWait = 100 * time.Millisecond
	}
	if r.MaxWait <= 0 {
		r.MaxWait = 5 * time.Second
	}
	if r.MaxWait < r.MinWait {
		r.MaxWait = r.MinWait
	}
	return r
}

// Option changes a Client made by New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc
// (http.DefaultClient by default), for its timeouts, transport or cookie
// jar.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithRetry sets how calls are retried.
func WithRetry(r Retry) Option {
	return func(c *Client) { c.retry = r.withDefaults() }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the hookd at baseURL (scheme, host and port, like
// http://127.0.0.1:8080) that authenticates with key, an admin key
// (hk_admin_...) or a tenant key (hk_tenant_...). An empty key sends no
// Authorization header: enough for Health and Ready, or for a portal
// session held in the HTTP client's cookie jar.
func New(baseURL, key string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		key:       key,
		http:      http.DefaultClient,
		retry:     Retry{}.withDefaults(),
		userAgent: "hookd-go-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// call is one API request.
type call struct {
	method string
	path   string     // escaped, from the root: /api/v1/...
	query  url.Values // nil: none
	header http.Header
	body   any // nil: none; else sent as JSON
	// out receives the JSON answer of a 2xx; nil discards it. A *[]byte
	// receives the raw body.
	out any
	// retry says whether the call may be sent again: true for idempotent
	// calls.
	retry bool
}

// do sends a call, retrying it when it may be, and decodes the answer.
func (c *Client) do(ctx context.Context, cl call) error {
	var raw []byte
	if cl.body != nil {
		var err error
		if raw, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("%s %s: encode body: %w", cl.method, cl.path, err)
		}
	}
	attempts := 1
	if cl.retry {
		attempts = c.retry.Attempts
	}
	for n := 1; ; n++ {
		res, err := c.send(ctx, cl, raw)
		if err == nil && res.StatusCode < 300 {
			return decodeAnswer(cl, res)
		}
		var wait time.Duration
		var retryable bool
		if err != nil {
			// The context's own end is final; anything else on the way
			// (refused, reset, timeout of the HTTP client) is worth another try.
			if ctx.Err() != nil {
				return fmt.Errorf("%s %s: %w", cl.method, cl.path, ctx.Err())
			}
			retryable = true
			err = fmt.Errorf("%s %s: %w", cl.method, cl.path, err)
		} else {
			err = readError(cl, res)
			switch res.StatusCode {
			case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				retryable = true
				if d, ok := retryAfter(res.Header.Get("Retry-After")); ok {
					if d > c.retry.MaxWait {
						return err // too long to wait for here: the caller decides
					}
					wait = d
				}
			}
		}
		if !retryable || n >= attempts {
			return err
		}
		if wait == 0 {
			wait = c.backoff(n)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// backoff is the wait before retry n (1-based): MinWait doubled n-1 times,
// capped at MaxWait, with ±20% jitter.
func (c *Client) backoff(n int) time.Duration {
	d := c.retry.MinWait
	for i := 1; i < n && d < c.retry.MaxWait; i++ {
		d *= 2
	}
	d = min(d, c.retry.MaxWait)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

func (c *Client) send(ctx context.Context, cl call, raw []byte) (*http.Response, error) {
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader = http.NoBody
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json, application/problem+json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return c.http.Do(req)
}

// decodeAnswer reads a 2xx answer into cl.out.
func decodeAnswer(cl call, res *http.Response) error {
	defer res.Body.Close()
	switch out := cl.out.(type) {
	case nil:
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	case *[]byte:
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return fmt.Errorf("%s %s: read answer: %w", cl.method, cl.path, err)
		}
		*out = b
		return nil
	default:
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode answer (%d): %w", cl.method, cl.path, res.StatusCode, err)
		}
		return nil
	}
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// readError turns a non-2xx answer into an *Error.
func readError(cl call, res *http.Response) error {
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	if err != nil && len(b) == 0 {
		return fmt.Errorf("%s %s: %d, and reading its body: %w", cl.method, cl.path, res.StatusCode, err)
	}
	e := &Error{Status: res.StatusCode, Method: cl.method, Path: cl.path}
	ct := res.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/problem+json") || strings.HasPrefix(ct, "application/json") {
		_ = json.Unmarshal(b, e) // what does not decode stays as the body below
		e.Status = res.StatusCode
	}
	if e.Title == "" {
		e.Title = http.StatusText(res.StatusCode)
	}
	if e.Detail == "" {
		e.Detail = strings.TrimSpace(string(b))
	}
	return e
}

// pathf builds a path from a format whose %s verbs are replaced by the
// path-escaped args.
func pathf(format string, args ...string) string {
	esc := make([]any, len(args))
	for i, a := range args {
		esc[i] = url.PathEscape(a)
	}
	return fmt.Sprintf(format, esc...)
}

// need refuses, before any request, a required id that is empty: pairs
// of a name and a string or uuid.UUID.
func need(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		var empty bool
		switch v := pairs[i+1].(type) {
		case string:
			empty = v == ""
		case uuid.UUID:
			empty = v == uuid.Nil
		}
		if empty {
			return fmt.Errorf("client: the %s is required", pairs[i])
		}
	}
	return nil
}

// ptr returns &v, or nil with err.
func ptr[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}
