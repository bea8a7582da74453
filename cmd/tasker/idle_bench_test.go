package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/pipeline"
	"github.com/taskerhq/tasker/tasks"
)

// benchDuration reads a duration from the environment, def when unset.
func benchDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d
}

// BenchmarkIdleWorkspaces measures what idle workspaces cost Redis: it seeds
// TASKER_BENCH_WORKSPACES (10,000) workspaces of three tasks each, with no
// due dates and their events consumed, on a redis-server of its own, then
// runs each background role of one replica alone, and then all of them,
// and reports Redis calls per second (INFO commandstats, commands run by
// scripts included) over TASKER_BENCH_WINDOW (30s) after a warm-up of
// TASKER_BENCH_WARMUP (20s), which holds the start-up sweeps.
//
//	go test ./cmd/tasker/ -run '^$' -bench IdleWorkspaces -benchtime 1x -timeout 30m
func BenchmarkIdleWorkspaces(b *testing.B) {
	n := 10000
	if v := os.Getenv("TASKER_BENCH_WORKSPACES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	warmup := benchDuration(b, "TASKER_BENCH_WARMUP", 20*time.Second)
	window := benchDuration(b, "TASKER_BENCH_WINDOW", 30*time.Second)
	srv, err := redistest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	seedIdle(b, rdb, n)

	b.Setenv("TASKER_REDIS_URL", "redis://"+srv.Addr)
	b.Setenv("TASKER_API_KEYS", "k")
	b.Setenv("TASKER_CLIQ_SECRET", "s")
	b.Setenv("TASKER_ROLES", "worker,scheduler")
	roles := []struct {
		name  string
		start func(ctx context.Context, svc *service, wg *sync.WaitGroup)
	}{
		{"dispatcher", func(ctx context.Context, svc *service, wg *sync.WaitGroup) {
			wg.Go(func() { _ = svc.disp.Run(ctx) })
		}},
		{"scheduler", func(ctx context.Context, svc *service, wg *sync.WaitGroup) {
			svc.sched.Start(ctx)
			wg.Go(func() { svc.sched.Watch(ctx) })
			wg.Go(func() { <-ctx.Done(); <-svc.sched.Stop().Done() })
		}},
		{"webhooks", func(ctx context.Context, svc *service, wg *sync.WaitGroup) {
			wg.Go(func() { _ = svc.hooks.Run(ctx) })
		}},
		{"asynq-workers", func(ctx context.Context, svc *service, wg *sync.WaitGroup) {
			if err := svc.workers.Start(svc.mux); err != nil {
				b.Fatal(err)
			}
			wg.Go(func() { <-ctx.Done(); svc.workers.Shutdown() })
		}},
		{"all", func(ctx context.Context, svc *service, wg *sync.WaitGroup) {
			if err := svc.start(ctx, wg); err != nil {
				b.Fatal(err)
			}
			wg.Go(func() { <-ctx.Done(); svc.workers.Shutdown() })
		}},
	}
	for _, role := range roles {
		b.Run(role.name, func(b *testing.B) {
			for range b.N {
				perSec, byCmd := idleCost(b, rdb, role.start, warmup, window)
				b.ReportMetric(perSec, "redis-calls/s")
				b.Logf("%d idle workspaces, %s: %.1f Redis calls/s; by command: %s", n, role.name, perSec, topCommands(byCmd, window))
			}
		})
	}
}

// seedIdle writes n workspaces of three tasks without due dates and lets
// a dispatcher without targets consume their events.
func seedIdle(b *testing.B, rdb *redis.Client, n int) {
	b.Helper()
	ctx := context.Background()
	store := tasks.NewStore(rdb, time.Now)
	disp := pipeline.NewDispatcher(quiet, store, asynq.NewClientFromRedisClient(rdb), nil, prometheus.NewRegistry(),
		pipeline.Options{Consumer: "seed"})
	work := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				ws := tasks.WorkspaceID(fmt.Sprintf("idle-%05d", i))
				for j := range 3 {
					if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprint("task ", j)}, nil); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	// One consumer, so Dispatch runs alone: its group map is not shared.
	for i := range n {
		if _, err := disp.Dispatch(ctx, tasks.WorkspaceID(fmt.Sprintf("idle-%05d", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// idleCost builds a service, starts what start starts, and returns the
// Redis calls per second over window after warmup, and the calls by command.
func idleCost(b *testing.B, rdb *redis.Client, start func(context.Context, *service, *sync.WaitGroup), warmup, window time.Duration) (float64, map[string]int64) {
	b.Helper()
	cfg, err := loadConfig()
	if err != nil {
		b.Fatal(err)
	}
	svc, err := build(context.Background(), cfg, quiet, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer svc.close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start(ctx, svc, &wg)
	time.Sleep(warmup) // the role runs on its own clock; the benchmark only watches
	before := commandStats(b, rdb)
	b.ResetTimer()
	time.Sleep(window)
	b.StopTimer()
	after := commandStats(b, rdb)
	cancel()
	wg.Wait()
	delta := make(map[string]int64)
	var total int64
	for cmd, calls := range after {
		// The two INFO calls of the measurement are not the role's.
		if d := calls - before[cmd]; d > 0 && cmd != "info" {
			delta[cmd] = d
			total += d
		}
	}
	return float64(total) / window.Seconds(), delta
}

// commandStats reads the calls of every command from INFO commandstats.
func commandStats(b *testing.B, rdb *redis.Client) map[string]int64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	out := make(map[string]int64)
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			b.Fatalf("commandstats line %q: %v", line, err)
		}
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

// topCommands formats the calls per second of each command, most first.
func topCommands(byCmd map[string]int64, window time.Duration) string {
	names := slices.SortedFunc(maps.Keys(byCmd), func(a, b string) int { return int(byCmd[b] - byCmd[a]) })
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", name, float64(byCmd[name])/window.Seconds()))
	}
	return strings.Join(parts, ", ")
}
