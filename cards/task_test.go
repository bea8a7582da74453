package cards

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/taskerhq/tasker/tasks"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestTaskCard(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	due := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
	assignee := "usr_1"
	cliqID := "60087654321"
	src := "https://gitlab.example.com/x/-/issues/1"
	open := tasks.Task{
		Number: 42, Title: "Review PR", Description: "Look at the retry logic.", Status: tasks.StatusOpen,
		Priority: tasks.PriorityHigh, Tags: []string{"backend", "review"}, Assignee: &assignee, DueAt: &due, SourceURL: &src,
	}
	msg := Task(open, View{Heading: "Overdue", Text: "{@60087654321} this is overdue", Assignee: &tasks.User{Name: "Lars", CliqUserID: &cliqID}, Loc: berlin, Now: now})
	if err := msg.Validate(); err != nil {
		t.Fatal(err)
	}
	golden(t, "task_open", msg)

	done := open
	done.Status, done.Assignee, done.DueAt, done.SourceURL, done.Description = tasks.StatusCompleted, nil, nil, nil, ""
	golden(t, "task_completed", Task(done, View{Loc: berlin, Now: now}))
}

// TestRecurringTaskCard: the rule in words, the next three occurrences
// (across Berlin's change to summer time) and a Skip button.
func TestRecurringTaskCard(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 3, 26, 8, 0, 0, 0, time.UTC)
	due := time.Date(2026, 3, 27, 8, 30, 0, 0, time.UTC) // Fri 09:30 CET
	src := "https://gitlab.example.com/x/-/issues/1"
	series := "tsk_01"
	task := tasks.Task{
		Number: 7, Title: "Stand-up", Status: tasks.StatusOpen, Priority: tasks.PriorityMedium, DueAt: &due, SourceURL: &src,
		Recurrence: &tasks.Recurrence{Rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30", Timezone: "Europe/Berlin", Text: "every weekday at 09:30"},
		SeriesID:   &series,
	}
	msg := Task(task, View{Loc: berlin, Now: now})
	if err := msg.Validate(); err != nil {
		t.Fatal(err)
	}
	golden(t, "task_recurring", msg)

	// Completed: the rule stays, the next occurrences and Skip go (the
	// next occurrence is a task of its own). Another viewer's zone is named.
	task.Status = tasks.StatusCompleted
	done := Task(task, View{Loc: time.UTC, Now: now})
	b, _ := json.Marshal(done)
	for _, s := range []string{`"Then"`, `skip:7`} {
		if strings.Contains(string(b), s) {
			t.Errorf("completed card has %s: %s", s, b)
		}
	}
	if !strings.Contains(string(b), `"Repeats":"every weekday at 09:30 (Europe/Berlin)"`) {
		t.Errorf("completed card = %s, want the rule with its zone", b)
	}
}

func TestDue(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 7, 15, 0, 0, 0, time.UTC) // Sat 10:00 in New York, the day before DST starts
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 7, 22, 0, 0, 0, time.UTC), "today 17:00 EST"},
		{time.Date(2026, 3, 8, 21, 0, 0, 0, time.UTC), "tomorrow 17:00 EDT"},
		{time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC), "yesterday 09:00 EST"},
		{time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC), "Tue 1 Dec 17:00 EST"},
		{time.Date(2027, 1, 4, 14, 0, 0, 0, time.UTC), "Mon 4 Jan 2027 09:00 EST"},
	}
	for _, c := range cases {
		if got := Due(c.at, ny, now); got != c.want {
			t.Errorf("Due(%v) = %q, want %q", c.at, got, c.want)
		}
	}
}
