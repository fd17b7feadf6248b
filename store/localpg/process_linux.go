package localpg

import (
	"os"
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
