package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/localpg"
)

// TestFailover runs `hookd serve` on a primary with a synchronous standby,
// through a DATABASE_URL that names both hosts and asks for the read-write
// one, while publishers publish without pause. The primary is killed as in a
// crash and the standby promoted: publish answers 503 problem+json during
// the switch and 202 again after it, from the same process, and every
// message that got a 202 reaches the receiver, signed.
func TestFailover(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755)) // postgres runs as its own user when the test is root
	ctx := context.Background()
	primary, err := localpg.Start(ctx, localpg.Options{DataDir: filepath.Join(dir, "primary"), Fast: true, Replication: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = primary.Stop() })
	standby, err := primary.StartStandby(ctx, localpg.StandbyOptions{DataDir: filepath.Join(dir, "standby")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = standby.Stop() })
	dbURL := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=5",
		primary.Port(), standby.Port())
	secretKey, err := store.GenerateKey()
	require.NoError(t, err)
	env := append(devEnv(), "DATABASE_URL="+dbURL, "HOOKD_SECRET_KEY="+secretKey,
		"HOOKD_ALLOW_NETWORKS=127.0.0.0/8")

	migrate := exec.Command(bin, "migrate")
	migrate.Env = env
	out, err := migrate.CombinedOutput()
	require.NoError(t, err, "hookd migrate: %s", out)

	rcv := newFailoverReceiver()
	receiver := httptest.NewServer(rcv)
	t.Cleanup(receiver.Close)

	p := startServe(t, bin, env, "all")
	pid := p.cmd.Process.Pid
	c := apiClient{base: "http://" + p.addr}
	c.do(t, "POST", "/api/v1/event-types", `{"name":"order.paid"}`, http.StatusCreated)
	c.do(t, "PUT", "/api/v1/tenants/shop", `{"name":"Shop"}`, http.StatusCreated)
	var ep struct {
		ID string `json:"id"`
	}
	c.decode(t, c.do(t, "POST", "/api/v1/tenants/shop/endpoints", `{"url":"`+receiver.URL+`/hook"}`, http.StatusCreated), &ep)
	var secret struct {
		Secret string `json:"secret"`
	}
	c.decode(t, c.do(t, "GET", "/api/v1/tenants/shop/endpoints/"+ep.ID+"/secret", "", http.StatusOK), &secret)
	wh, err := standardwebhooks.NewWebhook(secret.Secret)
	require.NoError(t, err)
	rcv.setWebhook(wh)

	pubs := startPublishers(c.base, 4)
	t.Cleanup(pubs.stop)
	waitFor := func(what string, timeout time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s (%s)", what, timeout, pubs.summary())
			}
			select {
			case <-p.done:
				t.Fatalf("hookd exited (%v) while waiting: %s", p.err, what)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitFor("100 publishes accepted before the kill", time.Minute, func() bool { return pubs.count(http.StatusAccepted) >= 100 })

	killedAt := time.Now()
	require.NoError(t, primary.Kill())
	// What an operator's failover tool does: notice the primary is gone,
	// then promote. hookd is left to find the new primary by itself.
	waitFor("a 503 after the kill", time.Minute, func() bool { return pubs.count(http.StatusServiceUnavailable) > 0 })
	time.Sleep(failoverSwitch)
	promotedAt := time.Now()
	require.NoError(t, standby.Promote(ctx))
	acceptedAtPromotion := pubs.count(http.StatusAccepted)
	waitFor("100 publishes accepted after the promotion", 2*time.Minute, func() bool {
		return pubs.count(http.StatusAccepted) >= acceptedAtPromotion+100
	})
	pubs.stop()

	res := pubs.results()
	var accepted []string
	var unavailable []publishResult
	for _, r := range res {
		switch {
		case r.err != "":
			t.Errorf("publish %s at %s: %s", r.n, r.at.Sub(killedAt), r.err)
		case r.status == http.StatusAccepted:
			accepted = append(accepted, r.id)
		case r.status == http.StatusServiceUnavailable:
			unavailable = append(unavailable, r)
			require.Falsef(t, r.at.Before(killedAt), "a 503 before the kill: %s", r.body)
		default:
			t.Errorf("publish %s at %s: status %d, want 202 or 503: %s", r.n, r.at.Sub(killedAt), r.status, r.body)
		}
	}
	require.NotEmpty(t, unavailable)
	var lastUnavailable time.Time
	for _, r := range unavailable {
		lastUnavailable = r.at
	}
	var firstAfter time.Time
	for _, r := range res {
		if r.status == http.StatusAccepted && r.at.After(promotedAt) {
			firstAfter = r.at
			break
		}
	}
	require.False(t, firstAfter.IsZero(), "a 202 after the promotion")
	select {
	case <-p.done:
		t.Fatalf("hookd exited (%v)", p.err)
	default:
		require.Equal(t, pid, p.cmd.Process.Pid)
	}
	ready, err := http.Get(c.base + "/readyz")
	require.NoError(t, err)
	ready.Body.Close()
	require.Equal(t, http.StatusOK, ready.StatusCode, "ready on the new primary")

	// Every accepted message arrives. Jobs whose end the dead primary never
	// recorded are given back by hookd's rescue (delivery/rescue.go) a
	// little after their timeout, so this can take a while.
	deadline := time.Now().Add(3 * time.Minute)
	var missing []string
	for {
		missing = rcv.missing(accepted)
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			acceptedAt := map[string]time.Duration{}
			for _, r := range res {
				if r.id != "" {
					acceptedAt[r.id] = r.at.Sub(killedAt)
				}
			}
			var why []string
			for _, id := range missing[:min(len(missing), 5)] {
				why = append(why, fmt.Sprintf("%s (accepted %s after the kill): %s", id,
					acceptedAt[id].Round(time.Millisecond), messageState(t, standby.URL("postgres"), id)))
			}
			t.Fatalf("%d of %d accepted messages never delivered (promoted %s after the kill):\n%s\nRiver's jobs by state: %s",
				len(missing), len(accepted), promotedAt.Sub(killedAt).Round(time.Millisecond),
				strings.Join(why, "\n"), jobStates(t, standby.URL("postgres")))
		}
		time.Sleep(100 * time.Millisecond)
	}
	deliveredAt := time.Now()
	require.Empty(t, rcv.badSignatures(), "every delivery verifies")
	extra, dups := rcv.extra(accepted)
	rescued, stranded := metricValue(t, p.addr, "hookd_jobs_rescued_total"), metricValue(t, p.addr, "hookd_sweep_stranded_total")
	t.Logf("publishes: %d accepted (%d after the promotion), %d answered 503; "+
		"503s from %s to %s after the kill (promoted at %s, first 202 after it at %s); "+
		"all accepted delivered %s after the kill; %d duplicate deliveries, %d messages that got a 503 delivered anyway; "+
		"jobs rescued %s, stranded deliveries swept %s",
		len(accepted), pubs.count(http.StatusAccepted)-acceptedAtPromotion, len(unavailable),
		unavailable[0].at.Sub(killedAt).Round(time.Millisecond), lastUnavailable.Sub(killedAt).Round(time.Millisecond),
		promotedAt.Sub(killedAt).Round(time.Millisecond), firstAfter.Sub(killedAt).Round(time.Millisecond),
		deliveredAt.Sub(killedAt).Round(time.Millisecond), dups, extra, rescued, stranded)
}

