package localpg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestStandby starts a primary and its synchronous standby, shows that a
// commit waits for the standby, kills the primary and promotes the standby,
// which has every committed row and takes writes.
func TestStandby(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	primary, err := Start(t.Context(), Options{DataDir: filepath.Join(dir, "primary"), Fast: true, Replication: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = primary.Stop() })
	if got := queryString(t, connect(t, primary, "postgres"), "show synchronous_commit"); got != "on" {
		t.Fatalf("a Fast primary's synchronous_commit = %q, want on", got)
	}
	pconn := connect(t, primary, "postgres")
	if _, err := pconn.Exec(t.Context(), "create table kept (id int)"); err != nil {
		t.Fatal(err)
	}

	standbyDir := filepath.Join(dir, "standby")
	standby, err := primary.StartStandby(t.Context(), StandbyOptions{DataDir: standbyDir})
	if err != nil {
		t.Fatalf("StartStandby: %v", err)
	}
	t.Cleanup(func() { _ = standby.Stop() })
	if standby.Port() == primary.Port() {
		t.Fatalf("standby on the primary's port %d", primary.Port())
	}
	if got := queryString(t, pconn, "select sync_state from pg_stat_replication where application_name = 'standby'"); got != "sync" {
		t.Fatalf("sync_state = %q, want sync", got)
	}
	sconn := connect(t, standby, "postgres")
	if got := queryString(t, sconn, "select pg_is_in_recovery()::text"); got != "true" {
		t.Fatalf("standby in recovery = %s", got)
	}
	_, err = sconn.Exec(t.Context(), "insert into kept values (0)")
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write on the standby: err = %v, want read-only transaction (25006)", err)
	}
	if got := queryString(t, connect(t, primary, "postgres"), "show synchronous_standby_names"); got != "standby" {
		t.Fatalf("primary's synchronous_standby_names = %q", got)
	}
	if got := queryString(t, sconn, "show synchronous_standby_names"); got != "" {
		t.Fatalf("standby's synchronous_standby_names = %q, want none (it would wait for itself once promoted)", got)
	}
	if _, err := pconn.Exec(t.Context(), "insert into kept values (1)"); err != nil {
		t.Fatal(err)
	}

	// With the standby down, a commit waits for it.
	if err := standby.Stop(); err != nil {
		t.Fatalf("Stop standby: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	waiting, err := pgx.Connect(ctx, primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = waiting.Exec(ctx, "insert into kept values (2)")
	cancel()
	waiting.Close(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
		t.Fatalf("commit with the standby down: err = %v, want it to wait past its deadline", err)
	}

	// The standby starts again on its data dir and catches up.
	standby, err = Start(t.Context(), Options{DataDir: standbyDir, Port: standby.Port(), Fast: true, Replication: true})
	if err != nil {
		t.Fatalf("restart standby: %v", err)
	}
	t.Cleanup(func() { _ = standby.Stop() })
	if _, err := pconn.Exec(t.Context(), "insert into kept values (3)"); err != nil {
		t.Fatalf("commit after the standby is back: %v", err)
	}

	shm := primary.sharedMemoryID()
	if err := primary.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if _, err := pgx.Connect(t.Context(), primary.URL("postgres")); err == nil {
		t.Fatal("connected to the primary after Kill")
	}
	// Its backend was killed too: it had no moment to say the postmaster
	// died (57P01) before the connection went.
	_, err = pconn.Exec(t.Context(), "select 1")
	if pgErr := (*pgconn.PgError)(nil); err == nil || (runtime.GOOS == "linux" && errors.As(err, &pgErr)) {
		t.Fatalf("query on a connection of the killed primary: err = %v, want the connection cut", err)
	}
	if err := primary.Stop(); err != nil {
		t.Errorf("Stop after Kill: %v", err)
	}
	if runtime.GOOS == "linux" && shm >= 0 {
		b, err := os.ReadFile("/proc/sysvipc/shm")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// A segment marked for removal shows key 0 until the last of
			// the killed backends has let go of it.
			if f := strings.Fields(line); len(f) > 1 && f[1] == strconv.Itoa(shm) && f[0] != "0" {
				t.Errorf("the killed primary's shared memory segment %d is left behind: %s", shm, line)
			}
		}
	}

	if err := standby.Promote(t.Context()); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	sconn = connect(t, standby, "postgres")
	if got := queryString(t, sconn, "select pg_is_in_recovery()::text"); got != "false" {
		t.Fatalf("promoted standby in recovery = %s", got)
	}
	if got := queryString(t, sconn, "select string_agg(id::text, ',' order by id) from kept where id <> 2"); got != "1,3" {
		t.Fatalf("rows on the promoted standby = %q, want 1,3", got)
	}
	if _, err := sconn.Exec(t.Context(), "insert into kept values (4)"); err != nil {
		t.Fatalf("write after promotion: %v", err)
	}
	if err := standby.Promote(t.Context()); err == nil {
		t.Fatal("second Promote succeeded")
	}
}

func TestStartStandbyRefuses(t *testing.T) {
	t.Parallel()

	plain := startCluster(t, t.TempDir())
	if _, err := plain.StartStandby(t.Context(), StandbyOptions{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "Replication") {
		t.Errorf("StartStandby of a primary without Replication: err = %v", err)
	}
	primary, err := Start(t.Context(), Options{DataDir: t.TempDir(), Fast: true, Replication: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = primary.Stop() })
	if _, err := primary.StartStandby(t.Context(), StandbyOptions{DataDir: t.TempDir(), Name: "Bad-Name"}); err == nil || !strings.Contains(err.Error(), "lowercase") {
		t.Errorf("StartStandby with a bad name: err = %v", err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.StartStandby(t.Context(), StandbyOptions{DataDir: full}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("StartStandby on a non-empty dir: err = %v", err)
	}
}
