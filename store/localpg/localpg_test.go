package localpg

// These tests use the standard library's checks rather than testify's
// require: the module's go.sum lacks the entries testify's own dependencies
// need, and this package may not change go.sum. Swap in require once it does.

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startCluster starts a Fast cluster on dataDir and stops it when the test
// ends.
func startCluster(t *testing.T, dataDir string) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), Options{DataDir: dataDir, Fast: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// connect opens a connection to dbname that is closed when the test ends.
func connect(t *testing.T, c *Cluster, dbname string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.URL(dbname))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestFindBinDir(t *testing.T) {
	t.Parallel()

	dir, err := FindBinDir()
	if err != nil {
		t.Fatalf("FindBinDir: %v", err)
	}
	for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("FindBinDir() = %s, which has no %s: %v", dir, name, err)
		}
	}
}

func TestSortByVersionDesc(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{
			name: "numeric not lexical",
			in:   []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/10/bin"},
			want: []string{"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/10/bin", "/usr/lib/postgresql/9.6/bin"},
		},
		{
			name: "minor versions",
			in:   []string{"/usr/lib/postgresql/9.4/bin", "/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/9/bin"},
			want: []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/9.4/bin", "/usr/lib/postgresql/9/bin"},
		},
		{
			name: "one",
			in:   []string{"/usr/lib/postgresql/15/bin"},
			want: []string{"/usr/lib/postgresql/15/bin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := append([]string(nil), tt.in...)
			sortByVersionDesc(got)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("sortByVersionDesc(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestStart(t *testing.T) {
	t.Parallel()

	c := startCluster(t, filepath.Join(t.TempDir(), "pg"))
	conn := connect(t, c, "postgres")

	var one int
	if err := conn.QueryRow(t.Context(), "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v", one, err)
	}
	wantURL := "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres?sslmode=disable"
	if got := c.URL("postgres"); got != wantURL {
		t.Errorf("URL = %q, want %q", got, wantURL)
	}
	for setting, want := range map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": "",
		"max_connections":         "200",
		"shared_buffers":          "128MB",
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
	} {
		if got := queryString(t, conn, "show "+setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	if _, err := os.Stat(c.LogPath()); err != nil {
		t.Errorf("server log: %v", err)
	}
}

func TestStartDurableByDefault(t *testing.T) {
	t.Parallel()

	c, err := Start(t.Context(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	conn := connect(t, c, "postgres")

	for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		if got := queryString(t, conn, "show "+setting); got != "on" {
			t.Errorf("%s = %q, want on", setting, got)
		}
	}
}

func TestStartKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()

	dir := filepath.Join(t.TempDir(), "pg")
	c, err := Start(t.Context(), Options{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), c.URL("postgres"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := conn.Exec(t.Context(), "create table kept (id int); insert into kept values (42)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	conn.Close(t.Context())
	port := c.Port()

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if _, err := pgx.Connect(t.Context(), c.URL("postgres")); err == nil {
		t.Fatal("connected after Stop")
	}

	c2 := startCluster(t, dir)
	if c2.Port() != port {
		t.Errorf("restart picked port %d, want the remembered %d", c2.Port(), port)
	}
	var id int
	if err := connect(t, c2, "postgres").QueryRow(t.Context(), "select id from kept").Scan(&id); err != nil || id != 42 {
		t.Fatalf("select from kept after restart = %d, %v", id, err)
	}
}

func TestStartAlreadyRunning(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	c := startCluster(t, dir)

	_, err := Start(t.Context(), Options{DataDir: dir, Fast: true})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Start error = %v, want ErrAlreadyRunning", err)
	}
	var running *AlreadyRunningError
	if !errors.As(err, &running) || running.PID != c.cmd.Process.Pid {
		t.Fatalf("second Start error = %#v, want *AlreadyRunningError with pid %d", err, c.cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(c.cmd.Process.Pid)) {
		t.Errorf("error %q does not name the pid", err)
	}

	// The first cluster is untouched.
	var one int
	if err := connect(t, c, "postgres").QueryRow(t.Context(), "select 1").Scan(&one); err != nil {
		t.Fatalf("first cluster after failed second Start: %v", err)
	}
}

func TestStartPortInUse(t *testing.T) {
	t.Parallel()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	port := l.Addr().(*net.TCPAddr).Port

	_, err = Start(t.Context(), Options{DataDir: t.TempDir(), Port: port, Fast: true})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Start on a taken port: err = %v, want one saying it is in use", err)
	}
}

func TestStartRequiresDataDir(t *testing.T) {
	t.Parallel()

	if _, err := Start(t.Context(), Options{}); err == nil {
		t.Fatal("Start without a data dir succeeded")
	}
}

func TestStartNoBinaries(t *testing.T) {
	t.Parallel()

	_, err := Start(t.Context(), Options{DataDir: t.TempDir(), BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no initdb") {
		t.Fatalf("Start with an empty BinDir: err = %v, want one naming initdb", err)
	}
}

// helperDataDirEnv tells TestHelperParent, run as a child process by
// TestStartStopsWhenParentDies, where to start its cluster.
const helperDataDirEnv = "LOCALPG_TEST_HELPER_DATA_DIR"

// TestStartStopsWhenParentDies starts a cluster in a child test process,
// kills that process without Stop, and expects postgres to shut down on its
// own so that the next Start on the data dir works.
func TestStartStopsWhenParentDies(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("postgres outlives a dead parent outside Linux")
	}

	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperDataDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if pid, ok := strings.CutPrefix(sc.Text(), "postgres ready pid="); ok {
				n, _ := strconv.Atoi(pid)
				ready <- n
			}
		}
		close(ready)
	}()
	var pid int
	select {
	case pid = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("child never reported postgres ready")
	}
	if pid == 0 {
		t.Fatal("child exited without starting postgres")
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// A postgres that shut down removes its postmaster.pid.
	pidFile := filepath.Join(dir, "postmaster.pid")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill() // don't leave the orphan behind
			}
			t.Fatalf("postgres (pid %d) still running 30s after its parent died", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	startCluster(t, dir)
}

// TestMain runs the tests, or, in the child process that
// TestStartStopsWhenParentDies starts, a cluster that waits to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDataDirEnv); dir != "" {
		helperParent(dir)
	}
	os.Exit(m.Run())
}

// helperParent starts a cluster, reports its pid and waits to be killed.
func helperParent(dir string) {
	c, err := Start(context.Background(), Options{DataDir: dir, Fast: true})
	if err != nil {
		os.Stderr.WriteString("Start: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("postgres ready pid=" + strconv.Itoa(c.cmd.Process.Pid) + "\n")
	select {}
}

func TestStartStalePidFile(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		linux bool // needs /proc to tell a reused pid from a postmaster
		pid   func(t *testing.T) int
	}{
		{
			name: "process gone",
			pid: func(t *testing.T) int {
				cmd := exec.Command("true")
				if err := cmd.Run(); err != nil {
					t.Fatal(err)
				}
				return cmd.Process.Pid
			},
		},
		{
			name:  "pid reused by another program",
			linux: true,
			pid: func(t *testing.T) int {
				cmd := exec.Command("sleep", "60")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
				return cmd.Process.Pid
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.linux && runtime.GOOS != "linux" {
				t.Skip("needs /proc")
			}
			dir := t.TempDir()
			c, err := Start(t.Context(), Options{DataDir: dir, Fast: true})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if err := c.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			// What a postgres killed with SIGKILL or a machine losing power
			// leaves behind.
			stale := strconv.Itoa(tt.pid(t)) + "\n" + dir + "\n"
			if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(stale), 0o600); err != nil {
				t.Fatal(err)
			}
			startCluster(t, dir)
		})
	}
}
