package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"code.dny.dev/ssrf"
)

// ErrBlocked is wrapped by [Guard.Control] when it refuses to connect to an
// address that is not globally routable. [Sender] reports it as
// [ClassBlocked].
var ErrBlocked = errors.New("destination address is not allowed")

// ErrInvalidURL is wrapped by [ValidateURL] for every refused endpoint URL.
var ErrInvalidURL = errors.New("invalid endpoint url")

// Guard keeps deliveries away from private networks: loopback, RFC 1918,
// link-local (including the cloud metadata address 169.254.169.254), CGNAT,
// IPv6 unique-local, multicast, unspecified, documentation and the other
// special-purpose ranges IANA lists, in IPv4, IPv6 and IPv4-mapped IPv6
// form. Prefixes given to [NewGuard] are let through anyway.
//
// Set [Guard.Control] as a net.Dialer's Control: it sees the address
// actually dialled, after DNS, on every connection, so a hostname that
// resolves (or re-resolves) to a private address is refused too.
//
// A Guard is safe for concurrent use. A nil *Guard allows everything.
type Guard struct {
	guardian *ssrf.Guardian
	allow    []netip.Prefix
}

// NewGuard returns a Guard that refuses every address that is not globally
// routable, except those inside allow (for example 127.0.0.0/8 and ::1/128
// so that `hookd dev` can deliver to a receiver on the same machine).
func NewGuard(allow []netip.Prefix) *Guard {
	var v4, v6 []netip.Prefix
	norm := make([]netip.Prefix, 0, len(allow))
	for _, p := range allow {
		p = normalizePrefix(p)
		if !p.IsValid() {
			continue
		}
		norm = append(norm, p)
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return &Guard{
		guardian: ssrf.New(
			ssrf.WithAnyPort(),
			ssrf.WithAllowedV4Prefixes(v4...),
			ssrf.WithAllowedV6Prefixes(v6...),
		),
		allow: norm,
	}
}

// LoopbackNetworks returns 127.0.0.0/8 and ::1/128, the prefixes `hookd
// dev` lets through so that a receiver on the same machine gets deliveries.
func LoopbackNetworks() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// AllowedNetworks returns the prefixes the Guard lets through although they
// are not globally routable.
func (g *Guard) AllowedNetworks() []netip.Prefix {
	if g == nil {
		return nil
	}
	return append([]netip.Prefix(nil), g.allow...)
}

// Allowed reports whether the Guard lets a connection to addr through. It
// only classifies the address; it does no I/O. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) are judged as the IPv4 address they reach, and IPv6
// zones are ignored. The zero Addr is never allowed.
func (g *Guard) Allowed(addr netip.Addr) bool {
	if g == nil {
		return true
	}
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap().WithZone("")
	return g.guardian.SafeAddr(addr) == nil
}

// Control has the signature of net.Dialer's Control and refuses, with an
// error wrapping [ErrBlocked], any connection to an address that
// [Guard.Allowed] refuses, or over a network other than TCP.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	if g == nil {
		return nil
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s is not tcp", ErrBlocked, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q: %w", ErrBlocked, address, err)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s is not a public address", ErrBlocked, ap.Addr().Unmap())
	}
	return nil
}

// ParseAllowNetworks parses a comma-separated list of CIDR prefixes, such as
// the HOOKD_ALLOW_NETWORKS value "127.0.0.0/8, ::1/128". A bare address
// means that one host. Host bits are cleared ("10.1.2.3/8" is 10.0.0.0/8)
// and IPv4-mapped IPv6 prefixes become IPv4 ones. An empty string gives no
// prefixes.
func ParseAllowNetworks(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("allowed networks entry %d is empty", i+1)
		}
		var (
			p   netip.Prefix
			err error
		)
		if strings.Contains(part, "/") {
			p, err = netip.ParsePrefix(part)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(part)
			if err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("allowed networks entry %d %q: not a CIDR prefix like 10.0.0.0/8 or fd00::/8", i+1, part)
		}
		out = append(out, normalizePrefix(p))
	}
	return out, nil
}

// normalizePrefix clears host bits and turns ::ffff:a.b.c.d/n (n >= 96)
// into a.b.c.d/(n-96), matching how [Guard.Allowed] unmaps addresses.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}

// ValidateURL checks an endpoint URL when it is created or changed: an
// absolute http or https URL (only https when httpsOnly) with a host, a
// valid port if any, no user:password@ credentials and no #fragment. A host
// that ends in a number must be a plain dotted-quad IPv4 address: forms like
// 0x7f.1 or 2130706433, which some resolvers read as 127.0.0.1, are refused.
// It does not resolve the host; [Guard] checks addresses when connecting.
// The error wraps [ErrInvalidURL].
func ValidateURL(raw string, httpsOnly bool) error {
	if strings.TrimSpace(raw) == "" {
		return fmt.Errorf("%w: url is empty", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if httpsOnly {
			return fmt.Errorf("%w: only https urls are allowed", ErrInvalidURL)
		}
	case "":
		return fmt.Errorf("%w: url must be absolute, like https://example.com/webhook", ErrInvalidURL)
	default:
		return fmt.Errorf("%w: scheme %q is not http or https", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: url has no host, expected like https://example.com/webhook", ErrInvalidURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: url must not contain user:password@ credentials", ErrInvalidURL)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%w: url must not contain a #fragment", ErrInvalidURL)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %q is not between 1 and 65535", ErrInvalidURL, p)
		}
	}
	if host := u.Hostname(); endsInNumber(host) {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return fmt.Errorf("%w: host %q looks like an IPv4 address but is not a plain dotted quad like 192.0.2.1", ErrInvalidURL, host)
		}
	}
	return nil
}

// endsInNumber reports whether host's last label is decimal digits or a
// 0x hex number, which the WHATWG URL standard and inet_aton-style
// resolvers read as an IPv4 address. No real top-level domain is numeric.
func endsInNumber(host string) bool {
	if strings.Contains(host, ":") { // IPv6 literal
		return false
	}
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(last), "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}
