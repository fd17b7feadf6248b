package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/hookd/hookd/store"
)

var seq atomic.Int64

// TenantOpts sets fields of a test tenant; nil means defaults.
type TenantOpts struct {
	ID string
}

// Tenant creates a tenant with a unique id.
func Tenant(t testing.TB, st *store.Store, opts *TenantOpts) store.Tenant {
	t.Helper()
	if opts == nil {
		opts = &TenantOpts{}
	}
	id := opts.ID
	if id == "" {
		id = fmt.Sprintf("tenant-%d", seq.Add(1))
	}
	out, _, err := st.UpsertTenant(context.Background(), store.Tenant{ID: id, Name: "Tenant " + id})
	if err != nil {
		t.Fatalf("storetest: tenant: %v", err)
	}
	return out
}

// EventTypeOpts sets fields of a test event type; nil means defaults.
type EventTypeOpts struct {
	Name   string
	Schema string
}

// EventType creates an event type with a unique name.
func EventType(t testing.TB, st *store.Store, opts *EventTypeOpts) store.EventType {
	t.Helper()
	if opts == nil {
		opts = &EventTypeOpts{}
	}
	name := opts.Name
	if name == "" {
		name = fmt.Sprintf("test.event%d", seq.Add(1))
	}
	e := store.EventType{Name: name, Description: "a test event"}
	if opts.Schema != "" {
		e.Schema = []byte(opts.Schema)
	}
	out, err := st.CreateEventType(context.Background(), e)
	if err != nil {
		t.Fatalf("storetest: event type: %v", err)
	}
	return out
}

// EndpointOpts sets fields of a test endpoint; nil means defaults.
type EndpointOpts struct {
	URL        string
	EventTypes []string
	Channels   []string
	Secret     string
	Headers    map[string]string
	// SecretHeaders marks headers secret, as the API's secret_headers.
	SecretHeaders []string
	// SignatureScheme is "v1" (the default) or "v1a"; a v1a endpoint needs
	// a "whsk_" Secret.
	SignatureScheme string
}

// TestSecret is the signing secret of endpoints made without one.
const TestSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Endpoint creates an endpoint of tenant.
func Endpoint(t testing.TB, st *store.Store, tenant string, opts *EndpointOpts) store.Endpoint {
	t.Helper()
	if opts == nil {
		opts = &EndpointOpts{}
	}
	e := store.Endpoint{TenantID: tenant, URL: opts.URL, EventTypes: opts.EventTypes, Channels: opts.Channels,
		Headers: opts.Headers, SecretHeaders: opts.SecretHeaders, SignatureScheme: opts.SignatureScheme}
	if e.URL == "" {
		e.URL = "http://127.0.0.1:9/unused"
	}
	secret := opts.Secret
	if secret == "" {
		secret = TestSecret
	}
	out, err := st.CreateEndpoint(context.Background(), e, secret)
	if err != nil {
		t.Fatalf("storetest: endpoint: %v", err)
	}
	return out
}

// Message stores a message of tenant (without fanning it out).
func Message(t testing.TB, st *store.Store, tenant, eventType string) store.Message {
	t.Helper()
	m, _, err := st.InsertMessage(context.Background(), store.Message{TenantID: tenant, EventType: eventType,
		Payload: []byte(`{"n": 1}`)})
	if err != nil {
		t.Fatalf("storetest: message: %v", err)
	}
	return m
}

// Delivery creates the delivery of message to endpoint.
func Delivery(t testing.TB, st *store.Store, tenant string, message, endpoint uuid.UUID) store.Delivery {
	t.Helper()
	ctx := context.Background()
	ids, err := st.InsertDeliveries(ctx, []store.NewDelivery{{TenantID: tenant, MessageID: message, EndpointID: endpoint}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("storetest: delivery: %v (%d made)", err, len(ids))
	}
	ds, err := st.MessageDeliveries(ctx, tenant, message)
	if err != nil {
		t.Fatalf("storetest: delivery: %v", err)
	}
	for _, d := range ds {
		if d.ID == ids[0] {
			return d
		}
	}
	t.Fatalf("storetest: delivery %s not found after insert", ids[0])
	return store.Delivery{}
}
