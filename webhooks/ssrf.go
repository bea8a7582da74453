package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Subscriber URLs are chosen by users, so without a guard a webhook could make
// the server call its own admin ports, the cloud metadata service or the
// office network (server-side request forgery). The guard runs twice: when a
// subscription is registered (ValidateURL), and on every connection the
// delivery client makes (NewHTTPClient), because DNS can change between the
// two (rebinding).

// Resolver looks up a host's addresses. *net.Resolver satisfies it; tests
// supply their own to make a name resolve to loopback.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// ErrInvalidURL is wrapped by ValidateURL's errors for URLs that are not
// acceptable subscriber URLs for reasons other than their addresses.
var ErrInvalidURL = errors.New("webhooks: invalid url")

// BlockedAddressError reports that a host is, or resolves to, an address the
// guard refuses. Callers branch on it with errors.As.
type BlockedAddressError struct {
	Host   string     // the host as written in the URL
	Addr   netip.Addr // the refused address
	Reason string     // its class, such as "loopback" or "private"
}

// Error names the host, the address and why it is refused.
func (e *BlockedAddressError) Error() string {
	if e.Host == "" || e.Host == e.Addr.String() {
		return fmt.Sprintf("webhooks: address %s is blocked (%s)", e.Addr, e.Reason)
	}
	return fmt.Sprintf("webhooks: host %s: address %s is blocked (%s)", e.Host, e.Addr, e.Reason)
}

// ValidateURL checks a subscriber URL at registration (SPEC.md 8.1): http or
// https only, https unless allowPrivate, no user information, and a host that
// is or resolves (through r; nil means net.DefaultResolver) only to public
// addresses unless allowPrivate. Cloud metadata addresses are refused even
// with allowPrivate. IP addresses written in unusual forms (hex, octal, a
// single number, fewer than four parts) are read as inet_aton and browsers
// read them, then checked, never handed to DNS.
//
// It returns nil, a *BlockedAddressError, or an error wrapping ErrInvalidURL
// (which also wraps the resolver's error when the host does not resolve).
func ValidateURL(ctx context.Context, raw string, allowPrivate bool, r Resolver) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error would repeat the whole URL, which may carry a token.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: scheme must be http or https", ErrInvalidURL)
	case u.Scheme == "http" && !allowPrivate:
		return fmt.Errorf("%w: https is required", ErrInvalidURL)
	case u.User != nil:
		return fmt.Errorf("%w: user information is not allowed", ErrInvalidURL)
	case u.Opaque != "":
		return fmt.Errorf("%w: opaque urls are not allowed", ErrInvalidURL)
	case u.Hostname() == "":
		return fmt.Errorf("%w: host is required", ErrInvalidURL)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port out of range", ErrInvalidURL)
		}
	}
	_, err = resolve(ctx, u.Hostname(), allowPrivate, r)
	return err
}

