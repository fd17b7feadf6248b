package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hookd/hookd/store/localpg"
)

// hookdCluster is hookd as a production deployment runs it (--start
// --workers N): a durable Postgres of its own (fsync on, as hookd dev's),
// one `hookd serve --role api` that hookbench publishes to, and N
// `hookd serve --role worker` that deliver, all on loopback. Workers can be
// stopped and started again (the backlog scenario does).
type hookdCluster struct {
	dir         string
	pg          *localpg.Cluster
	postmaster  int
	bin         string
	env         []string
	url         string // the api process
	adminKey    string
	databaseURL string
	keep        bool

	mu       sync.Mutex
	api      *chaosHookd
	workers  []*chaosHookd
	started  int                  // workers started so far, for log names
	stopping map[*chaosHookd]bool // stopped by us: not a failure
	failed   chan struct{}        // closed when a process exits that we did not stop
	failErr  error
	failOnce sync.Once
}

// hookdRef is one hookd process being measured.
type hookdRef struct {
	role string // dev, api, worker, target
	pid  int
}

// benchDir makes the temp dir of a scenario that runs its own Postgres
// (hookbench-<kind>-*), reachable by the postgres OS user, which localpg
// runs postgres as when hookbench runs as root.
func benchDir(kind string) (string, error) {
	dir, err := os.MkdirTemp("", "hookbench-"+kind+"-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// startDurablePostgres starts a Postgres with fsync on in dir/pg (dir from
// benchDir). prefix begins its log line ("hookbench: chaos: ").
func startDurablePostgres(ctx context.Context, dir, prefix string, logw io.Writer) (*localpg.Cluster, error) {
	fmt.Fprintf(logw, "%sstarting Postgres (fsync on) in %s\n", prefix, dir)
	pg, err := localpg.Start(ctx, localpg.Options{DataDir: filepath.Join(dir, "pg")})
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return pg, nil
}

// startCluster starts Postgres, the api process and workers worker
// processes, and points client at the api process.
func startCluster(ctx context.Context, opts hookdOptions, workers int, client *apiClient, logw io.Writer) (_ *hookdCluster, err error) {
	dir, err := benchDir("cluster")
	if err != nil {
		return nil, err
	}
	c := &hookdCluster{dir: dir, keep: opts.keep, stopping: map[*chaosHookd]bool{}, failed: make(chan struct{})}
	defer func() {
		if err != nil {
			c.stop(logw)
		}
	}()
	if c.bin, err = hookdBinary(ctx, opts.bin, dir, logw); err != nil {
		return nil, err
	}
	if c.pg, err = startDurablePostgres(ctx, dir, "hookbench: ", logw); err != nil {
		return nil, err
	}
	c.databaseURL = c.pg.URL("postgres")
	c.postmaster = findPostmaster(dir)
	if c.adminKey, err = newAdminKey(); err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	c.env = append(withoutEnv(os.Environ(), "DATABASE_URL", "HOOKD_ADMIN_KEY", "HOOKD_SECRET_KEY", "HOOKD_ALLOW_NETWORKS", "HOOKD_MAX_ENDPOINTS_PER_TENANT"),
		"DATABASE_URL="+c.databaseURL, "HOOKD_ADMIN_KEY="+c.adminKey,
		"HOOKD_SECRET_KEY="+base64.StdEncoding.EncodeToString(secret),
		"HOOKD_ALLOW_NETWORKS=127.0.0.0/8", // the receiver is on loopback
		fmt.Sprintf("HOOKD_MAX_ENDPOINTS_PER_TENANT=%d", maxEndpoints))

	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	c.url = "http://" + addr
	client.base, client.key = c.url, c.adminKey
	c.api = &chaosHookd{bin: c.bin, addr: addr, role: "api", logPath: filepath.Join(dir, "hookd-api.log"), env: c.env}
	fmt.Fprintf(logw, "hookbench: starting %s serve --role api --addr %s (log: %s)\n", c.bin, addr, c.api.logPath)
	if err := c.launch(c.api); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, c.api, opts.readyTimeout); err != nil {
		return nil, err
	}
	if err := c.startWorkers(ctx, workers, opts.readyTimeout, logw); err != nil {
		return nil, err
	}
	return c, nil
}

// launch starts h and watches for it to exit unasked.
func (c *hookdCluster) launch(h *chaosHookd) error {
	if err := h.start(); err != nil {
		return err
	}
	h.mu.Lock()
	done := h.done
	h.mu.Unlock()
	go func() {
		<-done
		c.mu.Lock()
		asked := c.stopping[h]
		c.mu.Unlock()
		if !asked {
			h.mu.Lock()
			how := h.waitErr
			h.mu.Unlock()
			c.failOnce.Do(func() {
				c.failErr = fmt.Errorf("%w: hookd serve --role %s ended (%v; log: %s)", errHookdExited, h.role, how, h.logPath)
				close(c.failed)
			})
		}
	}()
	return nil
}

// waitReady polls h's GET /readyz.
func (c *hookdCluster) waitReady(ctx context.Context, h *chaosHookd, timeout time.Duration) error {
	client := newHTTPClient(1)
	defer client.CloseIdleConnections()
	probe := &apiClient{base: "http://" + h.addr, http: client}
	if err := waitUp(ctx, probe, timeout); err != nil {
		return fmt.Errorf("hookd serve --role %s not ready (log: %s): %w", h.role, h.logPath, err)
	}
	return nil
}

// startWorkers starts n worker processes and waits until each is ready.
func (c *hookdCluster) startWorkers(ctx context.Context, n int, timeout time.Duration, logw io.Writer) error {
	for range n {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.started++
		h := &chaosHookd{bin: c.bin, addr: addr, role: "worker", env: c.env,
			logPath: filepath.Join(c.dir, fmt.Sprintf("hookd-worker-%d.log", c.started))}
		c.workers = append(c.workers, h)
		c.mu.Unlock()
		fmt.Fprintf(logw, "hookbench: starting hookd serve --role worker --addr %s (log: %s)\n", addr, h.logPath)
		if err := c.launch(h); err != nil {
			return err
		}
		if err := c.waitReady(ctx, h, timeout); err != nil {
			return err
		}
	}
	return nil
}

// stopWorkers stops every worker process (SIGTERM: running attempts
// finish) and waits for them.
func (c *hookdCluster) stopWorkers() {
	c.mu.Lock()
	ws := c.workers
	c.workers = nil
	for _, w := range ws {
		c.stopping[w] = true
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(w.stop)
	}
	wg.Wait()
}

// procs lists the running hookd processes, api first.
func (c *hookdCluster) procs() []hookdRef {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []hookdRef{{role: "api", pid: c.api.pid()}}
	for _, w := range c.workers {
		out = append(out, hookdRef{role: "worker", pid: w.pid()})
	}
	return out
}

// exited is closed when a hookd process or Postgres ended unasked; err
// says which.
func (c *hookdCluster) exited() <-chan struct{} { return c.failed }

func (c *hookdCluster) err() error { return c.failErr }

// stop ends the workers, the api process and Postgres, and removes the
// temp dir unless it is to be kept.
func (c *hookdCluster) stop(logw io.Writer) {
	c.stopWorkers()
	c.mu.Lock()
	api := c.api
	if api != nil {
		c.stopping[api] = true
	}
	c.mu.Unlock()
	if api != nil {
		api.stop()
	}
	if c.pg != nil {
		if err := c.pg.Stop(); err != nil {
			fmt.Fprintf(logw, "hookbench: stop postgres: %v\n", err)
		}
	}
	select {
	case <-c.failed:
		c.keep = true // the logs say why a process died
	default:
	}
	if c.keep {
		fmt.Fprintf(logw, "hookbench: kept %s (Postgres data and hookd logs)\n", c.dir)
		return
	}
	if err := os.RemoveAll(c.dir); err != nil {
		fmt.Fprintf(logw, "hookbench: remove %s: %v\n", c.dir, err)
	}
}

// pid is the process id of h's current process, 0 before it started.
func (h *chaosHookd) pid() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil || h.cmd.Process == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// ownHookd is the hookd that hookbench started for a run (--start): a
// hookd dev, or a cluster of serve processes with --workers.
type ownHookd struct {
	url         string
	describe    string
	bin         string
	databaseURL string
	postmaster  int
	dev         *hookdProc    // hookd dev
	cluster     *hookdCluster // --workers
	notes       []string
}

// startOwn starts the hookd that cfg asks for and points client at it.
func startOwn(ctx context.Context, cfg config, client *apiClient, logw io.Writer) (*ownHookd, error) {
	if cfg.workers > 0 {
		c, err := startCluster(ctx, cfg.hookd, cfg.workers, client, logw)
		if err != nil {
			return nil, err
		}
		return &ownHookd{url: c.url, bin: c.bin, databaseURL: c.databaseURL, postmaster: c.postmaster, cluster: c,
			describe: fmt.Sprintf("%s (hookd serve: 1 api and %d worker process%s on one Postgres, started by hookbench)", c.url, cfg.workers, plurales(cfg.workers))}, nil
	}
	h, err := startHookd(ctx, cfg.hookd, client, logw)
	if err != nil {
		return nil, err
	}
	o := &ownHookd{url: h.url, bin: h.bin, databaseURL: h.databaseURL, dev: h, describe: h.url + " (hookd dev started by hookbench)"}
	if o.databaseURL == "" {
		o.notes = append(o.notes, "hookd dev wrote no <data-dir>/postgres.url: no commit counts")
	}
	if o.postmaster = findPostmaster(h.dataDir); o.postmaster == 0 {
		o.notes = append(o.notes, "found no postmaster under the data dir: Postgres CPU counts every postgres process")
	}
	return o, nil
}

// procs lists the hookd processes to measure.
func (o *ownHookd) procs() []hookdRef {
	if o.cluster != nil {
		return o.cluster.procs()
	}
	return []hookdRef{{role: "dev", pid: o.dev.pid}}
}

// watch cancels ctx with the reason when a hookd process dies under the
// run, until ctx is done.
func (o *ownHookd) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	go func() {
		if o.cluster != nil {
			select {
			case <-o.cluster.exited():
				cancel(o.cluster.err())
			case <-ctx.Done():
			}
			return
		}
		select {
		case <-o.dev.exited():
			cancel(fmt.Errorf("%w (log: %s)", errHookdExited, o.dev.logPath))
		case <-ctx.Done():
		}
	}()
}

func (o *ownHookd) stop(logw io.Writer) {
	if o.cluster != nil {
		o.cluster.stop(logw)
		return
	}
	o.dev.stop(logw)
}

func plurales(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}
