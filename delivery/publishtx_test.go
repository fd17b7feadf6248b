package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// orderSchema is the JSON Schema of the shop's order.created.
const orderSchema = `{"type": "object", "required": ["order_id", "total_cents"],
	"properties": {"order_id": {"type": "integer"}, "total_cents": {"type": "integer", "minimum": 0}}}`

// startInSchema starts hookd's workers on its tables in schema of the
// database at dbURL, as `hookd serve` with HOOKD_SCHEMA does.
func startInSchema(t *testing.T, dbURL, schema string) fixture {
	t.Helper()
	pool := storetest.InSchema(t, dbURL, schema)
	st := store.New(pool)
	svc, err := delivery.New(pool, st, delivery.Config{
		Schema:            schema,
		RunWorkers:        true,
		AllowNetworks:     delivery.LoopbackNetworks(),
		Schedule:          delivery.Schedule{100 * time.Millisecond},
		FetchPollInterval: 20 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, svc.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
	})
	return fixture{st: st, svc: svc}
}

// shop is a SaaS backend on the same database: its own orders table in
// public, Postgres's default search_path, and a Publisher for hookd's
// tables in their schema.
type shop struct {
	pool *pgxpool.Pool
	pub  *delivery.Publisher
}

func newShop(t *testing.T, dbURL, hookdSchema string) shop {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS orders (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		customer text NOT NULL,
		total_cents bigint NOT NULL)`)
	require.NoError(t, err)
	pub, err := delivery.NewPublisher(delivery.PublisherConfig{Schema: hookdSchema})
	require.NoError(t, err)
	return shop{pool: pool, pub: pub}
}

// placeOrder is the shop's code: it inserts an order and publishes
// order.created in one transaction, then commits it or, when the payment
// fails (commit false), rolls it back. check runs in the transaction after
// the publish.
func (s shop) placeOrder(t *testing.T, customer string, total int, commit bool, check func(tx pgx.Tx, m store.Message)) (int64, store.Message) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	var id int64
	require.NoError(t, tx.QueryRow(ctx, `INSERT INTO orders (customer, total_cents) VALUES ($1, $2) RETURNING id`,
		customer, total).Scan(&id))
	payload := fmt.Sprintf(`{"order_id": %d, "total_cents": %d}`, id, total)
	m, existed, err := s.pub.PublishTx(ctx, tx, delivery.Message{TenantID: customer, EventType: "order.created",
		Payload: []byte(payload), IdempotencyKey: fmt.Sprintf("order-%d-created", id)})
	require.NoError(t, err)
	require.False(t, existed)
	if check != nil {
		check(tx, m)
	}
	if commit {
		require.NoError(t, tx.Commit(ctx))
	} else {
		require.NoError(t, tx.Rollback(ctx))
	}
	return id, m
}

func count(t *testing.T, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// TestPublishTx is a shop placing orders: each order and its order.created
// webhook commit together or not at all.
func TestPublishTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.URL(t) // hookd's tables are in public too: a publish that missed the schema would land there
	hookd := startInSchema(t, dbURL, "hookd")
	s := newShop(t, dbURL, "hookd")
	rc := newReceiver(t, nil)
	storetest.Tenant(t, hookd.st, &storetest.TenantOpts{ID: "acme"})
	storetest.EventType(t, hookd.st, &storetest.EventTypeOpts{Name: "order.created", Schema: orderSchema})
	ep := storetest.Endpoint(t, hookd.st, "acme", &storetest.EndpointOpts{URL: rc.srv.URL + "/hooks"})
	var path string
	require.NoError(t, s.pool.QueryRow(ctx, "SHOW search_path").Scan(&path))

	// The payment fails: the order and its webhook go together.
	_, lost := s.placeOrder(t, "acme", 1999, false, func(tx pgx.Tx, m store.Message) {
		require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM hookd.messages WHERE id = $1`, m.ID), "stored in the shop's transaction")
		require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM hookd.deliveries WHERE message_id = $1`, m.ID))
		require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM hookd.river_job WHERE kind = 'hookd.deliver'`))
		var now string
		require.NoError(t, tx.QueryRow(ctx, "SHOW search_path").Scan(&now))
		require.Equal(t, path, now, "the shop's search_path is as it was")
		require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM orders`), "and its own tables resolve")
	})
	time.Sleep(time.Second) // the workers poll every 20ms
	require.Empty(t, rc.requests(), "a rolled-back publish sends nothing")
	require.Equal(t, 0, count(t, s.pool, `SELECT count(*) FROM orders`))
	_, err := hookd.st.GetMessage(ctx, "acme", lost.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, 0, count(t, s.pool, `SELECT count(*) FROM hookd.deliveries`))
	require.Equal(t, 0, count(t, s.pool, `SELECT count(*) FROM hookd.attempts`))
	require.Equal(t, 0, count(t, s.pool, `SELECT count(*) FROM hookd.river_job WHERE kind IN ('hookd.deliver', 'hookd.fanout')`))

	// The payment goes through: delivered, signed, once.
	orderID, m := s.placeOrder(t, "acme", 4200, true, nil)
	hookd.waitStatus(t, "acme", m.ID, ep.ID, store.DeliverySucceeded)
	got := rc.requests()
	require.Len(t, got, 1)
	require.JSONEq(t, fmt.Sprintf(`{"order_id": %d, "total_cents": 4200}`, orderID), string(got[0].body))
	require.Equal(t, string(m.Payload), string(got[0].body), "the exact bytes published")
	wh, err := standardwebhooks.NewWebhook(storetest.TestSecret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(got[0].body, got[0].header), "the signature verifies with the Standard Webhooks library")
	require.Equal(t, m.ID.String(), got[0].header.Get("webhook-id"))
	require.Equal(t, "/hooks", got[0].path)
	as := hookd.attempts(t, "acme", m.ID)
	require.Len(t, as, 1)
	require.Equal(t, store.AttemptSucceeded, as[0].Status)
	require.Equal(t, 0, count(t, s.pool, `SELECT count(*) FROM public.messages`), "nothing landed in public's tables")

	// The shop's request is retried: the same key is the first message,
	// and nothing is sent again.
	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) }) // a no-op after Commit
	again, existed, err := s.pub.PublishTx(ctx, tx, delivery.Message{TenantID: "acme", EventType: "order.created",
		Payload: m.Payload, IdempotencyKey: fmt.Sprintf("order-%d-created", orderID)})
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, m.ID, again.ID)
	require.NoError(t, tx.Commit(ctx))
	time.Sleep(500 * time.Millisecond)
	require.Len(t, rc.requests(), 1)
	ds, err := hookd.st.MessageDeliveries(ctx, "acme", m.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
}

// TestPublishTxRefuses checks a refused publish the way the REST API does,
// writes nothing, and leaves the shop's transaction usable.
func TestPublishTxRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.URL(t)
	hookd := startInSchema(t, dbURL, "hookd")
	s := newShop(t, dbURL, "hookd")
	storetest.Tenant(t, hookd.st, &storetest.TenantOpts{ID: "acme"})
	storetest.EventType(t, hookd.st, &storetest.EventTypeOpts{Name: "order.created", Schema: orderSchema})
	old := storetest.EventType(t, hookd.st, &storetest.EventTypeOpts{Name: "order.placed"})
	old.Archived = true
	_, err := hookd.st.UpdateEventType(ctx, old)
	require.NoError(t, err)

	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	_, err = tx.Exec(ctx, `INSERT INTO orders (customer, total_cents) VALUES ('acme', 100)`)
	require.NoError(t, err)

	good := delivery.Message{TenantID: "acme", EventType: "order.created", Payload: []byte(`{"order_id": 1, "total_cents": 100}`)}
	for _, tc := range []struct {
		name      string
		change    func(m *delivery.Message)
		field     string // of the first error; "" when not an *InvalidError
		eventType bool
		notFound  bool
	}{
		{"unknown event type", func(m *delivery.Message) { m.EventType = "order.lost" }, "event_type", true, false},
		{"archived event type", func(m *delivery.Message) { m.EventType = "order.placed" }, "event_type", true, false},
		{"event type no one can name", func(m *delivery.Message) { m.EventType = "order\x00" }, "event_type", true, false},
		{"payload breaks the schema", func(m *delivery.Message) { m.Payload = []byte(`{"order_id": "one", "total_cents": 100}`) }, "payload/order_id", false, false},
		{"payload not an object", func(m *delivery.Message) { m.Payload = []byte(`[1]`) }, "payload", false, false},
		{"payload not JSON", func(m *delivery.Message) { m.Payload = []byte(`{"order_id": 1,`) }, "payload", false, false},
		{"payload too large", func(m *delivery.Message) { m.Payload = []byte(`{"pad": "` + strings.Repeat("x", 1<<20) + `"}`) }, "payload", false, false},
		{"bad channel", func(m *delivery.Message) { m.Channels = []string{"a b"} }, "channels", false, false},
		{"key with NUL", func(m *delivery.Message) { m.IdempotencyKey = "k\x00" }, "idempotency_key", false, false},
		{"retention too short", func(m *delivery.Message) { m.Retention = 10 * time.Second }, "retention", false, false},
		{"retention negative", func(m *delivery.Message) { m.Retention = -time.Hour }, "retention", false, false},
		{"unknown tenant", func(m *delivery.Message) { m.TenantID = "globex" }, "", false, true},
		{"tenant id no one can have", func(m *delivery.Message) { m.TenantID = "ac\x00me" }, "", false, true},
	} {
		m := good
		tc.change(&m)
		_, _, err := s.pub.PublishTx(ctx, tx, m)
		require.Error(t, err, tc.name)
		require.Equal(t, tc.eventType, errors.Is(err, delivery.ErrEventType), "%s: %v", tc.name, err)
		require.Equal(t, tc.notFound, errors.Is(err, store.ErrNotFound), "%s: %v", tc.name, err)
		ie, ok := errors.AsType[*delivery.InvalidError](err)
		require.Equal(t, tc.field != "", ok, "%s: %v", tc.name, err)
		if ok {
			require.Equal(t, tc.field, ie.Errors[0].Field, "%s: %v", tc.name, err)
		}
		// The transaction goes on.
		require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM orders`), tc.name)
	}
	good.Retention = 2 * time.Hour
	stored, _, err := s.pub.PublishTx(ctx, tx, good)
	require.NoError(t, err, "a good publish after refused ones")
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, 1, count(t, s.pool, `SELECT count(*) FROM hookd.messages`), "only the good one was stored")
	require.NotNil(t, stored.ExpiresAt, "a message's own retention")
	require.WithinDuration(t, time.Now().Add(2*time.Hour), *stored.ExpiresAt, time.Minute)
	require.Equal(t, 1, count(t, s.pool, `SELECT count(*) FROM hookd.messages
		WHERE expires_at BETWEEN now() + interval '119 minutes' AND now() + interval '121 minutes'`), "expires_at is stored")
}

