package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestCheckVerdicts(t *testing.T) {
	t.Parallel()
	const timeout = 15 * time.Second
	answer := func(code int, d time.Duration) Result {
		return Result{StatusCode: code, ErrorClass: classifyStatus(code), Duration: d}
	}
	noAnswer := func(class string) Result { return Result{ErrorClass: class, Error: "it went wrong"} }
	unfinished := Result{StatusCode: 200, ErrorClass: ClassTimeout, Duration: timeout,
		Error: "endpoint answered 200 OK but the response body did not finish within 15s"}
	const (
		pass = store.VerdictPass
		warn = store.VerdictWarn
		fail = store.VerdictFail
	)
	type judged struct {
		verdict string
		got     string // a part of Got
		fix     string // a part of Fix; "" wants none
	}
	for _, tc := range []struct {
		name        string
		check       string
		res         Result
		validPassed bool
		want        judged
	}{
		{"valid 2xx", CheckValid, answer(204, 3*time.Millisecond), true, judged{pass, "answered 204 No Content in 3 ms", ""}},
		{"valid 401", CheckValid, answer(401, time.Millisecond), true, judged{fail, "401 Unauthorized", "raw body"}},
		{"valid 410", CheckValid, answer(410, time.Millisecond), true, judged{fail, "410 Gone", "disables the endpoint"}},
		{"valid 500", CheckValid, answer(500, time.Millisecond), true, judged{fail, "500", "logs"}},
		{"valid redirect", CheckValid, answer(302, time.Millisecond), true, judged{fail, "302 Found", "does not follow"}},
		{"valid timeout", CheckValid, noAnswer(ClassTimeout), true, judged{fail, "no answer within 15s", "did not answer within 15s"}},
		{"valid unfinished body", CheckValid, unfinished, true, judged{fail, "did not finish", "did not answer within 15s"}},
		{"valid refused", CheckValid, noAnswer(ClassConnect), true, judged{fail, "no answer (connect)", "running and reachable"}},
		{"valid dns", CheckValid, noAnswer(ClassDNS), true, judged{fail, "no answer (dns)", "does not resolve"}},
		{"valid tls", CheckValid, noAnswer(ClassTLS), true, judged{fail, "no answer (tls)", "certificate"}},
		{"valid blocked", CheckValid, noAnswer(ClassBlocked), true, judged{fail, "not sent", "private address"}},

		{"fast", CheckFast, answer(200, 1999*time.Millisecond), true, judged{pass, "answered in 1.99 s", ""}},
		{"fast even when refused", CheckFast, answer(401, 5*time.Millisecond), true, judged{pass, "answered in 5 ms", ""}},
		{"slow", CheckFast, answer(200, 2500*time.Millisecond), true, judged{warn, "answered in 2.50 s", "Answer within 2 s"}},
		{"too slow", CheckFast, noAnswer(ClassTimeout), true, judged{fail, "no complete answer within 15s", "did not answer"}},
		{"too slow a body", CheckFast, unfinished, true, judged{fail, "no complete answer within 15s", "did not answer"}},
		{"no answer to time", CheckFast, noAnswer(ClassConnect), true, judged{fail, "no answer", "see the valid check"}},

		{"bad signature refused", CheckBadSignature, answer(401, time.Millisecond), true, judged{pass, "401 Unauthorized", ""}},
		{"bad signature 400", CheckBadSignature, answer(400, time.Millisecond), true, judged{pass, "400 Bad Request", ""}},
		{"bad signature accepted", CheckBadSignature, answer(200, time.Millisecond), true, judged{fail, "200 OK", "anyone who knows the URL"}},
		{"refused like everything", CheckBadSignature, answer(401, time.Millisecond), false, judged{warn, "401", "fix the valid check first"}},
		{"bad signature 500", CheckBadSignature, answer(500, time.Millisecond), true, judged{warn, "500", "with a 5xx"}},
		{"bad signature redirect", CheckBadSignature, answer(307, time.Millisecond), true, judged{fail, "307", "not a redirect"}},
		{"bad signature no answer", CheckBadSignature, noAnswer(ClassTimeout), true, judged{fail, "no answer within 15s", "at once"}},
		{"nothing answers", CheckBadSignature, noAnswer(ClassConnect), false, judged{fail, "no answer", "see the valid check"}},
		{"tampered accepted", CheckTamperedBody, answer(202, time.Millisecond), true, judged{fail, "202", "raw bytes"}},
		{"stale accepted", CheckStaleTimestamp, answer(200, time.Millisecond), true, judged{fail, "200", "replayed"}},
		{"future accepted", CheckFutureTimestamp, answer(200, time.Millisecond), true, judged{fail, "200", "10 minutes ahead"}},
		{"future refused", CheckFutureTimestamp, answer(400, time.Millisecond), true, judged{pass, "400", ""}},

		{"duplicate accepted", CheckDuplicate, answer(200, time.Millisecond), true, judged{pass, "cannot be seen from here", ""}},
		{"duplicate 409", CheckDuplicate, answer(409, time.Millisecond), true, judged{fail, "409 Conflict", "Answer 2xx to a repeat"}},
		{"duplicate refused like valid", CheckDuplicate, answer(401, time.Millisecond), false, judged{warn, "401", "fix the valid check first"}},
		{"rotated accepted", CheckRotatedKey, answer(204, time.Millisecond), true, judged{pass, "204", ""}},
		{"rotated refused", CheckRotatedKey, answer(401, time.Millisecond), true, judged{fail, "401", "any one of them verifies"}},
		{"rotated 500", CheckRotatedKey, answer(503, time.Millisecond), true, judged{fail, "503", "logs"}},
		{"rotated timeout", CheckRotatedKey, noAnswer(ClassTimeout), true, judged{fail, "no answer within 15s", "did not answer within 15s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got store.CheckResult
			switch tc.check {
			case CheckValid:
				got = judgeValid(tc.res, timeout)
			case CheckFast:
				got = judgeFast(tc.res, timeout)
			case CheckDuplicate, CheckRotatedKey:
				got = judgeAcceptance(tc.check, tc.res, tc.validPassed, timeout)
			default:
				got = judgeRefusal(tc.check, tc.res, tc.validPassed, timeout)
			}
			require.Equal(t, tc.want.verdict, got.Verdict)
			require.Contains(t, got.Got, tc.want.got)
			if tc.want.fix == "" {
				require.Empty(t, got.Fix)
			} else {
				require.Contains(t, got.Fix, tc.want.fix)
			}
		})
	}
}

