-- 0003_portal: login links and sessions of the customer portal.
--
-- Why: the SaaS team's backend mints a short-lived, single-use link for one
-- tenant; opening it starts a browser session for that tenant only. Both
-- tables keep only a SHA-256 of the random token (link) or cookie value
-- (session), so a database dump does not let anyone log in.
-- * A link is spent by setting used_at in the same statement that creates
--   the session, so two clicks on one link cannot both log in.
-- * A session carries its CSRF token: every state-changing request made
--   with the cookie must send it back in X-CSRF-Token.
-- * revoked_at ends a session at once (logout, or an operator ending all
--   sessions of a tenant); sessions are looked up on every request, never
--   cached, so that takes effect immediately.
-- * Rows go with their tenant (ON DELETE CASCADE).

CREATE TABLE portal_links (
    hash        bytea PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE portal_sessions (
    id          bytea PRIMARY KEY, -- SHA-256 of the cookie value
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX portal_sessions_tenant_idx ON portal_sessions (tenant_id) WHERE revoked_at IS NULL;
