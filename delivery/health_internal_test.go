package delivery

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The last error the pages show says what the endpoint's server answered.
func TestFailureSummary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		res  Result
		want string
	}{
		{"status and body", Result{StatusCode: 500, ResponseBody: []byte("upstream exploded\n")}, "answered 500 Internal Server Error: upstream exploded"},
		{"no body", Result{StatusCode: 404}, "answered 404 Not Found"},
		{"unknown status", Result{StatusCode: 599, ResponseBody: []byte("x")}, "answered 599: x"},
		{"one line", Result{StatusCode: 503, ResponseBody: []byte("<h1>Down</h1>\r\n\t<p>back soon</p>")}, "answered 503 Service Unavailable: <h1>Down</h1> <p>back soon</p>"},
		{"no NUL, valid UTF-8", Result{StatusCode: 502, ResponseBody: []byte("a\x00b\xffc")}, "answered 502 Bad Gateway: ab\uFFFDc"},
		{"no answer", Result{ErrorClass: ClassTimeout, Error: "no answer within 5s"}, "timeout: no answer within 5s"},
		{"2xx cut short", Result{StatusCode: 200, ErrorClass: ClassTimeout, Error: "endpoint answered 200 OK but the response body did not finish within 5s"},
			"timeout: endpoint answered 200 OK but the response body did not finish within 5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, failureSummary(tc.res))
		})
	}
	long := failureSummary(Result{StatusCode: 500, ResponseBody: []byte(strings.Repeat("é", 300))})
	require.LessOrEqual(t, len(long), len("answered 500 Internal Server Error: ")+200+len("…"))
	require.True(t, strings.HasSuffix(long, "é…"), "cut between runes: %q", long)
}
