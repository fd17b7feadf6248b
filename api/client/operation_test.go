package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api/client"
)

// TestEveryOperationAgainstHookd calls every method against one real
// hookd, checks what each does, and ends by checking that every operation
// of the document answered 2xx at least once.
func TestEveryOperationAgainstHookd(t *testing.T) {
	t.Parallel()
	h := newHookd(t)
	rc := newReceiver(t)
	ctx := t.Context()
	c := client.New(h.url, adminKey)

	// Health.
	health, err := c.Health(ctx)
	require.NoError(t, err)
	require.Equal(t, client.Health{Status: "ok", Version: "test"}, *health)
	ready, err := c.Ready(ctx)
	require.NoError(t, err)
	require.Equal(t, "ok", ready.Status)
	doc, err := c.OpenAPI(ctx)
	require.NoError(t, err)
	var head struct{ OpenAPI string }
	require.NoError(t, json.Unmarshal(doc, &head))
	require.Equal(t, "3.1.0", head.OpenAPI)

	// Event types.
	schema := json.RawMessage(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`)
	et, err := c.CreateEventType(ctx, client.EventTypeParams{Name: "invoice.paid", Description: "Paid",
		Schema: schema, Example: json.RawMessage(`{"id":"inv_example"}`)})
	require.NoError(t, err)
	require.Equal(t, "invoice.paid", et.Name)
	require.JSONEq(t, string(schema), string(et.Schema))
	_, err = c.CreateEventType(ctx, client.EventTypeParams{Name: "invoice.paid"})
	require.True(t, client.IsConflict(err), "a second invoice.paid: %v", err)
	et, err = c.UpdateEventType(ctx, "invoice.paid", client.EventTypeUpdate{Description: new("An invoice was paid")})
	require.NoError(t, err)
	require.Equal(t, "An invoice was paid", et.Description)
	require.JSONEq(t, string(schema), string(et.Schema), "what the update left out stays")
	et, err = c.GetEventType(ctx, "invoice.paid")
	require.NoError(t, err)
	require.Equal(t, "An invoice was paid", et.Description)
	_, err = c.CreateEventType(ctx, client.EventTypeParams{Name: "invoice.voided"})
	require.NoError(t, err)
	et, err = c.ArchiveEventType(ctx, "invoice.voided")
	require.NoError(t, err)
	require.True(t, et.Archived)
	types, err := c.ListEventTypes(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"invoice.paid"}, eventTypeNames(types.Data), "archived ones are left out")
	require.ElementsMatch(t, []string{"invoice.paid", "invoice.voided"},
		collect(t, c.AllEventTypes(ctx, &client.ListEventTypesParams{Limit: 1, IncludeArchived: true}), eventTypeName))
	// Event types as code: PUT declares one, and the same declaration
	// again changes nothing.
	declared, err := c.PutEventType(ctx, "invoice.refunded", client.EventTypePut{Description: "Refunded", Schema: schema})
	require.NoError(t, err)
	require.Equal(t, "Refunded", declared.Description)
	require.JSONEq(t, string(schema), string(declared.Schema))
	redeclared, err := c.PutEventType(ctx, "invoice.refunded", client.EventTypePut{Description: "Refunded", Schema: schema})
	require.NoError(t, err)
	require.True(t, declared.UpdatedAt.Equal(redeclared.UpdatedAt), "the same declaration changes nothing")
	redeclared, err = c.PutEventType(ctx, "invoice.refunded", client.EventTypePut{Archived: true})
	require.NoError(t, err)
	require.True(t, redeclared.Archived)
	require.Equal(t, "null", string(redeclared.Schema), "what the declaration leaves out is reset")

	// Tenants.
	tn, err := c.UpsertTenant(ctx, "acme", client.TenantParams{Name: "Acme", Metadata: map[string]any{"plan": "pro"}})
	require.NoError(t, err)
	require.Equal(t, "acme", tn.ID)
	_, err = c.UpsertTenant(ctx, "globex", client.TenantParams{Name: "Globex"})
	require.NoError(t, err)
	tn, err = c.GetTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"plan": "pro"}, tn.Metadata)
	tenants, err := c.ListTenants(ctx, &client.ListParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, tenants.Data, 1)
	require.NotEmpty(t, tenants.NextCursor)
	require.ElementsMatch(t, []string{"acme", "globex"},
		collect(t, c.AllTenants(ctx, &client.ListParams{Limit: 1}), func(t client.Tenant) string { return t.ID }))

	// Endpoints.
	ep, err := c.CreateEndpoint(ctx, "acme", client.EndpointParams{URL: rc.url + "/ok", Description: "billing",
		Headers: map[string]string{"X-Team": "billing"}, Metadata: map[string]any{"region": "eu"}})
	require.NoError(t, err)
	require.Equal(t, "v1", ep.SignatureScheme)
	require.Equal(t, map[string]string{"X-Team": "billing"}, ep.Headers)
	ep, err = c.UpdateEndpoint(ctx, "acme", ep.ID, client.EndpointUpdate{RateLimit: new(100), Description: new("billing, eu")})
	require.NoError(t, err)
	require.Equal(t, 100, *ep.RateLimit)
	ep, err = c.UpdateEndpoint(ctx, "acme", ep.ID, client.EndpointUpdate{RateLimit: new(0)})
	require.NoError(t, err)
	require.Nil(t, ep.RateLimit, "a pointer to 0 removes the limit")
	require.Equal(t, "billing, eu", ep.Description, "what the update left out stays")
	got, err := c.GetEndpoint(ctx, "acme", ep.ID)
	require.NoError(t, err)
	require.Equal(t, ep.URL, got.URL)
	eps, err := c.ListEndpoints(ctx, "acme", nil)
	require.NoError(t, err)
	require.Len(t, eps.Data, 1)
	require.Len(t, collect(t, c.AllEndpoints(ctx, "acme", nil), endpointID), 1)
	secret, err := c.GetEndpointSecret(ctx, "acme", ep.ID)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret.Secret, "whsec_"), secret.Secret)

	// Publish: the message arrives, signed, with its exact bytes.
	msg, err := c.Publish(ctx, "acme", client.PublishParams{EventType: "invoice.paid", Payload: map[string]any{"id": "inv_1"}})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"inv_1"}`, string(msg.Payload))
	require.NotNil(t, msg.IdempotencyKey, "publish sends an idempotency key by default")
	r := rc.waitFor(t, msg.ID.String(), 1)
	verify(t, secret.Secret, r)
	require.Equal(t, string(msg.Payload), string(r.body))
	require.Equal(t, "billing", r.header.Get("X-Team"))
	again, err := c.Publish(ctx, "acme", client.PublishParams{EventType: "invoice.paid", Payload: map[string]any{"id": "inv_1"},
		IdempotencyKey: *msg.IdempotencyKey})
	require.NoError(t, err)
	require.Equal(t, msg.ID, again.ID, "the same key returns the first message")

	// Messages and attempts.
	waitDelivery(t, c, "acme", msg.ID, "succeeded")
	m, err := c.GetMessage(ctx, "acme", msg.ID)
	require.NoError(t, err)
	require.Len(t, m.Deliveries, 1)
	require.Equal(t, ep.ID, m.Deliveries[0].EndpointID)
	msgs, err := c.ListMessages(ctx, "acme", &client.ListMessagesParams{EventType: "invoice.paid", EndpointID: ep.ID,
		Status: "succeeded", Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{msg.ID}, messageIDs(msgs.Data))
	require.Equal(t, []uuid.UUID{msg.ID}, collect(t, c.AllMessages(ctx, "acme", nil), messageID))
	attempts, err := c.ListMessageAttempts(ctx, "acme", msg.ID, nil)
	require.NoError(t, err)
	require.Len(t, attempts.Data, 1)
	a := attempts.Data[0]
	require.Equal(t, "succeeded", a.Status)
	require.Equal(t, 200, *a.StatusCode)
	require.Equal(t, "thanks", a.ResponseBody)
	require.Len(t, collect(t, c.AllMessageAttempts(ctx, "acme", msg.ID, nil), attemptID), 1)
	one, err := c.GetAttempt(ctx, "acme", a.ID)
	require.NoError(t, err)
	require.Equal(t, a.ID, one.ID)
	require.Equal(t, "thanks", one.ResponseBody)
	_, err = c.GetAttempt(ctx, "globex", a.ID)
	require.True(t, client.IsNotFound(err), "another tenant's attempt: %v", err)
	classed, err := c.ListMessageAttempts(ctx, "acme", msg.ID, &client.ListAttemptsParams{StatusClass: "2xx",
		EventType: "invoice.paid", Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{a.ID}, attemptIDs(classed.Data))
	classed, err = c.ListEndpointAttempts(ctx, "acme", ep.ID, &client.ListAttemptsParams{StatusClass: "5xx"})
	require.NoError(t, err)
	require.Empty(t, classed.Data)
	epAttempts, err := c.ListEndpointAttempts(ctx, "acme", ep.ID, &client.ListAttemptsParams{Status: "succeeded"})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{a.ID}, attemptIDs(epAttempts.Data))
	require.Len(t, collect(t, c.AllEndpointAttempts(ctx, "acme", ep.ID, nil), attemptID), 1)
	stats, err := c.GetEndpointStats(ctx, "acme", ep.ID)
	require.NoError(t, err)
	require.Equal(t, 1, stats.Attempts24h)
	require.Equal(t, 1, stats.Succeeded24h)

	// A publish can create its tenant.
	first, err := c.Publish(ctx, "initech", client.PublishParams{EventType: "invoice.paid", Payload: map[string]any{"id": "inv_9"},
		Channels: []string{"eu"}, Tenant: &client.TenantParams{Name: "Initech"}})
	require.NoError(t, err)
	tn, err = c.GetTenant(ctx, "initech")
	require.NoError(t, err)
	require.Equal(t, "Initech", tn.Name)
	msgs, err = c.ListMessages(ctx, "initech", &client.ListMessagesParams{Channel: "eu"})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{first.ID}, messageIDs(msgs.Data))
	msgs, err = c.ListMessages(ctx, "initech", &client.ListMessagesParams{Channel: "us"})
	require.NoError(t, err)
	require.Empty(t, msgs.Data)
	_, err = c.Publish(ctx, "nobody", client.PublishParams{EventType: "invoice.paid", Payload: map[string]any{"id": "inv_0"}})
	require.True(t, client.IsNotFound(err), "without Tenant, an unknown tenant: %v", err)

	// Resend keeps the webhook-id; a rotated secret signs what follows.
	enq, err := c.ResendMessage(ctx, "acme", msg.ID, nil)
	require.NoError(t, err)
	require.Equal(t, 1, enq.Enqueued)
	rc.waitFor(t, msg.ID.String(), 2)
	enq, err = c.ResendMessage(ctx, "acme", msg.ID, &client.ResendParams{EndpointID: ep.ID})
	require.NoError(t, err)
	require.Equal(t, 1, enq.Enqueued)
	rc.waitFor(t, msg.ID.String(), 3)
	rotated, err := c.RotateEndpointSecret(ctx, "acme", ep.ID, &client.RotateSecretParams{GracePeriodSeconds: new(0)})
	require.NoError(t, err)
	require.NotEqual(t, secret.Secret, rotated.Secret)
	test, err := c.SendTestEvent(ctx, "acme", ep.ID, "invoice.paid")
	require.NoError(t, err)
	r = rc.waitFor(t, test.MessageID.String(), 1)
	require.JSONEq(t, `{"id":"inv_example"}`, string(r.body), "a test event carries the example")
	verify(t, rotated.Secret, r)

	// A message with its own retention, delivered, then its content removed.
	short, err := c.Publish(ctx, "acme", client.PublishParams{EventType: "invoice.paid", Payload: json.RawMessage(`{"id":"inv_pii"}`),
		Retention: "7d"})
	require.NoError(t, err)
	require.NotNil(t, short.ExpiresAt)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), *short.ExpiresAt, time.Minute)
	rc.waitFor(t, short.ID.String(), 1)
	eventually(t, func() bool {
		as, err := c.ListMessageAttempts(ctx, "acme", short.ID, nil)
		require.NoError(t, err)
		return len(as.Data) == 1
	}, "the attempt of %s was never recorded", short.ID)
	gone, err := c.ExpungeMessage(ctx, "acme", short.ID)
	require.NoError(t, err)
	require.True(t, gone.Expunged)
	require.NotNil(t, gone.ExpungedAt)
	require.JSONEq(t, `null`, string(gone.Payload))
	as, err := c.ListMessageAttempts(ctx, "acme", short.ID, nil)
	require.NoError(t, err)
	require.True(t, as.Data[0].Expunged)
	require.Empty(t, as.Data[0].ResponseBody)
	_, err = c.ResendMessage(ctx, "acme", short.ID, nil)
	requireStatus(t, http.StatusConflict, err)

	// A receiver self-check: this receiver accepts everything, so the
	// signature and timestamp rows fail.
	check, err := c.StartEndpointCheck(ctx, "acme", ep.ID, &client.StartCheckParams{EventType: "invoice.paid"})
	require.NoError(t, err)
	require.Equal(t, "running", check.Status)
	require.Len(t, check.Results, 8)
	eventually(t, func() bool {
		check, err = c.GetEndpointCheck(ctx, "acme", ep.ID, check.ID)
		require.NoError(t, err)
		return check.Status != "running"
	}, "check %s never finished", check.ID)
	require.Equal(t, "fail", *check.Verdict)
	require.Equal(t, "bad_signature", check.Results[2].Name)
	require.Equal(t, "fail", check.Results[2].Verdict)
	require.NotEmpty(t, check.Results[2].Fix)
	require.Equal(t, "check", check.Results[2].Attempt.Trigger)
	checks, err := c.ListEndpointChecks(ctx, "acme", ep.ID, nil)
	require.NoError(t, err)
	require.Len(t, checks.Data, 1)
	require.Len(t, collect(t, c.AllEndpointChecks(ctx, "acme", ep.ID, nil), func(c client.EndpointCheck) uuid.UUID { return c.ID }), 1)
	_, err = c.StartEndpointCheck(ctx, "acme", ep.ID, nil)
	requireStatus(t, http.StatusTooManyRequests, err)

	// A failing endpoint, its failed delivery, recover and replays.
	bad, err := c.CreateEndpoint(ctx, "globex", client.EndpointParams{URL: rc.url + "/fail"})
	require.NoError(t, err)
	failed, err := c.Publish(ctx, "globex", client.PublishParams{EventType: "invoice.paid", Payload: json.RawMessage(`{"id":"inv_2"}`)})
	require.NoError(t, err)
	waitDelivery(t, c, "globex", failed.ID, "failed")
	failing, err := c.ListFailingEndpoints(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{bad.ID}, failingIDs(failing.Data))
	require.Equal(t, 500, *failing.Data[0].LastStatusCode)
	require.Len(t, collect(t, c.AllFailingEndpoints(ctx, nil), func(e client.FailingEndpoint) uuid.UUID { return e.ID }), 1)
	deliveries, err := c.ListDeliveries(ctx, &client.ListDeliveriesParams{Status: "failed", TenantID: "globex", Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Len(t, deliveries.Data, 1)
	require.Equal(t, failed.ID, deliveries.Data[0].MessageID)
	require.Len(t, collect(t, c.AllDeliveries(ctx, &client.ListDeliveriesParams{Status: "failed"}),
		func(d client.DeliveryEntry) uuid.UUID { return d.ID }), 1)
	n, err := c.CountReplay(ctx, client.ReplayParams{TenantID: "globex", Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	replay, err := c.CreateReplay(ctx, client.ReplayParams{TenantID: "globex", Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, replay.Matched)
	eventually(t, func() bool {
		r, err := c.GetReplay(ctx, replay.ID)
		require.NoError(t, err)
		return r.Status == "finished"
	}, "replay %s never finished", replay.ID)
	waitDelivery(t, c, "globex", failed.ID, "failed") // the replay's attempt failed too
	enq, err = c.RecoverEndpoint(ctx, "globex", bad.ID, client.RecoverParams{Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, enq.Enqueued)
	replays, err := c.ListReplays(ctx, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(replays.Data), 4, "the resends, the replay and the recover")
	require.Len(t, collect(t, c.AllReplays(ctx, &client.ListParams{Limit: 2}), func(r client.Replay) uuid.UUID { return r.ID }),
		len(replays.Data))
	queue, err := c.GetQueue(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, queue.Queues)

	// Tenant keys reach their own tenant only, until revoked.
	key, err := c.CreateTenantKey(ctx, "acme")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(key.Key, "hk_tenant_"))
	keys, err := c.ListTenantKeys(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, key.ID, keys[0].ID)
	tc := client.New(h.url, key.Key)
	_, err = tc.GetEndpoint(ctx, "acme", ep.ID)
	require.NoError(t, err)
	_, err = tc.GetEndpoint(ctx, "globex", bad.ID)
	require.True(t, client.IsNotFound(err), "another tenant's endpoint: %v", err)
	require.NoError(t, c.RevokeTenantKey(ctx, "acme", key.ID))
	_, err = tc.GetEndpoint(ctx, "acme", ep.ID)
	requireStatus(t, http.StatusUnauthorized, err)

	// Portal: a link logs a browser in; logout and revoke end sessions.
	pc, csrf := portalLogin(t, c, h.url, "acme")
	session, err := pc.PortalSession(ctx)
	require.NoError(t, err)
	require.Equal(t, "acme", session.TenantID)
	require.Equal(t, csrf, session.CSRFToken)
	require.NoError(t, pc.PortalLogout(ctx, session.CSRFToken))
	_, err = pc.PortalSession(ctx)
	requireStatus(t, http.StatusUnauthorized, err)
	// A link's token can also become a bearer session (the embedded portal).
	link, err := c.CreatePortalLink(ctx, "acme", &client.PortalLinkParams{ExpiresInSeconds: 60})
	require.NoError(t, err)
	_, token, found := strings.Cut(link.URL, "token=")
	require.True(t, found, link.URL)
	bearer, err := client.New(h.url, "").CreatePortalSession(ctx, token)
	require.NoError(t, err)
	require.Equal(t, "acme", bearer.TenantID)
	require.True(t, strings.HasPrefix(bearer.SessionToken, "hk_session_"))
	pc, _ = portalLogin(t, c, h.url, "acme")
	require.NoError(t, c.RevokePortalSessions(ctx, "acme"))
	_, err = pc.PortalSession(ctx)
	requireStatus(t, http.StatusUnauthorized, err)

	// Operational endpoints hear of changes to endpoints; a new endpoint
	// is backfilled with the messages it missed.
	op, err := c.CreateOperationalEndpoint(ctx, client.EndpointParams{URL: rc.url + "/ops", EventTypes: []string{"endpoint.created"}})
	require.NoError(t, err)
	require.Equal(t, client.OperationalTenant, op.TenantID)
	op, err = c.UpdateOperationalEndpoint(ctx, op.ID, client.EndpointUpdate{Description: new("on-call")})
	require.NoError(t, err)
	require.Equal(t, []string{"endpoint.created"}, op.EventTypes)
	got, err = c.GetOperationalEndpoint(ctx, op.ID)
	require.NoError(t, err)
	require.Equal(t, "on-call", got.Description)
	ops, err := c.ListOperationalEndpoints(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{op.ID}, mapped(ops.Data, endpointID))
	require.Equal(t, []uuid.UUID{op.ID}, collect(t, c.AllOperationalEndpoints(ctx, nil), endpointID))
	opSecret, err := c.GetOperationalEndpointSecret(ctx, op.ID)
	require.NoError(t, err)
	late, err := c.CreateEndpoint(ctx, "acme", client.EndpointParams{URL: rc.url + "/late", EventTypes: []string{"invoice.paid"}})
	require.NoError(t, err)
	var told received
	eventually(t, func() bool {
		for _, r := range rc.requests() {
			if r.path == "/ops" {
				told = r
				return true
			}
		}
		return false
	}, "the operational endpoint never heard of the new endpoint")
	verify(t, opSecret.Secret, told)
	require.Contains(t, string(told.body), `"type":"endpoint.created"`)
	require.Contains(t, string(told.body), late.ID.String())
	since := time.Now().Add(-time.Hour)
	n, err = c.CountBackfill(ctx, "acme", late.ID, since)
	require.NoError(t, err)
	require.Equal(t, 2, n, "the published message and the test event")
	bf, err := c.BackfillEndpoint(ctx, "acme", late.ID, since)
	require.NoError(t, err)
	require.Equal(t, 2, bf.Enqueued)
	require.False(t, bf.More)
	rc.waitFor(t, msg.ID.String(), 4)
	rotatedOp, err := c.RotateOperationalEndpointSecret(ctx, op.ID, nil)
	require.NoError(t, err)
	require.NotEqual(t, opSecret.Secret, rotatedOp.Secret)
	eventually(t, func() bool {
		opAttempts, err := c.ListOperationalEndpointAttempts(ctx, op.ID, &client.ListAttemptsParams{Status: "succeeded"})
		require.NoError(t, err)
		return len(opAttempts.Data) == 1
	}, "the operational endpoint's attempt was never logged")
	require.Len(t, collect(t, c.AllOperationalEndpointAttempts(ctx, op.ID, nil), attemptID), 1)
	require.NoError(t, c.DeleteOperationalEndpoint(ctx, op.ID))
	_, err = c.GetOperationalEndpoint(ctx, op.ID)
	require.True(t, client.IsNotFound(err), "a deleted operational endpoint: %v", err)

	// Metrics, after the traffic above; then deleting.
	// Versions: an event type in two versions, an endpoint pinned to v1,
	// a publish of both, the operators' list of who pins v1, and a test
	// event of v2 before upgrading.
	vt, err := c.CreateEventType(ctx, client.EventTypeParams{Name: "order.shipped", Versions: map[int]client.VersionParams{
		1: {Example: json.RawMessage(`{"carrier":"dhl"}`)},
		2: {Schema: json.RawMessage(`{"required":["carrier","tracking"]}`), Example: json.RawMessage(`{"carrier":"dhl","tracking":"T1"}`),
			Changes: new("tracking is required")},
	}})
	require.NoError(t, err)
	require.Equal(t, 2, vt.Version)
	require.Equal(t, "tracking is required", vt.Versions[2].Changes)
	deprecated := time.Now().Add(-time.Minute)
	vt, err = c.UpdateEventType(ctx, "order.shipped", client.EventTypeUpdate{Versions: map[int]client.VersionParams{
		1: {DeprecatedAt: &deprecated}}})
	require.NoError(t, err)
	require.NotNil(t, vt.Versions[1].DeprecatedAt)
	vt, err = c.UpdateEventType(ctx, "order.shipped", client.EventTypeUpdate{Versions: map[int]client.VersionParams{
		1: {Undeprecate: true}}})
	require.NoError(t, err)
	require.Nil(t, vt.Versions[1].DeprecatedAt)
	pinned, err := c.CreateEndpoint(ctx, "acme", client.EndpointParams{URL: rc.url + "/pinned", EventTypes: []string{"order.*"},
		VersionPins: map[string]int{"order.shipped": 1}})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"order.shipped": 1}, pinned.VersionPins)
	shipped, err := c.Publish(ctx, "acme", client.PublishParams{EventType: "order.shipped", Payloads: map[int]any{
		1: json.RawMessage(`{"carrier": "ups"}`), 2: map[string]string{"carrier": "ups", "tracking": "1Z"}}})
	require.NoError(t, err)
	require.Equal(t, 2, shipped.Version)
	require.JSONEq(t, `{"carrier": "ups"}`, string(shipped.Payloads[1]))
	rc.waitFor(t, shipped.ID.String(), 1)
	var shippedGot received
	eventually(t, func() bool {
		for _, r := range rc.requests() {
			if r.path == "/pinned" && r.header.Get("webhook-id") == shipped.ID.String() {
				shippedGot = r
				return true
			}
		}
		return false
	}, "the pinned endpoint never got %s", shipped.ID)
	require.Equal(t, `{"carrier":"ups"}`, string(shippedGot.body), "the pinned endpoint gets v1's bytes")
	require.Equal(t, "1", shippedGot.header.Get("webhook-version"))
	users, err := c.ListVersionEndpoints(ctx, "order.shipped", 1, nil)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{pinned.ID}, mapped(users.Data, func(e client.PinnedEndpoint) uuid.UUID { return e.ID }))
	require.Equal(t, []uuid.UUID{pinned.ID}, collect(t, c.AllVersionEndpoints(ctx, "order.shipped", 1, &client.ListParams{Limit: 1}),
		func(e client.PinnedEndpoint) uuid.UUID { return e.ID }))
	tried, err := c.SendTestEventVersion(ctx, "acme", pinned.ID, "order.shipped", 2)
	require.NoError(t, err)
	require.Equal(t, "2", rc.waitFor(t, tried.MessageID.String(), 1).header.Get("webhook-version"))
	pinned, err = c.UpdateEndpoint(ctx, "acme", pinned.ID, client.EndpointUpdate{VersionPins: map[string]int{"order.shipped": 2}})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"order.shipped": 2}, pinned.VersionPins)
	pinned, err = c.UpdateEndpoint(ctx, "acme", pinned.ID, client.EndpointUpdate{VersionPins: map[string]int{}})
	require.NoError(t, err)
	require.Empty(t, pinned.VersionPins)
	require.NoError(t, c.DeleteEndpoint(ctx, "acme", pinned.ID))

	metrics, err := c.Metrics(ctx)
	require.NoError(t, err)
	require.Contains(t, metrics, "hookd_messages_published_total")
	require.NoError(t, c.DeleteEndpoint(ctx, "acme", ep.ID))
	_, err = c.GetEndpoint(ctx, "acme", ep.ID)
	require.True(t, client.IsNotFound(err), "a deleted endpoint: %v", err)
	require.NoError(t, c.DeleteTenant(ctx, "globex"))
	_, err = c.GetTenant(ctx, "globex")
	require.True(t, client.IsNotFound(err), "a deleted tenant: %v", err)

	var missed []string
	ok := h.ops.succeeded()
	for _, id := range operationIDs(t) {
		if ok[id] == 0 {
			missed = append(missed, id)
		}
	}
	require.Empty(t, missed, "operations that never answered 2xx in this test")
}

