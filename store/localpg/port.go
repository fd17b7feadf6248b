package localpg

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// choosePort returns want if it is free, or else the remembered port if it is
// still free, or else a fresh free port. auto reports whether the port was
// picked here rather than asked for.
func (c *Cluster) choosePort(want int) (port int, auto bool, err error) {
	if want != 0 {
		if !portFree(want) {
			return 0, false, fmt.Errorf("port %d on 127.0.0.1 is already in use", want)
		}
		return want, false, nil
	}
	if b, err := os.ReadFile(filepath.Join(c.dataDir, portFileName)); err == nil {
		p, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && p > 0 && p < 1<<16 && portFree(p) {
			return p, true, nil
		}
	}
	p, err := freePort()
	return p, true, err
}

// portFree reports whether port can be bound on 127.0.0.1.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
