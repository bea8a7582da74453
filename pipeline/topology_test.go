package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/pipeline"
	"github.com/taskerhq/tasker/tasks"
)

// TestTopologies runs the outbox → dispatcher → asynq jobs → target path on
// a real Cluster and a real Sentinel set (TestEndToEnd covers the plain
// server and the embedded one): a running dispatcher fans every event out
// once, and a second dispatcher takes over what a dead one read but never
// acknowledged. On the Cluster every workspace's stream lives in its own
// slot and asynq keeps each queue's keys under one hash tag, so the
// dispatcher's and asynq's scripts never cross slots.
func TestTopologies(t *testing.T) {
	for _, topology := range []string{"cluster", "sentinel"} {
		t.Run(topology, func(t *testing.T) {
			rdb := redistest.ClientFor(t, topology)
			store := tasks.NewStore(rdb, time.Now)
			client := asynq.NewClientFromRedisClient(rdb) // shares rdb, closed by redistest

			t.Run("Dispatch", func(t *testing.T) {
				ws := newWorkspace()
				all := newRecorder("all", "")
				completed := newRecorder("completed", tasks.EventTaskCompleted)
				targets := []pipeline.Target{all, completed}
				startWorkers(t, rdb, targets)
				d := pipeline.NewDispatcher(quiet, store, client, targets, prometheus.NewRegistry(), pipeline.Options{Consumer: "d1", Poll: 20 * time.Millisecond})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error)
				go func() { done <- d.Run(ctx) }()
				defer func() { cancel(); <-done }()
				for i := range 20 {
					task, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprint("t", i)}, nil)
					if err != nil {
						t.Fatal(err)
					}
					if i%4 == 0 {
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

			t.Run("Reclaim", func(t *testing.T) {
				ctx := context.Background()
				ws := newWorkspace()
				rec := newRecorder("rec", "")
				targets := []pipeline.Target{rec}
				for i := range 10 {
					if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: fmt.Sprint(i)}, nil); err != nil {
						t.Fatal(err)
					}
				}
				// A dispatcher read every entry and died before enqueuing any.
				if err := store.EnsureGroup(ctx, ws, "dispatch"); err != nil {
					t.Fatal(err)
				}
				if unsent, err := store.ReadGroup(ctx, ws, "dispatch", "dead", 100); err != nil || len(unsent) != 10 {
					t.Fatalf("ReadGroup = %d, %v; want 10", len(unsent), err)
				}
				startWorkers(t, rdb, targets)
				live := pipeline.NewDispatcher(quiet, store, client, targets, prometheus.NewRegistry(), pipeline.Options{Consumer: "live", ClaimIdle: 50 * time.Millisecond})
				reclaimed := 0
				waitFor(t, "the dead consumer's entries to be reclaimed", func() bool {
					n, err := live.Reclaim(ctx, ws)
					if err != nil {
						t.Fatal(err)
					}
					reclaimed += n
					return reclaimed == 10
				})
				ids := eventIDs(t, store, ws, "")
				waitFor(t, "every event handled", func() bool { return len(rec.snapshot()) == len(ids) })
				exactlyOnce(t, rec, ids)
			})
		})
	}
}
