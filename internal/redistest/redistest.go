// Package redistest starts a real redis-server for a test package, and the
// embedded miniredis for running the same tests against the default backend.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process listening on a loopback port.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
}

var (
	mu       sync.Mutex
	shared   *Server
	cluster  *Cluster
	sentinel *Sentinel
)

// Start launches redis-server on a free loopback port with a temporary
// directory and waits until it answers PING. Persistence is left as the
// server defaults it except for AOF, which is switched on with everysec so
// tests exercise the same write path as production.
func Start() (*Server, error) { return start() }

// start launches one redis-server with the extra arguments.
func start(extra ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server not found on PATH (install it; the test command does): %w", err)
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--port", fmt.Sprint(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "everysec",
		"--protected-mode", "yes",
		"--loglevel", "warning",
	)
	cmd.Args = append(cmd.Args, extra...)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: start redis-server: %w", err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, dir: dir}
	if err := s.waitReady(10 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer rdb.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: redis-server on %s not ready: %w", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill ends the server with SIGKILL, as a crash would: nothing is
// flushed, no replica is told. Its directory stays until Stop.
func (s *Server) Kill() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Stop kills the server and removes its directory.
func (s *Server) Stop() {
	s.Kill()
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Main wraps a package's TestMain: it starts one redis-server for the whole
// package, runs the tests and stops the server. Use as
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mu.Lock()
	shared = s
	mu.Unlock()
	code := m.Run()
	s.Stop()
	mu.Lock()
	if cluster != nil {
		cluster.Stop()
	}
	if sentinel != nil {
		sentinel.Stop()
	}
	mu.Unlock()
	os.Exit(code)
}

// Addr is the address of the package's redis-server started by Main.
func Addr(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		t.Fatal("redistest: no server; call redistest.Main from TestMain")
	}
	return shared.Addr
}

// Client returns a client of the package's redis-server, closed when the test ends.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: Addr(t)})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Embedded returns a client of a fresh in-process miniredis, the default
// backend when no Redis URL is configured.
func Embedded(t testing.TB) redis.UniversalClient {
	t.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatalf("redistest: start miniredis: %v", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() {
		rdb.Close()
		m.Close()
	})
	return rdb
}

// Cluster is a Redis Cluster of three masters on loopback ports, without
// replicas: enough for every slot rule a multi-key command or script must
// keep.
type Cluster struct {
	Addrs []string
	nodes []*Server
}

// startCluster starts three cluster-enabled servers and joins them with
// redis-cli, which the redis-server package brings along.
func startCluster() (*Cluster, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-cli not found on PATH (it comes with redis-server): %w", err)
	}
	c := &Cluster{}
	for range 3 {
		n, err := start("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	if out, err := exec.Command(cli, append(args, "--cluster-yes")...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redistest: create cluster: %v: %s", err, out)
	}
	// Every node must agree the cluster is whole before a client can use it.
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range c.Addrs {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				c.Stop()
				return nil, fmt.Errorf("redistest: cluster on %s not ready: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		rdb.Close()
	}
	return c, nil
}

// Stop kills every node.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		n.Stop()
	}
}

// ClusterAddrs returns the addresses of the package's cluster, started on
// first use and stopped by Main.
func ClusterAddrs(t testing.TB) []string {
	t.Helper()
	return started(t, &cluster, startCluster).Addrs
}

// started returns *p, set by start on first use: one Cluster or Sentinel
// set serves every test of the package, and Main stops it.
func started[T any](t testing.TB, p **T, start func() (*T, error)) *T {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if *p == nil {
		v, err := start()
		if err != nil {
			t.Fatal(err)
		}
		*p = v
	}
	return *p
}

// ClusterClient returns a client of the package's cluster, closed when the
// test ends. It fails the test when a script's keys do not share one slot.
func ClusterClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: ClusterAddrs(t)})
	rdb.AddHook(scriptSlots{t})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Topologies lists the backends the store's own tests run against: the
// real server, the embedded default, a real Cluster and a real Sentinel set
// (SPEC 13). The Sentinel set costs about a second to start and its client
// talks to one master like the plain server's, so the store tests pay
// little for it.
func Topologies() []string { return []string{"redis", "embedded", "cluster", "sentinel"} }

// Backends lists the backends store tests run against: the real server and
// the embedded default.
func Backends() []string { return []string{"redis", "embedded"} }

// ClientFor returns a client for the named backend of Backends.
func ClientFor(t testing.TB, backend string) redis.UniversalClient {
	t.Helper()
	switch backend {
	case "embedded":
		return Embedded(t)
	case "cluster":
		return ClusterClient(t)
	case "sentinel":
		return SentinelClient(t)
	}
	return Client(t)
}
