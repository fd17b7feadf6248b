package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// prepareDataDir creates the data dir and, when running as root, makes it
// reachable and owned by the postgres OS user.
func (c *Cluster) prepareDataDir() error {
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// postgres refuses a data dir that others can read or write.
	fi, err := os.Stat(c.dataDir)
	if err != nil {
		return fmt.Errorf("check data dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", c.dataDir)
	}
	if fi.Mode().Perm()&0o027 != 0 {
		if err := os.Chmod(c.dataDir, 0o700); err != nil {
			return fmt.Errorf("restrict data dir permissions: %w", err)
		}
	}
	if c.owner == nil {
		return nil
	}
	if err := c.owner.makeReachable(c.dataDir, c.logger); err != nil {
		return err
	}
	if err := c.owner.chownTree(c.dataDir); err != nil {
		return fmt.Errorf("hand data dir to OS user %s: %w", c.owner.name, err)
	}
	return nil
}

// checkNotRunning returns an *AlreadyRunningError if postmaster.pid names a
// live postmaster. A pid file left by a postgres that is gone is left for
// postgres to clean up; one whose pid now belongs to some other program is
// removed, since postgres would otherwise refuse to start.
func (c *Cluster) checkNotRunning() error {
	pidPath := filepath.Join(c.dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return nil // half-written or corrupt; postgres decides
	}
	if !processAlive(pid) {
		return nil
	}
	if name, ok := processName(pid); ok && name != "postgres" && name != "postmaster" {
		c.logger.Warn("removing stale postmaster.pid whose pid now belongs to another program", "pid", pid, "program", name)
		if err := os.Remove(pidPath); err != nil {
			return fmt.Errorf("remove stale postmaster.pid: %w", err)
		}
		return nil
	}
	return &AlreadyRunningError{DataDir: c.dataDir, PID: pid}
}

func (c *Cluster) initdb(ctx context.Context) error {
	c.logger.Info("initializing postgres data dir", "data_dir", c.dataDir)
	args := []string{
		"-D", c.dataDir,
		"--auth=trust",
		"-U", superuser,
		"--encoding=UTF8",
		"--locale=C",
	}
	if c.fast {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"), args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = c.owner.sysProcAttr()
	// On SIGINT initdb removes what it wrote; a killed initdb leaves a
	// half-made data dir behind.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb %s: %w: %s", c.dataDir, err, lastLines(out, 10))
	}
	return nil
}

// openLog opens postgres.log for appending, moving an oversized one aside
// first, and returns it with its size at opening.
func (c *Cluster) openLog() (*os.File, int64, error) {
	path := c.LogPath()
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		if err := os.Rename(path, path+".1"); err != nil {
			return nil, 0, fmt.Errorf("rotate postgres log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open postgres log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open postgres log: %w", err)
	}
	if err := c.owner.chown(path); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open postgres log: %w", err)
	}
	return f, fi.Size(), nil
}

// logTail returns the last lines postgres logged since offset from.
func (c *Cluster) logTail(from int64) string {
	f, err := os.Open(c.LogPath())
	if err != nil {
		return "(no postgres log)"
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return "(no postgres log)"
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	if len(bytes.TrimSpace(b)) == 0 {
		return "(postgres logged nothing; see " + c.LogPath() + ")"
	}
	return lastLines(b, 10)
}

// writeFile writes a small file into the data dir, owned by the OS user
// postgres runs as.
func (c *Cluster) writeFile(name string, data []byte) error {
	path := filepath.Join(c.dataDir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	return c.owner.chown(path)
}

// lastLines returns at most n trailing non-empty lines of b, joined by "; ".
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
