package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The scenarios of issue 10 at a tiny scale, each on hookd processes that
// hookbench starts: the reports are filled in and nothing is lost. No
// timing targets: those are the benchmark's.

func buildHookd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hookd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hookd/hookd/cmd/hookd").CombinedOutput()
	require.NoError(t, err, "build hookd: %s", out)
	return bin
}

// runJSON runs hookbench with args and --json, wants exit code 0 and
// decodes the report into out.
func runJSON(t *testing.T, out any, args ...string) string {
	t.Helper()
	var stdout bytes.Buffer
	code := realMain(append(args, "--json", "--progress", "0"), &stdout, testLog{t})
	require.Equal(t, 0, code, "report: %s", stdout.String())
	require.NoError(t, json.Unmarshal(stdout.Bytes(), out), stdout.String())
	return stdout.String()
}

func requireMachine(t *testing.T, m *machineInfo) {
	t.Helper()
	require.NotNil(t, m)
	require.NotEmpty(t, m.CPUModel)
	require.Positive(t, m.Cores)
	require.Positive(t, m.MemoryBytes)
	require.NotEmpty(t, m.LoadStart)
	require.NotEmpty(t, m.LoadEnd)
	require.NotEmpty(t, m.GoVersion)
	require.NotEmpty(t, m.HookdGoVersion, "read from the hookd binary")
	require.NotNil(t, m.Postgres, "read from hookd's Postgres: %s", m.PostgresNote)
	require.NotEmpty(t, m.Postgres.Version)
	require.Equal(t, "on", m.Postgres.Settings["fsync"], "hookbench's Postgres is durable")
	for _, name := range pgSettingNames {
		require.NotEmpty(t, m.Postgres.Settings[name], name)
	}
}

func TestFreshScenario(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	var r freshReport
	out := runJSON(t, &r, "--start", "--hookd-bin", bin, "--scenario", "fresh", "--duration", "3s", "--concurrency", "8", "--verify-every", "1")
	requireMachine(t, r.Machine)
	require.Equal(t, "fresh", r.Scenario)
	require.Equal(t, 0.5, r.WindowSeconds)
	for _, ph := range []*freshPhase{r.First, r.Warm} {
		require.NotNil(t, ph, out)
		require.Len(t, ph.WindowRates, 6)
		require.Positive(t, ph.DeliveryRate)
		require.Positive(t, ph.Publishes)
		require.Zero(t, ph.PublishErrors)
		require.NotNil(t, ph.HookdCPUPer1k)
		require.NotNil(t, ph.Cores)
	}
	require.Equal(t, "first", r.First.Name)
	require.Equal(t, "warm", r.Warm.Name)
	require.NotNil(t, r.FirstPctOfWarm)
	require.InDelta(t, r.First.DeliveryRate/r.Warm.DeliveryRate*100, *r.FirstPctOfWarm, 1e-9)
	require.Len(t, r.Checks, 1)
	require.Equal(t, r.First.Publishes+r.Warm.Publishes, r.Publishes)
	require.Equal(t, r.Publishes, r.Delivered, "every publish arrived")
	require.Zero(t, r.Lost)
	require.Zero(t, r.SigFailures)
	require.Equal(t, r.Delivered+r.Duplicates, r.SigVerified)
	require.NotNil(t, r.HookdPeakRSS)

	var table bytes.Buffer
	require.NoError(t, r.writeTable(&table))
	for _, want := range []string{"first as % of warm", "postgres  ", "fsync=on", "load average"} {
		require.Contains(t, table.String(), want)
	}
	t.Logf("report:\n%s", table.String())
}

