package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeResolver answers from a table, in turn when a host has several answers,
// and records every lookup so tests can prove a host never reached DNS.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string // host → successive answers, one address each
	lookups []string
}

func (r *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups = append(r.lookups, host)
	answers := r.answers[host]
	if len(answers) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	answer := answers[0]
	if len(answers) > 1 {
		r.answers[host] = answers[1:]
	}
	return []net.IPAddr{{IP: net.ParseIP(answer)}}, nil
}

func (r *fakeResolver) Lookups() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lookups...)
}

// newTestCanary starts a loopback server that counts every connection made
// to it; a guard that works leaves the count at zero.
func newTestCanary(t *testing.T) (port string, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port, conns
}

func TestParseIP(t *testing.T) {
	tests := []struct {
		host     string
		want     string // "" for a name
		wantErr  bool
		wantName bool
	}{
		{host: "127.0.0.1", want: "127.0.0.1"},
		{host: "0x7f000001", want: "127.0.0.1"},
		{host: "0X7F000001", want: "127.0.0.1"},
		{host: "2130706433", want: "127.0.0.1"},
		{host: "127.1", want: "127.0.0.1"},
		{host: "127.0.1", want: "127.0.0.1"},
		{host: "0177.0.0.1", want: "127.0.0.1"},
		{host: "017700000001", want: "127.0.0.1"},
		{host: "0x7f.0.0.1", want: "127.0.0.1"},
		{host: "0x7f.1", want: "127.0.0.1"},
		{host: "127.0.0.1.", want: "127.0.0.1"},
		{host: "0", want: "0.0.0.0"},
		{host: "0x", want: "0.0.0.0"},
		{host: "4294967295", want: "255.255.255.255"},
		{host: "10.1.65535", want: "10.1.255.255"},
		{host: "::ffff:127.0.0.1", want: "::ffff:127.0.0.1"},
		{host: "fe80::1%eth0", want: "fe80::1%eth0"},
		{host: "4294967296", wantErr: true},
		{host: "256.0.0.1", wantErr: true},
		{host: "1.2.3.256", wantErr: true},
		{host: "1.2.3.4.5", wantErr: true},
		{host: "08.0.0.1", wantErr: true},
		{host: "0x1g", wantName: true},
		{host: "foo.123", wantErr: true},
		{host: "99999999999999999999999", wantErr: true},
		{host: "1..1", wantErr: true},
		{host: ":::", wantErr: true},
		{host: "example.com", wantName: true},
		{host: "localhost", wantName: true},
		{host: "1e100.net", wantName: true},
		{host: "123.example", wantName: true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			addr, isIP, err := parseIP(tt.host)
			switch {
			case tt.wantErr:
				if err == nil {
					t.Fatalf("parseIP(%q) = %v, %v, nil; want error", tt.host, addr, isIP)
				}
			case tt.wantName:
				if err != nil || isIP {
					t.Fatalf("parseIP(%q) = %v, %v, %v; want a name", tt.host, addr, isIP, err)
				}
			default:
				if err != nil || !isIP || addr != netip.MustParseAddr(tt.want) {
					t.Fatalf("parseIP(%q) = %v, %v, %v; want %s", tt.host, addr, isIP, err, tt.want)
				}
			}
		})
	}
}

// loopbackSpellings all mean a loopback address; every one must be refused
// without a DNS lookup and without a connection.
var loopbackSpellings = []string{
	"127.0.0.1",
	"0x7f000001",
	"2130706433",
	"127.1",
	"0177.0.0.1",
	"017700000001",
	"0x7f.0.0.1",
	"127.0.0.1.",
	"127.255.255.254",
	"[::1]",
	"[::ffff:127.0.0.1]",
	"[::ffff:7f00:1]",
	"[::127.0.0.1]",    // IPv4-compatible
	"[2002:7f00:1::1]", // 6to4 around 127.0.0.1
	"[64:ff9b::7f00:1]",
	"[0:0:0:0:0:ffff:127.0.0.1]",
}

