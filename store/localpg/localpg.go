// Package localpg starts a private Postgres cluster from the Postgres
// binaries on this machine.
//
// It backs `hookd dev`, which keeps its cluster under ./.hookd across runs,
// and the test helper, which starts one throwaway cluster per test binary.
// For failover tests a cluster can have a synchronous streaming standby
// (StartStandby), be killed as in a crash (Kill), and the standby promoted
// (Promote).
// A cluster listens on 127.0.0.1 only, has no Unix socket, and trusts every
// local TCP connection as the superuser "postgres". The server log goes to
// postgres.log inside the data dir.
//
// Postgres refuses to run as root. When the calling process is root, the
// data dir is handed to the "postgres" OS user and initdb and postgres run
// as that user. Parent directories the postgres user cannot enter get the
// search bit for others (o+x, never read), which matters for 0700 temporary
// directories.
//
// On Linux the postgres process is started from a goroutine locked to its own
// OS thread, with a parent-death signal of SIGINT (fast shutdown): if the
// process that started it dies without calling Stop, postgres shuts down too
// instead of lingering. Elsewhere an orphaned postgres keeps running until it
// is stopped by hand. Postgres also runs in its own process group, so a
// Ctrl-C in the terminal reaches only hookd, which decides when to call Stop.
package localpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrAlreadyRunning is returned, wrapped in an *AlreadyRunningError, when
// the data dir's postmaster is already running.
var ErrAlreadyRunning = errors.New("postgres is already running on this data dir")

// ErrNoBinaries is returned, wrapped with advice on what to install, when no
// Postgres binaries can be found.
var ErrNoBinaries = errors.New("no Postgres binaries found")

// AlreadyRunningError reports a live postmaster owning the data dir. It
// matches ErrAlreadyRunning with errors.Is.
type AlreadyRunningError struct {
	DataDir string // absolute path of the data dir
	PID     int    // pid of the running postmaster
}

// Error returns a sentence meant for the person running hookd dev.
func (e *AlreadyRunningError) Error() string {
	return fmt.Sprintf("hookd dev is already running on data dir %s (postgres pid %d); stop it first or use another --data-dir", e.DataDir, e.PID)
}

// Unwrap returns ErrAlreadyRunning.
func (e *AlreadyRunningError) Unwrap() error { return ErrAlreadyRunning }

const (
	superuser    = "postgres"
	portFileName = "localpg.port"
	logFileName  = "postgres.log"
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
	maxLogSize   = 10 << 20 // postgres.log is moved to postgres.log.1 at start past this size
	portAttempts = 3
)

// errPortTaken means postgres lost a race for the port it was given.
var errPortTaken = errors.New("port taken")

// Options configures Start. Only DataDir is required.
type Options struct {
	// DataDir is the cluster's data directory. It is created if missing and
	// initialized with initdb if it has no PG_VERSION file.
	DataDir string
	// Port is the TCP port on 127.0.0.1. Zero picks a free port and records
	// it in the data dir, so a restart reuses it while it stays free.
	Port int
	// Fast trades durability for speed, for tests: fsync, synchronous_commit
	// and full_page_writes are off and initdb skips syncing. The default is
	// durable.
	Fast bool
	// Replication readies the cluster to be the primary of a standby started
	// with StartStandby: WAL is kept for replicas (wal_level=replica, WAL
	// senders and slots), and synchronous_commit stays on even when Fast,
	// so that a commit can wait for a synchronous standby.
	Replication bool
	// Logger receives start and stop events. Nil discards them.
	Logger *slog.Logger
	// BinDir holds initdb and postgres. Empty means FindBinDir.
	BinDir string
}

// Cluster is a running postgres started by Start.
type Cluster struct {
	dataDir string
	binDir  string
	port    int
	fast    bool
	repl    bool // Options.Replication
	logger  *slog.Logger
	owner   *osUser // non-nil when postgres runs as another OS user

	cmd     *exec.Cmd
	done    chan struct{} // closed once the postmaster has exited
	waitErr error         // set before done is closed

	stopMu  sync.Mutex
	stopped bool
}

// Start starts postgres on opts.DataDir, initializing the data dir first if
// needed, and returns once postgres accepts connections. ctx bounds only the
// start; the cluster runs until Stop is called. If a postmaster is already
// running on the data dir, Start returns an *AlreadyRunningError.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("data dir is required")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"initdb", "postgres"} {
		if !isExecutable(filepath.Join(binDir, name)) {
			return nil, fmt.Errorf("no %s in %s", name, binDir)
		}
	}
	owner, err := postgresOSUser()
	if err != nil {
		return nil, err
	}

	c := &Cluster{
		dataDir: dataDir,
		binDir:  binDir,
		fast:    opts.Fast,
		repl:    opts.Replication,
		logger:  logger,
		owner:   owner,
	}
	if err := c.prepareDataDir(); err != nil {
		return nil, err
	}
	if err := c.checkNotRunning(); err != nil {
		return nil, err
	}
	port, auto, err := c.choosePort(opts.Port)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("check data dir: %w", err)
	}

	if err := c.launchOnPort(ctx, port, auto); err != nil {
		return nil, err
	}
	return c, nil
}

