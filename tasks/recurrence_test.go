package tasks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newClockStore(t *testing.T, b string, at time.Time) (*tasks.Store, *clock, tasks.WorkspaceID) {
	t.Helper()
	c := &clock{t: at}
	s := tasks.NewStore(redistest.ClientFor(t, b), c.now)
	s.SetTimezone(time.UTC)
	return s, c, newWorkspace()
}

func local(t *testing.T, at *time.Time, loc *time.Location) string {
	t.Helper()
	if at == nil {
		return "<nil>"
	}
	return at.In(loc).Format("Mon 2006-01-02 15:04")
}

func TestCreateRecurringTask(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			// Thursday 26 March 2026, 10:00 in Berlin; DST starts on Sunday.
			s, _, ws := newClockStore(t, b, time.Date(2026, 3, 26, 9, 0, 0, 0, time.UTC))
			ctx := context.Background()
			task := mustCreate(t, s, ws, tasks.NewTask{Title: "Stand-up", Recurrence: ptr("every weekday at 9:30"), RecurrenceTimezone: ptr("Europe/Berlin")})
			if got := local(t, task.DueAt, berlin); got != "Fri 2026-03-27 09:30" {
				t.Errorf("due_at = %s, want the first occurrence after now, Fri 09:30", got)
			}
			want := tasks.Recurrence{Rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30", Timezone: "Europe/Berlin", Text: "every weekday at 09:30"}
			if task.Recurrence == nil || *task.Recurrence != want {
				t.Errorf("recurrence = %+v, want %+v", task.Recurrence, want)
			}
			if task.SeriesID == nil || *task.SeriesID != task.ID {
				t.Errorf("series_id = %v, want the task's own id", task.SeriesID)
			}
			// Without a time, due_at's time is kept; due_at moves to the rule's day.
			due := time.Date(2026, 3, 30, 15, 0, 0, 0, berlin) // a Monday
			task = mustCreate(t, s, ws, tasks.NewTask{Title: "Report", DueAt: &due, Recurrence: ptr("FREQ=WEEKLY;BYDAY=WE"), RecurrenceTimezone: ptr("Europe/Berlin")})
			if got := local(t, task.DueAt, berlin); got != "Wed 2026-04-01 15:00" || task.Recurrence.Text != "every Wed at 15:00" {
				t.Errorf("due_at = %s, text %q; want Wed 15:00", got, task.Recurrence.Text)
			}
			// The store's zone, 17:00 without any time.
			task = mustCreate(t, s, ws, tasks.NewTask{Title: "Plants", Recurrence: ptr("every other day")})
			if got := local(t, task.DueAt, time.UTC); got != "Thu 2026-03-26 17:00" || task.Recurrence.Timezone != "UTC" {
				t.Errorf("due_at = %s in %s, want today 17:00 UTC", got, task.Recurrence.Timezone)
			}
			for _, tc := range []struct {
				in    tasks.NewTask
				field string
				msg   string
			}{
				{tasks.NewTask{Title: "x", Recurrence: ptr("FREQ=DAILY;BYSETPOS=1")}, "recurrence", "BYSETPOS is not supported; use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE, UNTIL or COUNT"},
				{tasks.NewTask{Title: "x", Recurrence: ptr("every fortnight")}, "recurrence", ""},
				{tasks.NewTask{Title: "x", Recurrence: ptr("every day until 2020-01-01")}, "recurrence", "the rule has no occurrence after now"},
				{tasks.NewTask{Title: "x", Recurrence: ptr("every day"), RecurrenceTimezone: ptr("Mars/Olympus")}, "recurrence_timezone", ""},
				{tasks.NewTask{Title: "x", RecurrenceTimezone: ptr("UTC")}, "recurrence_timezone", "only with recurrence"},
			} {
				_, _, err := s.CreateTask(ctx, ws, tasks.Actor{}, tc.in, nil)
				var ve *tasks.ValidationError
				if !errors.As(err, &ve) || ve.Fields[tc.field] == "" || (tc.msg != "" && ve.Fields[tc.field] != tc.msg) {
					t.Errorf("CreateTask(%v) = %v, want a problem with %s %q", *tc.in.Recurrence, err, tc.field, tc.msg)
				}
			}
		})
	}
}