func TestValidateURLRefusesAddresses(t *testing.T) {
	hosts := append([]string{
		"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", // RFC 1918
		"169.254.1.1", "[fe80::1]", "[fe80::1%25eth0]", // link-local
		"100.64.0.1", "100.127.255.255", // CGNAT
		"224.0.0.1", "239.255.255.250", "[ff02::1]", // multicast
		"0.0.0.0", "0", "[::]", // unspecified
		"255.255.255.255", "0xffffffff", // broadcast
		"[fc00::1]", "[fd12:3456::1]", // unique local
		"169.254.169.254", "[fd00:ec2::254]", "[::ffff:169.254.169.254]", // metadata
		"[::ffff:10.0.0.1]", "[::ffff:a00:1]", "[2002:c0a8:101::1]", "[64:ff9b::a9fe:a9fe]",
		"192.0.2.1", "198.18.0.1", "[2001:db8::1]", "[2001::1]",
	}, loopbackSpellings...)
	r := &fakeResolver{}
	for _, host := range hosts {
		t.Run(host, func(t *testing.T) {
			raw := "https://" + host + "/hook"
			err := ValidateURL(t.Context(), raw, false, r)
			var blocked *BlockedAddressError
			if !errors.As(err, &blocked) {
				t.Fatalf("ValidateURL(%q) = %v, want *BlockedAddressError", raw, err)
			}
		})
	}
	if got := r.Lookups(); len(got) != 0 {
		t.Fatalf("IP literals reached the resolver: %q", got)
	}
}

func TestValidateURL(t *testing.T) {
	r := &fakeResolver{answers: map[string][]string{
		"hooks.example.com":  {"93.184.216.34"},
		"internal.test":      {"10.1.2.3"},
		"localhost":          {"127.0.0.1"},
		"metadata.test":      {"169.254.169.254"},
		"mapped.example.com": {"::ffff:192.168.0.1"},
	}}
	tests := []struct {
		name         string
		raw          string
		allowPrivate bool
		wantBlocked  bool
		wantInvalid  bool
	}{
		{name: "OK", raw: "https://hooks.example.com/make/abc"},
		{name: "OKPublicIP", raw: "https://93.184.216.34:8443/x"},
		{name: "OKPublicHexIP", raw: "https://0x5db8d822/x"},
		{name: "OKPublicIPv6", raw: "https://[2606:2800:220:1:248:1893:25c8:1946]/"},
		{name: "OKHTTPWithAllowPrivate", raw: "http://hooks.example.com/", allowPrivate: true},
		{name: "OKLoopbackWithAllowPrivate", raw: "http://127.0.0.1:8080/", allowPrivate: true},
		{name: "OKPrivateNameWithAllowPrivate", raw: "http://internal.test/", allowPrivate: true},
		{name: "HTTP", raw: "http://hooks.example.com/", wantInvalid: true},
		{name: "FTP", raw: "ftp://hooks.example.com/", wantInvalid: true},
		{name: "FileWithAllowPrivate", raw: "file:///etc/passwd", allowPrivate: true, wantInvalid: true},
		{name: "Userinfo", raw: "https://user:pass@hooks.example.com/", wantInvalid: true},
		{name: "NoHost", raw: "https:///hook", wantInvalid: true},
		{name: "Relative", raw: "/hook", wantInvalid: true},
		{name: "BadPort", raw: "https://hooks.example.com:70000/", wantInvalid: true},
		{name: "Unparsable", raw: "https://[::1/", wantInvalid: true},
		{name: "Unresolvable", raw: "https://nowhere.test/", wantInvalid: true},
		{name: "MalformedIPv4", raw: "https://1.2.3.4.5/", wantInvalid: true},
		{name: "NumericLastLabel", raw: "https://foo.0x10/", wantInvalid: true},
		{name: "ResolvesPrivate", raw: "https://internal.test/", wantBlocked: true},
		{name: "ResolvesLoopback", raw: "https://localhost/", wantBlocked: true},
		{name: "ResolvesMapped", raw: "https://mapped.example.com/", wantBlocked: true},
		{name: "MetadataWithAllowPrivate", raw: "http://169.254.169.254/latest/meta-data/", allowPrivate: true, wantBlocked: true},
		{name: "MetadataIPv6WithAllowPrivate", raw: "http://[fd00:ec2::254]/", allowPrivate: true, wantBlocked: true},
		{name: "MetadataMappedWithAllowPrivate", raw: "http://[::ffff:a9fe:a9fe]/", allowPrivate: true, wantBlocked: true},
		{name: "MetadataDecimalWithAllowPrivate", raw: "http://2852039166/", allowPrivate: true, wantBlocked: true},
		{name: "MetadataNameWithAllowPrivate", raw: "http://metadata.test/", allowPrivate: true, wantBlocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateURL(t.Context(), tt.raw, tt.allowPrivate, r)
			var blocked *BlockedAddressError
			switch {
			case tt.wantBlocked:
				if !errors.As(err, &blocked) {
					t.Fatalf("ValidateURL(%q) = %v, want *BlockedAddressError", tt.raw, err)
				}
			case tt.wantInvalid:
				if !errors.Is(err, ErrInvalidURL) {
					t.Fatalf("ValidateURL(%q) = %v, want ErrInvalidURL", tt.raw, err)
				}
			case err != nil:
				t.Fatalf("ValidateURL(%q) = %v, want nil", tt.raw, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "webhooks: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if err != nil && strings.Contains(err.Error(), "pass") {
				t.Errorf("error %q repeats the URL's password", err)
			}
		})
	}
}

