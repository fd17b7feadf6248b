package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		line    string
		want    procStat
		wantErr bool
	}{
		{
			name: "postgres backend",
			line: "4242 (postgres) S 4100 4100 4100 0 -1 4194560 1520 0 0 0 1234 567 8 9 20 0 1 0 123456 221184000 2345 18446744073709551615 1 1 0 0 0 0 0 4096 536890375 0 0 0 17 1 0 0 0 0 0\n",
			want: procStat{PID: 4242, Comm: "postgres", PPID: 4100, UTime: 1234, STime: 567, CUTime: 8, CSTime: 9},
		},
		{
			name: "comm with spaces and parentheses",
			line: "77 (a (b) c)) R 1 77 77 0 -1 4194304 10 0 0 0 300 200 -1 0 20 0 4 0 99 1000 10 18446744073709551615",
			want: procStat{PID: 77, Comm: "a (b) c)", PPID: 1, UTime: 300, STime: 200},
		},
		{name: "no comm", line: "12 postgres S 1", wantErr: true},
		{name: "too short", line: "12 (x) S 1 2 3", wantErr: true},
		{name: "bad number", line: "12 (x) S 1 2 3 4 5 6 7 8 9 10 zz 12 13 14 15", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseProcStat(tt.line)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestProcStatCPU(t *testing.T) {
	t.Parallel()

	s := procStat{UTime: 150, STime: 50, CUTime: 100, CSTime: 100}
	require.Equal(t, 2*time.Second, s.ownCPU())
	require.Equal(t, 4*time.Second, s.treeCPU())
}

func TestParseVmHWM(t *testing.T) {
	t.Parallel()

	status := "Name:\thookd\nUmask:\t0022\nVmPeak:\t 1262344 kB\nVmSize:\t 1262344 kB\nVmHWM:\t   84236 kB\nVmRSS:\t   80000 kB\n"
	got, err := parseVmHWM(status)
	require.NoError(t, err)
	require.Equal(t, int64(84236*1024), got)

	_, err = parseVmHWM("Name:\tkthreadd\n")
	require.Error(t, err)
	_, err = parseVmHWM("VmHWM:\t 12 MB\n")
	require.Error(t, err)
}

func TestIsPostgres(t *testing.T) {
	t.Parallel()

	tests := []struct {
		comm    string
		cmdline string
		want    bool
	}{
		{"postgres", "postgres: hookd hookd 127.0.0.1(5555) idle", true},
		{"postgres", "/usr/lib/postgresql/16/bin/postgres\x00-D\x00/tmp/pg", true},
		{"pg15", "/usr/local/bin/postgres\x00-D\x00/tmp/pg\x00", true},
		{"pg15", "postgres: checkpointer ", true},
		{"hookd", "/tmp/hookd\x00dev", false},
		{"bash", "bash\x00-c\x00postgres", false},
		{"postgres_exporter", "/usr/bin/postgres_exporter", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, isPostgres(tt.comm, []byte(tt.cmdline)), "%s %q", tt.comm, tt.cmdline)
	}
}

func TestReadOwnProcess(t *testing.T) {
	t.Parallel()

	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	st, err := readProcStat(os.Getpid())
	require.NoError(t, err)
	require.Equal(t, os.Getpid(), st.PID)
	require.Equal(t, os.Getppid(), st.PPID)

	rss, err := peakRSS(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, rss)
}

// The machine's busy time is all of /proc/stat's first line but idle and
// iowait (guest time is already in user), and steal is told apart.
func TestParseMachineCPU(t *testing.T) {
	t.Parallel()
	//              user nice system idle iowait irq softirq steal guest guest_nice
	busy, steal, ok := parseMachineCPU("cpu  100 2 30 900 7 0 5 40 11 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	require.True(t, ok)
	require.Equal(t, ticks(100+2+30+0+5+40), busy)
	require.Equal(t, ticks(40), steal)
	_, _, ok = parseMachineCPU("intr 1 2 3\n")
	require.False(t, ok)
}

// When the hypervisor takes more of the cores than anything of ours, the
// report says so rather than blaming hookd or Postgres.
func TestLimitNamesSteal(t *testing.T) {
	t.Parallel()
	before := resources{at: time.Unix(0, 0), hookdOK: true, pgOK: true, benchOK: true, machineOK: true}
	after := before
	after.at = time.Unix(10, 0)
	after.hookdCPU, after.pgCPU, after.benchCPU = 4*time.Second, 5*time.Second, 2*time.Second
	after.machineCPU, after.stealCPU = 19*time.Second, 7*time.Second
	c := newCoresUsed(before, after)
	require.InDelta(t, 0.7, *c.Steal, 1e-9)
	require.InDelta(t, 0.1, *c.Others, 1e-9, "steal is not another process")
	l := c.limit(2)
	require.Contains(t, l, "the most: the hypervisor, running other machines (steal)")
	require.Contains(t, l, "the hypervisor's steal 0.70 of 2 cores")
}
