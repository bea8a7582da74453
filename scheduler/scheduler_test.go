package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/scheduler"
	"github.com/taskerhq/tasker/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// The store keeps the real clock: it stamps writes and trims the event log
// by it. Sweeps get a fake now, which is all the scheduler's logic reads.

// forEachBackend runs fn against the real redis-server and the embedded
// default, each in a fresh workspace.
func forEachBackend(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID)) {
	t.Helper()
	for _, b := range redistest.Backends() {
		t.Run(b, func(t *testing.T) {
			rdb := redistest.ClientFor(t, b)
			fn(t, rdb, tasks.NewStore(rdb, time.Now), tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64())))
		})
	}
}

func newTestScheduler(t *testing.T, s *tasks.Store, opts ...scheduler.Option) *scheduler.Scheduler {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sch, err := scheduler.New(logger, s, prometheus.NewRegistry(), opts...)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return sch
}

func mustSweep(t *testing.T, sch *scheduler.Scheduler, now time.Time) scheduler.Result {
	t.Helper()
	res, err := sch.Sweep(context.Background(), now)
	if err != nil {
		t.Fatalf("Sweep(%v) = %v", now, err)
	}
	return res
}

func mustCreate(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID, in tasks.NewTask) tasks.Task {
	t.Helper()
	task, _, err := s.CreateTask(context.Background(), ws, tasks.Actor{}, in, nil)
	if err != nil {
		t.Fatalf("CreateTask(%+v) = %v", in, err)
	}
	return task
}

