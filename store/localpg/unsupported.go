//go:build !unix

package localpg

import (
	"errors"
	"log/slog"
	"syscall"
)

// osUser is never needed here: only Unix has a root that postgres refuses.
type osUser struct{ name string }

func postgresOSUser() (*osUser, error) {
	return nil, errors.New("localpg supports only Unix-like systems; set DATABASE_URL")
}

func (*osUser) sysProcAttr() *syscall.SysProcAttr        { return &syscall.SysProcAttr{} }
func (*osUser) chown(string) error                       { return nil }
func (*osUser) chownTree(string) error                   { return nil }
func (*osUser) makeReachable(string, *slog.Logger) error { return nil }
func setDaemonAttrs(*syscall.SysProcAttr)                {}
func processAlive(int) bool                              { return false }
func processName(int) (string, bool)                     { return "", false }
func killPostmaster(int) error                           { return errors.New("localpg supports only Unix-like systems") }
func removeSharedMemory(int)                             {}
