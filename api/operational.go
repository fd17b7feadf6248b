package api

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// Operational endpoints are where the SaaS itself hears what happens to its
// customers' endpoints (delivery/operational.go). They are the endpoints of
// store.OperationalTenant, so /api/v1/operational-endpoints is the
// endpoint routes of that tenant under a name of their own, for admin keys
// only: the same handlers, validation and answers.

// operationalScope makes the operational tenant the request's tenant.
func operationalScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.SetParamNames(append([]string{"tenant"}, c.ParamNames()...)...)
		c.SetParamValues(append([]string{store.OperationalTenant}, c.ParamValues()...)...)
		return next(c)
	}
}

// createOperationalEndpoint creates the endpoint as any other; the store
// creates the operational tenant with its first endpoint, so that a
// refused request leaves nothing behind.
func (s *server) createOperationalEndpoint(c echo.Context) error {
	return s.createEndpoint(c)
}

// operationalRefused are the tenant routes that make no sense for the
// operational tenant, and why.
var operationalRefused = map[string]string{
	"PUT /api/v1/tenants/:tenant":                           "is reserved for hookd's operational webhooks",
	"DELETE /api/v1/tenants/:tenant":                        "is hookd's own; delete its endpoints under /api/v1/operational-endpoints instead",
	"POST /api/v1/tenants/:tenant/keys":                     "is hookd's own and has no tenant keys",
	"POST /api/v1/tenants/:tenant/portal-links":             "is hookd's own and has no portal",
	"POST /api/v1/tenants/:tenant/messages":                 "is hookd's own: only hookd publishes operational events",
	"POST /api/v1/tenants/:tenant/endpoints":                "is hookd's own: create operational endpoints with POST /api/v1/operational-endpoints",
	"POST /api/v1/tenants/:tenant/endpoints/:endpoint/test": "is hookd's own: its endpoints get operational events only",
}

// refuseOperationalTenant answers 422 to the routes of operationalRefused
// for the operational tenant.
func refuseOperationalTenant(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Param("tenant") == store.OperationalTenant {
			if why, ok := operationalRefused[c.Request().Method+" "+c.Path()]; ok {
				return fieldErr("tenant", "%s %s", store.OperationalTenant, why)
			}
		}
		return next(c)
	}
}

// operationalEndpointErrors checks what only an operational endpoint must
// obey: it chooses among the operational event types, and has no channels
// (operational events have none, so it would get nothing).
func operationalEndpointErrors(b endpointBody) []FieldError {
	var errs []FieldError
	if b.EventTypes != nil {
		for _, f := range *b.EventTypes {
			probe := store.Endpoint{EventTypes: []string{f}}
			if !slices.ContainsFunc(delivery.OperationalEventTypes, func(t string) bool { return delivery.Matches(probe, t, nil) }) {
				errs = append(errs, FieldError{Field: "event_types", Message: fmt.Sprintf("'%s' is not an operational event type; choose from %s",
					f, strings.Join(delivery.OperationalEventTypes, ", "))})
			}
		}
	}
	if b.Channels != nil && len(*b.Channels) > 0 {
		errs = append(errs, FieldError{Field: "channels", Message: "an operational endpoint has no channels: operational events are sent on none"})
	}
	return errs
}

// notify publishes an operational event about a change the request made.
// The change is done whatever happens to the event, so a failure to
// publish it is logged, not answered.
func (s *server) notify(c echo.Context, ev delivery.OperationalEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 10*time.Second)
	defer cancel()
	if err := s.svc.Notify(ctx, ev); err != nil {
		s.log.Warn("operational event not published", "type", ev.Type, "endpoint", ev.EndpointID, "error", err)
	}
}

// endpointEvent is an operational event of type typ about e.
func endpointEvent(typ string, e store.Endpoint) delivery.OperationalEvent {
	return delivery.OperationalEvent{Type: typ, TenantID: e.TenantID, EndpointID: e.ID, URL: e.URL}
}

// changedFields names, as the API does, the fields of an endpoint that
// differ between before and after.
func changedFields(before, after store.Endpoint) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"url", before.URL == after.URL},
		{"description", before.Description == after.Description},
		{"event_types", slices.Equal(before.EventTypes, after.EventTypes)},
		{"channels", slices.Equal(before.Channels, after.Channels)},
		{"headers", maps.Equal(before.Headers, after.Headers)},
		{"secret_headers", slices.Equal(before.SecretHeaders, after.SecretHeaders)},
		{"rate_limit", (before.RateLimit == nil) == (after.RateLimit == nil) &&
			(before.RateLimit == nil || *before.RateLimit == *after.RateLimit)},
		{"disabled", before.Disabled == after.Disabled},
		{"disabled_reason", before.DisabledReason == after.DisabledReason},
		{"metadata", bytes.Equal(rawObject(before.Metadata), rawObject(after.Metadata))},
		{"version_pins", maps.Equal(before.VersionPins, after.VersionPins)},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

// rotatedEvent is the endpoint.secret_rotated event of a rotation with
// grace.
func rotatedEvent(e store.Endpoint, grace time.Duration) delivery.OperationalEvent {
	ev := endpointEvent(delivery.EventEndpointSecretRotated, e)
	ev.Reason = "a new secret signs from now on; the previous one stopped at once"
	if grace > 0 {
		ev.Reason = "a new secret signs from now on; the previous one signs too until " +
			time.Now().Add(grace).UTC().Format(time.RFC3339)
	}
	return ev
}

// notifyUpdated tells of a PATCH that changed something.
func (s *server) notifyUpdated(c echo.Context, before, after store.Endpoint) {
	if changed := changedFields(before, after); len(changed) > 0 {
		ev := endpointEvent(delivery.EventEndpointUpdated, after)
		ev.Changed = changed
		s.notify(c, ev)
	}
}