// TestSchemasApart runs two hookds in two schemas of one database, with the
// same tenant id in both: each delivers its own messages only, and neither
// sees the other's jobs.
func TestSchemasApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.URL(t)
	type install struct {
		schema string
		f      fixture
		rc     *receiver
		pub    *delivery.Publisher
	}
	var installs []install
	for _, schema := range []string{"hooks_a", "hooks_b"} {
		in := install{schema: schema, f: startInSchema(t, dbURL, schema), rc: newReceiver(t, nil)}
		storetest.Tenant(t, in.f.st, &storetest.TenantOpts{ID: "acme"})
		storetest.EventType(t, in.f.st, &storetest.EventTypeOpts{Name: "order.created"})
		storetest.Endpoint(t, in.f.st, "acme", &storetest.EndpointOpts{URL: in.rc.srv.URL})
		var err error
		in.pub, err = delivery.NewPublisher(delivery.PublisherConfig{Schema: schema})
		require.NoError(t, err)
		installs = append(installs, in)
	}
	app, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(app.Close)

	for i, in := range installs {
		tx, err := app.Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(ctx) }) // before app.Close, which waits for it
		payload, _ := json.Marshal(map[string]string{"to": in.schema})
		m, _, err := in.pub.PublishTx(ctx, tx, delivery.Message{TenantID: "acme", EventType: "order.created", Payload: payload})
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		require.Eventually(t, func() bool { return len(in.rc.requests()) == 1 }, 15*time.Second, 10*time.Millisecond,
			"%s delivers its message", in.schema)
		require.Equal(t, m.ID.String(), in.rc.requests()[0].header.Get("webhook-id"))
		time.Sleep(300 * time.Millisecond)
		for j, other := range installs {
			want := 0
			if j <= i {
				want = 1
			}
			require.Len(t, other.rc.requests(), want, "%s's receiver after a publish to %s", other.schema, in.schema)
		}
	}
	for _, in := range installs {
		// Each delivery's job went with its attempt's record, from its own
		// schema's river_job: a record that looked elsewhere would leave it
		// there, completed by River.
		require.Equal(t, 0, count(t, app, `SELECT count(*) FROM `+in.schema+`.river_job WHERE kind = 'hookd.deliver'`),
			"%s's deliver job is left", in.schema)
		require.Equal(t, 1, count(t, app, `SELECT count(*) FROM `+in.schema+`.attempts`))
	}
	require.Equal(t, 0, count(t, app, `SELECT count(*) FROM public.river_job WHERE kind = 'hookd.deliver'`))
}