// TestCompleteCreatesNextOccurrence: one atomic write completes the
// occurrence and creates the next, with both events; concurrent and repeated
// completions create one; reopening keeps it; the next one's reminders fire.
func TestCompleteCreatesNextOccurrence(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			// Friday 6 March 2026, 08:00 New York; DST starts on Sunday the 8th.
			s, clk, ws := newClockStore(t, b, time.Date(2026, 3, 6, 8, 0, 0, 0, ny))
			ctx := context.Background()
			assignee, err := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Ana", Email: "ana@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			first := mustCreate(t, s, ws, tasks.NewTask{
				Title: "Stand-up", Description: "notes", Priority: tasks.PriorityHigh, Tags: []string{"team"},
				Assignee: &assignee.ID, Recurrence: ptr("every weekday at 9:30, 4 times"), RecurrenceTimezone: ptr("America/New_York"),
			})
			before := len(allEvents(t, s, ws))
			clk.set(time.Date(2026, 3, 6, 10, 0, 0, 0, ny))

			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.CompleteTask(ctx, ws, tasks.Actor{UserID: assignee.ID}, "1"); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			evs := allEvents(t, s, ws)[:len(allEvents(t, s, ws))-before]
			var types []tasks.EventType
			for i := len(evs) - 1; i >= 0; i-- {
				types = append(types, evs[i].Type)
			}
			if len(types) != 2 || types[0] != tasks.EventTaskCompleted || types[1] != tasks.EventTaskCreated {
				t.Fatalf("events of 8 concurrent completions = %v, want task.completed, task.created", types)
			}
			next, err := s.Successor(ctx, ws, first.Number)
			if err != nil {
				t.Fatal(err)
			}
			if got := local(t, next.DueAt, ny); got != "Mon 2026-03-09 09:30" {
				t.Errorf("next due_at = %s, want Mon 09:30 (EDT)", got)
			}
			if next.Title != "Stand-up" || next.Description != "notes" || next.Priority != tasks.PriorityHigh ||
				len(next.Tags) != 1 || *next.Assignee != assignee.ID || *next.SeriesID != first.ID ||
				next.Status != tasks.StatusOpen || next.Recurrence.Rule != "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30;COUNT=3" {
				t.Errorf("next occurrence = %+v", next)
			}
			// Reopen and complete again: still one next occurrence.
			if _, err := s.ReopenTask(ctx, ws, tasks.Actor{}, "1"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, "1"); err != nil {
				t.Fatal(err)
			}
			list, _, err := s.ListTasks(ctx, ws, tasks.TaskFilter{}, "", 50)
			if err != nil || len(list) != 2 {
				t.Fatalf("tasks after reopen and complete = %d, %v; want 2", len(list), err)
			}
			// The next one's reminder and overdue alert fire.
			fired, _, err := s.FireDue(ctx, ws, next.DueAt.Add(time.Minute), 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(fired) != 1 || fired[0].Task != next.Number || fired[0].Alert != tasks.AlertOverdue {
				t.Errorf("fired = %+v, want the next occurrence overdue", fired)
			}
			// Completing late, after several occurrences passed, lands after now.
			clk.set(time.Date(2026, 3, 10, 12, 0, 0, 0, ny))
			if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, next.ID); err != nil {
				t.Fatal(err)
			}
			third, err := s.Successor(ctx, ws, next.Number)
			if err != nil {
				t.Fatal(err)
			}
			if got := local(t, third.DueAt, ny); got != "Wed 2026-03-11 09:30" {
				t.Errorf("third due_at = %s, want Wed 09:30", got)
			}
			// The passed-over Tuesday counts: Wednesday is the last of four.
			if third.Recurrence.Rule != "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30;COUNT=1" {
				t.Errorf("third rule = %s", third.Recurrence.Rule)
			}
		})
	}
}

