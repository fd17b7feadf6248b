package localpg

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// setDaemonAttrs puts postgres in its own process group, so a terminal's
// Ctrl-C reaches only us, and has the kernel send it SIGINT (fast shutdown)
// when the thread that started it exits. launch keeps that thread alive for
// as long as postgres runs, so in practice the signal comes when our
// process dies.
func setDaemonAttrs(attr *syscall.SysProcAttr) {
	attr.Setpgid = true
	attr.Pdeathsig = syscall.SIGINT
}

// processName returns the command name of pid, as in /proc/PID/comm.
func processName(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// removeSharedMemory removes the System V shared memory segment id (IPC_RMID),
// if id is not negative. Errors are ignored: the segment may be gone.
func removeSharedMemory(id int) {
	if id < 0 {
		return
	}
	const ipcRMID = 0
	_, _, _ = syscall.Syscall(syscall.SYS_SHMCTL, uintptr(id), ipcRMID, 0)
}

// killPostmaster kills the postmaster pid and all its children with
// SIGKILL, leaving none a moment to act: the postmaster is stopped first
// (SIGSTOP) so that it forks nothing more and its children do not see it
// die, then its children are killed, then it. Each child leads its own
// session (postgres calls setsid in every child), so one signal to a
// process group would not reach them.
func killPostmaster(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return err
	}
	for _, child := range childrenOf(pid) {
		_ = syscall.Kill(child, syscall.SIGKILL) // it may have exited already
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// childrenOf returns the pids whose parent is pid, from /proc/PID/stat.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat") // the pattern is valid
	var out []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone since the glob
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if child, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
			out = append(out, child)
		}
	}
	return out
}
