package tasks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fire calls FireDue at at and returns what it emitted as "alert#number".
func fire(t *testing.T, s *Store, ws WorkspaceID, at time.Time) []string {
	t.Helper()
	fired, _, err := s.FireDue(context.Background(), ws, at, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fired {
		if f.Event != "" {
			out = append(out, fmt.Sprintf("%s#%d", f.Alert, f.Task))
		}
	}
	return out
}

func wantFired(t *testing.T, when string, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: fired %v, want %v", when, got, want)
	}
}

// TestOneAlertEntryPerTask: a task waits in the scheduler once, and that
// entry gives its reminder, then its overdue alert, each once; a sweep that
// comes after due_at gives the overdue alert alone.
func TestOneAlertEntryPerTask(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	onEveryTopology(t, func() time.Time { return now }, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		due := now.Add(2 * time.Hour)
		a, _, err := s.CreateTask(ctx, ws, Actor{}, NewTask{Title: "on time", DueAt: &due}, nil)
		if err != nil {
			t.Fatal(err)
		}
		late, _, err := s.CreateTask(ctx, ws, Actor{}, NewTask{Title: "swept late", DueAt: &due}, nil)
		if err != nil {
			t.Fatal(err)
		}
		k := keysFor(ws)
		if n := s.rdb.ZCard(ctx, k.schedAlert()).Val(); n != 2 {
			t.Fatalf("schedAlert holds %d entries, want 2", n)
		}
		wantFired(t, "before the reminder", fire(t, s, ws, due.Add(-61*time.Minute)))
		// Only a's reminder is swept; late's waits for a sweep past due.
		if err := s.rdb.ZAdd(ctx, k.schedAlert(), redis.Z{Score: float64(due.Add(time.Hour).Unix()), Member: late.Number}).Err(); err != nil {
			t.Fatal(err)
		}
		wantFired(t, "at the reminder", fire(t, s, ws, due.Add(-time.Hour)), fmt.Sprintf("reminder#%d", a.Number))
		wantFired(t, "again", fire(t, s, ws, due.Add(-time.Hour)))
		wantFired(t, "at due", fire(t, s, ws, due), fmt.Sprintf("overdue#%d", a.Number))
		if err := s.rdb.ZAdd(ctx, k.schedAlert(), redis.Z{Score: float64(due.Add(-time.Hour).Unix()), Member: late.Number}).Err(); err != nil {
			t.Fatal(err)
		}
		wantFired(t, "swept after due", fire(t, s, ws, due.Add(time.Minute)), fmt.Sprintf("overdue#%d", late.Number))
		wantFired(t, "afterwards", fire(t, s, ws, due.Add(time.Hour)))
		if n := s.rdb.ZCard(ctx, k.schedAlert()).Val(); n != 0 {
			t.Errorf("schedAlert holds %d entries after both alerts, want 0", n)
		}
	})
}

// TestLegacyAlertSets: tasks armed in the two sets schedAlert replaced still
// get each alert once, whether their entries are moved when they fall due or
// when a write re-arms them.
func TestLegacyAlertSets(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	onEveryTopology(t, func() time.Time { return now }, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		k := keysFor(ws)
		due := now.Add(2 * time.Hour)
		var nums []int64
		for _, title := range []string{"untouched", "rescheduled", "reminded already"} {
			task, _, err := s.CreateTask(ctx, ws, Actor{}, NewTask{Title: title, DueAt: &due}, nil)
			if err != nil {
				t.Fatal(err)
			}
			nums = append(nums, task.Number)
		}
		// As the store armed them before: one entry per alert, and none
		// in schedAlert. The third's reminder has fired.
		if err := s.rdb.Del(ctx, k.schedAlert()).Err(); err != nil {
			t.Fatal(err)
		}
		remind, overdue := float64(due.Add(-time.Hour).Unix()), float64(due.Unix())
		for i, n := range nums {
			if i < 2 {
				s.rdb.ZAdd(ctx, k.schedRemind(), redis.Z{Score: remind, Member: n})
			}
			s.rdb.ZAdd(ctx, k.schedOverdue(), redis.Z{Score: overdue, Member: n})
		}
		later := due.Add(24 * time.Hour)
		if _, err := s.UpdateTask(ctx, ws, Actor{}, "2", TaskPatch{DueAt: Some(later)}, nil); err != nil {
			t.Fatal(err)
		}
		wantFired(t, "at the reminder", fire(t, s, ws, due.Add(-time.Hour)), fmt.Sprintf("reminder#%d", nums[0]))
		wantFired(t, "at due", fire(t, s, ws, due), fmt.Sprintf("overdue#%d", nums[0]), fmt.Sprintf("overdue#%d", nums[2]))
		wantFired(t, "after due", fire(t, s, ws, due.Add(time.Hour)))
		wantFired(t, "rescheduled", fire(t, s, ws, later), fmt.Sprintf("overdue#%d", nums[1]))
		for _, key := range []string{k.schedRemind(), k.schedOverdue(), k.schedAlert()} {
			if n := s.rdb.ZCard(ctx, key).Val(); n != 0 {
				t.Errorf("%s holds %d entries, want 0", key, n)
			}
		}
	})
}
