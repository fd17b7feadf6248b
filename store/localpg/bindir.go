package localpg

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debianBinGlob is where Debian and Ubuntu install each Postgres major
// version's server binaries, none of which are on PATH there.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// FindBinDir returns the directory holding initdb and postgres. It looks, in
// order, next to the initdb on PATH (following symlinks), at
// `pg_config --bindir`, and at the highest version under
// /usr/lib/postgresql/*/bin. If none has both, the error wraps ErrNoBinaries
// and says what to install.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(p); err == nil && hasBinaries(filepath.Dir(resolved)) {
			return filepath.Dir(resolved), nil
		}
		if hasBinaries(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); dir != "" && hasBinaries(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(debianBinGlob) // the pattern is valid
	sortByVersionDesc(dirs)
	for _, dir := range dirs {
		if hasBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (looked on PATH, pg_config --bindir and %s): install Postgres 14 or newer (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16) or set DATABASE_URL", ErrNoBinaries, debianBinGlob)
}

// hasBinaries reports whether dir holds the executables Start runs.
func hasBinaries(dir string) bool {
	return isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres"))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// sortByVersionDesc sorts /usr/lib/postgresql/<version>/bin paths by
// version, highest first, comparing numerically so 10 beats 9.6.
func sortByVersionDesc(dirs []string) {
	slices.SortStableFunc(dirs, func(a, b string) int {
		return compareVersions(versionOf(b), versionOf(a))
	})
}

// versionOf parses the version directory above bin, e.g. "9.6" to [9 6].
// Non-numeric parts count as 0.
func versionOf(binDir string) []int {
	var v []int
	for _, part := range strings.Split(filepath.Base(filepath.Dir(binDir)), ".") {
		n, _ := strconv.Atoi(part)
		v = append(v, n)
	}
	return v
}

func compareVersions(a, b []int) int {
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
