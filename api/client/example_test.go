package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/hookd/hookd/api/client"
)

// The examples run against a real hookd that TestMain starts (hookdURL,
// adminKey), with the tenant acme and the event type invoice.paid. In your
// code they are your hookd's URL and an admin key, like
// os.Getenv("HOOKD_KEY").

// Publishing a message: 202 means hookd stored it and will deliver it to
// acme's endpoints.
func Example() {
	ctx := context.Background()

	c := client.New(hookdURL, adminKey)
	msg, err := c.Publish(ctx, "acme", client.PublishParams{
		EventType: "invoice.paid",
		Payload:   map[string]any{"id": "inv_1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg.EventType, string(msg.Payload))
	// Output: invoice.paid {"id":"inv_1"}
}

// The same idempotency key publishes once: publishing again (after a crash,
// say) returns the first message and delivers nothing more. Without a key
// the client makes one per call, so its own retries are safe.
func ExampleClient_Publish() {
	ctx := context.Background()
	c := client.New(hookdURL, adminKey)

	p := client.PublishParams{
		EventType:      "invoice.paid",
		Payload:        map[string]any{"id": "inv_2"},
		IdempotencyKey: "invoice-inv_2-paid",
	}
	first, err := c.Publish(ctx, "acme", p)
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.Publish(ctx, "acme", p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.ID == again.ID)
	// Output: true
}

// Iterating over messages: AllMessages asks for page after page (here of
// two), following next_cursor, until the last.
func ExampleClient_AllMessages() {
	ctx := context.Background()
	c := client.New(hookdURL, adminKey)

	since := time.Now()
	for _, id := range []string{"inv_10", "inv_11", "inv_12"} {
		_, err := c.Publish(ctx, "acme", client.PublishParams{EventType: "invoice.paid", Payload: map[string]any{"id": id}})
		if err != nil {
			log.Fatal(err)
		}
	}

	for m, err := range c.AllMessages(ctx, "acme", &client.ListMessagesParams{Since: since, Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.EventType, string(m.Payload)) // newest first
	}
	// Output:
	// invoice.paid {"id":"inv_12"}
	// invoice.paid {"id":"inv_11"}
	// invoice.paid {"id":"inv_10"}
}

// Handling an error: hookd's problem+json answers are *client.Error, and a
// request that fails validation (422) names the fields at fault.
func ExampleError() {
	ctx := context.Background()
	c := client.New(hookdURL, adminKey)

	_, err := c.CreateEndpoint(ctx, "acme", client.EndpointParams{
		URL:      "ftp://files.example.com/hooks",
		Channels: []string{"not a channel"},
	})
	var problem *client.Error
	if errors.As(err, &problem) {
		fmt.Println(problem.Status, problem.Title)
		for _, f := range problem.Errors {
			fmt.Println("field at fault:", f.Field)
		}
	}
	// Output:
	// 422 Unprocessable Entity
	// field at fault: url
	// field at fault: channels
}

// Adding an endpoint for a customer, and reading the secret its server
// verifies signatures with.
func ExampleClient_CreateEndpoint() {
	ctx := context.Background()
	c := client.New(hookdURL, adminKey)

	ep, err := c.CreateEndpoint(ctx, "acme", client.EndpointParams{
		URL:        "http://127.0.0.1:9000/webhook",
		EventTypes: []string{"invoice.*"},
	})
	if err != nil {
		log.Fatal(err)
	}
	secret, err := c.GetEndpointSecret(ctx, "acme", ep.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ep.URL, ep.EventTypes)
	fmt.Println(strings.HasPrefix(secret.Secret, "whsec_"))
	// Output:
	// http://127.0.0.1:9000/webhook [invoice.*]
	// true
}

// Event types as code: declare every event type your code publishes, on
// every deploy. PutEventType creates or replaces one, and declaring what
// is already there changes nothing.
func ExampleClient_PutEventType() {
	ctx := context.Background()
	c := client.New(hookdURL, adminKey)

	eventTypes := map[string]client.EventTypePut{
		"subscription.renewed": {
			Description: "A subscription was renewed",
			Schema:      []byte(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`),
			Example:     []byte(`{"id":"sub_1"}`),
		},
	}
	for deploy := range 2 {
		for name, et := range eventTypes {
			got, err := c.PutEventType(ctx, name, et)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(deploy, got.Name, got.Description, got.CreatedAt.Equal(got.UpdatedAt))
		}
	}
	// Output:
	// 0 subscription.renewed A subscription was renewed true
	// 1 subscription.renewed A subscription was renewed true
}

// Publishing to a customer that hookd has not heard of yet: with Tenant,
// the publish creates it, so there is no need to create tenants first.
func ExampleClient_Publish_newTenant() {
	ctx := context.Background()
	c := client.New(hookdURL, adminKey)

	_, err := c.Publish(ctx, "globex", client.PublishParams{
		EventType: "invoice.paid",
		Payload:   map[string]any{"id": "inv_3"},
		Tenant:    &client.TenantParams{Name: "Globex"},
	})
	if err != nil {
		log.Fatal(err)
	}
	t, err := c.GetTenant(ctx, "globex")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.ID, t.Name)
	// Output: globex Globex
}
