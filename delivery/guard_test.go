package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// No test in this file opens a connection to anything but an httptest
// server on loopback: the classifier is exercised on parsed addresses only.

func TestGuardAllowed(t *testing.T) {
	t.Parallel()

	strict := NewGuard(nil)
	dev := NewGuard([]netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	})

	tests := []struct {
		addr      string
		strictOK  bool
		devOK     bool
		rangeName string
	}{
		// IPv4 special-purpose ranges.
		{"127.0.0.1", false, true, "loopback"},
		{"127.255.255.254", false, true, "loopback"},
		{"10.0.0.1", false, false, "RFC 1918"},
		{"10.255.255.255", false, false, "RFC 1918"},
		{"172.16.0.1", false, false, "RFC 1918"},
		{"172.31.255.255", false, false, "RFC 1918"},
		{"192.168.1.1", false, false, "RFC 1918"},
		{"169.254.169.254", false, false, "link-local, cloud metadata"},
		{"169.254.0.1", false, false, "link-local"},
		{"100.64.0.1", false, false, "CGNAT"},
		{"100.127.255.255", false, false, "CGNAT"},
		{"0.0.0.0", false, false, "unspecified"},
		{"0.1.2.3", false, false, "this network"},
		{"224.0.0.1", false, false, "multicast"},
		{"239.255.255.250", false, false, "multicast"},
		{"255.255.255.255", false, false, "broadcast"},
		{"240.0.0.1", false, false, "reserved"},
		{"192.0.0.1", false, false, "IETF protocol assignments"},
		{"192.0.2.1", false, false, "TEST-NET-1"},
		{"198.18.0.1", false, false, "benchmarking"},
		{"198.51.100.1", false, false, "TEST-NET-2"},
		{"203.0.113.1", false, false, "TEST-NET-3"},
		// IPv6 special-purpose ranges.
		{"::1", false, true, "loopback"},
		{"::", false, false, "unspecified"},
		{"fe80::1", false, false, "link-local"},
		{"fe80::1%eth0", false, false, "link-local with zone"},
		{"fc00::1", false, false, "ULA"},
		{"fd12:3456:789a::1", false, false, "ULA"},
		{"fec0::1", false, false, "deprecated site-local"},
		{"ff02::1", false, false, "multicast"},
		{"ff05::1:3", false, false, "multicast"},
		{"100::1", false, false, "discard-only"},
		{"2001:db8::1", false, false, "documentation"},
		{"2002:7f00:1::", false, false, "6to4 of 127.0.0.1"},
		{"64:ff9b::7f00:1", false, false, "NAT64 of 127.0.0.1"},
		{"::7f00:1", false, false, "IPv4-compatible 127.0.0.1"},
		// IPv4-mapped IPv6 forms are judged as the IPv4 address.
		{"::ffff:127.0.0.1", false, true, "mapped loopback"},
		{"::ffff:10.0.0.1", false, false, "mapped RFC 1918"},
		{"::ffff:169.254.169.254", false, false, "mapped metadata"},
		{"::ffff:0.0.0.0", false, false, "mapped unspecified"},
		{"::ffff:8.8.8.8", true, true, "mapped public"},
		// Globally routable.
		{"8.8.8.8", true, true, "public"},
		{"1.1.1.1", true, true, "public"},
		{"11.0.0.1", true, true, "just past 10/8"},
		{"100.63.255.255", true, true, "just below CGNAT"},
		{"100.128.0.0", true, true, "just past CGNAT"},
		{"172.15.255.255", true, true, "just below 172.16/12"},
		{"172.32.0.0", true, true, "just past 172.16/12"},
		{"192.169.0.1", true, true, "just past 192.168/16"},
		{"2606:4700:4700::1111", true, true, "public v6"},
		{"2a00:1450:4001::1", true, true, "public v6"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			a := netip.MustParseAddr(tt.addr)
			require.Equal(t, tt.strictOK, strict.Allowed(a), "strict guard, %s", tt.rangeName)
			require.Equal(t, tt.devOK, dev.Allowed(a), "guard allowing loopback, %s", tt.rangeName)
		})
	}

	t.Run("zero addr", func(t *testing.T) {
		t.Parallel()
		require.False(t, strict.Allowed(netip.Addr{}))
		require.False(t, dev.Allowed(netip.Addr{}))
	})
	t.Run("nil guard allows all", func(t *testing.T) {
		t.Parallel()
		var g *Guard
		require.True(t, g.Allowed(netip.MustParseAddr("127.0.0.1")))
		require.NoError(t, g.Control("tcp4", "127.0.0.1:80", nil))
	})
	t.Run("mapped allow prefix", func(t *testing.T) {
		t.Parallel()
		g := NewGuard([]netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")})
		require.True(t, g.Allowed(netip.MustParseAddr("10.1.2.3")))
		require.True(t, g.Allowed(netip.MustParseAddr("::ffff:10.1.2.3")))
		require.False(t, g.Allowed(netip.MustParseAddr("192.168.0.1")))
		require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, g.AllowedNetworks())
	})
}

