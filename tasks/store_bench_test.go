package tasks_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// Words for typical tasks: short titles and descriptions from a modest
// vocabulary, as a team's tasks look.
var vocabulary = strings.Fields(`review release notes fix flaky login test prepare quarterly report update
on-call rota deploy staging database migration invoice customer onboarding design mockups
refactor payment service write docs api endpoint bug crash android ios backlog grooming
sprint planning budget hiring interview candidate security audit certificate renew backup
restore monitoring alert dashboard metrics latency cache timeout retry queue worker`)

func typicalTask(r *rand.Rand, now time.Time, users []string) tasks.Task {
	pick := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocabulary[r.IntN(len(vocabulary))]
		}
		return strings.Join(ws, " ")
	}
	t := tasks.Task{
		ID: fmt.Sprintf("tsk_%026d", r.Uint64()), Title: pick(3 + r.IntN(4)),
		Status:    []tasks.Status{tasks.StatusOpen, tasks.StatusOpen, tasks.StatusInProgress, tasks.StatusCompleted}[r.IntN(4)],
		Priority:  []tasks.Priority{tasks.PriorityLow, tasks.PriorityMedium, tasks.PriorityHigh}[r.IntN(3)],
		Tags:      []string{"team-" + strconv.Itoa(r.IntN(20))},
		CreatedBy: users[r.IntN(len(users))], CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if r.IntN(2) == 0 {
		t.Description = pick(r.IntN(12))
	}
	if r.IntN(10) < 7 {
		a := users[r.IntN(len(users))]
		t.Assignee = &a
	}
	if r.IntN(10) < 7 {
		due := now.Add(time.Duration(r.IntN(30*24)-24) * time.Hour).Truncate(time.Second)
		t.DueAt = &due
	}
	return t
}

// benchUsers creates the 50 users that typical tasks are assigned among
// and returns their ids.
func benchUsers(b *testing.B, s *tasks.Store, ws tasks.WorkspaceID) []string {
	b.Helper()
	users := make([]string, 50)
	for i := range users {
		u, err := s.CreateUser(context.Background(), ws, tasks.Actor{}, tasks.NewUser{Name: fmt.Sprint("User ", i), Email: fmt.Sprintf("u%d@example.com", i)})
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u.ID
	}
	return users
}

func usedMemory(b *testing.B, rdb redis.UniversalClient) int64 {
	b.Helper()
	info, err := rdb.InfoMap(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	n, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	return n
}

// listBenchSize is how many tasks BenchmarkListTasks stores: 100,000 by
// default, TASKER_BENCH_TASKS=1000000 for the figure in bench/README.md.
func listBenchSize(b *testing.B) int {
	if v := os.Getenv("TASKER_BENCH_TASKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("TASKER_BENCH_TASKS=%q", v)
		}
		return n
	}
	return 100000
}

// BenchmarkListTasks stores many typical tasks, reports Redis memory per
// task, then pages of 50 under each filter with the latency percentiles.
func BenchmarkListTasks(b *testing.B) {
	rdb := redistest.Client(b)
	s := tasks.NewStore(rdb, time.Now)
	ws := newWorkspace()
	ctx := context.Background()
	n := listBenchSize(b)
	r := rand.New(rand.NewPCG(1, 2))
	users := benchUsers(b, s, ws)
	before := usedMemory(b, rdb)
	now := time.Now()
	for done := 0; done < n; {
		batch := make([]tasks.Task, 0, min(50000, n-done))
		for range cap(batch) {
			batch = append(batch, typicalTask(r, now, users))
		}
		if err := s.BulkLoad(ctx, ws, batch); err != nil {
			b.Fatal(err)
		}
		done += len(batch)
	}
	perTask := float64(usedMemory(b, rdb)-before) / float64(n)

	filters := map[string]tasks.TaskFilter{
		"none":     {},
		"open":     {Status: tasks.StatusOpen},
		"tag":      {Tag: "team-7"},
		"assignee": {Assignee: users[3]},
		"words":    {Query: "release notes"},
		"due":      {DueBefore: ptr(now.Add(48 * time.Hour)), DueAfter: ptr(now)},
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range filters {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		f := filters[name]
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			var pages atomic.Int64
			cursor := ""
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				page, next, err := s.ListTasks(ctx, ws, f, cursor, 50)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(page) > 0 {
					pages.Add(1)
				}
				cursor = next // walk forward; a fresh first page once the end is reached
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(perTask, "redis-bytes/task")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			if pages.Load() == 0 {
				b.Fatal("no page had tasks")
			}
		})
	}
}

