package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestChaos is the crash-safety promise, tried for real: `hookd serve` as
// a process on a durable Postgres, killed with SIGKILL again and again
// while messages are published, and Postgres restarted in immediate mode.
// Every message that got a 202 must arrive, verified; duplicates are
// counted (at-least-once allows them).
func TestChaos(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "hookd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hookd/hookd/cmd/hookd").CombinedOutput()
	require.NoError(t, err, "build hookd: %s", out)

	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	rep, err := runChaos(ctx, chaosOptions{
		hookdBin:      bin,
		duration:      24 * time.Second,
		killEvery:     3 * time.Second,
		pgRestarts:    1,
		publishers:    4,
		publishPause:  5 * time.Millisecond,
		drainTimeout:  60 * time.Second,
		maxMessages:   200_000,
		verifyEvery:   1,
		payloadBytes:  128,
		retrySchedule: "1s,1s,2s,2s,5s,5s,10s,10s,10s,10s",
	}, testLog{t})
	if rep.Dir != "" {
		if b, rerr := os.ReadFile(filepath.Join(rep.Dir, "hookd.log")); rerr == nil && len(b) > 4000 {
			t.Logf("hookd.log tail:\n%s", b[len(b)-4000:])
		}
	}
	require.NoError(t, err)
	t.Logf("accepted %d, refused %d, delivered %d, lost %d, duplicates %d, kills %d, Postgres restarts %d, drain %s",
		rep.Accepted, rep.Refused, rep.Delivered, rep.Lost, rep.Duplicates, rep.Kills, rep.PGRestarts, rep.Drain)
	require.NotNil(t, rep.Machine)
	require.NotNil(t, rep.Machine.Postgres, rep.Machine.PostgresNote)
	require.GreaterOrEqual(t, rep.Kills, 5)
	require.GreaterOrEqual(t, rep.PGRestarts, 1)
	require.Greater(t, rep.Accepted, 100, "publishing went on between the faults")
	require.Zero(t, rep.Lost, "accepted but never delivered: %v", rep.LostSample)
	require.Zero(t, rep.SigFailed)
	require.Equal(t, rep.Delivered+rep.Duplicates, rep.SigChecked, "every request that arrived was verified")
	require.Less(t, rep.Drain, 60*time.Second, "delivered within 60 s of the last fault")
}

// testLog writes progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(p))
	return len(p), nil
}