// events returns every event of ws of the given types, oldest first.
func events(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID, types ...tasks.EventType) []tasks.Event {
	t.Helper()
	var out []tasks.Event
	cursor := ""
	for {
		page, next, err := s.ListEvents(context.Background(), ws, tasks.EventFilter{}, cursor, tasks.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page {
			for _, typ := range types {
				if ev.Type == typ {
					out = append(out, ev)
				}
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// alerts counts the reminder and overdue events of ws by task number.
func alerts(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) (reminders, overdue map[int64]int) {
	t.Helper()
	reminders, overdue = map[int64]int{}, map[int64]int{}
	for _, ev := range events(t, s, ws, tasks.EventTaskReminder, tasks.EventTaskOverdue) {
		if ev.Type == tasks.EventTaskReminder {
			reminders[ev.Data.Task.Number]++
		} else {
			overdue[ev.Data.Task.Number]++
		}
	}
	return reminders, overdue
}

var base = time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)

// newReplicas gives one scheduler per skew, each with its own store, small
// batches so that every sweep loops, and no digests.
func newReplicas(t *testing.T, rdb redis.UniversalClient, skews []time.Duration) []*scheduler.Scheduler {
	t.Helper()
	replicas := make([]*scheduler.Scheduler, len(skews))
	for r := range skews {
		replicas[r] = newTestScheduler(t, tasks.NewStore(rdb, time.Now), scheduler.WithBatch(7), scheduler.WithDigestTime(""))
	}
	return replicas
}

// sweepConcurrently has every replica sweep, through sweep, from 2 h before
// start to 3 h after on a step of its own, its clock skewed by its skew.
func sweepConcurrently(t *testing.T, replicas []*scheduler.Scheduler, skews []time.Duration, start time.Time, sweep func(*scheduler.Scheduler, context.Context, time.Time) (scheduler.Result, error)) {
	t.Helper()
	var wg sync.WaitGroup
	for r, sch := range replicas {
		wg.Go(func() {
			step := time.Duration(40+r*10) * time.Second
			for now := start.Add(-2 * time.Hour); now.Before(start.Add(3 * time.Hour)); now = now.Add(step) {
				if _, err := sweep(sch, context.Background(), now.Add(skews[r])); err != nil {
					t.Errorf("replica %d: sweep = %v", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// assertAlertedOnce fails unless tasks 1 to n each had one reminder and
// one overdue alert.
func assertAlertedOnce(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID, n int64) {
	t.Helper()
	reminders, overdue := alerts(t, s, ws)
	for i := int64(1); i <= n; i++ {
		if reminders[i] != 1 || overdue[i] != 1 {
			t.Errorf("task %d: %d reminders and %d overdue alerts, want 1 and 1", i, reminders[i], overdue[i])
		}
	}
}

// TestExactlyOnceAcrossConcurrentSchedulers: replicas each running the
// whole Sweep, so that every Repair races the others' due sweeps, still
// emit every alert once.
func TestExactlyOnceAcrossConcurrentSchedulers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		const n = 150
		for i := range n {
			due := base.Add(time.Duration(i*53) * time.Second) // spread over about 2 h
			mustCreate(t, s, ws, tasks.NewTask{Title: fmt.Sprintf("task %d", i), DueAt: &due})
		}
		skews := []time.Duration{-20 * time.Second, 0, 35 * time.Second}
		sweepConcurrently(t, newReplicas(t, rdb, skews), skews, base, (*scheduler.Scheduler).Sweep)
		assertAlertedOnce(t, s, ws, n)
	})
}

func TestReminderAndOverdueOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		sch := newTestScheduler(t, s)
		due := base
		task := mustCreate(t, s, ws, tasks.NewTask{Title: "Ship it", DueAt: &due, RemindBefore: ptr(30)})
		for _, step := range []struct {
			at                  time.Duration
			reminders, overdues int
		}{
			{-31 * time.Minute, 0, 0},
			{-30 * time.Minute, 1, 0},
			{-29 * time.Minute, 1, 0},
			{0, 1, 1},
			{time.Hour, 1, 1},
		} {
			mustSweep(t, sch, due.Add(step.at))
			r, o := alerts(t, s, ws)
			if r[task.Number] != step.reminders || o[task.Number] != step.overdues {
				t.Fatalf("after sweep at due%+v: %d reminders, %d overdue; want %d, %d", step.at, r[task.Number], o[task.Number], step.reminders, step.overdues)
			}
		}
		evs := events(t, s, ws, tasks.EventTaskReminder)
		got, err := s.GetTask(context.Background(), ws, "1")
		if err != nil {
			t.Fatal(err)
		}
		if ev := evs[0]; ev.Data.Task.Version != got.Version || ev.Data.Task.Title != "Ship it" || ev.Workspace != ws || ev.ID == "" {
			t.Errorf("reminder event = %+v, want the stored task in the SPEC 8.2 envelope", ev)
		}
	})
}

func TestNewDueRearms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sch := newTestScheduler(t, s)
		due := base
		mustCreate(t, s, ws, tasks.NewTask{Title: "Report", DueAt: &due})
		mustSweep(t, sch, due.Add(-30*time.Minute))
		later := due.Add(24 * time.Hour)
		if _, err := s.UpdateTask(ctx, ws, tasks.Actor{}, "1", tasks.TaskPatch{DueAt: tasks.Some(later)}, nil); err != nil {
			t.Fatal(err)
		}
		mustSweep(t, sch, due.Add(time.Minute)) // the old due date is gone
		if r, o := alerts(t, s, ws); r[1] != 1 || o[1] != 0 {
			t.Fatalf("after the old due date: %d reminders, %d overdue; want 1, 0", r[1], o[1])
		}
		mustSweep(t, sch, later.Add(-30*time.Minute))
		mustSweep(t, sch, later.Add(time.Minute))
		if r, o := alerts(t, s, ws); r[1] != 2 || o[1] != 1 {
			t.Fatalf("after the new due date: %d reminders, %d overdue; want 2, 1", r[1], o[1])
		}
		evs := events(t, s, ws, tasks.EventTaskReminder)
		if got := *evs[1].Data.Task.DueAt; !got.Equal(later) {
			t.Errorf("second reminder carries due_at %v, want %v", got, later)
		}
	})
}

func TestCompletedBeforeDueSendsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		sch := newTestScheduler(t, s)
		due := base
		mustCreate(t, s, ws, tasks.NewTask{Title: "Done early", DueAt: &due})
		mustCreate(t, s, ws, tasks.NewTask{Title: "Cancelled", DueAt: &due})
		if _, err := s.CompleteTask(context.Background(), ws, tasks.Actor{}, "1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateTask(context.Background(), ws, tasks.Actor{}, "2", tasks.TaskPatch{Status: tasks.Some(tasks.StatusCancelled)}, nil); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Duration{-30 * time.Minute, time.Minute, 48 * time.Hour} {
			mustSweep(t, sch, due.Add(at))
		}
		if r, o := alerts(t, s, ws); len(r)+len(o) != 0 {
			t.Errorf("closed tasks got reminders %v and overdue alerts %v, want none", r, o)
		}
	})
}