// Control only classifies the address it is handed; a nil RawConn proves
// no socket exists.
func TestGuardControl(t *testing.T) {
	t.Parallel()

	g := NewGuard(nil)
	tests := []struct {
		network, address string
		wantErr          string
	}{
		{"tcp4", "127.0.0.1:8080", "127.0.0.1 is not a public address"},
		{"tcp6", "[::1]:443", "::1 is not a public address"},
		{"tcp6", "[::ffff:127.0.0.1]:443", "127.0.0.1 is not a public address"},
		{"tcp6", "[fe80::1%eth0]:80", "is not a public address"},
		{"tcp4", "169.254.169.254:80", "169.254.169.254 is not a public address"},
		{"udp4", "8.8.8.8:53", "network udp4 is not tcp"},
		{"tcp4", "not-an-address", "cannot parse"},
		{"tcp4", "8.8.8.8:443", ""},
		{"tcp6", "[2606:4700:4700::1111]:8443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.address, func(t *testing.T) {
			t.Parallel()
			err := g.Control(tt.network, tt.address, nil)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBlocked)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// inetAton reads an IPv4 address the way C's inet_aton (and so glibc's
// getaddrinfo, which Go's cgo resolver calls) does: one to four parts,
// each decimal, octal (leading 0) or hex (0x), the last filling the
// remaining bytes.
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 0, 32)
		if err != nil || p == "" {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// Loopback written in odd numeric forms. Go's own parsers refuse the
// inet_aton forms (so Go's pure resolver would look them up as names and
// nothing would resolve), but a libc resolver turns them into 127.0.0.1.
// Whatever address a resolver produces, the dialer's Control sees it and
// the guard refuses it; ValidateURL also refuses the forms up front.
func TestGuardOddLoopbackForms(t *testing.T) {
	t.Parallel()

	g := NewGuard(nil)
	loopback := netip.MustParseAddr("127.0.0.1")
	for _, form := range []string{"0x7f.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.0.0.1", "017700000001"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			_, err := netip.ParseAddr(form)
			require.Error(t, err, "Go's parser refuses %s", form)

			a, ok := inetAton(form)
			require.True(t, ok)
			require.Equal(t, loopback, a, "a libc resolver reads %s as 127.0.0.1", form)
			require.False(t, g.Allowed(a))
			require.ErrorIs(t, g.Control("tcp4", netip.AddrPortFrom(a, 80).String(), nil), ErrBlocked)

			require.ErrorIs(t, ValidateURL("http://"+form+"/hook", false), ErrInvalidURL)
		})
	}

	for _, form := range []string{"[::ffff:127.0.0.1]", "[::ffff:7f00:1]"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			// A valid IPv6 literal, so the URL itself is acceptable...
			require.NoError(t, ValidateURL("https://"+form+"/hook", false))
			// ...but the address it dials is loopback.
			a, err := netip.ParseAddr(strings.Trim(form, "[]"))
			require.NoError(t, err)
			require.Equal(t, loopback, a.Unmap())
			require.False(t, g.Allowed(a))
			require.ErrorIs(t, g.Control("tcp6", netip.AddrPortFrom(a, 443).String(), nil), ErrBlocked)
		})
	}
}

func TestInetAton(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in   string
		want string
	}{
		{"1.2.3.4", "1.2.3.4"},
		{"0x7f.1", "127.0.0.1"},
		{"10.0x10203", "10.1.2.3"},
		{"1.2.3.256", ""},
		{"256.1", ""},
		{"1.2.3.4.5", ""},
		{"4294967296", ""},
		{"example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			a, ok := inetAton(tt.in)
			if tt.want == "" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.want, a.String())
		})
	}
}

func TestParseAllowNetworks(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"127.0.0.0/8,::1/128", []string{"127.0.0.0/8", "::1/128"}, ""},
		{" 10.0.0.0/8 , fd00::/8 ", []string{"10.0.0.0/8", "fd00::/8"}, ""},
		{"10.1.2.3/8", []string{"10.0.0.0/8"}, ""},
		{"192.168.1.20", []string{"192.168.1.20/32"}, ""},
		{"::1", []string{"::1/128"}, ""},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}, ""},
		{"10.0.0.0/8,", nil, "allowed networks entry 2 is empty"},
		{"10.0.0/8", nil, `allowed networks entry 1 "10.0.0/8": not a CIDR prefix`},
		{"127.0.0.0/8,10.0.0.0/33", nil, `allowed networks entry 2 "10.0.0.0/33": not a CIDR prefix`},
		{"localhost", nil, `allowed networks entry 1 "localhost": not a CIDR prefix`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAllowNetworks(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			require.Equal(t, tt.want, gotS)
		})
	}
}

func TestValidateURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		url       string
		httpsOnly bool
		wantErr   string
	}{
		{"https://example.com/webhook", true, ""},
		{"http://example.com:8080/x?y=1", false, ""},
		{"HTTPS://Example.COM/hook", true, ""},
		{"https://example.com./hook", true, ""},
		{"https://hooks.internal/", true, ""},
		{"https://192.0.2.1/", true, ""},
		{"https://[2001:db8::1]:8443/in", true, ""},
		{"https://v1.example.com/", true, ""},
		{"", false, "url is empty"},
		{"example.com/webhook", false, "url must be absolute"},
		{"/webhook", false, "url must be absolute"},
		{"ftp://example.com/", false, `scheme "ftp" is not http or https`},
		{"http://example.com/", true, "only https urls are allowed"},
		{"https://user:pass@example.com/", false, "must not contain user:password@ credentials"},
		{"https://user@example.com/", false, "credentials"},
		{"https://example.com/#frag", false, "must not contain a #fragment"},
		{"https://example.com/#", false, "#fragment"},
		{"https:///path", false, "url has no host"},
		{"https://:443/", false, "url has no host"},
		{"https:example.com", false, "url has no host"},
		{"https://example.com:0/", false, `port "0" is not between 1 and 65535`},
		{"https://example.com:70000/", false, `port "70000" is not between 1 and 65535`},
		{"https://example.com:abc/", false, "invalid port"},
		{"https://exa mple.com/", false, "invalid character"},
		{"https://example.com/\n", false, "invalid control character"},
		{"https://0x7f.1/", false, `host "0x7f.1" looks like an IPv4 address`},
		{"https://2130706433/", false, "looks like an IPv4 address"},
		{"https://0177.0.0.1/", false, "looks like an IPv4 address"},
		{"https://127.1/", false, "looks like an IPv4 address"},
		{"https://1.2.3.4.5/", false, "looks like an IPv4 address"},
		{"https://example.0x10/", false, "looks like an IPv4 address"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			err := ValidateURL(tt.url, tt.httpsOnly)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidURL)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// The guard switched on against a receiver on loopback: nothing reaches it
// until loopback is explicitly allowed.
func TestSendGuard(t *testing.T) {
	t.Parallel()

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
	}))
	t.Cleanup(srv.Close)

	blocked := NewSender(SenderConfig{Guard: NewGuard(nil)})
	t.Cleanup(blocked.CloseIdleConnections)
	res := blocked.Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
	require.Equal(t, ClassBlocked, res.ErrorClass, res.Error)
	require.Contains(t, res.Error, "is not a public address")
	require.Zero(t, res.StatusCode)
	require.Empty(t, res.RemoteAddr)
	require.Zero(t, hits.Load(), "the receiver must get nothing")

	allowed, err := ParseAllowNetworks("127.0.0.0/8,::1/128")
	require.NoError(t, err)
	dev := NewSender(SenderConfig{Guard: NewGuard(allowed)})
	t.Cleanup(dev.CloseIdleConnections)
	res = dev.Send(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)})
	require.Empty(t, res.ErrorClass, res.Error)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, int32(1), hits.Load())
}

// Holes in the guard: LoopbackNetworks (what `hookd dev` allows) opens
// loopback only, and allowing every prefix switches the guard off.
func TestGuardHoles(t *testing.T) {
	t.Parallel()

	dev := NewGuard(LoopbackNetworks())
	everything, err := ParseAllowNetworks("0.0.0.0/0, ::/0")
	require.NoError(t, err)
	open := NewGuard(everything)
	for _, tt := range []struct {
		addr          string
		devOK, openOK bool
	}{
		{"127.0.0.1", true, true},
		{"::1", true, true},
		{"::ffff:127.0.0.1", true, true},
		{"10.0.0.1", false, true},
		{"169.254.169.254", false, true},
		{"fe80::1", false, true},
		{"8.8.8.8", true, true},
	} {
		a := netip.MustParseAddr(tt.addr)
		require.Equal(t, tt.devOK, dev.Allowed(a), "dev guard, %s", tt.addr)
		require.Equal(t, tt.openOK, open.Allowed(a), "open guard, %s", tt.addr)
	}
}
