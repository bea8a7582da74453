package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// useTopology points cfg at the package's server, Cluster or Sentinel set,
// as an operator would with TASKER_REDIS_URL, TASKER_REDIS_CLUSTER or
// TASKER_REDIS_SENTINELS and TASKER_REDIS_MASTER.
func useTopology(t *testing.T, cfg *config, topology string) {
	t.Helper()
	cfg.RedisURL, cfg.RedisCluster, cfg.RedisSentinels, cfg.RedisMaster = "", "", "", ""
	switch topology {
	case "redis":
		cfg.RedisURL = "redis://" + redistest.Addr(t)
	case "cluster":
		cfg.RedisCluster = strings.Join(redistest.ClusterAddrs(t), ",")
	case "sentinel":
		cfg.RedisSentinels = strings.Join(redistest.SentinelAddrs(t), ",")
		cfg.RedisMaster = redistest.MasterName
	default:
		t.Fatalf("unknown topology %q", topology)
	}
}

// TestServeOnEveryTopology builds the whole service from configuration
// pointing at each real topology, creates a task through the REST API and
// receives its task.created event as a signed webhook.
func TestServeOnEveryTopology(t *testing.T) {
	const secret = "whsec_dG9wb2xvZ3ktdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ=="
	for _, topology := range []string{"redis", "cluster", "sentinel"} {
		t.Run(topology, func(t *testing.T) {
			type delivery struct {
				header http.Header
				body   []byte
			}
			got := make(chan delivery, 16)
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				got <- delivery{r.Header.Clone(), body}
			}))
			t.Cleanup(recv.Close)
			_, srv := newTestService(t, func(cfg *config) {
				useTopology(t, cfg, topology)
				cfg.WebhookAllowPrivate = true
			})
			code, hook := do(t, "POST", srv.URL+"/api/v1/webhooks", "test-key",
				fmt.Sprintf(`{"url":%q,"events":["task.created"],"secret":%q}`, recv.URL, secret))
			if code != http.StatusCreated {
				t.Fatalf("create webhook = %d %v", code, hook)
			}
			code, task := do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Across the slots"}`)
			if code != http.StatusCreated {
				t.Fatalf("create task = %d %v", code, task)
			}
			select {
			case d := <-got:
				if err := webhooks.Verify(secret, d.header, d.body, time.Now(), 5*time.Minute); err != nil {
					t.Errorf("delivery's signature: %v", err)
				}
				if ev := d.header.Get("X-Tasker-Event"); ev != "task.created" {
					t.Errorf("X-Tasker-Event = %q, want task.created", ev)
				}
				if id, _ := task["id"].(string); !strings.Contains(string(d.body), id) {
					t.Errorf("delivery %s does not name task %s", d.body, id)
				}
			case <-time.After(20 * time.Second): // bounds a broken test only
				t.Fatal("no webhook delivered")
			}
		})
	}
}

// TestSentinelFailoverKeepsWaitedWrites creates tasks from four writers
// through a Sentinel-backed client that waits for a replica, kills the
// master with SIGKILL, and checks that Sentinel promotes a replica, that
// the writers go on against it, and that every creation that was
// acknowledged (its WAIT succeeded) is there afterwards.
func TestSentinelFailoverKeepsWaitedWrites(t *testing.T) {
	// Two replicas: after the failover the new master still has one to
	// wait for.
	set, err := redistest.StartSentinel(redistest.SentinelOptions{
		DownAfter: time.Second, FailoverTimeout: 3 * time.Second, Replicas: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Stop)
	if err := set.WaitQuorum(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	cfg := config{
		RedisSentinels: strings.Join(set.Addrs, ","), RedisMaster: redistest.MasterName,
		RedisWaitReplicas: 1, RedisWaitTimeout: 500 * time.Millisecond,
	}
	rdb, closeRedis, err := newRedis(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeRedis)
	store := tasks.NewStore(rdb, time.Now)
	ws := tasks.WorkspaceID(fmt.Sprint("failover", time.Now().UnixNano()))

	var (
		mu         sync.Mutex
		acked      []string
		afterKill  int // acknowledged creations that began after the kill
		resumed    time.Time
		failed     atomic.Int64
		killed     atomic.Bool
		ctx, stop  = context.WithCancel(t.Context())
		wg         sync.WaitGroup
		ackedCount = func() (int, int) { mu.Lock(); defer mu.Unlock(); return len(acked), afterKill }
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				late := killed.Load()
				task, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprintf("w%d-%d", w, i)}, nil)
				if err != nil {
					failed.Add(1)
					// While no master answers every call fails at once;
					// pausing keeps the writers from spinning.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked = append(acked, task.ID)
				if late {
					if afterKill == 0 {
						resumed = time.Now()
					}
					afterKill++
				}
				mu.Unlock()
			}
		})
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	waitUntil(t, "writes before the kill", func() bool { n, _ := ackedCount(); return n >= 100 })
	oldMaster := set.Master.Addr
	killed.Store(true)
	killedAt := time.Now()
	set.Master.Kill()
	waitUntil(t, "writes on the new master", func() bool { _, n := ackedCount(); return n >= 100 })
	stop()
	wg.Wait()

	sc := redis.NewSentinelClient(&redis.Options{Addr: set.Addrs[0]})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(t.Context(), redistest.MasterName).Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(addr, ":") == oldMaster {
		t.Fatalf("Sentinel still names the killed master %s", oldMaster)
	}
	lost := 0
	for _, id := range acked {
		if _, err := store.GetTask(t.Context(), ws, id); err != nil {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged task %s: %v", id, err)
			}
		}
	}
	t.Logf("%d creations acknowledged (%d after the kill), %d failed during the failover, %d lost; writes resumed %s after the kill",
		len(acked), afterKill, failed.Load(), lost, resumed.Sub(killedAt).Round(time.Millisecond))
}

// BenchmarkCreateTaskWait measures what TASKER_REDIS_WAIT_REPLICAS costs a
// task creation through a Sentinel-backed client, with one replica on the
// same machine: off, and waiting for that replica.
func BenchmarkCreateTaskWait(b *testing.B) {
	set, err := redistest.StartSentinel(redistest.SentinelOptions{DownAfter: 5 * time.Second, FailoverTimeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(set.Stop)
	for _, replicas := range []int{0, 1} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			cfg := config{
				RedisSentinels: strings.Join(set.Addrs, ","), RedisMaster: redistest.MasterName,
				RedisWaitReplicas: replicas, RedisWaitTimeout: time.Second,
			}
			rdb, closeRedis, err := newRedis(b.Context(), cfg, quiet)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(closeRedis)
			store := tasks.NewStore(rdb, time.Now)
			ws := tasks.WorkspaceID(fmt.Sprint("bench", replicas))
			in := tasks.NewTask{Title: "Benchmark task", Description: "a typical description", Tags: []string{"one", "two"}}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := store.CreateTask(context.Background(), ws, tasks.Actor{}, in, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
