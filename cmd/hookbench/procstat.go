package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat. The
// kernel fixes it at 100 in its user ABI on every architecture Go supports,
// so there is no need for sysconf(_SC_CLK_TCK) and cgo.
const clockTicks = 100

// procStat is the part of /proc/<pid>/stat that hookbench reads. Times are
// in clock ticks; utime and stime cover all the process's threads, cutime
// and cstime its children that have exited and been waited for.
type procStat struct {
	PID    int
	Comm   string
	PPID   int
	UTime  uint64
	STime  uint64
	CUTime uint64
	CSTime uint64
}

// ownCPU is the CPU time of the process itself (all its threads).
func (s procStat) ownCPU() time.Duration { return ticks(s.UTime + s.STime) }

// treeCPU adds the CPU of exited children, such as Postgres backends that
// ended during the run and were reaped by the postmaster.
func (s procStat) treeCPU() time.Duration {
	return ticks(s.UTime + s.STime + s.CUTime + s.CSTime)
}

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// parseProcStat parses the one line of /proc/<pid>/stat. The command name
// sits in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseProcStat(line string) (procStat, error) {
	open := strings.IndexByte(line, '(')
	closing := strings.LastIndexByte(line, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("parse stat %q: no (comm)", truncate(line, 80))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("parse stat pid: %w", err)
	}
	// fields[0] is the state (field 3 of proc(5)), so field n is fields[n-3].
	fields := strings.Fields(line[closing+1:])
	if len(fields) < 15 {
		return procStat{}, fmt.Errorf("parse stat of %d: %d fields after comm, want at least 15", pid, len(fields))
	}
	s := procStat{PID: pid, Comm: line[open+1 : closing]}
	if s.PPID, err = strconv.Atoi(fields[1]); err != nil {
		return procStat{}, fmt.Errorf("parse stat ppid of %d: %w", pid, err)
	}
	for i, dst := range []*uint64{&s.UTime, &s.STime, &s.CUTime, &s.CSTime} {
		v, err := strconv.ParseInt(fields[11+i], 10, 64) // cutime and cstime are signed in proc(5)
		if err != nil {
			return procStat{}, fmt.Errorf("parse stat field %d of %d: %w", 14+i, pid, err)
		}
		*dst = uint64(max(v, 0))
	}
	return s, nil
}

// readProcStat reads /proc/<pid>/stat.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat: %w", err)
	}
	return parseProcStat(string(b))
}

// parseVmHWM returns the peak resident set size ("VmHWM") in bytes from the
// text of /proc/<pid>/status.
func parseVmHWM(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse VmHWM %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmHWM: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmHWM line")
}

// peakRSS reads the peak resident set size of pid in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	return parseVmHWM(string(b))
}

// isPostgres reports whether a process is a Postgres server process: its
// comm is "postgres", or its command line starts with a postgres binary or
// with the "postgres: ..." title that backends give themselves.
func isPostgres(comm string, cmdline []byte) bool {
	if comm == "postgres" {
		return true
	}
	if bytes.HasPrefix(cmdline, []byte("postgres:")) {
		return true
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return filepath.Base(string(argv0)) == "postgres"
}

// postgresProc is one Postgres process found under /proc.
type postgresProc struct {
	stat    procStat
	cmdline string // NUL bytes turned into spaces
}

// postgresProcs lists the Postgres processes on the machine. Processes that
// vanish while they are read are skipped.
func postgresProcs() ([]postgresProc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	var out []postgresProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if isPostgres(st.Comm, cmdline) {
			out = append(out, postgresProc{stat: st, cmdline: string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))})
		}
	}
	return out, nil
}

// postgresCPU sums the CPU time of Postgres processes, exited children
// included. With postmaster > 0 it counts only that cluster: the postmaster
// and its children; else every Postgres process on the machine.
func postgresCPU(postmaster int) (cpu time.Duration, procs int, err error) {
	ps, err := postgresProcs()
	if err != nil {
		return 0, 0, err
	}
	for _, p := range ps {
		if postmaster > 0 && p.stat.PID != postmaster && p.stat.PPID != postmaster {
			continue
		}
		cpu += p.stat.treeCPU()
		procs++
	}
	return cpu, procs, nil
}

// findPostmaster returns the pid of the Postgres postmaster whose command
// line mentions dir (its data directory lies under dir), or 0.
func findPostmaster(dir string) int {
	ps, err := postgresProcs()
	if err != nil {
		return 0
	}
	isPG := make(map[int]bool, len(ps))
	for _, p := range ps {
		isPG[p.stat.PID] = true
	}
	for _, p := range ps {
		if !isPG[p.stat.PPID] && strings.Contains(p.cmdline, dir) {
			return p.stat.PID
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
