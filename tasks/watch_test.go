package tasks_test

import (
	"context"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// TestWatchEventsReadyAgainAfterReconnect: when the notice connection is
// cut, the client reconnects and WatchEvents calls ready again, so that a
// caller reads what was written while notices were lost; notices flow
// again afterwards.
func TestWatchEventsReadyAgainAfterReconnect(t *testing.T) {
	rdb := redistest.Client(t)
	s := tasks.NewStore(rdb, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{}, 4)
	notices := make(chan tasks.WorkspaceID, 16)
	done := make(chan error, 1)
	go func() {
		done <- s.WatchEvents(ctx, func() { ready <- struct{}{} }, func(ws tasks.WorkspaceID) { notices <- ws })
	}()
	await := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("WatchEvents ended (%v) waiting for %s", err, what)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10s", what)
		}
	}
	await("first subscription", ready)
	if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	await("subscription after the reconnect", ready)
	ws := tasks.WorkspaceID("test-watch")
	if _, _, err := s.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "after the reconnect"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-notices:
		if got != ws {
			t.Fatalf("notice for %q, want %q", got, ws)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice after the reconnect")
	}
}