func TestCompleteLastOccurrenceEndsSeries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		task := mustCreate(t, s, ws, tasks.NewTask{Title: "Once more", Recurrence: ptr("every day, 1 times")})
		if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, task.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Successor(ctx, ws, task.Number); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("Successor of the last occurrence = %v, want ErrNotFound", err)
		}
	})
}

func TestSkipRearmsReminders(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			s, clk, ws := newClockStore(t, b, time.Date(2026, 10, 22, 12, 0, 0, 0, berlin))
			ctx := context.Background()
			task := mustCreate(t, s, ws, tasks.NewTask{Title: "Backup", Recurrence: ptr("every day at 9:30"), RecurrenceTimezone: ptr("Europe/Berlin")})
			// Its reminder fires (one hour before 09:30 on the 23rd).
			fired, _, err := s.FireDue(ctx, ws, task.DueAt.Add(-30*time.Minute), 100)
			if err != nil || len(fired) != 1 || fired[0].Alert != tasks.AlertReminder {
				t.Fatalf("fired = %+v, %v; want the reminder", fired, err)
			}
			clk.set(task.DueAt.Add(-20 * time.Minute))
			if _, err := s.SnoozeTask(ctx, ws, tasks.Actor{}, task.ID, task.DueAt.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			// Skip twice, over the change to winter time on the 25th.
			for range 3 {
				if task, err = s.SkipTask(ctx, ws, tasks.Actor{}, task.ID); err != nil {
					t.Fatal(err)
				}
			}
			if got := local(t, task.DueAt, berlin); got != "Mon 2026-10-26 09:30" || task.SnoozedUntil != nil {
				t.Errorf("after three skips due_at = %s, snoozed %v; want Mon 09:30, no snooze", got, task.SnoozedUntil)
			}
			fired, _, err = s.FireDue(ctx, ws, task.DueAt.Add(-30*time.Minute), 100)
			if err != nil || len(fired) != 1 || fired[0].Alert != tasks.AlertReminder || !fired[0].At.Equal(task.DueAt.Add(-time.Hour)) {
				t.Errorf("fired after skip = %+v, %v; want the re-armed reminder", fired, err)
			}
			plain := mustCreate(t, s, ws, tasks.NewTask{Title: "One-off"})
			var ve *tasks.ValidationError
			if _, err := s.SkipTask(ctx, ws, tasks.Actor{}, plain.ID); !errors.As(err, &ve) || ve.Fields["recurrence"] == "" {
				t.Errorf("SkipTask(one-off) = %v, want a recurrence problem", err)
			}
		})
	}
}

func TestEndSeriesAndDeleteOccurrence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		task := mustCreate(t, s, ws, tasks.NewTask{Title: "Rent", Recurrence: ptr("every month on the 1st")})
		ended, err := s.UpdateTask(ctx, ws, tasks.Actor{}, task.ID, tasks.TaskPatch{Recurrence: tasks.Null[string]()}, nil)
		if err != nil || ended.Recurrence != nil || ended.SeriesID == nil {
			t.Fatalf("ending the series = %+v, %v; want no recurrence, series_id kept", ended, err)
		}
		if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, task.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Successor(ctx, ws, task.Number); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("an ended series created a next occurrence: %v", err)
		}
		// A rule set by patch; delete removes only that occurrence.
		again, err := s.UpdateTask(ctx, ws, tasks.Actor{}, task.ID, tasks.TaskPatch{
			Status: tasks.Some(tasks.StatusCompleted), Recurrence: tasks.Some("every week"),
		}, nil)
		if err != nil || again.Recurrence == nil {
			t.Fatalf("patch = %+v, %v", again, err)
		}
		other := mustCreate(t, s, ws, tasks.NewTask{Title: "Weekly", Recurrence: ptr("every week")})
		if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, other.ID); err != nil {
			t.Fatal(err)
		}
		next, err := s.Successor(ctx, ws, other.Number)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTask(ctx, ws, tasks.Actor{}, next.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTask(ctx, ws, other.ID); err != nil {
			t.Errorf("deleting the next occurrence touched the completed one: %v", err)
		}
	})
}
