package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// TestRecurringReminders: a sweep reminds of the occurrence that completing
// a recurring task created, and again of the occurrence a skip moved it to.
func TestRecurringReminders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sch := newTestScheduler(t, s)
		first := mustCreate(t, s, ws, tasks.NewTask{Title: "Stand-up", Recurrence: ptr("every day at 9:30"), RecurrenceTimezone: ptr("Europe/Berlin")})
		if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, first.ID); err != nil {
			t.Fatal(err)
		}
		next, err := s.Successor(ctx, ws, first.Number)
		if err != nil {
			t.Fatal(err)
		}
		berlin, _ := time.LoadLocation("Europe/Berlin")
		if local := next.DueAt.In(berlin); local.Hour() != 9 || local.Minute() != 30 || !next.DueAt.After(*first.DueAt) {
			t.Fatalf("next due %v after %v", local, first.DueAt)
		}
		res := mustSweep(t, sch, next.DueAt.Add(-30*time.Minute))
		if res.Reminders != 1 || res.Overdue != 0 {
			t.Fatalf("sweep before the next occurrence = %+v, want one reminder", res)
		}
		got := events(t, s, ws, tasks.EventTaskReminder)
		if len(got) != 1 || got[0].Data.Task.Number != next.Number {
			t.Fatalf("reminders = %+v, want one of #%d", got, next.Number)
		}
		skipped, err := s.SkipTask(ctx, ws, tasks.Actor{}, next.ID)
		if err != nil {
			t.Fatal(err)
		}
		res = mustSweep(t, sch, skipped.DueAt.Add(-30*time.Minute))
		if res.Reminders != 1 {
			t.Fatalf("sweep after the skip = %+v, want the re-armed reminder", res)
		}
	})
}