// launchOnPort launches postgres on port, remembering the port in the data
// dir when it was picked here (auto), and tries a fresh port when another
// process takes an auto port while postgres starts.
func (c *Cluster) launchOnPort(ctx context.Context, port int, auto bool) error {
	for attempt := 1; ; attempt++ {
		c.port = port
		if auto {
			if err := c.writeFile(portFileName, []byte(strconv.Itoa(port)+"\n")); err != nil {
				return fmt.Errorf("remember port: %w", err)
			}
		}
		err := c.launch(ctx)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errPortTaken) || !auto || attempt == portAttempts {
			return err
		}
		c.logger.Debug("port taken while postgres started, trying another", "port", port)
		if port, err = freePort(); err != nil {
			return err
		}
	}
}

// URL returns a connection URL for database dbname on the cluster, as the
// superuser "postgres".
func (c *Cluster) URL(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port postgres listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// DataDir returns the absolute path of the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// LogPath returns the path of the file postgres writes its log to.
func (c *Cluster) LogPath() string { return filepath.Join(c.dataDir, logFileName) }

// Done returns a channel that is closed once postgres has exited, whether
// through Stop or on its own.
func (c *Cluster) Done() <-chan struct{} { return c.done }

// Stop shuts postgres down with a fast shutdown (SIGINT: open sessions are
// aborted, committed data is kept) and waits for it to exit, killing it if it
// has not exited within 30 seconds. Stop on a stopped cluster returns nil.
// If postgres had already failed on its own, Stop reports how.
func (c *Cluster) Stop() error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true

	select {
	case <-c.done:
		if c.waitErr != nil {
			return fmt.Errorf("postgres exited before stop: %w", c.waitErr)
		}
		return nil // shut down cleanly by someone else
	default:
	}

	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		c.logger.Warn("interrupt postgres failed, killing it", "pid", c.cmd.Process.Pid, "err", err)
		_ = c.cmd.Process.Kill()
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("postgres did not shut down within %s and was killed", stopTimeout)
	}
	if c.waitErr != nil {
		return fmt.Errorf("stop postgres: %w", c.waitErr)
	}
	c.logger.Info("postgres stopped", "data_dir", c.dataDir)
	return nil
}

// launch starts the postmaster and waits until it accepts connections.
func (c *Cluster) launch(ctx context.Context) error {
	logFile, logStart, err := c.openLog()
	if err != nil {
		return err
	}
	defer logFile.Close() // postgres has its own descriptor once started

	args := []string{
		"-D", c.dataDir,
		"-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "max_connections=200",
		"-c", "shared_buffers=128MB",
	}
	if c.fast {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
		if !c.repl {
			args = append(args, "-c", "synchronous_commit=off")
		}
	}
	if c.repl {
		args = append(args,
			"-c", "wal_level=replica",
			"-c", "max_wal_senders=10",
			"-c", "max_replication_slots=10",
		)
	}
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), args...)
	cmd.Dir = "/"
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = c.owner.sysProcAttr()
	setDaemonAttrs(cmd.SysProcAttr)

	done := make(chan struct{})
	c.cmd = cmd
	c.done = done
	c.waitErr = nil
	c.stopped = false
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the
		// child exits, not the process. Holding this goroutine on its thread
		// until postgres exits keeps the thread alive exactly that long.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	startedAt := time.Now()

	if err := c.waitReady(ctx); err != nil {
		select {
		case <-c.done:
			return c.startupExitError(logStart)
		default:
		}
		_ = c.Stop()
		return fmt.Errorf("wait for postgres on port %d: %w: %s", c.port, err, c.logTail(logStart))
	}
	c.logger.Info("postgres started",
		"data_dir", c.dataDir, "port", c.port, "pid", cmd.Process.Pid,
		"fast", c.fast, "took", time.Since(startedAt).Round(time.Millisecond))
	return nil
}

// startupExitError explains why postgres exited before accepting
// connections, as an *AlreadyRunningError, errPortTaken, or the log's tail.
func (c *Cluster) startupExitError(logStart int64) error {
	if err := c.checkNotRunning(); err != nil {
		return err
	}
	if !portFree(c.port) {
		return fmt.Errorf("postgres exited during start: %w: port %d is in use", errPortTaken, c.port)
	}
	return fmt.Errorf("postgres exited during start: %w: %s", c.waitErr, c.logTail(logStart))
}

// waitReady polls until this cluster's postgres answers a query, it exits,
// or the start timeout passes.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = c.ping(ctx); lastErr == nil {
			return nil
		}
		select {
		case <-c.done:
			return errors.New("postgres exited")
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// ping connects and checks that the server answering is this cluster and not
// another postgres that happens to hold the port.
func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var dir string
	if err := conn.QueryRow(ctx, "select current_setting('data_directory')").Scan(&dir); err != nil {
		return err
	}
	if dir != c.dataDir {
		return fmt.Errorf("port %d is answered by the postgres of %s", c.port, dir)
	}
	return nil
}

// RestartImmediate stops postgres in immediate mode (SIGQUIT: every session
// is cut off and nothing is checkpointed, as in a crash; what was committed
// is recovered from the WAL on start) and starts it again on the same port.
// It is for fault tests.
func (c *Cluster) RestartImmediate(ctx context.Context) error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.stopped {
		return errors.New("restart postgres: the cluster is stopped")
	}
	if err := c.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return fmt.Errorf("restart postgres: signal: %w", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.logger.Info("postgres stopped in immediate mode", "data_dir", c.dataDir)
	return c.launch(ctx)
}
