package store

import (
	"context"
	"fmt"
)

// OperationalTenant is the tenant that owns the SaaS's own operational
// endpoints: where hookd tells the SaaS that a customer's endpoint is
// failing, was disabled or changed, or that a delivery gave up. Its
// endpoints are ordinary endpoints, so their deliveries are signed,
// retried and logged like any other. It is made by
// [Store.EnsureOperationalTenant] (never through PUT /tenants) and left out
// of [Store.ListTenants].
const OperationalTenant = "hookd:operational"

// EnsureOperationalTenant creates the operational tenant when it does not
// exist yet.
func (s *Store) EnsureOperationalTenant(ctx context.Context) error {
	_, err := s.db.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'Operational webhooks')
		ON CONFLICT (id) DO NOTHING`, OperationalTenant)
	if err != nil {
		return fmt.Errorf("create the operational tenant: %w", mapErr(err))
	}
	return nil
}