// BenchmarkCreateTask measures CreateTask from parallel callers against the
// package's redis-server.
func BenchmarkCreateTask(b *testing.B) {
	s := tasks.NewStore(redistest.Client(b), time.Now)
	ws := newWorkspace()
	ctx := context.Background()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			t := typicalTask(r, time.Now(), []string{"usr_a"})
			in := tasks.NewTask{Title: t.Title, Description: t.Description, Priority: t.Priority, Tags: t.Tags, DueAt: t.DueAt}
			if _, _, err := s.CreateTask(ctx, ws, tasks.Actor{}, in, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTaskMemory creates TASKER_BENCH_TASKS (default 100,000) typical
// tasks of SPEC 13 (title, description, two tags, a due date, an assignee)
// through CreateTask, 16 callers at once, and reports Redis memory per
// task with its events in the log, then without them (the stream deleted),
// the MEMORY USAGE of one stored record, and the Redis CPU of one create
// script. b.N is ignored: one run.
func BenchmarkTaskMemory(b *testing.B) {
	rdb := redistest.Client(b)
	s := tasks.NewStore(rdb, time.Now)
	ws := newWorkspace()
	ctx := context.Background()
	n := listBenchSize(b)
	users := benchUsers(b, s, ws)
	before := usedMemory(b, rdb)
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for next.Add(1) <= int64(n) {
				t := typicalTask(r, time.Now(), users)
				due := time.Now().Add(time.Duration(r.IntN(30*24)) * time.Hour)
				in := tasks.NewTask{
					Title: t.Title, Description: strings.Join([]string{vocabulary[r.IntN(len(vocabulary))], vocabulary[r.IntN(len(vocabulary))], "and", vocabulary[r.IntN(len(vocabulary))], vocabulary[r.IntN(len(vocabulary))]}, " "),
					Tags: []string{t.Tags[0], "area-" + strconv.Itoa(r.IntN(8))}, DueAt: &due,
					Assignee: ptr(users[r.IntN(len(users))]),
				}
				if _, _, err := s.CreateTask(ctx, ws, tasks.Actor{UserID: users[0]}, in, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	script := scriptMicros(b, rdb)
	withEvents := float64(usedMemory(b, rdb)-before) / float64(n)
	if err := rdb.Del(ctx, fmt.Sprintf("tasker:{%s}:events", ws)).Err(); err != nil {
		b.Fatal(err)
	}
	stored := float64(usedMemory(b, rdb)-before) / float64(n)
	record, err := rdb.MemoryUsage(ctx, fmt.Sprintf("tasker:{%s}:t:%d", ws, n/2)).Result()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(withEvents, "bytes/task+event")
	b.ReportMetric(stored, "bytes/task")
	b.ReportMetric(float64(record), "record-bytes")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "creates/s")
	b.ReportMetric(script, "redis-µs/create")
}

// scriptMicros returns the Redis CPU per script call since the last CONFIG
// RESETSTAT (INFO commandstats, evalsha): what a create costs Redis itself.
func scriptMicros(b *testing.B, rdb redis.UniversalClient) float64 {
	b.Helper()
	info, err := rdb.InfoMap(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, field := range strings.Split(info["Commandstats"]["cmdstat_evalsha"], ",") {
		if v, ok := strings.CutPrefix(field, "usec_per_call="); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	b.Fatal("no evalsha in INFO commandstats")
	return 0
}
