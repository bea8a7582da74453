package scheduler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/scheduler"
	"github.com/taskerhq/tasker/tasks"
)

// farBase is an instant of its own for each test: the due set is shared by
// the package's tests, and another's workspaces swept at this instant
// leave this test's alone.
func farBase() time.Time {
	return time.Date(2100+rand.IntN(100), 3, 1, 12, 0, 0, 0, time.UTC)
}

func mustSweepDue(t *testing.T, sch *scheduler.Scheduler, now time.Time) scheduler.Result {
	t.Helper()
	res, err := sch.SweepDue(context.Background(), now)
	if err != nil {
		t.Fatalf("SweepDue(%v) = %v", now, err)
	}
	return res
}

func mustRepair(t *testing.T, sch *scheduler.Scheduler) {
	t.Helper()
	if err := sch.Repair(context.Background()); err != nil {
		t.Fatalf("Repair = %v", err)
	}
}

// TestDueSweepAfterDowntime: reminders written while no scheduler ran fire
// once one starts (its repair finds them), and a workspace with nothing
// due is not swept, only recorded with its next instant.
func TestDueSweepAfterDowntime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		base := farBase()
		for range 3 {
			mustCreate(t, s, ws, tasks.NewTask{Title: "Written while down", DueAt: &base})
		}
		idle := ws + "-idle"
		far := base.Add(30 * 24 * time.Hour)
		mustCreate(t, s, idle, tasks.NewTask{Title: "Next month", DueAt: &far})

		sch := newTestScheduler(t, s)
		mustRepair(t, sch)
		mustSweepDue(t, sch, base.Add(-30*time.Minute))
		mustSweepDue(t, sch, base.Add(time.Minute))
		r, o := alerts(t, s, ws)
		for n := int64(1); n <= 3; n++ {
			if r[n] != 1 || o[n] != 1 {
				t.Errorf("task %d: %d reminders, %d overdue; want 1, 1", n, r[n], o[n])
			}
		}
		score, err := rdb.ZScore(context.Background(), "tasker:sched:due", string(idle)).Result()
		if want := far.Add(-s.ReminderLead()).UnixMilli(); err != nil || int64(score) != want || score != float64(int64(score)) {
			t.Errorf("the idle workspace's next due = %v, %v; want %d, unclaimed", score, err, want)
		}
	})
}

// TestLostNoticeFiresByRepair: a task written while the scheduler ran but
// whose notice nobody heard is not swept by its due time; the next repair
// records it and the sweep after fires it.
func TestLostNoticeFiresByRepair(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		base := farBase()
		sch := newTestScheduler(t, s)
		mustRepair(t, sch)
		mustCreate(t, s, ws, tasks.NewTask{Title: "Notice lost", DueAt: &base})
		mustSweepDue(t, sch, base.Add(time.Minute))
		if _, o := alerts(t, s, ws); o[1] != 0 {
			t.Fatalf("overdue alerts before any notice or repair = %d, want 0 (the sweep is not O(workspaces))", o[1])
		}
		mustRepair(t, sch)
		mustSweepDue(t, sch, base.Add(2*time.Minute))
		if _, o := alerts(t, s, ws); o[1] != 1 {
			t.Fatalf("overdue alerts after the repair = %d, want 1", o[1])
		}
		mustSweepDue(t, sch, base.Add(3*time.Minute))
		if _, o := alerts(t, s, ws); o[1] != 1 {
			t.Fatalf("overdue alerts after another sweep = %d, want still 1", o[1])
		}
	})
}

// TestDueDigestOfANewlyLinkedUser: a user linked since the last sweep makes
// the workspace due at once, so the sweep arms the user's digest, and the
// digest goes out at its time.
func TestDueDigestOfANewlyLinkedUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sch := newTestScheduler(t, s, scheduler.WithDigestTime("09:00"))
		cliqID := "cliq-1"
		u, err := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Ann", Email: "ann@example.com", CliqUserID: &cliqID})
		if err != nil {
			t.Fatal(err)
		}
		base := farBase()
		due := time.Date(base.Year(), base.Month(), base.Day(), 17, 0, 0, 0, time.UTC)
		mustCreate(t, s, ws, tasks.NewTask{Title: "Today", DueAt: &due, Assignee: &u.ID})
		if err := sch.Refresh(ctx, []tasks.WorkspaceID{ws}); err != nil { // the notice of the writes
			t.Fatal(err)
		}
		mustSweepDue(t, sch, due.Add(-10*time.Hour)) // 07:00: arms the digest for 09:00
		mustSweepDue(t, sch, due.Add(-8*time.Hour+time.Minute))
		if got := len(events(t, s, ws, tasks.EventDailyDigest)); got != 1 {
			t.Fatalf("digests = %d, want 1", got)
		}
	})
}

// TestDueSweepExactlyOnceAcrossReplicas: replicas with skewed clocks claim
// and sweep the due workspaces concurrently; leases lapse between them (a
// clock ahead sees another's lease as over), and every alert still goes out
// once.
func TestDueSweepExactlyOnceAcrossReplicas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		const n = 60
		start := farBase()
		for i := range n {
			due := start.Add(time.Duration(i*127) * time.Second) // spread over about 2 h
			mustCreate(t, s, ws, tasks.NewTask{Title: fmt.Sprintf("task %d", i), DueAt: &due})
		}
		skews := []time.Duration{-20 * time.Second, 0, 3 * time.Minute}
		replicas := newReplicas(t, rdb, skews)
		for _, sch := range replicas {
			mustRepair(t, sch)
		}
		sweepConcurrently(t, replicas, skews, start, (*scheduler.Scheduler).SweepDue)
		assertAlertedOnce(t, s, ws, n)
	})
}
