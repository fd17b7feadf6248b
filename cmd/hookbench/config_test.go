package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args      string
		endpoints int
		plan      plan
	}{
		{"--start", 1, plan{concurrency: 64, messages: 20000, duration: maxDuration}},
		{"--start --scenario fanout", 100, plan{concurrency: 64, messages: 1000, duration: maxDuration}},
		{"--start --scenario fanout --endpoints 10 --messages 50 --duration 1m", 10, plan{concurrency: 64, messages: 50, duration: time.Minute}},
		{"--start --scenario latency", 1, plan{openLoop: true, concurrency: 64, rate: 200, duration: 20 * time.Second}},
		{"--start --scenario publish --duration 5s", 1, plan{openLoop: true, concurrency: 64, rate: 500, duration: 5 * time.Second}},
		{"--start --rate 50 --concurrency 8", 1, plan{openLoop: true, concurrency: 8, rate: 50, duration: 20 * time.Second}},
		{"--start --scenario fresh", 1, plan{concurrency: 64, messages: 1_201_000, duration: time.Minute}},
		{"--start --scenario backlog --duration 3s", 1, plan{concurrency: 64, messages: 1_000_000, duration: maxDuration}},
		{"--start --workers 2 --messages 500", 1, plan{concurrency: 64, messages: 500, duration: maxDuration}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig(strings.Fields(tt.args), noEnv, io.Discard)
			require.NoError(t, err)
			require.Equal(t, tt.endpoints, c.endpoints)
			require.Equal(t, tt.plan, c.plan)
			require.Equal(t, 100, c.verifyEvery)
			require.Regexp(t, `^hookbench-`, c.tenant)
		})
	}
}

