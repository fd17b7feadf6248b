package localpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Streaming replication, for failover tests. A primary started with
// Options.Replication streams its WAL to a standby that StartStandby makes
// from a base backup (pg_basebackup -R: standby.signal, primary_conninfo
// naming the standby by application_name, and a replication slot so the
// primary keeps the WAL the standby has not yet received). The standby is
// then made synchronous (synchronous_standby_names on the primary): from
// then on a commit on the primary returns only once the standby has
// flushed its WAL, so whatever a client saw committed survives the
// primary's loss. Kill takes the primary down as a crash does, and Promote
// turns the standby into a primary that takes writes.

// defaultStandbyName is the standby's application_name and slot name when
// StandbyOptions.Name is empty.
const defaultStandbyName = "standby"

// standbyName is what a standby's name may be: a replication slot's name,
// which also needs no quoting in synchronous_standby_names.
var standbyName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// StandbyOptions configures StartStandby. Only DataDir is required.
type StandbyOptions struct {
	// DataDir is the standby's data directory. It must be missing or empty:
	// the base backup fills it. A standby's data dir can later be started
	// again with Start, and it resumes streaming from the primary.
	DataDir string
	// Port is the TCP port on 127.0.0.1, as in Options.
	Port int
	// Name is the standby's application_name, which the primary's
	// synchronous_standby_names names, and the name of its replication slot
	// on the primary: lowercase letters, digits and underscores. Empty
	// means "standby".
	Name string
	// Logger receives start and stop events. Nil discards them.
	Logger *slog.Logger
}

// StartStandby makes a streaming standby of c from a base backup into
// opts.DataDir, starts it, makes it c's synchronous standby, and returns
// once c reports it in sync. The standby is Fast when c is. c must have been
// started with Options.Replication (a Fast primary would not wait for the
// standby otherwise). It is for failover tests.
func (c *Cluster) StartStandby(ctx context.Context, opts StandbyOptions) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("start standby: data dir is required")
	}
	if !c.repl {
		return nil, errors.New("start standby: the primary was not started with Options.Replication")
	}
	name := opts.Name
	if name == "" {
		name = defaultStandbyName
	}
	if !standbyName.MatchString(name) {
		return nil, fmt.Errorf("start standby: name %q is not 1 to 63 lowercase letters, digits or underscores", name)
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve standby data dir: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Cluster{
		dataDir: dataDir,
		binDir:  c.binDir,
		fast:    c.fast,
		repl:    true, // so that it can be a primary in turn once promoted
		logger:  logger,
		owner:   c.owner,
	}
	if err := s.prepareDataDir(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dataDir); err != nil {
		return nil, fmt.Errorf("check standby data dir: %w", err)
	} else if len(entries) > 0 {
		return nil, fmt.Errorf("start standby: data dir %s is not empty", dataDir)
	}
	if err := s.baseBackup(ctx, c, name); err != nil {
		return nil, err
	}
	port, auto, err := s.choosePort(opts.Port)
	if err != nil {
		return nil, err
	}
	if err := s.launchOnPort(ctx, port, auto); err != nil {
		return nil, err
	}
	if err := c.makeSynchronous(ctx, name); err != nil {
		_ = s.Stop()
		return nil, err
	}
	logger.Info("postgres standby in sync", "data_dir", dataDir, "port", s.port, "primary_port", c.port, "name", name)
	return s, nil
}

// baseBackup copies primary into s's empty data dir with pg_basebackup,
// creating the replication slot name and writing the standby's
// configuration (standby.signal and primary_conninfo with
// application_name=name). The primary's log and remembered port, copied
// with the rest, are removed.
func (s *Cluster) baseBackup(ctx context.Context, primary *Cluster, name string) error {
	bin := filepath.Join(s.binDir, "pg_basebackup")
	if !isExecutable(bin) {
		return fmt.Errorf("no pg_basebackup in %s", s.binDir)
	}
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=%s application_name=%s", primary.port, superuser, name)
	args := []string{
		"-D", s.dataDir,
		"-d", conninfo,
		"--wal-method=stream",
		"--create-slot", "--slot=" + name,
		"--write-recovery-conf",
		"--checkpoint=fast",
	}
	if s.fast {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = s.owner.sysProcAttr()
	cmd.WaitDelay = 10 * time.Second
	s.logger.Info("taking a base backup for a standby", "data_dir", s.dataDir, "primary_port", primary.port)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_basebackup from port %d: %w: %s", primary.port, err, lastLines(out, 10))
	}
	for _, f := range []string{logFileName, logFileName + ".1", portFileName} {
		if err := os.Remove(filepath.Join(s.dataDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the primary's %s from the standby: %w", f, err)
		}
	}
	return nil
}

// makeSynchronous names the standby name in c's synchronous_standby_names
// and waits until c reports it streaming in sync. It is set after the base
// backup, so the standby's copy of the settings does not name itself: once
// promoted, it does not wait for a standby it does not have.
func (c *Cluster) makeSynchronous(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("make standby synchronous: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "alter system set synchronous_standby_names = '"+name+"'"); err != nil {
		return fmt.Errorf("make standby synchronous: %w", err)
	}
	if _, err := conn.Exec(ctx, "select pg_reload_conf()"); err != nil {
		return fmt.Errorf("make standby synchronous: reload: %w", err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var state string
		err := conn.QueryRow(ctx, "select sync_state from pg_stat_replication where application_name = $1", name).Scan(&state)
		if err == nil && state == "sync" {
			return nil
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("make standby synchronous: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("standby %s not in sync with the primary on port %d: %w (sync_state %q)", name, c.port, ctx.Err(), state)
		case <-tick.C:
		}
	}
}

// Promote ends a standby's recovery and returns once it is a primary that
// takes writes (pg_promote, waiting up to a minute).
func (c *Cluster) Promote(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var promoted bool
	if err := conn.QueryRow(ctx, "select pg_promote(true, 60)").Scan(&promoted); err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	if !promoted {
		return fmt.Errorf("promote: the standby on port %d was not promoted within 60s: %s", c.port, c.logTail(0))
	}
	c.logger.Info("postgres promoted", "data_dir", c.dataDir, "port", c.port)
	return nil
}

// Kill ends postgres as a crash does: the postmaster and every backend get
// SIGKILL (on Linux; elsewhere only the postmaster, and its backends exit
// when they see it gone), so nothing is shut down, checkpointed or handed
// over and clients see their connections cut. What was committed survives in the
// WAL (unless Fast), and on a primary with a synchronous standby on the
// standby too. The cluster counts as stopped afterwards; Start on its data
// dir recovers it. It is for fault tests.
func (c *Cluster) Kill() error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	select {
	case <-c.done:
		return nil
	default:
	}
	pid := c.cmd.Process.Pid
	shm := c.sharedMemoryID()
	if err := killPostmaster(pid); err != nil {
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("kill postgres: %w", err)
	}
	<-c.done
	// A postmaster that is killed cannot remove its System V segment; no one
	// else would until a postgres starts on this data dir again.
	removeSharedMemory(shm)
	c.logger.Info("postgres killed", "data_dir", c.dataDir, "pid", pid)
	return nil
}

// sharedMemoryID reads the id of the postmaster's System V shared memory
// segment from postmaster.pid (line 7: key and id), or -1.
func (c *Cluster) sharedMemoryID() int {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return -1
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return -1
	}
	var key, id string
	if _, err := fmt.Sscan(lines[6], &key, &id); err != nil {
		return -1
	}
	n, err := strconv.Atoi(id)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
