package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
)

// TestEmbeddedKeysExpire: the embedded server's clock moves with the
// service's, so an idempotency key set for 24 h is gone after 24 h, not kept
// for as long as the process runs.
func TestEmbeddedKeysExpire(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := &embeddedClock{m: m, last: start}
	if err := rdb.Set(t.Context(), "idem", "first answer", 24*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	clock.advance(start.Add(23 * time.Hour))
	if n, _ := rdb.Exists(t.Context(), "idem").Result(); n != 1 {
		t.Fatal("the key expired before its 24 h")
	}
	clock.advance(start.Add(23 * time.Hour)) // the same instant again moves nothing
	clock.advance(start.Add(24*time.Hour + time.Second))
	if n, _ := rdb.Exists(t.Context(), "idem").Result(); n != 0 {
		t.Error("the key outlived its 24 h")
	}
}

// newWaitSet starts a master with one replica (and their sentinels) of the
// test's own, so the test may kill the replica, and returns a client of the
// master with the replica wait installed.
func newWaitSet(t *testing.T, timeout time.Duration) (*redistest.Sentinel, *redis.Client) {
	t.Helper()
	set, err := redistest.StartSentinel(redistest.SentinelOptions{DownAfter: 5 * time.Second, FailoverTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Stop)
	rdb := redis.NewClient(&redis.Options{Addr: set.Master.Addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	if err := addReplicaWait(t.Context(), rdb, 1, timeout, quiet); err != nil {
		t.Fatal(err)
	}
	return set, rdb
}

// waits reads how many WAIT commands the server has run.
func waits(t *testing.T, addr string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(info, "cmdstat_wait:calls=")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
	return n
}

// TestReplicaWait: with TASKER_REDIS_WAIT_REPLICAS, every way of writing
// (a command, a script, a pipeline, a transaction) is followed by one WAIT
// and is on the replica when it returns; reads are not; and once the
// replica is gone, writes fail with errNotReplicated while reads go on.
func TestReplicaWait(t *testing.T) {
	// A long timeout while the replica is up, since WAIT returns as soon as
	// it confirms and a loaded machine can take a while to; a short one
	// for the writes once it is gone, which wait it out.
	set, rdb := newWaitSet(t, 5*time.Second)
	ctx := t.Context()
	replica := redis.NewClient(&redis.Options{Addr: set.Replicas[0].Addr})
	t.Cleanup(func() { replica.Close() })
	script := redis.NewScript(`return redis.call("SET", KEYS[1], ARGV[1])`)
	// Loaded first, so that the write is one EVALSHA and not a NOSCRIPT
	// answer and an EVAL, each followed by its WAIT.
	if err := script.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	writes := []struct {
		name  string
		key   string
		write func() error
	}{
		{"Command", "a", func() error { return rdb.Set(ctx, "a", "1", 0).Err() }},
		{"Script", "b", func() error { return script.Run(ctx, rdb, []string{"b"}, "1").Err() }},
		{"Pipeline", "c", func() error {
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Get(ctx, "a")
				p.Set(ctx, "c", "1", 0)
				return nil
			})
			return err
		}},
		{"Transaction", "d", func() error {
			_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "d", "1", 0)
				p.Incr(ctx, "n")
				return nil
			})
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			before := waits(t, set.Master.Addr)
			if err := w.write(); err != nil {
				t.Fatal(err)
			}
			if got := waits(t, set.Master.Addr) - before; got != 1 {
				t.Errorf("%d WAITs after the write, want 1", got)
			}
			if v, err := replica.Get(ctx, w.key).Result(); v != "1" {
				t.Errorf("replica's %s = %q, %v right after the write, want 1", w.key, v, err)
			}
		})
	}
	if err := rdb.XGroupCreateMkStream(ctx, "s", "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// XINFO is a container command: read-only by its subcommand's flags.
	reads := func() error {
		if err := rdb.Get(ctx, "a").Err(); err != nil {
			return err
		}
		return rdb.XInfoConsumers(ctx, "s", "g").Err()
	}
	before := waits(t, set.Master.Addr)
	if err := reads(); err != nil {
		t.Fatal(err)
	}
	if got := waits(t, set.Master.Addr) - before; got != 0 {
		t.Errorf("%d WAITs after reads, want 0", got)
	}

	set.Replicas[0].Kill()
	rdb = redis.NewClient(&redis.Options{Addr: set.Master.Addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	if err := addReplicaWait(ctx, rdb, 1, 200*time.Millisecond, quiet); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "e", "1", 0).Err(); !errors.Is(err, errNotReplicated) {
		t.Errorf("write without a replica = %v, want errNotReplicated", err)
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "f", "1", 0)
		return nil
	}); !errors.Is(err, errNotReplicated) {
		t.Errorf("pipelined write without a replica = %v, want errNotReplicated", err)
	}
	if v, err := rdb.Get(ctx, "a").Result(); err != nil || v != "1" {
		t.Errorf("read without a replica = %q, %v", v, err)
	}
	if err := reads(); err != nil {
		t.Errorf("reads without a replica = %v", err)
	}
}