func TestParseConfigTarget(t *testing.T) {
	t.Parallel()

	c, err := parseConfig([]string{"--target", "http://127.0.0.1:8080/", "--verify=false"}, func(k string) string {
		if k == "HOOKD_ADMIN_KEY" {
			return "hk_env"
		}
		return ""
	}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8080", c.target)
	require.Equal(t, "hk_env", c.adminKey, "the admin key comes from HOOKD_ADMIN_KEY when not given")
	require.Zero(t, c.verifyEvery)
}

func TestParseConfigRefuses(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args string
		want string
	}{
		{"", "--target"},
		{"--start --target http://127.0.0.1:1", "not both"},
		{"--target http://10.0.0.1:8080 --admin-key k", "not loopback"},
		{"--target http://hookd.example.com --admin-key k", "not loopback"},
		{"--target http://127.0.0.1:8080", "--admin-key"},
		{"--target http://127.0.0.1:8080 --admin-key k --keep", "--keep is for --start"},
		{"--start --hookd-pid 12", "--hookd-pid is for --target"},
		{"--start --scenario storm", "--scenario"},
		{"--start --duration 11m", "at most 10m0s"},
		{"--start --drain-timeout 11m", "at most 10m0s"},
		{"--start --messages 5000001", "want 1 to 5000000"},
		{"--start --messages 0", "want 1 to 5000000"},
		{"--start --rate 10000 --duration 10m", "at most 5000000"},
		{"--start --scenario fanout --messages 50001", "deliveries: at most 5000000"},
		{"--start --rate 0", "--rate"},
		{"--start --scenario latency --messages 10", "--messages is for the closed loop"},
		{"--start --endpoints 0", "--endpoints"},
		{"--start --concurrency 0", "--concurrency"},
		{"--start --payload-bytes 2000000", "--payload-bytes"},
		{"--start --verify-every 0", "--verify-every"},
		{"--start --tenant a/b", "--tenant"},
		{"--start extra", "unexpected arguments"},
		{"--target http://127.0.0.1:8080 --admin-key k --scenario fresh", "needs --start"},
		{"--target http://127.0.0.1:8080 --admin-key k --scenario backlog", "needs --start"},
		{"--target http://127.0.0.1:8080 --admin-key k --workers 2", "--workers is for --start"},
		{"--start --workers 17", "want 1 to 16"},
		{"--start --workers 0", "leave it out"},
		{"--start --scenario fresh --workers 2", "runs hookd dev"},
		{"--start --scenario fresh --messages 10", "publishes for --duration"},
		{"--start --scenario backlog --rate 10", "closed loop"},
		{"--start --scenario backlog --duration 11m", "at most 10m0s"},
		{"--scenario chaos --workers 2", "--workers does not go with --scenario chaos"},
		{"--scenario history --start", "--start does not go with --scenario history"},
		{"--scenario history --attempts 10", "want 1,000 to 1,000,000,000"},
		{"--scenario history --days 1", "want 2 to 365"},
		{"--scenario history --tenants 0", "want 1 to 100,000"},
		{"--start --attempts 1000", "--attempts is for --scenario history"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(strings.Fields(tt.args), noEnv, io.Discard)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestParseConfigIsolation(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args                          string
		plan                          plan
		tenants, perTenant            int
		bad, measured                 int
		onlyHealthy, onlyBad, started bool
	}{
		{"--start --scenario isolation", plan{openLoop: true, concurrency: 64, rate: 300, duration: time.Minute},
			100, 10, 1, 8, false, false, true},
		{"--start --scenario isolation --tenants 3 --endpoints-per-tenant 3 --rate 20 --duration 2s --baseline",
			plan{openLoop: true, concurrency: 64, rate: 20, duration: 2 * time.Second}, 3, 3, 1, 1, true, false, true},
		{"--target http://127.0.0.1:8080 --admin-key k --scenario isolation --endpoints-per-tenant 25 --no-baseline --concurrency 8",
			plan{openLoop: true, concurrency: 8, rate: 300, duration: time.Minute}, 100, 25, 2, 21, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig(strings.Fields(tt.args), noEnv, io.Discard)
			require.NoError(t, err)
			require.Equal(t, "isolation", c.scenario.name)
			require.Equal(t, tt.plan, c.plan)
			require.Equal(t, tt.started, c.start)
			require.Equal(t, tt.tenants, c.iso.tenants)
			require.Equal(t, tt.perTenant, c.iso.perTenant)
			require.Equal(t, tt.perTenant, c.endpoints, "each message goes to its tenant's endpoints")
			require.Equal(t, tt.bad, c.iso.bad())
			require.Equal(t, tt.measured, c.iso.measured())
			require.Equal(t, tt.onlyHealthy, c.iso.onlyHealthy)
			require.Equal(t, tt.onlyBad, c.iso.onlyBad)
			require.Equal(t, 2*time.Minute, c.drainTimeout)
			require.Regexp(t, `^iso-\d{8}-\d{6}-bad-7$`, c.iso.tenantID(halfBad, 7))
		})
	}
}

func TestParseConfigIsolationRefuses(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args string
		want string
	}{
		{"--scenario isolation", "--target"},
		{"--start --scenario isolation --endpoints 5", "--endpoints does not go with --scenario isolation"},
		{"--start --scenario isolation --messages 10", "--messages does not go with"},
		{"--start --scenario isolation --tenant t1", "--tenant does not go with"},
		{"--start --scenario isolation --tenants 0", "--tenants 0: want 1 to 1000"},
		{"--start --scenario isolation --tenants 1001", "--tenants 1001"},
		{"--start --scenario isolation --endpoints-per-tenant 2", "want 3 to 100"},
		{"--start --scenario isolation --endpoints-per-tenant 101", "want 3 to 100"},
		{"--start --scenario isolation --tenants 200 --endpoints-per-tenant 100", "20000 endpoints: at most 10000"},
		{"--start --scenario isolation --baseline --no-baseline", "not both"},
		{"--start --scenario isolation --rate 0", "--rate"},
		{"--start --scenario isolation --rate 10000 --duration 10m", "at most 5000000"},
		{"--start --scenario isolation --duration 11m", "at most 10m0s"},
		{"--start --tenants 5", "--tenants is for --scenario isolation"},
		{"--start --scenario fanout --baseline", "--baseline is for --scenario isolation"},
		{"--scenario chaos --endpoints-per-tenant 4", "--endpoints-per-tenant is for --scenario isolation"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(strings.Fields(tt.args), noEnv, io.Discard)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// Which endpoints are bad is fixed by their index in the tenant: the first
// 10 % (at least one) black holes, the next 10 % answering 500.
func TestIsolationEndpointRoles(t *testing.T) {
	t.Parallel()
	rcv := &receiver{base: "http://r"}
	hole := &blackHole{base: "http://b"}

	tests := []struct {
		perTenant, t, j int
		bad, healthy    string
	}{
		{10, 0, 0, "http://b/hole/0", "http://r/ok/0"},
		{10, 0, 1, "http://r/fail/1", "http://r/ok/1"},
		{10, 0, 2, "http://r/hook/0", "http://r/hook/0"},
		{10, 0, 9, "http://r/hook/7", "http://r/hook/7"},
		{10, 3, 0, "http://b/hole/30", "http://r/ok/30"},
		{10, 3, 1, "http://r/fail/31", "http://r/ok/31"},
		{10, 3, 2, "http://r/hook/24", "http://r/hook/24"},
		{25, 1, 1, "http://b/hole/26", "http://r/ok/26"},
		{25, 1, 3, "http://r/fail/28", "http://r/ok/28"},
		{25, 1, 4, "http://r/hook/21", "http://r/hook/21"},
		{3, 2, 2, "http://r/hook/2", "http://r/hook/2"},
	}
	for _, tt := range tests {
		o := isoOptions{tenants: 5, perTenant: tt.perTenant}
		require.Equal(t, tt.bad, o.endpointURL(tt.t, tt.j, rcv, hole), "%+v with bad endpoints", tt)
		require.Equal(t, tt.healthy, o.endpointURL(tt.t, tt.j, rcv, nil), "%+v all healthy", tt)
	}
}
