package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// A shop publishes order.created in the transaction that inserts the
// order: when the transaction rolls back, no webhook is ever sent; once it
// commits, hookd delivers it. hookd's tables are in the schema "hookd" of
// the shop's database (HOOKD_SCHEMA=hookd) and `hookd serve` delivers;
// here exampleShop runs hookd's workers in-process, and received waits for
// what acme's endpoint gets.
func ExamplePublisher_PublishTx() {
	ctx := context.Background()
	db, received, done := exampleShop() // the shop's pool, on its database
	defer done()

	hooks, err := delivery.NewPublisher(delivery.PublisherConfig{Schema: "hookd"})
	if err != nil {
		log.Fatal(err)
	}

	placeOrder := func(customer string, totalCents int, paid bool) error {
		tx, err := db.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO orders (customer, total_cents) VALUES ($1, $2) RETURNING id`,
			customer, totalCents).Scan(&id)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(map[string]any{"order_id": id, "total_cents": totalCents})
		if err != nil {
			return err
		}
		_, _, err = hooks.PublishTx(ctx, tx, delivery.Message{
			TenantID:       customer,
			EventType:      "order.created",
			Payload:        payload,
			IdempotencyKey: fmt.Sprintf("order-%d-created", id), // a retried request publishes once
		})
		if err != nil {
			return err
		}
		if !paid {
			return tx.Rollback(ctx) // no order, and no order.created
		}
		return tx.Commit(ctx)
	}

	if err := placeOrder("acme", 1999, false); err != nil {
		log.Fatal(err)
	}
	if err := placeOrder("acme", 4200, true); err != nil {
		log.Fatal(err)
	}
	fmt.Println("acme's endpoint got", received())
	// Output: acme's endpoint got {"order_id":2,"total_cents":4200}, signature verified
}

// A message that hookd refuses is an *InvalidError that says what is at
// fault, as the REST API's 422 does. Nothing was written, and the
// transaction goes on.
func ExampleInvalidError() {
	ctx := context.Background()
	db, _, done := exampleShop()
	defer done()
	hooks, err := delivery.NewPublisher(delivery.PublisherConfig{Schema: "hookd"})
	if err != nil {
		log.Fatal(err)
	}

	tx, err := db.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	for _, m := range []delivery.Message{
		{TenantID: "acme", EventType: "order.created", Payload: []byte(`{"order_id": "one", "total_cents": 100}`)},
		{TenantID: "acme", EventType: "order.cancelled", Payload: []byte(`{"order_id": 1}`)},
	} {
		_, _, err := hooks.PublishTx(ctx, tx, m)
		var invalid *delivery.InvalidError
		if errors.As(err, &invalid) {
			fmt.Println("refused, event type at fault:", errors.Is(err, delivery.ErrEventType))
			for _, e := range invalid.Errors {
				fmt.Printf("  %s: %s\n", e.Field, e.Message)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// refused, event type at fault: false
	//   payload/order_id: got string, want integer
	// refused, event type at fault: true
	//   event_type: order.cancelled is not a known event type; create it with POST /api/v1/event-types
}

// exampleShop sets up what the examples assume: a fresh database with the
// shop's orders table in public and hookd in the schema "hookd" (the tenant
// acme, the event type order.created, acme's endpoint on loopback), and
// hookd's workers running. It returns the shop's pool, a function that
// waits (up to 10 seconds) for the next webhook acme's endpoint gets and
// says whether its signature verifies, and the function that stops it all.
func exampleShop() (*pgxpool.Pool, func() string, func()) {
	tb := &exampleTB{}
	ctx := context.Background()
	dbURL := storetest.URL(tb)
	hookdPool := storetest.InSchema(tb, dbURL, "hookd")
	st := store.New(hookdPool)
	storetest.Tenant(tb, st, &storetest.TenantOpts{ID: "acme"})
	storetest.EventType(tb, st, &storetest.EventTypeOpts{Name: "order.created", Schema: orderSchema})

	wh, err := standardwebhooks.NewWebhook(storetest.TestSecret)
	if err != nil {
		log.Fatal(err)
	}
	got := make(chan string, 16)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			got <- fmt.Sprintf("%s, signature NOT verified: %v", body, err)
		} else {
			got <- fmt.Sprintf("%s, signature verified", body)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(endpoint.Close)
	storetest.Endpoint(tb, st, "acme", &storetest.EndpointOpts{URL: endpoint.URL})

	svc, err := delivery.New(hookdPool, st, delivery.Config{Schema: "hookd", RunWorkers: true,
		AllowNetworks: delivery.LoopbackNetworks(), FetchPollInterval: 20 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	tb.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = svc.Stop(stopCtx)
	})

	shop, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		log.Fatal(err)
	}
	tb.Cleanup(shop.Close)
	if _, err := shop.Exec(ctx, `CREATE TABLE orders (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		customer text NOT NULL,
		total_cents bigint NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	received := func() string {
		select {
		case s := <-got:
			return s
		case <-time.After(10 * time.Second):
			return "nothing in 10 seconds"
		}
	}
	return shop, received, tb.done
}

// exampleTB lets an example take a database from storetest, which wants a
// testing.TB. Only the methods below are called.
type exampleTB struct {
	testing.TB // nil
	cleanups   []func()
}

func (*exampleTB) Helper()                           {}
func (tb *exampleTB) Cleanup(f func())               { tb.cleanups = append([]func(){f}, tb.cleanups...) }
func (*exampleTB) Errorf(format string, args ...any) { log.Fatalf(format, args...) }
func (*exampleTB) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }
func (*exampleTB) FailNow()                          { log.Fatal("FailNow") }

func (tb *exampleTB) done() {
	for _, f := range tb.cleanups {
		f()
	}
}
