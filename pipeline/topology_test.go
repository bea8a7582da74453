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

// TestTopologies checks on a real Cluster and a real Sentinel set that a
// second dispatcher takes over what a dead one read but never acknowledged
// (TestKilledDispatcherLosesNothing covers the plain server).
func TestTopologies(t *testing.T) {
	for _, topology := range []string{"cluster", "sentinel"} {
		t.Run(topology, func(t *testing.T) {
			rdb := redistest.ClientFor(t, topology)
			store := tasks.NewStore(rdb, time.Now)
			client := asynq.NewClientFromRedisClient(rdb) // shares rdb, closed by redistest

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
				reclaimAll(t, live, ws, 10)
				ids := eventIDs(t, store, ws, "")
				waitFor(t, "every event handled", func() bool { return len(rec.snapshot()) == len(ids) })
				exactlyOnce(t, rec, ids)
			})
		})
	}
}
