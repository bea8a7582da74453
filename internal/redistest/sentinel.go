package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the Sentinel sets monitor their master under.
const MasterName = "tasker"

// SentinelOptions tunes how fast a Sentinel set notices a dead master.
type SentinelOptions struct {
	// DownAfter is how long the master may stay silent before a sentinel
	// thinks it down (Sentinel's down-after-milliseconds).
	DownAfter time.Duration
	// FailoverTimeout bounds one failover attempt and the wait before a
	// failed one is tried again (Sentinel's failover-timeout).
	FailoverTimeout time.Duration
	// Replicas is how many replicas the master has; 0 means one. Two let a
	// test that waits for a replica go on writing after a failover.
	Replicas int
}

// Sentinel is a master, its replicas and three sentinels watching it, all
// on loopback ports: with one replica, the smallest set in which a failover
// can be voted (quorum 2) and can promote a replica.
type Sentinel struct {
	// Addrs are the sentinels' addresses.
	Addrs []string
	// Master and Replicas are the data servers as started; after a
	// failover one of the replicas is the master.
	Master    *Server
	Replicas  []*Server
	sentinels []*Server
}

// StartSentinel starts a Sentinel set and waits until every sentinel names
// the master and the replica is in sync with it.
func StartSentinel(opt SentinelOptions) (*Sentinel, error) {
	// Without the delay a full sync starts at once instead of after the
	// five seconds Redis waits for more replicas to share it.
	const noDelay = "--repl-diskless-sync-delay"
	master, err := start(noDelay, "0")
	if err != nil {
		return nil, err
	}
	s := &Sentinel{Master: master}
	host, port, _ := strings.Cut(master.Addr, ":")
	for range max(opt.Replicas, 1) {
		r, err := start(noDelay, "0", "--replicaof", host, port)
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.Replicas = append(s.Replicas, r)
	}
	for range 3 {
		n, err := startSentinel(master.Addr, opt)
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.sentinels = append(s.sentinels, n)
		s.Addrs = append(s.Addrs, n.Addr)
	}
	if err := s.waitSynced(20 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// startSentinel starts one sentinel monitoring master. A sentinel rewrites
// its configuration file as it learns the set, so each gets its own.
func startSentinel(master string, opt SentinelOptions) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server not found on PATH (install it; the test command does): %w", err)
	}
	dir, err := os.MkdirTemp("", "redistest-sentinel-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	host, mport, _ := strings.Cut(master, ":")
	name := MasterName
	conf := strings.Join([]string{
		fmt.Sprintf("port %d", port),
		"bind 127.0.0.1",
		"dir " + dir,
		"loglevel warning",
		fmt.Sprintf("sentinel monitor %s %s %s 2", name, host, mport),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", name, opt.DownAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s %d", name, opt.FailoverTimeout.Milliseconds()),
		fmt.Sprintf("sentinel parallel-syncs %s 1", name),
	}, "\n") + "\n"
	path := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, path, "--sentinel")
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: start redis-server --sentinel: %w", err)
	}
	n := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, dir: dir}
	if err := n.waitReady(10 * time.Second); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

// waitSynced waits until the replicas have caught up with the master and
// every sentinel knows them, so that a failover can be had at once.
func (s *Sentinel) waitSynced(limit time.Duration) error {
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for _, r := range s.Replicas {
		replica := redis.NewClient(&redis.Options{Addr: r.Addr})
		for {
			info, err := replica.Info(ctx, "replication").Result()
			if err == nil && strings.Contains(info, "master_link_status:up") {
				break
			}
			if time.Now().After(deadline) {
				replica.Close()
				return fmt.Errorf("redistest: replica %s never synced: %v", r.Addr, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		replica.Close()
	}
	for _, addr := range s.Addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		for {
			replicas, err := sc.Replicas(ctx, MasterName).Result()
			if err == nil && len(replicas) == len(s.Replicas) {
				break
			}
			if time.Now().After(deadline) {
				sc.Close()
				return fmt.Errorf("redistest: sentinel %s does not see the replica: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sc.Close()
	}
	return nil
}

// WaitQuorum waits until every sentinel knows the two others, which they
// learn from each other's hello messages every two seconds: before that a
// dead master is noticed but no failover can be voted.
func (s *Sentinel) WaitQuorum(limit time.Duration) error {
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for _, addr := range s.Addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		for {
			peers, err := sc.Sentinels(ctx, MasterName).Result()
			if err == nil && len(peers) >= len(s.Addrs)-1 {
				break
			}
			if time.Now().After(deadline) {
				sc.Close()
				return fmt.Errorf("redistest: sentinel %s knows %d peers: %v", addr, len(peers), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sc.Close()
	}
	return nil
}

// Stop kills every process of the set and removes their directories.
func (s *Sentinel) Stop() {
	for _, n := range s.sentinels {
		n.Stop()
	}
	for _, n := range append([]*Server{s.Master}, s.Replicas...) {
		if n != nil {
			n.Stop()
		}
	}
}

// sharedSentinelOptions are slow enough that a test binary starved of CPU
// by the race detector does not see a live master as down.
var sharedSentinelOptions = SentinelOptions{DownAfter: 5 * time.Second, FailoverTimeout: 10 * time.Second}

// SentinelAddrs returns the sentinels of the package's Sentinel set,
// started on first use and stopped by Main. Its master is never killed:
// a failover test starts a set of its own with StartSentinel.
func SentinelAddrs(t testing.TB) []string {
	t.Helper()
	return started(t, &sentinel, func() (*Sentinel, error) { return StartSentinel(sharedSentinelOptions) }).Addrs
}

// SentinelClient returns a failover client of the package's Sentinel set,
// closed when the test ends.
func SentinelClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: MasterName, SentinelAddrs: SentinelAddrs(t)})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