// failoverSwitch is how long the test leaves hookd without a primary: long
// enough that River gives up recording the end of the jobs that were
// running at the kill (its completer retries for about 3 s), so that their
// rescue is tested too.
const failoverSwitch = 5 * time.Second

// publishResult is the outcome of one publish.
type publishResult struct {
	n      string // the payload's n
	at     time.Time
	status int
	id     string // the message's id, on a 202
	body   string
	err    string // what was wrong with the answer, if anything
}

// publishers publish order.paid messages to the tenant "shop" from several
// goroutines without pause, recording every answer.
type publishers struct {
	base     string
	client   *http.Client
	stopping chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
	seq      atomic.Int64

	mu  sync.Mutex
	res []publishResult
	by  map[int]int // status -> count
}

func startPublishers(base string, n int) *publishers {
	p := &publishers{base: base, client: &http.Client{Timeout: time.Minute}, stopping: make(chan struct{}), by: map[int]int{}}
	for range n {
		p.wg.Add(1)
		go p.run()
	}
	return p
}

func (p *publishers) run() {
	defer p.wg.Done()
	for {
		select {
		case <-p.stopping:
			return
		default:
		}
		r := p.publish(fmt.Sprintf("m%d", p.seq.Add(1)))
		p.mu.Lock()
		p.res = append(p.res, r)
		p.by[r.status]++
		p.mu.Unlock()
		if r.status != http.StatusAccepted {
			time.Sleep(50 * time.Millisecond) // as a client told to retry would, a little
		}
	}
}

