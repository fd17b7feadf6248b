package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIsolationScenario runs --scenario isolation at a tiny scale against a
// real hookd dev (--target, so both halves share it and its tenants are
// deleted after each): the report has both halves and the comparison, the
// healthy deliveries all arrived, verified, and the bad endpoints were
// tried. No timing targets: those are the benchmark's.
func TestIsolationScenario(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "hookd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hookd/hookd/cmd/hookd").CombinedOutput()
	require.NoError(t, err, "build hookd: %s", out)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client := newHTTPClient(8)
	api := &apiClient{http: client}
	h, err := startHookd(ctx, hookdOptions{bin: bin, readyTimeout: time.Minute}, api, testLog{t})
	require.NoError(t, err)
	t.Cleanup(func() { h.stop(testLog{t}) })

	args := []string{"--target", h.url, "--admin-key", h.adminKey, "--hookd-pid", strconv.Itoa(h.pid),
		"--postgres-pid", strconv.Itoa(findPostmaster(h.dataDir)), "--database-url", h.databaseURL, "--scenario", "isolation", "--tenants", "3", "--endpoints-per-tenant", "4",
		"--rate", "30", "--duration", "2s", "--verify-every", "1", "--drain-timeout", "20s", "--progress", "1s", "--json"}
	var stdout bytes.Buffer
	code := realMain(args, &stdout, testLog{t})
	require.Equal(t, 0, code, "report: %s", stdout.String())

	var r isoReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), stdout.String())
	require.Equal(t, "isolation", r.Scenario)
	require.NotEmpty(t, r.RunID)
	require.Equal(t, 3, r.Tenants)
	require.Equal(t, 4, r.EndpointsPerTenant)
	require.Equal(t, 1, r.BlackHolesPerT)
	require.Equal(t, 1, r.Answer500PerT)
	require.Equal(t, 2, r.MeasuredPerTenant)
	require.Equal(t, 60, r.Messages)
	require.Contains(t, r.Order, "all healthy first")
	require.NotNil(t, r.Machine)
	require.NotNil(t, r.Machine.Postgres, "read from the --database-url: %s", r.Machine.PostgresNote)
	require.NotEmpty(t, r.Machine.LoadEnd)

	for _, half := range []*isoHalf{r.Healthy, r.Bad} {
		require.NotNil(t, half)
		require.Equal(t, 60, half.Publishes)
		require.Zero(t, half.PublishErrors)
		require.Equal(t, 120, half.HealthyExpected, "60 messages × 2 healthy endpoints")
		require.Equal(t, 120, half.HealthyReceived, "every healthy delivery arrived")
		require.Zero(t, half.HealthyMissing)
		require.Zero(t, half.Stray)
		require.Zero(t, half.SignatureFailures)
		require.Equal(t, half.HealthyReceived+half.Duplicates, half.SignaturesVerified, "every healthy delivery was verified")
		require.Equal(t, 120, half.HealthyLatency.N)
		require.Positive(t, half.HealthyLatency.P50)
		require.LessOrEqual(t, half.HealthyLatency.P50, half.HealthyLatency.P99)
		require.Positive(t, half.HealthyRate)
		require.NotNil(t, half.HookdCPUSeconds)
		require.NotNil(t, half.Queue, "River's jobs were counted")
		require.NotEmpty(t, half.LoadBefore)
	}
	require.Equal(t, "all healthy", r.Healthy.Run)
	require.Equal(t, 120, r.Healthy.UnmeasuredAnswered204, "the bad endpoints' places answered 204: 60 × 2")
	require.Zero(t, r.Healthy.Answered500)
	require.Zero(t, r.Healthy.BlackHoleConnections)
	require.Equal(t, "with bad endpoints", r.Bad.Run)
	require.Positive(t, r.Bad.Answered500, "the 500 endpoints were tried")
	require.Positive(t, r.Bad.BlackHoleConnections, "the black holes were tried")
	require.Zero(t, r.Bad.UnmeasuredAnswered204)

	require.NotNil(t, r.P99Ratio)
	require.NotNil(t, r.ThroughputRatio)
	require.Len(t, r.Checks, 2)
	require.Contains(t, r.Checks[0].Measure, "p99")
	require.Contains(t, r.Checks[1].Measure, "deliveries/s")

	// The halves' tenants were deleted from the --target hookd.
	api.base, api.key = h.url, h.adminKey
	for _, half := range []string{halfHealthy, halfBad} {
		tenant := "iso-" + r.RunID + "-" + half + "-0"
		err := api.do(ctx, http.MethodGet, "/tenants/"+tenant, nil, nil, http.StatusNotFound)
		require.NoError(t, err, "tenant %s is gone", tenant)
	}

	var table bytes.Buffer
	require.NoError(t, r.writeTable(&table))
	for _, want := range []string{"all healthy", "with bad endpoints", "healthy publish→receive p50/p90/p99/max", "targets of issue 8", "120 of 120"} {
		require.Contains(t, table.String(), want)
	}
	t.Logf("report:\n%s", table.String())
}