func TestTamper(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, out string }{
		{`{"a":"xyz"}`, `{"a":"xya"}`},
		{`{"n":19}`, `{"n":10}`},
		{`{"n":"Z"}`, `{"n":"A"}`},
		{`{"a":"b c"}`, `{"a":"b d"}`},
		{`{}`, `{|`},
	} {
		in := []byte(tc.in)
		out, at := tamper(in)
		require.Equal(t, tc.out, string(out), tc.in)
		require.Equal(t, tc.in, string(in), "the input is left as it was")
		require.NotEqual(t, in[at], out[at])
		require.Equal(t, string(in[:at])+string(in[at+1:]), string(out[:at])+string(out[at+1:]), "one byte only")
	}
}

func TestCheckSpecsAreTheReport(t *testing.T) {
	t.Parallel()
	var names []string
	for _, s := range CheckSpecs() {
		names = append(names, s.Name)
		require.NotEmpty(t, s.Title)
		require.NotEmpty(t, s.Sends)
		require.NotEmpty(t, s.Expects)
	}
	var stepNames []string
	for _, s := range checkSteps {
		stepNames = append(stepNames, s.names...)
	}
	require.Equal(t, names, stepNames, "the steps answer the rows, in order")
	for name := range acceptedFixes {
		require.Contains(t, names, name)
	}
}

// TestCheckResumes runs a check whose first rows were recorded before (by a
// run that died): only the rest are sent.
func TestCheckResumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("webhook-check"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	pool := storetest.DB(t)
	st := store.New(pool)
	s, err := New(pool, st, Config{RunWorkers: true, AllowNetworks: LoopbackNetworks()}) // not started: runCheck is called here
	require.NoError(t, err)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, &storetest.EndpointOpts{URL: srv.URL})
	c, err := st.CreateCheck(ctx, store.Check{TenantID: tn.ID, EndpointID: ep.ID, URL: ep.URL, Payload: []byte(checkBody),
		WebhookID: store.NewID().String()}, 0, 0)
	require.NoError(t, err)
	done := []store.CheckResult{
		{Name: CheckValid, Verdict: store.VerdictPass, Attempt: store.Attempt{URL: ep.URL, StatusCode: 200, StartedAt: time.Now()}},
		{Name: CheckFast, Verdict: store.VerdictPass, Attempt: store.Attempt{URL: ep.URL, StatusCode: 200, StartedAt: time.Now()}},
		{Name: CheckBadSignature, Verdict: store.VerdictPass, Attempt: store.Attempt{URL: ep.URL, StatusCode: 401, StartedAt: time.Now()}},
	}
	require.NoError(t, st.RecordCheckResults(ctx, c.ID, done))

	require.NoError(t, s.runCheck(ctx, c.ID))
	require.Equal(t, []string{CheckTamperedBody, CheckStaleTimestamp, CheckFutureTimestamp, CheckDuplicate, CheckRotatedKey}, got)
	c, err = st.GetCheck(ctx, tn.ID, ep.ID, c.ID)
	require.NoError(t, err)
	require.Equal(t, store.CheckFinished, c.Status)
	require.Len(t, c.Results, 8)

	require.NoError(t, s.runCheck(ctx, c.ID), "a finished check is not run again")
	require.Len(t, got, 5)
}
