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
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(strings.Fields(tt.args), noEnv, io.Discard)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
