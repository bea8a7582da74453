package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
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

func TestMain(m *testing.M) { redistest.Main(m) }

// recorder is a test target that counts each event it handles.
type recorder struct {
	name string
	only tasks.EventType
	mu   sync.Mutex
	seen map[string]int
}

func newRecorder(name string, only tasks.EventType) *recorder {
	return &recorder{name: name, only: only, seen: make(map[string]int)}
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Wants(ev tasks.Event) bool { return r.only == "" || ev.Type == r.only }

func (r *recorder) Handle(_ context.Context, ev tasks.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[ev.ID]++
	return nil
}

func (r *recorder) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.seen))
	for k, v := range r.seen {
		out[k] = v
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newWorkspace() tasks.WorkspaceID {
	return tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
}

// startWorkers runs asynq workers for targets until the test ends.
func startWorkers(t *testing.T, rdb redis.UniversalClient, targets []pipeline.Target) {
	t.Helper()
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Queues: map[string]int{pipeline.Queue: 1}, Concurrency: 4,
		Logger: nopLogger{}, TaskCheckInterval: 50 * time.Millisecond,
	})
	mux := asynq.NewServeMux()
	pipeline.Register(mux, targets)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

type nopLogger struct{}

func (nopLogger) Debug(...any) {}
func (nopLogger) Info(...any)  {}
func (nopLogger) Warn(...any)  {}
func (nopLogger) Error(...any) {}
func (nopLogger) Fatal(...any) {}

// waitFor polls cond until it holds or the deadline passes. The deadline
// only bounds a broken test; passing tests return as soon as cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eventIDs(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID, typ tasks.EventType) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		evs, next, err := s.ListEvents(context.Background(), ws, tasks.EventFilter{Type: typ}, cursor, tasks.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
		if next == "" {
			return ids
		}
		cursor = next
	}
}

// exactlyOnce checks that rec saw every id once and nothing else.
func exactlyOnce(t *testing.T, rec *recorder, ids []string) {
	t.Helper()
	seen := rec.snapshot()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s handled event %s %d times, want 1", rec.name, id, seen[id])
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("%s handled %d events, want %d", rec.name, len(seen), len(ids))
	}
}

