package tasks_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// claimed returns the workspaces ClaimDue takes at now.
func claimed(t *testing.T, s *tasks.Store, now time.Time) []tasks.WorkspaceID {
	t.Helper()
	cs, err := s.ClaimDue(context.Background(), now, 2*time.Minute, 100)
	if err != nil {
		t.Fatalf("ClaimDue(%v) = %v", now, err)
	}
	var out []tasks.WorkspaceID
	for _, c := range cs {
		out = append(out, c.Workspace)
	}
	return out
}

// TestDueWorkspacesLeaseAndNotice: a claimed workspace is held for its
// lease and taken again when the lease lapses; a rescheduled one waits for
// its next instant; and a notice that arrives during a sweep is never
// overwritten by the later instant the sweep read before the write.
func TestDueWorkspacesLeaseAndNotice(t *testing.T) {
	for _, topo := range redistest.Topologies() {
		t.Run(topo, func(t *testing.T) {
			s := tasks.NewStore(redistest.ClientFor(t, topo), time.Now)
			ctx := context.Background()
			ws := tasks.WorkspaceID(fmt.Sprintf("due-%x", rand.Uint64()))
			// Far from the instants other tests leave due.
			t0 := time.Date(2300+rand.IntN(500), 1, 1, 0, 0, 0, 0, time.UTC)
			mustLower := func(at time.Time) {
				t.Helper()
				if err := s.LowerNextDue(ctx, map[tasks.WorkspaceID]time.Time{ws: at}); err != nil {
					t.Fatal(err)
				}
			}
			claim := func(now time.Time) tasks.DueClaim {
				t.Helper()
				cs, err := s.ClaimDue(ctx, now, 2*time.Minute, 100)
				if err != nil || len(cs) != 1 || cs[0].Workspace != ws {
					t.Fatalf("ClaimDue(%v) = %v, %v; want %s", now, cs, err, ws)
				}
				return cs[0]
			}
			mustLower(t0)
			if got := claimed(t, s, t0.Add(-time.Second)); slices.Contains(got, ws) {
				t.Fatalf("claimed before it was due")
			}
			claim(t0)
			if got := claimed(t, s, t0.Add(time.Minute)); slices.Contains(got, ws) {
				t.Fatal("claimed again within its lease")
			}
			// The sweep died: the lease lapses and another takes it.
			c := claim(t0.Add(2*time.Minute + time.Millisecond))
			if err := s.Reschedule(ctx, c, t0.Add(24*time.Hour), true); err != nil {
				t.Fatal(err)
			}
			if got := claimed(t, s, t0.Add(time.Hour)); slices.Contains(got, ws) {
				t.Fatal("claimed before its rescheduled instant")
			}
			// A later notice does not postpone it; an earlier one brings it forward.
			mustLower(t0.Add(48 * time.Hour))
			mustLower(t0.Add(12 * time.Hour))
			c = claim(t0.Add(12 * time.Hour))
			// A write during the sweep: its notice names an instant past the
			// lease, the sweep read its own before the write.
			mustLower(t0.Add(13 * time.Hour))
			if err := s.Reschedule(ctx, c, t0.Add(36*time.Hour), true); err != nil {
				t.Fatal(err)
			}
			// Leave no lease behind: a later run of the test on the same
			// server would find it due.
			if err := s.Reschedule(ctx, claim(t0.Add(13*time.Hour)), time.Time{}, false); err != nil {
				t.Fatal(err)
			}
			if got := claimed(t, s, t0.Add(1000*24*time.Hour)); slices.Contains(got, ws) {
				t.Fatal("claimed after its sweep found nothing left")
			}
		})
	}
}

// TestNextDue reads the earliest entry of a workspace's scheduler sets,
// and none once its tasks are done.
func TestNextDue(t *testing.T) {
	for _, topo := range redistest.Topologies() {
		t.Run(topo, func(t *testing.T) {
			s := tasks.NewStore(redistest.ClientFor(t, topo), time.Now)
			ctx := context.Background()
			ws := tasks.WorkspaceID(fmt.Sprintf("due-%x", rand.Uint64()))
			if _, ok, err := s.NextDue(ctx, ws, true); err != nil || ok {
				t.Fatalf("NextDue of an empty workspace = %v, %v; want none", ok, err)
			}
			due := time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)
			later := due.Add(time.Hour)
			var ids []string
			for _, d := range []time.Time{later, due} {
				task, _, err := s.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "x", DueAt: &d}, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, task.ID)
			}
			at, ok, err := s.NextDue(ctx, ws, false)
			if want := due.Add(-s.ReminderLead()); err != nil || !ok || !at.Equal(want) {
				t.Fatalf("NextDue = %v, %v, %v; want %v (the first reminder)", at, ok, err, want)
			}
			for _, id := range ids {
				if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, id); err != nil {
					t.Fatal(err)
				}
			}
			if at, ok, err := s.NextDue(ctx, ws, false); err != nil || ok {
				t.Fatalf("NextDue with every task done = %v, %v, %v; want none", at, ok, err)
			}
		})
	}
}
