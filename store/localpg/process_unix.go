//go:build unix && !linux

package localpg

import "syscall"

// setDaemonAttrs puts postgres in its own process group, so a terminal's
// Ctrl-C reaches only us. Without a parent-death signal outside Linux, a
// postgres whose parent dies without calling Stop keeps running.
func setDaemonAttrs(attr *syscall.SysProcAttr) {
	attr.Setpgid = true
}

// processName is not known outside Linux.
func processName(int) (string, bool) { return "", false }

// removeSharedMemory is left to the next postgres on the data dir outside
// Linux.
func removeSharedMemory(int) {}

// killPostmaster kills the postmaster pid with SIGKILL. Without /proc to
// find its children, they are left to notice its death and exit, which
// postgres children do within moments.
func killPostmaster(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}
