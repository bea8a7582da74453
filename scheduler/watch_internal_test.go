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

// TestWatchRefreshesNoticedWorkspaces: Watch repairs at start, then a
// write's notice alone makes its workspace due, and the sweep fires it.
func TestWatchRefreshesNoticedWorkspaces(t *testing.T) {
	store := tasks.NewStore(redistest.Embedded(t), time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	ws := tasks.WorkspaceID(fmt.Sprintf("watch-%x", rand.Uint64()))
	later := time.Date(2031, 1, 1, 9, 0, 0, 0, time.UTC)
	if _, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "first", DueAt: &later}, nil); err != nil {
		t.Fatal(err)
	}
	sch, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), store, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	refreshed := make(chan []tasks.WorkspaceID, 16)
	sch.refreshed = func(wss []tasks.WorkspaceID) { refreshed <- wss }
	done := make(chan struct{})
	go func() {
		sch.Watch(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
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
