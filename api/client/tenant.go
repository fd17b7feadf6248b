package client

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Tenant is one of your customers, under an id you choose.
type Tenant struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// TenantParams is the whole of a tenant, for UpsertTenant: what it leaves
// out is cleared.
type TenantParams struct {
	Name     string         `json:"name,omitempty"`
	Metadata map[string]any `json:"metadata,omitzero"`
}

// UpsertTenant creates the tenant id or replaces its name and metadata
// (PUT /api/v1/tenants/{tenant}). Admin keys only.
func (c *Client) UpsertTenant(ctx context.Context, id string, p TenantParams) (*Tenant, error) {
	if err := need("tenant id", id); err != nil {
		return nil, err
	}
	var out Tenant
	err := c.do(ctx, call{method: http.MethodPut, path: pathf("/api/v1/tenants/%s", id), body: p, out: &out, retry: true})
	return ptr(out, err)
}

// GetTenant reads a tenant. Admin keys only.
func (c *Client) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	if err := need("tenant id", id); err != nil {
		return nil, err
	}
	var out Tenant
	err := c.do(ctx, call{method: http.MethodGet, path: pathf("/api/v1/tenants/%s", id), out: &out, retry: true})
	return ptr(out, err)
}

// DeleteTenant deletes a tenant with everything it owns: endpoints,
// messages, attempts, keys. Admin keys only.
func (c *Client) DeleteTenant(ctx context.Context, id string) error {
	if err := need("tenant id", id); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: pathf("/api/v1/tenants/%s", id), retry: true})
}

// ListTenants reads one page of tenants. Admin keys only.
func (c *Client) ListTenants(ctx context.Context, p *ListParams) (*Page[Tenant], error) {
	var out Page[Tenant]
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/tenants", query: p.orZero().values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllTenants iterates over every tenant from p's cursor on, page by page.
func (c *Client) AllTenants(ctx context.Context, p *ListParams) iter.Seq2[Tenant, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Tenant], error) {
		q.Cursor = cursor
		return c.ListTenants(ctx, &q)
	})
}

// TenantKey is a tenant-scoped API key as listed: its secret part is shown
// only when it is created.
type TenantKey struct {
	ID        uuid.UUID `json:"id"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}

// NewTenantKey is a key just minted, with the key itself (hk_tenant_...).
type NewTenantKey struct {
	ID        uuid.UUID `json:"id"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateTenantKey mints a tenant-scoped API key. It reaches only that
// tenant's endpoints, messages, attempts, resend and recover. Keep the key:
// it is not shown again. Admin keys only.
func (c *Client) CreateTenantKey(ctx context.Context, tenant string) (*NewTenantKey, error) {
	if err := need("tenant id", tenant); err != nil {
		return nil, err
	}
	var out NewTenantKey
	err := c.do(ctx, call{method: http.MethodPost, path: pathf("/api/v1/tenants/%s/keys", tenant), out: &out})
	return ptr(out, err)
}

// ListTenantKeys lists a tenant's keys that are not revoked. Admin keys
// only.
func (c *Client) ListTenantKeys(ctx context.Context, tenant string) ([]TenantKey, error) {
	if err := need("tenant id", tenant); err != nil {
		return nil, err
	}
	var out Page[TenantKey]
	err := c.do(ctx, call{method: http.MethodGet, path: pathf("/api/v1/tenants/%s/keys", tenant), out: &out, retry: true})
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// RevokeTenantKey revokes a tenant key. Admin keys only.
func (c *Client) RevokeTenantKey(ctx context.Context, tenant string, key uuid.UUID) error {
	if err := need("tenant id", tenant, "key id", key); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: pathf("/api/v1/tenants/%s/keys/%s", tenant, key.String()), retry: true})
}