// portalLogin opens a portal link as a browser would and returns a client
// of the session (an HTTP client with its cookie) and its CSRF token.
func portalLogin(t *testing.T, c *client.Client, base, tenant string) (*client.Client, string) {
	t.Helper()
	link, err := c.CreatePortalLink(t.Context(), tenant, &client.PortalLinkParams{ExpiresInSeconds: 60})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(link.URL, base+"/portal/login?token="), link.URL)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, link.URL, nil)
	require.NoError(t, err)
	res, err := browser.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	pc := client.New(base, "", client.WithHTTPClient(browser))
	s, err := pc.PortalSession(t.Context())
	require.NoError(t, err)
	return pc, s.CSRFToken
}

// waitDelivery waits until the message's only delivery has status.
func waitDelivery(t *testing.T, c *client.Client, tenant string, message uuid.UUID, status string) {
	t.Helper()
	var last []client.Delivery
	eventually(t, func() bool {
		m, err := c.GetMessage(context.Background(), tenant, message)
		require.NoError(t, err)
		last = m.Deliveries
		return len(m.Deliveries) == 1 && m.Deliveries[0].Status == status
	}, "message %s never had one delivery %s (last: %+v)", message, status, &last)
}

// requireStatus checks that err is an *client.Error with status.
func requireStatus(t *testing.T, status int, err error) {
	t.Helper()
	_ = requireProblem(t, status, err)
}

