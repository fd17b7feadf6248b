package main

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	e, err := loadEnv(mapEnv(map[string]string{
		"HOOKD_RETRY_SCHEDULE":           "1s, 2m",
		"HOOKD_MAX_PAYLOAD_BYTES":        "2048",
		"HOOKD_WORKERS":                  "8",
		"HOOKD_DB_MAX_CONNS":             "12",
		"HOOKD_LOG_FORMAT":               "json",
		"HOOKD_ADMIN_KEY":                " hk_admin_x ",
		"HOOKD_ALLOW_NETWORKS":           "10.1.0.0/16, fd00::/8",
		"HOOKD_RETENTION":                "7d",
		"HOOKD_READ_TIMEOUT":             "45s",
		"HOOKD_MAX_ENDPOINTS_PER_TENANT": "500",
		"HOOKD_TEST_SENDS_PER_MINUTE":    "3",
		"HOOKD_SCHEMA":                   " hookd_1 ",
	}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, []time.Duration{time.Second, 2 * time.Minute}, []time.Duration(e.Schedule))
	require.Equal(t, int64(2048), e.MaxPayload)
	require.Equal(t, 8, e.Workers)
	require.Equal(t, int32(12), e.MaxConns)
	require.Equal(t, "hk_admin_x", e.AdminKey)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00::/8")}, e.AllowNetworks)
	require.Equal(t, e.AllowNetworks, e.deliveryConfig(true).AllowNetworks)
	require.Equal(t, 7*24*time.Hour, e.deliveryConfig(true).Retention)
	require.Equal(t, 45*time.Second, httpServer(nil, e).ReadTimeout)
	require.Equal(t, 500, e.MaxEndpointsPerTenant)
	require.Equal(t, 3, e.TestSendsPerMinute)
	def, err := loadEnv(mapEnv(nil), io.Discard)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, httpServer(nil, def).ReadTimeout, "a request has 30s to arrive by default")
	require.Equal(t, "hookd_1", e.Schema)
	require.Equal(t, "hookd_1", e.deliveryConfig(false).Schema)
	require.Equal(t, "_"+strings.Repeat("x", maxSchemaLen-1), mustLoad(t, "HOOKD_SCHEMA", "_"+strings.Repeat("x", maxSchemaLen-1)).Schema)
	forever, err := loadEnv(mapEnv(map[string]string{"HOOKD_RETENTION": "forever"}), io.Discard)
	require.NoError(t, err)
	require.Negative(t, forever.Retention)

	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"schedule", "HOOKD_RETRY_SCHEDULE", "5s,soon", "HOOKD_RETRY_SCHEDULE is not valid"},
		{"payload", "HOOKD_MAX_PAYLOAD_BYTES", "1MB", "HOOKD_MAX_PAYLOAD_BYTES"},
		{"workers", "HOOKD_WORKERS", "0", "HOOKD_WORKERS"},
		{"conns", "HOOKD_DB_MAX_CONNS", "many", "HOOKD_DB_MAX_CONNS"},
		{"networks", "HOOKD_ALLOW_NETWORKS", "10.0.0.0/33", "HOOKD_ALLOW_NETWORKS is not valid"},
		{"level", "HOOKD_LOG_LEVEL", "loud", "HOOKD_LOG_LEVEL"},
		{"format", "HOOKD_LOG_FORMAT", "xml", "HOOKD_LOG_FORMAT"},
		{"retention", "HOOKD_RETENTION", "a month", "HOOKD_RETENTION"},
		{"read timeout", "HOOKD_READ_TIMEOUT", "30", "HOOKD_READ_TIMEOUT"},
		{"endpoints", "HOOKD_MAX_ENDPOINTS_PER_TENANT", "0", "HOOKD_MAX_ENDPOINTS_PER_TENANT"},
		{"test sends", "HOOKD_TEST_SENDS_PER_MINUTE", "-1", "HOOKD_TEST_SENDS_PER_MINUTE"},
		{"schema upper case", "HOOKD_SCHEMA", "Hooks", `HOOKD_SCHEMA is "Hooks"; give a Postgres schema name`},
		{"schema with a dash", "HOOKD_SCHEMA", "my-hooks", "HOOKD_SCHEMA"},
		{"schema with a dot", "HOOKD_SCHEMA", "app.hooks", "HOOKD_SCHEMA"},
		{"schema quoted", "HOOKD_SCHEMA", `"hooks"`, "HOOKD_SCHEMA"},
		{"schema from a digit", "HOOKD_SCHEMA", "1hooks", "HOOKD_SCHEMA"},
		{"schema of the system", "HOOKD_SCHEMA", "pg_hooks", "not with pg_"},
		{"schema too long", "HOOKD_SCHEMA", strings.Repeat("h", maxSchemaLen+1), "HOOKD_SCHEMA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadEnv(mapEnv(map[string]string{tc.key: tc.value}), io.Discard)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, 2, exitCode(err))
		})
	}
}

