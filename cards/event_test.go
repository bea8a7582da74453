package cards

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// eventFixture is one task seen through each event type, and the people
// involved, as the notifier gets them.
func eventFixture() (tasks.Task, *tasks.User, *tasks.User, time.Time) {
	due := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
	assignee := "usr_mia"
	miaCliq := "60087654321"
	task := tasks.Task{
		ID: "tsk_1", Number: 42, Title: "Review PR", Description: "Look at the retry logic.", Status: tasks.StatusOpen,
		Priority: tasks.PriorityHigh, Tags: []string{"backend"}, Assignee: &assignee, DueAt: &due,
	}
	actor := &tasks.User{ID: "usr_lars", Name: "Lars"}
	mia := &tasks.User{ID: assignee, Name: "Mia", CliqUserID: &miaCliq, Timezone: "Europe/Berlin"}
	return task, actor, mia, due
}

// roundTrip passes ev through JSON, as the queue does, so change values
// have the types a worker sees.
func roundTrip(t *testing.T, ev tasks.Event) tasks.Event {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var out tasks.Event
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEventCards(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	task, actor, mia, due := eventFixture()
	done := task
	done.Status = tasks.StatusCompleted
	now := due.Add(-time.Hour)
	newDue := due.Add(24 * time.Hour)
	cases := []struct {
		name    string
		typ     tasks.EventType
		task    tasks.Task
		changes map[string]tasks.Change
		comment *tasks.Comment
		actor   *tasks.User
		direct  bool
		at      time.Time
	}{
		{name: "created", typ: tasks.EventTaskCreated, task: task, actor: actor},
		{name: "completed", typ: tasks.EventTaskCompleted, task: done, actor: actor,
			changes: map[string]tasks.Change{"status": {From: "open", To: "completed"}}},
		{name: "assigned_direct", typ: tasks.EventTaskAssigned, task: task, actor: actor, direct: true,
			changes: map[string]tasks.Change{"assignee": {From: nil, To: "usr_mia"}}},
		{name: "assigned_channel", typ: tasks.EventTaskAssigned, task: task, actor: actor,
			changes: map[string]tasks.Change{"assignee": {From: nil, To: "usr_mia"}}},
		{name: "reminder", typ: tasks.EventTaskReminder, task: task, direct: true},
		{name: "overdue", typ: tasks.EventTaskOverdue, task: task, direct: true, at: due.Add(time.Minute)},
		{name: "comment", typ: tasks.EventCommentCreated, task: task, actor: actor, direct: true,
			comment: &tasks.Comment{ID: "cmt_1", TaskID: "tsk_1", TaskNumber: 42, Text: "Can you look at the *backoff* too?", Author: "usr_lars"}},
		{name: "deleted", typ: tasks.EventTaskDeleted, task: task, actor: actor},
		{name: "status_changed", typ: tasks.EventTaskStatusChanged, task: task, actor: actor,
			changes: map[string]tasks.Change{"status": {From: "open", To: "in_progress"}}},
		{name: "updated", typ: tasks.EventTaskUpdated, task: task, actor: actor, changes: map[string]tasks.Change{
			"title":       {From: "Review", To: "Review PR"},
			"description": {From: "", To: "Look at the retry logic."},
			"priority":    {From: "medium", To: "high"},
			"due_at":      {From: due.Format(time.RFC3339), To: newDue.Format(time.RFC3339)},
			"tags":        {From: []string{}, To: []string{"backend"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := c.at
			if at.IsZero() {
				at = now
			}
			task := c.task
			ev := roundTrip(t, tasks.Event{ID: "evt_1", Type: c.typ, Timestamp: at, Workspace: "default",
				Data: tasks.EventData{Task: &task, Changes: c.changes, Comment: c.comment}})
			msg, ok := Event(ev, EventView{Actor: c.actor, Assignee: mia, Direct: c.direct, Loc: berlin, Now: at})
			if !ok {
				t.Fatal("no card")
			}
			if err := msg.Validate(); err != nil {
				t.Fatal(err)
			}
			golden(t, "event_"+c.name, msg)
		})
	}
	if _, ok := Event(tasks.Event{Type: tasks.EventUserLinked, Data: tasks.EventData{User: mia}}, EventView{}); ok {
		t.Error("user.linked got a card")
	}
}

func TestDueIn(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour:                       "Due in 1 hour",
		59*time.Minute + 50*time.Second: "Due in 1 hour",
		45 * time.Minute:                "Due in 45 minutes",
		time.Minute:                     "Due in 1 minute",
		90 * time.Minute:                "Due in 1 hour 30 minutes",
		2 * time.Hour:                   "Due in 2 hours",
		72 * time.Hour:                  "Due in 3 days",
		-time.Minute:                    "Due now",
	} {
		if got := dueIn(d); got != want {
			t.Errorf("dueIn(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDigest(t *testing.T) {
	titles := []string{"Review PR", "Water plants", "Send invoice", "Book flights", "Renew domain"}
	var overdue []DigestItem
	for i, title := range titles {
		overdue = append(overdue, DigestItem{Type: tasks.EventTaskOverdue, Number: int64(40 + i), Title: title, Open: true})
	}
	golden(t, "digest_overdue", Digest(overdue))

	mixed := []DigestItem{
		{Type: tasks.EventTaskCreated, Number: 7, Title: "Plan sprint", Open: true},
		{Type: tasks.EventTaskCompleted, Number: 3, Title: "Fix login"},
		{Type: tasks.EventTaskOverdue, Number: 5, Title: "Pay rent", Open: true},
		{Title: "GitLab: merge request !12 opened"},
	}
	golden(t, "digest_mixed", Digest(mixed))
}

// TestDigestLimits combines a burst far larger than a message can hold.
func TestDigestLimits(t *testing.T) {
	var items []DigestItem
	for i := range 500 {
		items = append(items, DigestItem{Type: tasks.EventTaskOverdue, Number: int64(i + 1), Title: strings.Repeat("long title ", 30), Open: true})
	}
	msg := Digest(items).Truncate()
	if err := msg.Validate(); err != nil {
		t.Fatal(err)
	}
	if msg.Text != "500 tasks became overdue" {
		t.Errorf("text = %q", msg.Text)
	}
	if n := messageChars(msg); n > cliq.MaxTextLength {
		t.Errorf("digest has %d characters, limit %d", n, cliq.MaxTextLength)
	}
	if len(msg.Buttons) != cliq.MaxButtons {
		t.Errorf("%d buttons, want %d", len(msg.Buttons), cliq.MaxButtons)
	}
	lines := msg.Slides[0].Data.([]string)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "…and ") || last != fmt.Sprintf("…and %d more", 500-len(lines)+1) {
		t.Errorf("last line = %q, want how many more there are", last)
	}
}

// messageChars counts the characters a reader sees: text, title and slides.
func messageChars(m cliq.Message) int {
	n := utf8.RuneCountInString(m.Text)
	if m.Card != nil {
		n += utf8.RuneCountInString(m.Card.Title)
	}
	for _, s := range m.Slides {
		b, _ := json.Marshal(s.Data)
		n += utf8.RuneCountInString(string(b))
	}
	return n
}

func TestDailyDigest(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC) // 09:00 in Berlin
	at := func(h int) *time.Time { t := time.Date(2026, 12, 3, h, 0, 0, 0, time.UTC); return &t }
	d := tasks.Digest{
		Date: "2026-12-03", Timezone: "Europe/Berlin",
		Overdue:      []tasks.Task{{Number: 4, Title: "Pay rent", Status: tasks.StatusOpen, DueAt: at(7)}},
		DueToday:     []tasks.Task{{Number: 9, Title: "Review PR", Status: tasks.StatusInProgress, DueAt: at(16)}},
		OverdueCount: 1, DueTodayCount: 3,
	}
	msg := DailyDigest(d, berlin, now)
	if err := msg.Validate(); err != nil {
		t.Fatal(err)
	}
	golden(t, "daily_digest", msg)
}