// requireProblem checks that err is an *client.Error with status and
// returns it.
func requireProblem(t *testing.T, status int, err error) *client.Error {
	t.Helper()
	var e *client.Error
	require.True(t, errors.As(err, &e), "want a *client.Error, got %T: %v", err, err)
	require.Equal(t, status, e.Status, "error: %v", e)
	require.Equal(t, http.StatusText(status), e.Title)
	require.NotEmpty(t, e.Detail)
	return e
}

// collect runs an iterator to its end and maps what it yields.
func collect[T, K any](t *testing.T, seq iter.Seq2[T, error], key func(T) K) []K {
	t.Helper()
	var out []K
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, key(v))
	}
	return out
}

func eventTypeName(e client.EventType) string { return e.Name }
func endpointID(e client.Endpoint) uuid.UUID  { return e.ID }
func messageID(m client.Message) uuid.UUID    { return m.ID }
func attemptID(a client.Attempt) uuid.UUID    { return a.ID }

func eventTypeNames(es []client.EventType) []string { return mapped(es, eventTypeName) }
func messageIDs(ms []client.Message) []uuid.UUID    { return mapped(ms, messageID) }
func attemptIDs(as []client.Attempt) []uuid.UUID    { return mapped(as, attemptID) }
func failingIDs(es []client.FailingEndpoint) []uuid.UUID {
	return mapped(es, func(e client.FailingEndpoint) uuid.UUID { return e.ID })
}

func mapped[T, K any](s []T, f func(T) K) []K {
	out := make([]K, 0, len(s))
	for _, v := range s {
		out = append(out, f(v))
	}
	return slices.Clip(out)
}
