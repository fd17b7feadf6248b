package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store/historytest"
	"github.com/hookd/hookd/store/storetest"
)

// TestHistoryAtScale generates a history across several daily partitions
// and checks that each query behind the portal's delivery log, the
// message page and the console's lists reads only a few index pages of
// the partitions it needs, within 50 ms, and that retention drops a day
// within a second. hookbench's history scenario runs the same at 50M
// attempts.
func TestHistoryAtScale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	g, err := historytest.Generate(ctx, pool, historytest.Opts{Attempts: 200_000, Days: 4, Tenants: 500, Logf: t.Logf})
	require.NoError(t, err)
	t.Logf("generated %d messages, %d deliveries, %d attempts in %s", g.Messages, g.Deliveries, g.Attempts, g.Took)
	require.Greater(t, g.Attempts, 150_000)

	plans, err := historytest.Explain(ctx, pool, g)
	require.NoError(t, err)
	require.NotEmpty(t, plans)
	for _, p := range plans {
		t.Logf("%-36s %7s  %v  %s", p.Page, p.Total().Round(10*time.Microsecond), p.Partitions, p.SQL)
		require.NotEmpty(t, p.Partitions, "%s reads the history", p.Page)
	}
	require.NoError(t, historytest.Check(plans, 50*time.Millisecond, 1000))

	dropped, took, err := historytest.DropFirstDay(ctx, pool, g)
	require.NoError(t, err)
	t.Logf("retention of a day: dropped %v in %s", dropped, took)
	require.Len(t, dropped, 4, "a day of messages, deliveries, attempts and payloads")
	require.Less(t, took, time.Second)
}