// TestEndToEnd runs the outbox → dispatcher → asynq jobs → target path on
// every topology: a running dispatcher fans every event out once. On the
// Cluster every workspace's stream lives in its own slot and asynq keeps
// each queue's keys under one hash tag, so no script crosses slots.
func TestEndToEnd(t *testing.T) {
	for _, backend := range redistest.Topologies() {
		t.Run(backend, func(t *testing.T) {
			rdb := redistest.ClientFor(t, backend)
			store := tasks.NewStore(rdb, time.Now)
			ws := newWorkspace()
			all := newRecorder("all", "")
			completed := newRecorder("completed", tasks.EventTaskCompleted)
			targets := []pipeline.Target{all, completed}
			startWorkers(t, rdb, targets)
			client := asynq.NewClientFromRedisClient(rdb)
			d := pipeline.NewDispatcher(quiet, store, client, targets, prometheus.NewRegistry(), pipeline.Options{Consumer: "d1", Poll: 20 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- d.Run(ctx) }()
			defer func() { cancel(); <-done }()

			for i := range 30 {
				task, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprint("t", i)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if i%3 == 0 {
					if _, err := store.CompleteTask(ctx, ws, tasks.Actor{}, task.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			ids := eventIDs(t, store, ws, "")
			waitFor(t, "every event handled", func() bool { return len(all.snapshot()) == len(ids) })
			exactlyOnce(t, all, ids)
			exactlyOnce(t, completed, eventIDs(t, store, ws, tasks.EventTaskCompleted))
		})
	}
}

// TestKilledDispatcherLosesNothing plays a dispatcher that died in the two
// places that matter: after reading entries but before enqueuing them, and
// after enqueuing but before acknowledging. Another dispatcher takes the
// entries over; every event reaches the target once.
func TestKilledDispatcherLosesNothing(t *testing.T) {
	rdb := redistest.Client(t)
	store := tasks.NewStore(rdb, time.Now)
	ws := newWorkspace()
	ctx := context.Background()
	rec := newRecorder("rec", "")
	targets := []pipeline.Target{rec}
	client := asynq.NewClientFromRedisClient(rdb)
	opts := pipeline.Options{Consumer: "dead", ClaimIdle: 50 * time.Millisecond, Batch: 10}
	dead := pipeline.NewDispatcher(quiet, store, client, targets, prometheus.NewRegistry(), opts)

	for i := range 25 {
		if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprint(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The dead dispatcher handled the first 25 fully.
	if n, err := dead.Dispatch(ctx, ws); err != nil || n != 25 {
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	for i := range 25 {
		if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprint("late", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Then it read 10 more and died before enqueuing them...
	unsent, err := store.ReadGroup(ctx, ws, "dispatch", "dead", 10)
	if err != nil || len(unsent) != 10 {
		t.Fatalf("ReadGroup = %d, %v", len(unsent), err)
	}
	// ...and read 5 more, enqueued them, and died before acknowledging.
	unacked, err := store.ReadGroup(ctx, ws, "dispatch", "dead", 5)
	if err != nil || len(unacked) != 5 {
		t.Fatalf("ReadGroup = %d, %v", len(unacked), err)
	}
	for _, e := range unacked {
		_, err := client.Enqueue(asynq.NewTask("event:rec", mustJSON(t, e.Event)), asynq.Queue(pipeline.Queue), asynq.TaskID("rec:"+e.Event.ID), asynq.Retention(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
	}

	startWorkers(t, rdb, targets)
	live := pipeline.NewDispatcher(quiet, store, client, targets, prometheus.NewRegistry(), pipeline.Options{Consumer: "live", ClaimIdle: 50 * time.Millisecond, Batch: 10})
	if n, err := live.Dispatch(ctx, ws); err != nil || n != 10 {
		t.Fatalf("live Dispatch of the never-read rest = %d, %v; want 10", n, err)
	}
	reclaimAll(t, live, ws, 15)
	ids := eventIDs(t, store, ws, "")
	if len(ids) != 50 {
		t.Fatalf("%d events in the log, want 50", len(ids))
	}
	waitFor(t, "every event handled", func() bool { return len(rec.snapshot()) == 50 })
	exactlyOnce(t, rec, ids)
	pending, err := rdb.XPending(ctx, "tasker:{"+string(ws)+"}:events", "dispatch").Result()
	if err != nil || pending.Count != 0 {
		t.Errorf("entries left pending: %+v, %v", pending, err)
	}
}

// reclaimAll calls d.Reclaim on ws until it has taken want entries in all.
func reclaimAll(t *testing.T, d *pipeline.Dispatcher, ws tasks.WorkspaceID, want int) {
	t.Helper()
	reclaimed := 0
	waitFor(t, "the dead consumer's entries to be reclaimed", func() bool {
		n, err := d.Reclaim(context.Background(), ws)
		if err != nil {
			t.Fatal(err)
		}
		reclaimed += n
		return reclaimed == want
	})
}

// follower is a recorder that follows the stream itself: it counts
// notices instead of jobs.
type follower struct {
	*recorder
	notices sync.Map // workspace → count
}

func (f *follower) Notify(ws tasks.WorkspaceID) {
	n, _ := f.notices.LoadOrStore(ws, new(int64))
	f.mu.Lock()
	*n.(*int64)++
	f.mu.Unlock()
}

// TestFollowerIsNotified: a Follower gets a notice per batch of a
// workspace's events it wants, and no job per event.
func TestFollowerIsNotified(t *testing.T) {
	rdb := redistest.Client(t)
	store := tasks.NewStore(rdb, time.Now)
	ws := newWorkspace()
	f := &follower{recorder: newRecorder("follower", "")}
	targets := []pipeline.Target{f}
	d := pipeline.NewDispatcher(quiet, store, asynq.NewClientFromRedisClient(rdb), targets, prometheus.NewRegistry(), pipeline.Options{Consumer: "d1"})
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprint("t", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.Dispatch(ctx, ws); err != nil || n != 5 {
		t.Fatalf("Dispatch() = %d, %v; want 5 events", n, err)
	}
	n, ok := f.notices.Load(ws)
	if !ok || *n.(*int64) != 1 {
		t.Fatalf("notices for %s = %v, want 1 for the batch", ws, n)
	}
	// No worker runs, so a job, had one been queued, would still be there.
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, id := range eventIDs(t, store, ws, "") {
		info, err := insp.GetTaskInfo(pipeline.Queue, "follower:"+id)
		if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Errorf("job for event %s = %+v, %v; want none", id, info, err)
		}
	}
}

// TestDispatchRecreatesALostGroup: when the stream and its group are gone
// (deleted, or Redis lost its data), the next dispatch makes the group
// again and handles what comes after, instead of failing for good.
func TestDispatchRecreatesALostGroup(t *testing.T) {
	rdb := redistest.Client(t)
	store := tasks.NewStore(rdb, time.Now)
	ws := newWorkspace()
	rec := newRecorder("rec", "")
	targets := []pipeline.Target{rec}
	d := pipeline.NewDispatcher(quiet, store, asynq.NewClientFromRedisClient(rdb), targets, prometheus.NewRegistry(), pipeline.Options{Consumer: "d1"})
	ctx := context.Background()
	if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "before"}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Dispatch(ctx, ws); err != nil || n != 1 {
		t.Fatalf("first Dispatch() = %d, %v; want 1", n, err)
	}
	if err := rdb.Del(ctx, tasks.EventStreamKey(ws)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "after"}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Dispatch(ctx, ws); err != nil || n != 1 {
		t.Fatalf("Dispatch() after the group was lost = %d, %v; want the new event", n, err)
	}
	if _, err := d.Reclaim(ctx, ws); err != nil {
		t.Fatalf("Reclaim() after the group was made again = %v", err)
	}
}

// TestReclaimRemovesDeadConsumers: consumers of processes gone in earlier
// deploys leave the group once idle with nothing pending; one still
// holding entries stays, so nothing pending is lost.
func TestReclaimRemovesDeadConsumers(t *testing.T) {
	rdb := redistest.Client(t)
	store := tasks.NewStore(rdb, time.Now)
	ws := newWorkspace()
	ctx := context.Background()
	if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "held"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureGroup(ctx, ws, "dispatch"); err != nil {
		t.Fatal(err)
	}
	// "old-holding" read the entry and died; "old-idle" read nothing.
	if _, err := store.ReadGroup(ctx, ws, "dispatch", "old-holding", 10); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ReadGroup(ctx, ws, "dispatch", "old-idle", 10); err != nil {
		t.Fatal(err)
	}
	d := pipeline.NewDispatcher(quiet, store, asynq.NewClientFromRedisClient(rdb), nil, prometheus.NewRegistry(),
		pipeline.Options{Consumer: "d-new", ClaimIdle: time.Hour, ConsumerIdle: time.Nanosecond})
	if _, err := d.Reclaim(ctx, ws); err != nil {
		t.Fatal(err)
	}
	cs, err := rdb.XInfoConsumers(ctx, tasks.EventStreamKey(ws), "dispatch").Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if slices.Contains(names, "old-idle") || !slices.Contains(names, "old-holding") {
		t.Errorf("consumers after Reclaim = %v, want old-idle gone and old-holding (pending) kept", names)
	}
}