func TestLoadEnvEmbedOrigins(t *testing.T) {
	t.Parallel()
	e, err := loadEnv(mapEnv(map[string]string{}), io.Discard)
	require.NoError(t, err)
	require.Empty(t, e.Brand.EmbedOrigins, "by default no site may embed the portal")

	e, err = loadEnv(mapEnv(map[string]string{
		"HOOKD_PORTAL_EMBED_ORIGINS": " https://App.Example.com/ ,http://127.0.0.2:3000,, ",
	}), io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"https://app.example.com", "http://127.0.0.2:3000"}, e.Brand.EmbedOrigins)

	for _, tc := range []struct{ value, want string }{
		{"app.example.com", `"app.example.com" is not an origin: it must start with https:// or http://`},
		{"https://app.example.com/settings", "with no path"},
		{"https://ok.example.com,https://*.example.com", "wildcard"},
		{"https://app.example.com:70000", "the port must be a number from 1 to 65535"},
	} {
		_, err := loadEnv(mapEnv(map[string]string{"HOOKD_PORTAL_EMBED_ORIGINS": tc.value}), io.Discard)
		require.ErrorContains(t, err, "HOOKD_PORTAL_EMBED_ORIGINS is not valid: ", tc.value)
		require.ErrorContains(t, err, tc.want, tc.value)
		require.ErrorContains(t, err, "separated by commas, like https://app.example.com", tc.value)
		require.Equal(t, 2, exitCode(err))
	}
}

func mustLoad(t *testing.T, key, value string) env {
	t.Helper()
	e, err := loadEnv(mapEnv(map[string]string{key: value}), io.Discard)
	require.NoError(t, err)
	return e
}

func TestParseTimeFlag(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"24h", now.Add(-24 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"2026-03-01T08:30:00Z", time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)},
	} {
		got, err := parseTimeFlag("since", tc.in, now)
		require.NoError(t, err, tc.in)
		require.True(t, tc.want.Equal(got), "%s: got %s, want %s", tc.in, got, tc.want)
	}
	for _, bad := range []string{"", "yesterday", "-1h", "0s", "xd", "2026-03-01"} {
		_, err := parseTimeFlag("since", bad, now)
		require.ErrorContains(t, err, "--since", bad)
		require.Equal(t, 2, exitCode(err), bad)
	}
}

func TestDevAdminKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	key, _, err := devAdminKey("", dir)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^hk_admin_[A-Za-z0-9_-]{43}$`), key)
	fi, err := os.Stat(filepath.Join(dir, devAdminKeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, from, err := devAdminKey("", dir)
	require.NoError(t, err)
	require.Equal(t, key, again, "the kept key is reused")
	require.Contains(t, from, dir)

	env, _, err := devAdminKey("hk_admin_from_env", dir)
	require.NoError(t, err)
	require.Equal(t, "hk_admin_from_env", env)
}

func TestLockDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, devLockFile)
	release, err := lockDataDir(path, dir)
	require.NoError(t, err)
	_, err = lockDataDir(path, dir)
	require.ErrorContains(t, err, "hookd dev is already running with data dir "+dir+" (pid ")
	release()
	// A fork by a parallel test shares the lock's file until its exec, so
	// allow the lock a moment to come free.
	require.Eventually(t, func() bool {
		release, err = lockDataDir(path, dir)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "the lock is free again after release")
	release()
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: nil, code: 2, stderr: "usage: hookd <command>"},
		{args: []string{"frob"}, code: 2, stderr: `unknown command "frob"`},
		{args: []string{"help"}, code: 0, stdout: "usage: hookd <command>"},
		{args: []string{"help", "replay"}, code: 0, stdout: "usage: hookd replay"},
		{args: []string{"serve", "-h"}, code: 0, stdout: "--role"},
		{args: []string{"version"}, code: 0, stdout: "hookd "},
		{args: []string{"replay", "--since", "1h", "--status", "lost"}, code: 2, stderr: `--status is "lost"`},
		{args: []string{"replay", "--since", "1h", "--until", "2h"}, code: 2, stderr: "must be after --since"},
		{args: []string{"replay", "--nope"}, code: 2, stderr: "flag provided but not defined: -nope"},
		{args: []string{"replay", "--since", "1h"}, code: 2, stderr: "DATABASE_URL is not set"},
		{args: []string{"migrate"}, code: 2, stderr: "DATABASE_URL is not set"},
		{args: []string{"serve"}, code: 2, stderr: "DATABASE_URL is not set"},
		{args: []string{"serve", "--role", "both"}, code: 2, stderr: `--role is "both"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, mapEnv(nil), func() {})
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", &stdout, &stderr)
			require.Contains(t, stdout.String(), tc.stdout)
			require.Contains(t, stderr.String(), tc.stderr)
			if tc.code == 2 && len(tc.args) > 0 && tc.args[0] != "frob" {
				require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one sentence: %q", &stderr)
			}
		})
	}
}

func TestServeNeedsAdminKey(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	getenv := mapEnv(map[string]string{"DATABASE_URL": "postgres://hookd@127.0.0.1:1/hookd",
		"HOOKD_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	code := run(context.Background(), []string{"serve", "--role", "api"}, &stdout, &stderr, getenv, func() {})
	require.Equal(t, 2, code)
	require.Contains(t, stderr.String(), "HOOKD_ADMIN_KEY is not set")
}

func TestServeNeedsSecretKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, want string }{
		{"", "HOOKD_SECRET_KEY is not set"},
		{"not-base64!", "HOOKD_SECRET_KEY is not a valid secret key"},
	} {
		var stdout, stderr bytes.Buffer
		getenv := mapEnv(map[string]string{"DATABASE_URL": "postgres://hookd@127.0.0.1:1/hookd",
			"HOOKD_ADMIN_KEY": "hk_admin_x", "HOOKD_SECRET_KEY": tc.key})
		code := run(context.Background(), []string{"serve"}, &stdout, &stderr, getenv, func() {})
		require.Equal(t, 2, code, "stderr: %s", &stderr)
		require.Contains(t, stderr.String(), tc.want)
		require.Contains(t, stderr.String(), "gen-secret-key")
	}
}
