package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// resources is a reading of CPU counters.
type resources struct {
	at         time.Time
	hookdCPU   time.Duration // summed over the hookd processes
	hookdOK    bool
	perProc    map[int]time.Duration // by pid
	pgCPU      time.Duration
	pgProcs    int
	pgOK       bool
	benchCPU   time.Duration
	benchOK    bool
	machineCPU time.Duration // busy time of the whole machine, all cores
	stealCPU   time.Duration // of which the hypervisor ran other machines
	machineOK  bool
}

// targetProcs is the --target hookd, when its pid is known.
func targetProcs(pid int) []hookdRef {
	if pid <= 0 {
		return nil
	}
	return []hookdRef{{role: "target", pid: pid}}
}

// sampleResources reads the CPU counters of the hookd processes, Postgres,
// hookbench itself and the whole machine.
func sampleResources(procs []hookdRef, postgresPID int) resources {
	r := resources{at: time.Now(), perProc: map[int]time.Duration{}}
	if st, err := readProcStat(os.Getpid()); err == nil {
		r.benchCPU, r.benchOK = st.ownCPU(), true
	}
	r.hookdOK = len(procs) > 0
	for _, p := range procs {
		st, err := readProcStat(p.pid)
		if err != nil {
			r.hookdOK = false
			continue
		}
		r.perProc[p.pid] = st.ownCPU()
		r.hookdCPU += st.ownCPU()
	}
	if cpu, n, err := postgresCPU(postgresPID); err == nil {
		r.pgCPU, r.pgProcs, r.pgOK = cpu, n, true
	}
	r.machineCPU, r.stealCPU, r.machineOK = machineCPU()
	return r
}

// peakRSSes reads the peak RSS of each process, by pid.
func peakRSSes(procs []hookdRef) map[int]int64 {
	out := map[int]int64{}
	for _, p := range procs {
		if rss, err := peakRSS(p.pid); err == nil {
			out[p.pid] = rss
		}
	}
	return out
}

func describeProcs(procs []hookdRef) string {
	parts := make([]string, len(procs))
	for i, p := range procs {
		parts[i] = p.role + " " + strconv.Itoa(p.pid)
	}
	return strings.Join(parts, ", ")
}

// hookdProcUse is what one hookd process cost over a run.
type hookdProcUse struct {
	Role         string   `json:"role"`
	PID          int      `json:"pid"`
	CPUSeconds   *float64 `json:"cpu_s"`
	CPUPer1k     *float64 `json:"cpu_s_per_1k_deliveries"`
	PeakRSSBytes *int64   `json:"peak_rss_bytes"`
}

// procUses breaks the hookd cost down by process; n is the deliveries.
func procUses(procs []hookdRef, before, after resources, rss map[int]int64, n int) []hookdProcUse {
	out := make([]hookdProcUse, 0, len(procs))
	for _, p := range procs {
		u := hookdProcUse{Role: p.role, PID: p.pid}
		b, okB := before.perProc[p.pid]
		a, okA := after.perProc[p.pid]
		if okB && okA {
			u.CPUSeconds = ptr((a - b).Seconds())
			if n > 0 {
				u.CPUPer1k = ptr((a - b).Seconds() / float64(n) * 1000)
			}
		}
		if v, ok := rss[p.pid]; ok {
			u.PeakRSSBytes = ptr(v)
		}
		out = append(out, u)
	}
	return out
}

// coresUsed is how many cores each side kept busy on average over a run:
// CPU seconds over wall seconds.
type coresUsed struct {
	Seconds   float64  `json:"seconds"` // the wall time measured
	Hookd     *float64 `json:"hookd"`
	Postgres  *float64 `json:"postgres"`
	Hookbench *float64 `json:"hookbench"`
	Machine   *float64 `json:"machine"` // every process on the machine
	Others    *float64 `json:"others"`  // the machine less hookd, Postgres, hookbench and steal
	// Steal is the time this virtual machine's cores wanted to run and the
	// hypervisor ran other machines: a shared host's noise, counted in
	// Machine.
	Steal *float64 `json:"steal"`
}

func newCoresUsed(before, after resources) *coresUsed {
	wall := after.at.Sub(before.at).Seconds()
	if wall <= 0 {
		return nil
	}
	c := &coresUsed{Seconds: wall}
	per := func(a, b time.Duration) *float64 { return ptr((a - b).Seconds() / wall) }
	if before.hookdOK && after.hookdOK {
		c.Hookd = per(after.hookdCPU, before.hookdCPU)
	}
	if before.pgOK && after.pgOK {
		c.Postgres = per(after.pgCPU, before.pgCPU)
	}
	if before.benchOK && after.benchOK {
		c.Hookbench = per(after.benchCPU, before.benchCPU)
	}
	if before.machineOK && after.machineOK {
		c.Machine = per(after.machineCPU, before.machineCPU)
		c.Steal = per(after.stealCPU, before.stealCPU)
		if c.Hookd != nil && c.Postgres != nil && c.Hookbench != nil {
			c.Others = ptr(max(0, *c.Machine-*c.Hookd-*c.Postgres-*c.Hookbench-*c.Steal))
		}
	}
	return c
}

// limit says what most likely bounded a run's rate, from where the CPU
// went: a rough reading, not a profile.
func (c *coresUsed) limit(cores int) string {
	if c == nil || c.Machine == nil || c.Hookd == nil || c.Postgres == nil || c.Hookbench == nil || c.Steal == nil {
		return "unknown (CPU counters missing)"
	}
	sides := fmt.Sprintf("hookd %.2f, Postgres %.2f, hookbench %.2f, other processes %.2f, the hypervisor's steal %.2f of %d cores",
		*c.Hookd, *c.Postgres, *c.Hookbench, *c.Others, *c.Steal, cores)
	if *c.Machine >= 0.85*float64(cores) {
		top, v := "hookd", *c.Hookd
		if *c.Postgres > v {
			top, v = "Postgres", *c.Postgres
		}
		if *c.Hookbench > v {
			top, v = "hookbench (the load tool)", *c.Hookbench
		}
		if *c.Others > v {
			top, v = "other processes on the machine", *c.Others
		}
		if *c.Steal > v {
			top = "the hypervisor, running other machines (steal)"
		}
		return fmt.Sprintf("the machine's CPU (%.2f of %d cores busy; the most: %s): %s", *c.Machine, cores, top, sides)
	}
	return fmt.Sprintf("not CPU (%.2f of %d cores busy): waits, such as commits, locks, River's fetch interval or the in-flight cap: %s", *c.Machine, cores, sides)
}