func TestSnoozeHoldsAlerts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sch := newTestScheduler(t, s)
		// SnoozeTask wants a future instant by the store's real clock.
		now := time.Now().UTC().Truncate(time.Second)
		due := now.Add(3 * time.Hour) // reminder at +2h
		mustCreate(t, s, ws, tasks.NewTask{Title: "Snoozed reminder", DueAt: &due})
		due2 := now.Add(time.Hour)
		mustCreate(t, s, ws, tasks.NewTask{Title: "Snoozed past due", DueAt: &due2})
		if _, err := s.SnoozeTask(ctx, ws, tasks.Actor{}, "1", now.Add(150*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SnoozeTask(ctx, ws, tasks.Actor{}, "2", now.Add(5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			at         time.Duration
			r1, o1, o2 int
		}{
			{2*time.Hour + 5*time.Minute, 0, 0, 0}, // task 1's reminder time, but snoozed; task 2 due, snoozed
			{150 * time.Minute, 1, 0, 0},           // task 1's snooze ends
			{3*time.Hour + time.Minute, 1, 1, 0},   // task 1 due
			{5*time.Hour + time.Minute, 1, 1, 1},   // task 2's snooze ends: overdue, no reminder
		}
		for _, st := range steps {
			mustSweep(t, sch, now.Add(st.at))
			r, o := alerts(t, s, ws)
			if r[1] != st.r1 || o[1] != st.o1 || o[2] != st.o2 || r[2] != 0 {
				t.Fatalf("at now%+v: reminders %v, overdue %v; want task 1 %d/%d, task 2 0/%d", st.at, r, o, st.r1, st.o1, st.o2)
			}
		}
	})
}

func TestCatchUpAfterDowntime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		sch := newTestScheduler(t, s)
		due := base
		for range 3 {
			mustCreate(t, s, ws, tasks.NewTask{Title: "Missed", DueAt: &due})
		}
		mustSweep(t, sch, due.Add(72*time.Hour))
		mustSweep(t, sch, due.Add(72*time.Hour+time.Minute))
		r, o := alerts(t, s, ws)
		for n := int64(1); n <= 3; n++ {
			if r[n] != 0 || o[n] != 1 {
				t.Errorf("task %d after downtime: %d reminders, %d overdue; want 0, 1", n, r[n], o[n])
			}
		}
	})
}

func TestLatenessWithinOneInterval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		clock := base
		sch := newTestScheduler(t, s, scheduler.WithClock(func() time.Time { return clock }), scheduler.WithDigestTime(""))
		lead := s.ReminderLead()
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 300
		for i := range n {
			due := base.Add(lead + time.Duration(rng.IntN(3*3600))*time.Second)
			mustCreate(t, s, ws, tasks.NewTask{Title: fmt.Sprintf("task %d", i), DueAt: &due})
		}
		const interval = time.Minute
		var worst time.Duration
		for ; !clock.After(base.Add(lead + 3*time.Hour + interval)); clock = clock.Add(interval) {
			res := mustSweep(t, sch, clock)
			worst = max(worst, res.MaxLateness)
		}
		evs := events(t, s, ws, tasks.EventTaskReminder, tasks.EventTaskOverdue)
		if len(evs) != 2*n {
			t.Fatalf("got %d alerts, want %d", len(evs), 2*n)
		}
		for _, ev := range evs {
			at := *ev.Data.Task.DueAt
			if ev.Type == tasks.EventTaskReminder {
				at = at.Add(-lead)
			}
			if late := ev.Timestamp.Sub(at); late < 0 || late > interval+time.Second {
				t.Errorf("%s of task %d: late by %v, want within [0, %v]", ev.Type, ev.Data.Task.Number, late, interval+time.Second)
			}
		}
		if worst > interval+time.Second {
			t.Errorf("Result.MaxLateness reached %v, want at most %v", worst, interval+time.Second)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	s := tasks.NewStore(redistest.Client(t), time.Now)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, opt := range []scheduler.Option{scheduler.WithSpec("every minute"), scheduler.WithDigestTime("9am")} {
		if _, err := scheduler.New(logger, s, prometheus.NewRegistry(), opt); err == nil {
			t.Errorf("New with a bad option = nil error, want one")
		}
	}
}

func ptr[T any](v T) *T { return &v }
