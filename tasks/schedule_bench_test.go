package tasks_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// The benchmarks run against the package's real redis-server:
//
//	go test ./tasks/ -run '^$' -bench FireDue -benchtime 5x -timeout 30m

// benchTasks builds n open tasks due at due(i), ready for BulkLoad.
func benchTasks(n int, now time.Time, due func(i int) time.Time) []tasks.Task {
	out := make([]tasks.Task, n)
	for i := range out {
		d := due(i)
		out[i] = tasks.Task{
			ID: tasks.NewTaskID(now), Title: "x", Status: tasks.StatusOpen, Priority: tasks.PriorityMedium,
			Tags: []string{}, DueAt: &d, CreatedAt: now, UpdatedAt: now, Version: 1,
		}
	}
	return out
}

// sweepWorkspace does for one workspace what scheduler.Sweep does: claim
// batches until nothing due is left. It calls seen with each batch.
func sweepWorkspace(b *testing.B, s *tasks.Store, ws tasks.WorkspaceID, now time.Time, seen func([]tasks.Fired)) {
	b.Helper()
	for more := true; more; {
		fired, m, err := s.FireDue(context.Background(), ws, now, 1000)
		if err != nil {
			b.Fatal(err)
		}
		seen(fired)
		more = m
	}
}

var million struct {
	once sync.Once
	rdb  redis.UniversalClient
	s    *tasks.Store
	ws   tasks.WorkspaceID
	err  error
}

// BenchmarkFireDueMillionStored times one sweep of a workspace holding
// 1,000,000 tasks of which 1,000 are due: 500 reminders and 500 overdue
// alerts (whose reminders give way to them).
func BenchmarkFireDueMillionStored(b *testing.B) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	million.once.Do(func() {
		million.rdb = redis.NewClient(&redis.Options{Addr: redistest.Addr(b)})
		million.s = tasks.NewStore(million.rdb, time.Now)
		million.ws = tasks.WorkspaceID(fmt.Sprintf("bench-%x", rand.Uint64()))
		start := time.Now()
		const n, part = 1_000_000, 100_000
		for i := 0; i < n && million.err == nil; i += part {
			million.err = million.s.BulkLoad(ctx, million.ws, benchTasks(part, now, func(j int) time.Time {
				return now.Add(48*time.Hour + time.Duration(i+j)*time.Second) // not due during the run
			}))
		}
		b.Logf("seeded %d tasks in %v", n, time.Since(start).Round(time.Millisecond))
	})
	if million.err != nil {
		b.Fatal(million.err)
	}
	s, ws := million.s, million.ws
	events := 0
	for b.Loop() {
		b.StopTimer()
		due := benchTasks(1000, now, func(i int) time.Time {
			if i%2 == 0 {
				return now.Add(30 * time.Minute) // reminder due
			}
			return now.Add(-time.Minute) // overdue
		})
		if err := s.BulkLoad(ctx, ws, due); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sweepWorkspace(b, s, ws, now, func(f []tasks.Fired) {
			for _, x := range f {
				if x.Event != "" {
					events++
				}
			}
		})
	}
	if events != 1000*b.N {
		b.Fatalf("emitted %d events, want %d", events, 1000*b.N)
	}
}

// BenchmarkFireDueBurst times 100,000 tasks falling due at the same
// instant: from the start of the sweep until every event is in the outbox,
// and the 99th percentile of each event's wait from the sweep's start (its
// lateness when the sweep starts on the due instant).
func BenchmarkFireDueBurst(b *testing.B) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(b)})
	defer rdb.Close()
	s := tasks.NewStore(rdb, time.Now)
	var total, p99 time.Duration
	for b.Loop() {
		b.StopTimer()
		ws := tasks.WorkspaceID(fmt.Sprintf("bench-%x", rand.Uint64()))
		now := time.Now().UTC().Truncate(time.Minute)
		if err := s.BulkLoad(ctx, ws, benchTasks(100_000, now, func(int) time.Time { return now })); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		var waits []time.Duration
		sweepWorkspace(b, s, ws, now, func(f []tasks.Fired) {
			at := time.Since(start)
			for _, x := range f {
				if x.Event != "" {
					waits = append(waits, at)
				}
			}
		})
		elapsed := time.Since(start)
		b.StopTimer()
		n, err := rdb.XLen(ctx, fmt.Sprintf("tasker:{%s}:events", ws)).Result()
		if err != nil || n != 100_000 || len(waits) != 100_000 {
			b.Fatalf("outbox holds %d events (%v), %d claimed; want 100000", n, err, len(waits))
		}
		slices.Sort(waits)
		total = max(total, elapsed)
		p99 = max(p99, waits[len(waits)*99/100])
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds(), "s-all-in-outbox")
	b.ReportMetric(p99.Seconds(), "s-p99-lateness")
}