// publish publishes one message and checks the answer's shape: a 202 with
// the message's id, or a 503 problem+json with Retry-After.
func (p *publishers) publish(n string) publishResult {
	r := publishResult{n: n, at: time.Now()}
	req, err := http.NewRequest("POST", p.base+"/api/v1/tenants/shop/messages",
		strings.NewReader(`{"event_type":"order.paid","payload":{"n":"`+n+`"}}`))
	if err != nil {
		r.err = err.Error()
		return r
	}
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		r.err = "no answer from hookd: " + err.Error()
		return r
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r.at, r.status, r.body = time.Now(), resp.StatusCode, string(b)
	if err != nil {
		r.err = "read the answer: " + err.Error()
		return r
	}
	switch resp.StatusCode {
	case http.StatusAccepted:
		var m struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &m); err != nil || m.ID == "" {
			r.err = "a 202 without the message's id: " + r.body
		}
		r.id = m.ID
	case http.StatusServiceUnavailable:
		var prob struct {
			Status int `json:"status"`
		}
		switch {
		case resp.Header.Get("Content-Type") != "application/problem+json":
			r.err = "a 503 of type " + resp.Header.Get("Content-Type") + ": " + r.body
		case resp.Header.Get("Retry-After") == "":
			r.err = "a 503 without Retry-After: " + r.body
		case json.Unmarshal(b, &prob) != nil || prob.Status != http.StatusServiceUnavailable:
			r.err = "a 503 whose body is not its problem: " + r.body
		}
	}
	return r
}

// stop stops publishing and waits for the publishes in flight.
func (p *publishers) stop() {
	p.once.Do(func() { close(p.stopping) })
	p.wg.Wait()
}

func (p *publishers) count(status int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.by[status]
}

func (p *publishers) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("answers by status so far: %v", p.by)
}

// results returns every publish's outcome in the order they ended.
func (p *publishers) results() []publishResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]publishResult(nil), p.res...)
}

// failoverReceiver counts the deliveries of each webhook-id and verifies
// their signatures.
type failoverReceiver struct {
	mu  sync.Mutex
	wh  *standardwebhooks.Webhook
	got map[string]int
	bad []string
}

func newFailoverReceiver() *failoverReceiver { return &failoverReceiver{got: map[string]int{}} }

func (f *failoverReceiver) setWebhook(wh *standardwebhooks.Webhook) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wh = wh
}

func (f *failoverReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.Header.Get("webhook-id")
	f.got[id]++
	if f.wh == nil || f.wh.Verify(b, r.Header) != nil {
		f.bad = append(f.bad, id)
	}
	w.WriteHeader(http.StatusNoContent)
}

// missing returns the ids not delivered yet.
func (f *failoverReceiver) missing(ids []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range ids {
		if f.got[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

func (f *failoverReceiver) badSignatures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bad...)
}

// extra counts the delivered messages that were not among the accepted
// ones (a publish whose commit reached the standby though its answer was a
// 503) and the deliveries past the first of each message.
func (f *failoverReceiver) extra(accepted []string) (unaccepted, duplicates int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := map[string]bool{}
	for _, id := range accepted {
		ok[id] = true
	}
	for id, n := range f.got {
		if !ok[id] {
			unaccepted++
		}
		duplicates += n - 1
	}
	return unaccepted, duplicates
}

// metricValue reads one unlabelled metric from hookd's /metrics.
func metricValue(t *testing.T, addr, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return ""
}

// jobStates counts River's jobs by state, for a failure's message.
func jobStates(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT state || ' ' || kind || ': ' || count(*) FROM river_job GROUP BY state, kind ORDER BY 1")
	if err != nil {
		return err.Error()
	}
	states, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	return strings.Join(states, ", ")
}

// messageState says what the database holds of message id, for a
// failure's message: whether it is stored, and its deliveries' states and
// attempts.
func messageState(t *testing.T, url, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(ctx)
	var stored bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1)", id).Scan(&stored); err != nil {
		return err.Error()
	}
	if !stored {
		return "not stored"
	}
	rows, err := conn.Query(ctx, `SELECT 'delivery ' || d.status || ', ' || d.attempts || ' attempts: ' ||
			coalesce(string_agg(a.status || ' ' || coalesce(a.status_code::text, '') || ' ' || a.error_class || ' ' || a.error, '; '), 'none')
		FROM deliveries d LEFT JOIN attempts a ON a.delivery_id = d.id
		WHERE d.message_id = $1 GROUP BY d.id, d.status, d.attempts`, id)
	if err != nil {
		return err.Error()
	}
	states, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	if len(states) == 0 {
		return "stored, without deliveries"
	}
	return "stored; " + strings.Join(states, " | ")
}