// TestReplicaWaitConfig: the setting is refused where it cannot work.
func TestReplicaWaitConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // "" when valid
	}{
		{"Off", map[string]string{}, ""},
		{"URL", map[string]string{"REDIS_URL": "redis://127.0.0.1:6379", "REDIS_WAIT_REPLICAS": "1"}, ""},
		{"Sentinel", map[string]string{"REDIS_SENTINELS": "127.0.0.1:26379", "REDIS_MASTER": "m", "REDIS_WAIT_REPLICAS": "1"}, ""},
		{"Embedded", map[string]string{"REDIS_WAIT_REPLICAS": "1"}, "TASKER_REDIS_WAIT_REPLICAS: needs"},
		{"Cluster", map[string]string{"REDIS_CLUSTER": "127.0.0.1:7000", "REDIS_WAIT_REPLICAS": "1"}, "TASKER_REDIS_WAIT_REPLICAS: is not supported"},
		{"Negative", map[string]string{"REDIS_WAIT_REPLICAS": "-1"}, "TASKER_REDIS_WAIT_REPLICAS: must not be negative"},
		{"NoTimeout", map[string]string{"REDIS_URL": "redis://127.0.0.1:6379", "REDIS_WAIT_REPLICAS": "1", "REDIS_WAIT_TIMEOUT": "0s"}, "TASKER_REDIS_WAIT_TIMEOUT: must be positive"},
		// Under a millisecond WAIT would be sent 0, which blocks for ever.
		{"SubMillisecond", map[string]string{"REDIS_URL": "redis://127.0.0.1:6379", "REDIS_WAIT_REPLICAS": "1", "REDIS_WAIT_TIMEOUT": "500us"}, "TASKER_REDIS_WAIT_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv("TASKER_"+k, v)
			}
			_, err := loadConfig()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("loadConfig() = %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("loadConfig() = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReplicaWaitNotRetried: a write whose WAIT blocks past the client's
// read timeout is not sent again. go-redis retries a pipeline that timed
// out, so a WAIT timeout longer than the read timeout (the default 3 s
// against a TASKER_REDIS_WAIT_TIMEOUT of 5 s, or here 200 ms against
// 400 ms) would apply every write up to four times while the replicas lag.
func TestReplicaWaitNotRetried(t *testing.T) {
	set, err := redistest.StartSentinel(redistest.SentinelOptions{DownAfter: 5 * time.Second, FailoverTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Stop)
	cfg := config{
		RedisURL:          "redis://" + set.Master.Addr + "/?read_timeout=200ms",
		RedisWaitReplicas: 1, RedisWaitTimeout: 400 * time.Millisecond,
	}
	rdb, closeRedis, err := newRedis(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeRedis)
	set.Replicas[0].Kill()
	if err := rdb.Incr(t.Context(), "n").Err(); !errors.Is(err, errNotReplicated) {
		t.Errorf("write without a replica = %v, want errNotReplicated", err)
	}
	master := redis.NewClient(&redis.Options{Addr: set.Master.Addr})
	t.Cleanup(func() { master.Close() })
	if n, err := master.Get(t.Context(), "n").Int(); err != nil || n != 1 {
		t.Errorf("n = %d, %v after one INCR, want 1", n, err)
	}
}

// TestRedisURLErrorHidesPassword: a TASKER_REDIS_URL that does not parse is
// refused before any connection, with Cluster and Sentinel as without, and
// the error does not quote the password.
func TestRedisURLErrorHidesPassword(t *testing.T) {
	bad := "redis://user:s3cret@ho st:6379/0"
	for _, cfg := range []config{
		{RedisURL: bad},
		{RedisURL: bad, RedisCluster: "127.0.0.1:1"},
		{RedisURL: bad, RedisSentinels: "127.0.0.1:1", RedisMaster: "mymaster"},
	} {
		_, _, err := newRedis(t.Context(), cfg, quiet)
		if err == nil || !strings.Contains(err.Error(), "TASKER_REDIS_URL") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("newRedis with cluster %q, sentinels %q = %v, want a TASKER_REDIS_URL error without the password", cfg.RedisCluster, cfg.RedisSentinels, err)
		}
	}
}

// TestReplicaWaitWarnsWithoutReplicas: a master with fewer replicas than
// TASKER_REDIS_WAIT_REPLICAS starts, with a warning, since every write will
// fail until they connect.
func TestReplicaWaitWarnsWithoutReplicas(t *testing.T) {
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	cfg := config{RedisURL: "redis://" + redistest.Addr(t), RedisWaitReplicas: 1, RedisWaitTimeout: 10 * time.Millisecond}
	_, closeRedis, err := newRedis(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	closeRedis()
	if !strings.Contains(log.String(), "fewer replicas than TASKER_REDIS_WAIT_REPLICAS") || !strings.Contains(log.String(), "replicas=0") {
		t.Errorf("log of a start without replicas:\n%s", log.String())
	}
}