// resolve returns the addresses of host after checking all of them: an IP
// literal in any spelling stands for itself; a name is looked up through r.
// One blocked address refuses the host, so a name cannot mix a public
// address with a private one and hope the dialler picks the latter.
func resolve(ctx context.Context, host string, allowPrivate bool, r Resolver) ([]netip.Addr, error) {
	addr, isIP, err := parseIP(host)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if isIP {
		if reason, blocked := blockedReason(addr, allowPrivate); blocked {
			return nil, &BlockedAddressError{Host: host, Addr: addr, Reason: reason}
		}
		return []netip.Addr{addr}, nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ipAddrs, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("%w: resolve host: %w", ErrInvalidURL, err)
	}
	if len(ipAddrs) == 0 {
		return nil, fmt.Errorf("%w: host %s has no addresses", ErrInvalidURL, host)
	}
	addrs := make([]netip.Addr, 0, len(ipAddrs))
	for _, ia := range ipAddrs {
		a, ok := netip.AddrFromSlice(ia.IP)
		if !ok {
			return nil, fmt.Errorf("%w: host %s resolved to a malformed address", ErrInvalidURL, host)
		}
		if reason, blocked := blockedReason(a, allowPrivate); blocked {
			return nil, &BlockedAddressError{Host: host, Addr: a.Unmap(), Reason: reason}
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// NewHTTPClient returns the client that delivers webhooks. Each request is
// bounded by timeout; proxy environment variables are ignored (a proxy would
// connect on our behalf, past the guard); redirects are returned, not followed
// (a 3xx counts as a failed attempt and cannot bounce us to an internal
// address). The dialler resolves names itself through r (nil means
// net.DefaultResolver), refuses blocked addresses before connecting, and
// checks again the address of every socket it actually connects.
func NewHTTPClient(timeout time.Duration, allowPrivate bool, r Resolver) *http.Client {
	g := newGuard(timeout, allowPrivate, r)
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            g.dialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           100,
			MaxIdleConnsPerHost:    32, // the default, 2, makes a busy receiver cost a new connection per message
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    timeout,
			ExpectContinueTimeout:  time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// guard is the SSRF-checking dialler behind NewHTTPClient.
type guard struct {
	allowPrivate bool
	resolver     Resolver
	dialer       *net.Dialer
}

// newGuard builds the dialler; its Control hook is the check on real sockets.
func newGuard(timeout time.Duration, allowPrivate bool, r Resolver) *guard {
	g := &guard{allowPrivate: allowPrivate, resolver: r}
	g.dialer = &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.control}
	return g
}

// dialContext resolves addr's host through the guard's resolver and dials the
// checked addresses in turn. Dialling IP literals keeps net.Dialer from doing
// a second lookup that could answer differently.
func (g *guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("webhooks: dial: %w", err)
	}
	ips, err := resolve(ctx, host, g.allowPrivate, g.resolver)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, ip := range ips {
		conn, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// control runs on every socket just before it connects, with the address
// really being dialled: the last line of defence whatever resolved it.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhooks: dial %s: unparsable address", address)
	}
	if reason, blocked := blockedReason(ap.Addr(), g.allowPrivate); blocked {
		return &BlockedAddressError{Addr: ap.Addr().Unmap(), Reason: reason}
	}
	return nil
}

// parseIP reads host as an IP address if it is one in any spelling.
// isIP is false for a name to be looked up; err is set for a host that looks
// numeric but is not a valid address, which must not reach DNS either.
//
// IPv4 follows the WHATWG URL standard, which matches inet_aton: a host whose
// last dot-separated part is a number is an IPv4 address of one to four
// parts, each decimal, octal (leading 0) or hex (leading 0x); the last part
// fills the remaining bytes. So 0x7f000001, 2130706433, 127.1, 0177.0.0.1 and
// 017700000001 all mean 127.0.0.1, as they do to curl and browsers.
func parseIP(host string) (addr netip.Addr, isIP bool, err error) {
	if strings.Contains(host, ":") { // only IPv6 literals contain colons
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, true, errors.New("malformed ipv6 address")
		}
		return a, true, nil // a zone is kept for dialling; blockedReason ignores it
	}
	parts := strings.Split(host, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" { // one trailing dot is allowed
		parts = parts[:len(parts)-1]
	}
	if !isNumeric(parts[len(parts)-1]) {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, errors.New("malformed ipv4 address")
	}
	var n uint64
	for i, p := range parts {
		v, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, true, errors.New("malformed ipv4 address")
		}
		if i < len(parts)-1 {
			if v > 255 {
				return netip.Addr{}, true, errors.New("malformed ipv4 address")
			}
			n |= v << (8 * (3 - i))
			continue
		}
		if v >= 1<<(8*(4-i)) {
			return netip.Addr{}, true, errors.New("malformed ipv4 address")
		}
		n |= v
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true, nil
}

// isNumeric reports whether a host label looks like a number to the WHATWG
// "ends in a number" check (digits, or 0x and hex digits), even one too
// large to be valid: such hosts are refused, not looked up.
func isNumeric(label string) bool {
	if label == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(label), "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(label, "0123456789") == ""
}

// parseIPv4Part reads one part of an IPv4 address: hex after 0x, octal after
// a leading 0, else decimal. Values past 2^32 are refused without
// overflowing.
func parseIPv4Part(p string) (uint64, bool) {
	base := uint64(10)
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" { // "0x" alone is zero to browsers
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	case p == "":
		return 0, false
	}
	var v uint64
	for _, c := range []byte(p) {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 1<<32 {
			return 0, false
		}
	}
	return v, true
}

// Metadata services hand out cloud credentials; they are refused even when
// private addresses are allowed.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
}

// blockedRanges are refused unless allowPrivate. IPv6 ranges that embed an
// IPv4 address (mapped, compatible, 6to4, NAT64) are not listed: blockedReason
// unwraps them and checks the IPv4 address instead.
var blockedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade nat"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes broadcast 255.255.255.255
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local nat64"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001::/32"), "teredo"}, // tunnels to an obfuscated IPv4 host
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// Prefixes of IPv6 ranges whose low 32 bits carry an IPv4 address.
var (
	compatPrefix = netip.MustParsePrefix("::/96")
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour    = netip.MustParsePrefix("2002::/16")
)

// blockedReason reports whether a may not be connected to, and why. IPv6
// forms that carry an IPv4 address are judged by that address, so
// ::ffff:127.0.0.1 or 2002:7f00:1:: cannot smuggle loopback past the check.
func blockedReason(a netip.Addr, allowPrivate bool) (string, bool) {
	if !a.IsValid() {
		return "invalid", true
	}
	a = a.WithZone("")
	if v4, ok := embeddedIPv4(a); ok {
		return blockedReason(v4, allowPrivate)
	}
	for _, m := range metadataAddrs {
		if a == m {
			return "cloud metadata", true
		}
	}
	if allowPrivate {
		return "", false
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(a) {
			return r.reason, true
		}
	}
	return "", false
}

// embeddedIPv4 returns the IPv4 address inside an IPv4-mapped, -compatible,
// NAT64 (64:ff9b::/96) or 6to4 (2002::/16) IPv6 address.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	if a.Is4In6() {
		return a.Unmap(), true
	}
	b := a.As16()
	switch {
	case compatPrefix.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case nat64Prefix.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}
