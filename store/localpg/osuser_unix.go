//go:build unix

package localpg

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// osUser is the OS user postgres runs as when hookd runs as root.
type osUser struct {
	name     string
	uid, gid uint32
}

// postgresOSUser returns the "postgres" OS user when the current process is
// root, since postgres refuses to run as root, and nil otherwise.
func postgresOSUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	const name = "postgres"
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("postgres refuses to run as root and there is no %q OS user to run it as (create one, e.g. useradd --system postgres, or run as a regular user): %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of OS user %s: %w", name, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of OS user %s: %w", name, err)
	}
	if uid == 0 {
		return nil, fmt.Errorf("OS user %s has uid 0 and postgres refuses to run as root", name)
	}
	return &osUser{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
}

// sysProcAttr returns process attributes that run a child as u, or as the
// current user when u is nil. Supplementary groups are dropped.
func (u *osUser) sysProcAttr() *syscall.SysProcAttr {
	if u == nil {
		return &syscall.SysProcAttr{}
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid}}
}

// chown gives path to u; a nil u leaves it alone.
func (u *osUser) chown(path string) error {
	if u == nil {
		return nil
	}
	return os.Lchown(path, int(u.uid), int(u.gid))
}

// chownTree gives root and everything under it to u, like chown -R.
func (u *osUser) chownTree(root string) error {
	if u == nil {
		return nil
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while walking, e.g. a dead postgres's temp file
		}
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == u.uid && st.Gid == u.gid {
			return nil
		}
		return os.Lchown(path, int(u.uid), int(u.gid))
	})
}

// makeReachable adds the search (execute) permission for u to every parent
// of dir that u could not otherwise enter, such as a 0700 temp dir made by
// root. Only the search bit is added, never read, so u can reach dir but
// not list the parents.
func (u *osUser) makeReachable(dir string, logger *slog.Logger) error {
	if u == nil {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check parent %s of data dir: %w", p, err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if bit := u.searchBit(st.Uid, st.Gid); fi.Mode().Perm()&bit == 0 {
				mode := fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) | bit
				if err := os.Chmod(p, mode); err != nil {
					return fmt.Errorf("let OS user %s enter %s: %w", u.name, p, err)
				}
				logger.Info("made a parent of the data dir enterable by the postgres OS user",
					"dir", p, "user", u.name, "mode", fmt.Sprintf("%#o", mode.Perm()))
			}
		}
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}

// searchBit is the permission bit that decides whether u may enter a
// directory owned by uid and gid.
func (u *osUser) searchBit(uid, gid uint32) fs.FileMode {
	switch {
	case uid == u.uid:
		return 0o100
	case gid == u.gid:
		return 0o010
	default:
		return 0o001
	}
}

// processAlive reports whether pid could be a live postmaster, judged as
// postgres judges its own lock file: a pid we may not signal belongs to
// another user and so is not this data dir's postmaster.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || (!errors.Is(err, syscall.ESRCH) && !errors.Is(err, syscall.EPERM))
}
