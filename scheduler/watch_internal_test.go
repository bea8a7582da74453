package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// startWatch runs sch.Watch until the test ends, reporting on refreshed
// each set of workspaces it refreshes; done closes when Watch returns.
func startWatch(t *testing.T, store *tasks.Store, opts ...Option) (sch *Scheduler, refreshed chan []tasks.WorkspaceID, done chan struct{}) {
	t.Helper()
	sch, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), store, prometheus.NewRegistry(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	refreshed = make(chan []tasks.WorkspaceID, 64)
	sch.refreshed = func(wss []tasks.WorkspaceID) { refreshed <- wss }
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		sch.Watch(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return sch, refreshed, done
}

// TestWatchRefreshesNoticedWorkspaces: Watch repairs at start, then a
// write's notice alone makes its workspace due, and the sweep fires it.
func TestWatchRefreshesNoticedWorkspaces(t *testing.T) {
	store := tasks.NewStore(redistest.Embedded(t), time.Now)
	ctx := context.Background()
	ws := tasks.WorkspaceID(fmt.Sprintf("watch-%x", rand.Uint64()))
	later := time.Date(2031, 1, 1, 9, 0, 0, 0, time.UTC)
	if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "first", DueAt: &later}, nil); err != nil {
		t.Fatal(err)
	}
	sch, refreshed, done := startWatch(t, store)
	wait := func(what string) {
		t.Helper()
		select {
		case wss := <-refreshed:
			if !slices.Contains(wss, ws) {
				t.Fatalf("%s refreshed %v, want %s", what, wss, ws)
			}
		case <-done:
			t.Fatalf("Watch ended before the %s", what)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10s", what)
		}
	}
	wait("start repair")

	due := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "second", DueAt: &due}, nil); err != nil {
		t.Fatal(err)
	}
	wait("refresh after the notice")
	res, err := sch.SweepDue(ctx, due.Add(time.Minute))
	if err != nil || res.Overdue != 1 {
		t.Fatalf("SweepDue after the notice = %+v, %v; want the second task's overdue alert", res, err)
	}
}

// TestWatchRepairsAfterReconnect: notices published while the notice
// connection was down are lost, so once the client has reconnected Watch
// refreshes every workspace at once rather than one a tick over the hour.
func TestWatchRepairsAfterReconnect(t *testing.T) {
	rdb := redistest.Client(t)
	store := tasks.NewStore(rdb, time.Now)
	ctx := context.Background()
	mine := []tasks.WorkspaceID{
		tasks.WorkspaceID(fmt.Sprintf("resub-%x", rand.Uint64())),
		tasks.WorkspaceID(fmt.Sprintf("resub-%x", rand.Uint64())),
	}
	for _, ws := range mine {
		if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "t"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, refreshed, done := startWatch(t, store, WithRepair(time.Hour))
	// Only a whole repair refreshes both in one call: the hour's spread
	// pass takes one workspace a tick.
	both := func(what string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case wss := <-refreshed:
				if slices.Contains(wss, mine[0]) && slices.Contains(wss, mine[1]) {
					return
				}
			case <-done:
				t.Fatalf("Watch ended before the %s", what)
			case <-timeout:
				t.Fatalf("no %s within 10s", what)
			}
		}
	}
	both("start repair")
	if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	both("repair after the reconnect")
}
