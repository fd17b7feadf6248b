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