// TestPublishTxKeepsSearchPath: whatever search_path the app's session or
// transaction set, it is the same after PublishTx, in the transaction and
// after it ends.
func TestPublishTxKeepsSearchPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.URL(t)
	hookd := startInSchema(t, dbURL, "hookd")
	s := newShop(t, dbURL, "hookd")
	storetest.Tenant(t, hookd.st, &storetest.TenantOpts{ID: "acme"})
	storetest.EventType(t, hookd.st, &storetest.EventTypeOpts{Name: "order.created"})
	_, err := s.pool.Exec(ctx, `CREATE SCHEMA shop`)
	require.NoError(t, err)

	conn, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	show := func() string {
		var p string
		require.NoError(t, conn.QueryRow(ctx, "SHOW search_path").Scan(&p))
		return p
	}
	_, err = conn.Exec(ctx, `SET search_path = shop, public`)
	require.NoError(t, err)
	defer conn.Exec(ctx, `RESET search_path`) //nolint:errcheck // back to the pool as it came

	for _, local := range []string{"", "public, shop"} {
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		if local != "" {
			_, err = tx.Exec(ctx, `SET LOCAL search_path = `+local)
			require.NoError(t, err)
		}
		inTx := show()
		_, _, err = s.pub.PublishTx(ctx, tx, delivery.Message{TenantID: "acme", EventType: "order.created", Payload: []byte(`{}`)})
		require.NoError(t, err)
		require.Equal(t, inTx, show(), "in the transaction, after PublishTx")
		require.NoError(t, tx.Commit(ctx))
		require.Equal(t, "shop, public", show(), "the session's, after the transaction")
	}
	require.Equal(t, 2, count(t, hookd.st.Pool(), `SELECT count(*) FROM messages`))
}
