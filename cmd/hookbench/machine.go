package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machineInfo names the machine a result was measured on, so that two
// results can be compared: the CPU, the memory, how busy the machine was,
// the Go that built the tools, and the Postgres that hookd used with the
// settings that matter for its speed.
type machineInfo struct {
	CPUModel       string      `json:"cpu_model"`
	Cores          int         `json:"cores"`
	MemoryBytes    int64       `json:"memory_bytes"`
	LoadStart      string      `json:"loadavg_start"`
	LoadEnd        string      `json:"loadavg_end"`
	GoVersion      string      `json:"go_version"` // hookbench's
	HookdGoVersion string      `json:"hookd_go_version,omitempty"`
	HookdRevision  string      `json:"hookd_revision,omitempty"`
	Postgres       *pgSettings `json:"postgres"`
	PostgresNote   string      `json:"postgres_note,omitempty"` // why Postgres is null
}

// pgSettings is the server's version and the settings that shape its
// speed.
type pgSettings struct {
	Version  string            `json:"server_version"`
	Settings map[string]string `json:"settings"`
}

// pgSettingNames are the settings a report shows, in order.
var pgSettingNames = []string{"shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_connections",
	"work_mem", "checkpoint_timeout", "max_wal_size"}

// newMachineInfo reads the machine's CPU, memory and load average now, and
// the Go version of hookdBin when it is given.
func newMachineInfo(hookdBin string) *machineInfo {
	m := &machineInfo{CPUModel: cpuModel(), Cores: runtime.NumCPU(), MemoryBytes: memTotal(),
		LoadStart: loadAvg(), GoVersion: runtime.Version()}
	if hookdBin != "" {
		if bi, err := buildinfo.ReadFile(hookdBin); err == nil {
			m.HookdGoVersion = bi.GoVersion
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					m.HookdRevision = s.Value
				}
			}
		}
	}
	return m
}

// readPostgres fills in the Postgres of dbURL; without one it says why.
func (m *machineInfo) readPostgres(ctx context.Context, dbURL string) {
	if dbURL == "" {
		m.PostgresNote = "no database URL (give --database-url)"
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pg, err := openPGStats(ctx, dbURL)
	if err != nil {
		m.PostgresNote = err.Error()
		return
	}
	defer pg.close(ctx)
	s, err := pg.settings(ctx)
	if err != nil {
		m.PostgresNote = err.Error()
		return
	}
	m.Postgres = &s
}

// finish takes the load average at the end of the run.
func (m *machineInfo) finish() { m.LoadEnd = loadAvg() }

// settings reads SHOW server_version and the settings of pgSettingNames,
// with their units (shared_buffers "128MB").
func (p *pgStats) settings(ctx context.Context) (pgSettings, error) {
	s := pgSettings{Settings: map[string]string{}}
	if err := p.conn.QueryRow(ctx, "SHOW server_version").Scan(&s.Version); err != nil {
		return pgSettings{}, fmt.Errorf("read server_version: %w", err)
	}
	for _, name := range pgSettingNames {
		var v string
		// SHOW takes no parameters; the names are ours, not input.
		if err := p.conn.QueryRow(ctx, "SHOW "+name).Scan(&v); err != nil {
			return pgSettings{}, fmt.Errorf("read %s: %w", name, err)
		}
		s.Settings[name] = v
	}
	return s, nil
}

// write prints the machine as a few lines of text.
func (m *machineInfo) write(w io.Writer) {
	if m == nil {
		return
	}
	fmt.Fprintf(w, "machine   %s, %d cores, %.1f GiB; load average %s at the start, %s at the end\n",
		m.CPUModel, m.Cores, float64(m.MemoryBytes)/(1<<30), orNA(m.LoadStart), orNA(m.LoadEnd))
	hookdGo := ""
	if m.HookdGoVersion != "" {
		hookdGo = ", hookd built with " + m.HookdGoVersion
		if m.HookdRevision != "" {
			hookdGo += " at " + truncate(m.HookdRevision, 12)
		}
	}
	fmt.Fprintf(w, "go        hookbench %s%s\n", m.GoVersion, hookdGo)
	if m.Postgres == nil {
		fmt.Fprintf(w, "postgres  n/a (%s)\n", m.PostgresNote)
		return
	}
	parts := make([]string, 0, len(pgSettingNames))
	for _, n := range pgSettingNames {
		parts = append(parts, n+"="+m.Postgres.Settings[n])
	}
	fmt.Fprintf(w, "postgres  %s; %s\n", m.Postgres.Version, strings.Join(parts, " "))
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// cpuModel is the "model name" of /proc/cpuinfo, or runtime.GOARCH.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// memTotal is MemTotal of /proc/meminfo in bytes, 0 where there is none.
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 2 && f[1] == "kB" {
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// machineCPU reads the first line of /proc/stat: the CPU time the whole
// machine has spent busy (all but idle and iowait), summed over its cores,
// and of that the steal time: time a virtual machine's cores wanted to
// run but the hypervisor ran other machines.
func machineCPU() (busy, steal time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	return parseMachineCPU(string(b))
}

func parseMachineCPU(stat string) (busy, steal time.Duration, ok bool) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, false
	}
	var sum, stolen uint64
	for i, s := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		sum += v
		if i == 7 {
			stolen = v
		}
	}
	return ticks(sum), ticks(stolen), true
}