// TestClientRefusesLoopback sends every loopback spelling at a live canary
// on loopback: with allowPrivate=false none may connect.
func TestClientRefusesLoopback(t *testing.T) {
	port, conns := newTestCanary(t)
	r := &fakeResolver{}
	client := NewHTTPClient(5*time.Second, false, r)
	for _, host := range loopbackSpellings {
		t.Run(host, func(t *testing.T) {
			raw := "http://" + host + ":" + port + "/"
			resp, err := client.Post(raw, "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("POST %s: got status %d, want refusal", raw, resp.StatusCode)
			}
			var blocked *BlockedAddressError
			if !errors.As(err, &blocked) {
				t.Fatalf("POST %s = %v, want *BlockedAddressError", raw, err)
			}
		})
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("canary received %d connections, want 0", n)
	}
	if got := r.Lookups(); len(got) != 0 {
		t.Fatalf("IP literals reached the resolver: %q", got)
	}
}

// TestClientRefusesRebinding registers a name while it resolves to a public
// address, then lets it resolve to loopback: the dial must be refused.
func TestClientRefusesRebinding(t *testing.T) {
	port, conns := newTestCanary(t)
	r := &fakeResolver{answers: map[string][]string{
		"rebind.test":  {"93.184.216.34", "127.0.0.1"},
		"evil.test":    {"127.0.0.1"},
		"evil-v6.test": {"::1"},
	}}
	if err := ValidateURL(t.Context(), "https://rebind.test:"+port+"/", false, r); err != nil {
		t.Fatalf("ValidateURL(public answer) = %v, want nil", err)
	}
	client := NewHTTPClient(5*time.Second, false, r)
	for _, host := range []string{"rebind.test", "evil.test", "evil-v6.test"} {
		resp, err := client.Get("http://" + host + ":" + port + "/")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s: got status %d, want refusal", host, resp.StatusCode)
		}
		var blocked *BlockedAddressError
		if !errors.As(err, &blocked) || blocked.Host != host {
			t.Fatalf("GET %s = %v, want *BlockedAddressError for the host", host, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("canary received %d connections, want 0", n)
	}
}

// TestClientAllowPrivate shows the same client reaches loopback receivers,
// by name and by odd spelling, when allowPrivate is set (tests, on-premises).
func TestClientAllowPrivate(t *testing.T) {
	port, conns := newTestCanary(t)
	r := &fakeResolver{answers: map[string][]string{"receiver.test": {"127.0.0.1"}}}
	client := NewHTTPClient(5*time.Second, true, r)
	for _, host := range []string{"receiver.test", "127.0.0.1", "0x7f000001", "127.1"} {
		resp, err := client.Get("http://" + host + ":" + port + "/")
		if err != nil {
			t.Fatalf("GET %s = %v, want success", host, err)
		}
		resp.Body.Close()
	}
	if conns.Load() == 0 {
		t.Fatal("canary received no connections")
	}
}

// TestGuardMetadata checks the metadata addresses at the dialler's two
// checks without sending a packet: resolution and the socket Control hook.
func TestGuardMetadata(t *testing.T) {
	r := &fakeResolver{answers: map[string][]string{"metadata.test": {"169.254.169.254"}}}
	g := newGuard(time.Second, true, r)
	for _, host := range []string{"169.254.169.254", "metadata.test", "fd00:ec2::254", "::ffff:169.254.169.254", "2852039166"} {
		_, err := resolve(t.Context(), host, true, r)
		var blocked *BlockedAddressError
		if !errors.As(err, &blocked) {
			t.Errorf("resolve(%q, allowPrivate) = %v, want *BlockedAddressError", host, err)
		}
	}
	for _, addr := range []string{"169.254.169.254:80", "[fd00:ec2::254]:80", "[::ffff:169.254.169.254]:80"} {
		err := g.dialer.Control("tcp", addr, nil)
		var blocked *BlockedAddressError
		if !errors.As(err, &blocked) {
			t.Errorf("Control(%q, allowPrivate) = %v, want *BlockedAddressError", addr, err)
		}
	}
	if err := g.dialer.Control("tcp", "10.0.0.1:80", nil); err != nil {
		t.Errorf("Control(private, allowPrivate) = %v, want nil", err)
	}
}

// TestGuardControl checks the hook that sees the address of every socket,
// whatever produced it.
func TestGuardControl(t *testing.T) {
	g := newGuard(time.Second, false, nil)
	for _, addr := range []string{"127.0.0.1:80", "[::1]:443", "[::ffff:127.0.0.1]:80", "10.0.0.1:80", "[fe80::1%eth0]:80", "bogus"} {
		if err := g.dialer.Control("tcp", addr, nil); err == nil {
			t.Errorf("Control(%q) = nil, want refusal", addr)
		}
	}
	if err := g.dialer.Control("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("Control(public) = %v, want nil", err)
	}
}

// TestClientIgnoresProxyEnv points the proxy variables at a canary and shows
// the request goes straight to the receiver.
func TestClientIgnoresProxyEnv(t *testing.T) {
	proxyPort, proxyConns := newTestCanary(t)
	proxyURL := "http://127.0.0.1:" + proxyPort
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"} {
		t.Setenv(k, proxyURL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	var hits atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(receiver.Close)
	u, err := url.Parse(receiver.URL)
	if err != nil {
		t.Fatal(err)
	}
	// A name, not an IP: the standard proxy rules skip loopback IPs anyway.
	r := &fakeResolver{answers: map[string][]string{"receiver.test": {"127.0.0.1"}}}
	client := NewHTTPClient(5*time.Second, true, r)
	resp, err := client.Get("http://receiver.test:" + u.Port() + "/")
	if err != nil {
		t.Fatalf("GET = %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 || proxyConns.Load() != 0 {
		t.Fatalf("receiver hits = %d, proxy connections = %d; want 1, 0", hits.Load(), proxyConns.Load())
	}
}

// refBlocked judges an address with netip's own predicates and the extra
// ranges SPEC.md 8.1 names, independently of blockedRanges.
func refBlocked(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() ||
		a.IsUnspecified() || a.IsInterfaceLocalMulticast() || a.IsLinkLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) ||
		netip.MustParsePrefix("0.0.0.0/8").Contains(a) ||
		a == netip.MustParseAddr("255.255.255.255")
}

// refIPv4 reads a numeric host as inet_aton does, using strconv rather than
// the package's digit loop. ok is false where the two notations could differ.
func refIPv4(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(host, ".")
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		lower := strings.ToLower(p)
		if p == "" || strings.ContainsAny(p, "_+-") || strings.HasPrefix(lower, "0b") || strings.HasPrefix(lower, "0o") {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, 0, 64)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (8 * (3 - i))
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range loopbackSpellings {
		f.Add(s)
	}
	for _, s := range []string{"93.184.216.34", "0x5db8d822", "1.2.3", "0", "0x", "08.1", "[::ffff:8.8.8.8]", "[2002:808:808::]", "example.com", "1.2.3.4.5", "0x100000000", "[fe80::1%25en0]"} {
		f.Add(s)
	}
	r := &fakeResolver{} // resolves nothing: only IP literals can pass
	f.Fuzz(func(t *testing.T, host string) {
		raw := "https://" + host + "/"
		err := ValidateURL(context.Background(), raw, false, r)
		addr, isIP, perr := parseIP(host)
		if perr == nil && isIP && !strings.Contains(host, ":") {
			if ref, ok := refIPv4(host); ok && ref != addr {
				t.Fatalf("parseIP(%q) = %v, inet_aton reading is %v", host, addr, ref)
			}
		}
		if err != nil {
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("ValidateURL accepted unparsable %q", raw)
		}
		addr, isIP, perr = parseIP(u.Hostname())
		if perr != nil || !isIP {
			t.Fatalf("ValidateURL(%q) accepted a host that is not an IP: %v, %v", raw, isIP, perr)
		}
		if refBlocked(addr) {
			t.Fatalf("ValidateURL(%q) accepted blocked address %v", raw, addr)
		}
		if v4, ok := embeddedIPv4(addr); ok && refBlocked(v4) {
			t.Fatalf("ValidateURL(%q) accepted %v, which embeds blocked %v", raw, addr, v4)
		}
	})
}

// Example of the error a refused URL gives.
func ExampleValidateURL() {
	err := ValidateURL(context.Background(), "https://0x7f000001/hook", false, nil)
	fmt.Println(err)
	// Output: webhooks: host 0x7f000001: address 127.0.0.1 is blocked (loopback)
}
