package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// requestTimeout bounds every request hookbench makes.
const requestTimeout = 30 * time.Second

// newHTTPClient returns the one client of a run: a single transport that
// keeps up to concurrency idle connections to hookd alive, and that dials
// loopback only.
func newHTTPClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         loopbackDialContext(),
			MaxIdleConns:        concurrency + 16,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// apiClient calls the parts of hookd's /api/v1 that the bench needs.
type apiClient struct {
	base string // e.g. http://127.0.0.1:8080, no trailing slash
	key  string
	http *http.Client
}

// putTenant creates or updates tenant id.
func (c *apiClient) putTenant(ctx context.Context, id string) error {
	body := map[string]any{"name": "hookbench " + id}
	return c.do(ctx, http.MethodPut, "/tenants/"+url.PathEscape(id), body, nil, http.StatusOK, http.StatusCreated)
}

// deleteTenant removes tenant id and all it owns.
func (c *apiClient) deleteTenant(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/tenants/"+url.PathEscape(id), nil, nil, http.StatusOK, http.StatusNoContent, http.StatusAccepted)
}

// ensureEventType creates the bench event type; one that exists is fine.
func (c *apiClient) ensureEventType(ctx context.Context) error {
	body := map[string]any{"name": eventType, "description": "hookbench load test messages"}
	return c.do(ctx, http.MethodPost, "/event-types", body, nil, http.StatusCreated, http.StatusOK, http.StatusConflict)
}

// createEndpoint registers url for every event type of tenant and returns
// the endpoint's id.
func (c *apiClient) createEndpoint(ctx context.Context, tenant, endpointURL string) (string, error) {
	body := map[string]any{"url": endpointURL, "event_types": []string{}, "description": "hookbench receiver"}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/tenants/"+url.PathEscape(tenant)+"/endpoints", body, &out, http.StatusCreated, http.StatusOK); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("create endpoint: answer has no id")
	}
	return out.ID, nil
}

// endpointSecret reads the signing secret of an endpoint.
func (c *apiClient) endpointSecret(ctx context.Context, tenant, endpoint string) (string, error) {
	var out struct {
		Secret string `json:"secret"`
	}
	path := "/tenants/" + url.PathEscape(tenant) + "/endpoints/" + url.PathEscape(endpoint) + "/secret"
	if err := c.do(ctx, http.MethodGet, path, nil, &out, http.StatusOK); err != nil {
		return "", err
	}
	if !strings.HasPrefix(out.Secret, "whsec_") {
		return "", fmt.Errorf("endpoint %s: secret does not start with whsec_", endpoint)
	}
	return out.Secret, nil
}

// publish posts a message body built by appendPublishBody. Any 2xx is
// success (hookd answers 202); the answer is read to the end so that the
// connection is reused, but not decoded.
func (c *apiClient) publish(ctx context.Context, tenant string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/tenants/"+url.PathEscape(tenant)+"/messages", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	c.header(req, true)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError("publish", resp)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("publish: read answer: %w", err)
	}
	return nil
}

// ready reports whether GET /readyz answers 200.
func (c *apiClient) ready(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

func (c *apiClient) header(req *http.Request, hasBody bool) {
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
}

// do sends in as JSON to /api/v1+path, expects one of the ok statuses and
// decodes the answer into out when out is not nil.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any, ok ...int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1"+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	c.header(req, in != nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if !slices.Contains(ok, resp.StatusCode) {
		return statusError(method+" "+path, resp)
	}
	if out == nil || resp.StatusCode == http.StatusConflict {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// statusError describes an unexpected answer with the start of its body
// (a problem+json detail, usually).
func statusError(what string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("%s: %s: %s", what, resp.Status, strings.TrimSpace(string(b)))
}
