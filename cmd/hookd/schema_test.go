package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// TestServeInSchemas runs two hookds on one database with HOOKD_SCHEMA
// shop_a and shop_b, each with a tenant called shop: each delivers its own
// messages to its own endpoint, and its tables and River's jobs are in its
// schema only.
func TestServeInSchemas(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	dbURL := storetest.URL(t)
	secretKey, err := store.GenerateKey()
	require.NoError(t, err)

	type install struct {
		schema string
		node   *devProcess
		got    chan []byte
	}
	var installs []*install
	for _, schema := range []string{"shop_a", "shop_b"} {
		in := &install{schema: schema, got: make(chan []byte, 8)}
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			in.got <- b
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(receiver.Close)
		env := append(devEnv(), "DATABASE_URL="+dbURL, "HOOKD_SECRET_KEY="+secretKey,
			"HOOKD_ALLOW_NETWORKS=127.0.0.0/8", "HOOKD_SCHEMA="+schema)
		in.node = startServe(t, bin, env, "all")
		c := apiClient{base: "http://" + in.node.addr}
		c.do(t, "POST", "/api/v1/event-types", `{"name":"order.shipped"}`, http.StatusCreated)
		c.do(t, "PUT", "/api/v1/tenants/shop", `{"name":"Shop"}`, http.StatusCreated)
		c.do(t, "POST", "/api/v1/tenants/shop/endpoints", `{"url":"`+receiver.URL+`/hook"}`, http.StatusCreated)
		installs = append(installs, in)
	}

	for _, in := range installs {
		c := apiClient{base: "http://" + in.node.addr}
		c.do(t, "POST", "/api/v1/tenants/shop/messages",
			fmt.Sprintf(`{"event_type":"order.shipped","payload":{"from":%q}}`, in.schema), http.StatusAccepted)
		select {
		case b := <-in.got:
			require.JSONEq(t, fmt.Sprintf(`{"from":%q}`, in.schema), string(b))
		case <-time.After(30 * time.Second):
			t.Fatalf("%s delivered nothing; it said:\n%s", in.schema, in.node.out.String())
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, in := range installs {
		require.Empty(t, in.got, "%s's endpoint got the other's message", in.schema)
	}

	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	count := func(q string) int {
		var n int
		require.NoError(t, conn.QueryRow(context.Background(), q).Scan(&n), q)
		return n
	}
	for _, in := range installs {
		require.Equal(t, 1, count(`SELECT count(*) FROM `+in.schema+`.messages`))
		// The direct attempt's fallback job was deleted with its record,
		// in the schema; River itself runs there too (its leader).
		require.Equal(t, 0, count(`SELECT count(*) FROM `+in.schema+`.river_job WHERE kind = 'hookd.deliver'`))
		require.Eventually(t, func() bool { return count(`SELECT count(*) FROM `+in.schema+`.river_leader`) == 1 },
			20*time.Second, 100*time.Millisecond)
		require.Equal(t, 1, count(`SELECT count(*) FROM `+in.schema+`.attempts`))
	}
	require.Equal(t, 0, count(`SELECT count(*) FROM public.messages`), "public's tables are untouched")
	require.Equal(t, 0, count(`SELECT count(*) FROM public.river_job`))
}
