-- 0011_operational_tenant: the tenant that owns the SaaS's operational
-- endpoints (store.OperationalTenant) exists from the start.
--
-- Why here and not on demand: creating it when the first operational
-- endpoint is created meant that a refused request could still leave it
-- behind. The API hides it from tenant lists and refuses to change it.
INSERT INTO tenants (id, name) VALUES ('hookd:operational', 'Operational webhooks') ON CONFLICT (id) DO NOTHING;