func TestBacklogScenario(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	var r backlogReport
	out := runJSON(t, &r, "--start", "--hookd-bin", bin, "--scenario", "backlog", "--messages", "3000", "--duration", "1s",
		"--concurrency", "16", "--drain-timeout", "60s")
	requireMachine(t, r.Machine)
	require.Equal(t, 1, r.Workers)
	require.Equal(t, 3000, r.Backlog)
	require.Equal(t, 1000, r.BaselineMessages)
	require.Positive(t, r.BaselineRate)
	require.Positive(t, r.AcceptSeconds)
	require.Zero(t, r.AcceptErrors)
	require.Zero(t, r.DeliveredWhileDown, "no worker ran while the backlog was published")
	require.NotNil(t, r.QueuedJobsAtDrain, out)
	require.Equal(t, 3000, *r.QueuedJobsAtDrain, "the whole backlog waited in River")
	require.Positive(t, r.DrainSeconds)
	require.Positive(t, r.DrainRate)
	require.NotNil(t, r.DrainPctOfBaseline)
	require.Len(t, r.DrainProcesses, 2)
	require.Equal(t, "api", r.DrainProcesses[0].Role)
	require.Equal(t, "worker", r.DrainProcesses[1].Role)
	for _, p := range r.DrainProcesses {
		require.NotNil(t, p.CPUSeconds)
		require.NotNil(t, p.PeakRSSBytes)
	}
	require.NotNil(t, r.APIPeakRSSAccept)
	require.NotNil(t, r.HookdMaxPeakRSS)
	require.GreaterOrEqual(t, *r.HookdSumPeakRSS, *r.HookdMaxPeakRSS)
	require.NotNil(t, r.DrainCores)
	require.NotEmpty(t, r.DrainLimit)
	require.Equal(t, 50, r.LightBefore.N, "50/s for 1s")
	require.Positive(t, r.LightDrain.N)
	require.Zero(t, r.LightErrors)
	require.Zero(t, r.Lost)
	require.Zero(t, r.LightLost)
	require.Zero(t, r.SigFailures)
	require.Len(t, r.Checks, 3)

	var table bytes.Buffer
	require.NoError(t, r.writeTable(&table))
	for _, want := range []string{"no-backlog rate", "while draining", "drain limited by", "fsync=on"} {
		require.Contains(t, table.String(), want)
	}
	t.Logf("report:\n%s", table.String())
}

func TestSingleWithWorkers(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	var r report
	runJSON(t, &r, "--start", "--hookd-bin", bin, "--workers", "2", "--messages", "2000", "--concurrency", "16", "--pg-settle", "0", "--verify-every", "1")
	requireMachine(t, r.Machine)
	require.Contains(t, r.Target, "1 api and 2 worker processes")
	require.Equal(t, 2000, r.DeliveriesReceived)
	require.Zero(t, r.DeliveriesMissing)
	require.Zero(t, r.SignatureFailures)
	require.Len(t, r.HookdProcesses, 3)
	var workerCPU float64
	for i, role := range []string{"api", "worker", "worker"} {
		p := r.HookdProcesses[i]
		require.Equal(t, role, p.Role)
		require.Positive(t, p.PID)
		require.NotNil(t, p.CPUSeconds)
		require.NotNil(t, p.CPUPer1k)
		require.NotNil(t, p.PeakRSSBytes)
		if role == "worker" {
			workerCPU += *p.CPUSeconds
		}
	}
	require.Positive(t, workerCPU, "the workers delivered")
	require.NotNil(t, r.HookdCPUPer1k)
	require.NotNil(t, r.HookdPeakRSSBytes)
	require.NotNil(t, r.PGCommitsPerDelivery, "the cluster's database URL is known")
	require.NotNil(t, r.Cores)
	require.NotNil(t, r.Cores.Machine)
	require.NotEmpty(t, r.Limit)
}

// TestHistoryScenario runs --scenario history small: its own Postgres, a
// generated history over three days, the pages' plans and the drop of a
// day, as JSON.
func TestHistoryScenario(t *testing.T) {
	t.Parallel()
	var out, logs bytes.Buffer
	code := realMain([]string{"--scenario", "history", "--attempts", "20000", "--days", "3", "--tenants", "20", "--json"}, &out, &logs)
	require.Equal(t, 0, code, "log:\n%s\nreport:\n%s", logs.String(), out.String())
	var rep historyReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Greater(t, rep.Attempts, 15_000)
	require.Greater(t, rep.DatabaseBytes, int64(0))
	require.NotEmpty(t, rep.Pages)
	for _, p := range rep.Pages {
		require.NotEmpty(t, p.Partitions, "%s reads the history", p.Page)
		require.Greater(t, p.TotalMS, 0.0, p.Page)
	}
	require.Len(t, rep.Dropped, 4, "a day of messages, deliveries, attempts and payloads")
	require.Len(t, rep.Checks, len(rep.Pages)+1)
	require.NotNil(t, rep.Machine.Postgres, "the report names its Postgres")
}
