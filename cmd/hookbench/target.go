package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// checkLoopbackURL accepts an http(s) base URL whose host is a loopback
// address (127.0.0.0/8, ::1) or "localhost", and refuses every other host:
// hookbench sends traffic to loopback only.
func checkLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: give a base URL without user, query or fragment", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%q: host %q is not loopback; hookbench only sends to 127.0.0.1, ::1 or localhost", raw, u.Hostname())
	}
	return u, nil
}

// isLoopbackHost reports whether host is a loopback IP literal or "localhost".
// Names other than localhost are refused rather than resolved.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false
	}
	return addr.Unmap().IsLoopback()
}

// checkLoopbackDial is a net.Dialer Control function: it refuses to open a
// socket to anything but a loopback address (or a Unix socket), whatever a
// name resolved to. It is the guard under checkLoopbackURL.
func checkLoopbackDial(network, address string, _ syscall.RawConn) error {
	if strings.HasPrefix(network, "unix") {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: not an IP address", network, address)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("dial %s %s: refused, hookbench only connects to loopback", network, address)
	}
	return nil
}

// loopbackDialContext dials like net.Dialer but only to loopback.
func loopbackDialContext() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: checkLoopbackDial}
	return d.DialContext
}
