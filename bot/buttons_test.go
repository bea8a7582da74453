package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

func TestButtons(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.command(t, "add Water plants @Lars Becker", nil)
	ctx := t.Context()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct {
		key        string
		wantEdit   bool
		wantText   string
		wantButton string
		check      func(tasks.Task) bool
	}{
		{"assign_me:1", true, "assigned to Priya Raman", "done:1", func(t tasks.Task) bool { return t.Assignee != nil }},
		{"done:1", true, "completed by Priya Raman", "reopen:1", func(t tasks.Task) bool { return t.Status == tasks.StatusCompleted }},
		{"done:1", true, "completed by Priya Raman", "reopen:1", nil}, // twice: still fine
		{"reopen:1", true, "reopened by Priya Raman", "done:1", func(t tasks.Task) bool { return t.Status == tasks.StatusOpen }},
		{"snooze:1:20", true, "snoozed until today 09:35 CET", "snooze:1:nextweek", func(t tasks.Task) bool {
			return t.SnoozedUntil.Equal(testNow.Add(20 * time.Minute))
		}},
		{"snooze:1:60", true, "snoozed until today 10:15 CET", "snooze:1:180", nil},
		{"snooze:1:tomorrow", true, "snoozed until tomorrow 09:00 CET", "snooze:1:20", func(t tasks.Task) bool {
			return t.SnoozedUntil.Equal(time.Date(2025, 3, 11, 9, 0, 0, 0, berlin))
		}},
		// testNow is a Monday: next week is the Monday after.
		{"snooze:1:nextweek", true, "snoozed until Mon 17 Mar 09:00 CET", "snooze:1:60", func(t tasks.Task) bool {
			return t.SnoozedUntil.Equal(time.Date(2025, 3, 17, 9, 0, 0, 0, berlin))
		}},
		{"snooze:1", true, "Snooze task #1 for how long?", "snooze:1:tomorrow", nil},
		{"show:1", false, "", "done:1", nil},
		{"done:77", false, "There is no task #77", "", nil},
		{"snooze:77:60", false, "There is no task #77", "", nil},
		{"help", false, "Tasker keeps your team's tasks", "new", nil},
		{"", false, `I didn't understand the button ""`, "", nil},
		{"done", false, "I didn't understand the button", "", nil},
		{"done:abc", false, "I didn't understand the button", "", nil},
		{"done:1:2", false, "I didn't understand the button", "", nil},
		{"snooze:1:forever", false, "I didn't understand the button", "", nil},
		{"snooze:1:0", false, "I didn't understand the button", "", nil},
		{"list:bogus:", false, "I didn't understand the button", "", nil},
		{"list:mine:notacursor", false, "I didn't understand the button", "", nil},
		{"list", false, "I didn't understand the button", "", nil},
		{"explode:1", false, "I didn't understand the button", "", nil},
	} {
		got := tb.press(t, c.key)
		if isEdit := got["type"] == "message_edit"; isEdit != c.wantEdit {
			t.Errorf("%s: type = %v, want edit %v", c.key, got["type"], c.wantEdit)
		}
		mustContain(t, c.key+": text", text(got), c.wantText)
		if c.wantButton != "" && !strings.Contains(strings.Join(buttonKeys(got), " "), c.wantButton) {
			t.Errorf("%s: buttons = %v, want %s", c.key, buttonKeys(got), c.wantButton)
		}
		if text(got) == "" && cardTitle(got) == "" {
			t.Errorf("%s: empty answer %v", c.key, got)
		}
		if c.check != nil {
			task, err := tb.store.GetTask(ctx, tb.ws, "1")
			if err != nil || !c.check(task) {
				t.Errorf("%s: task = %+v, %v", c.key, task, err)
			}
		}
	}
	got := tb.press(t, "new")
	if got["type"] != "form" || got["name"] != "create_task" {
		t.Errorf("new = %v, want the create_task form", got)
	}
}

// TestTrackButton clicks "Track as task" on a card: the task is made once,
// titled after the card, and a garbled key gets a chat answer.
func TestTrackButton(t *testing.T) {
	tb := newTestBot(t, nil)
	click := func(key string) map[string]any {
		return tb.post(t, "/cliq/functions/taskaction", map[string]any{
			"arguments": map[string]any{"key": key}, "user": priyaUser(),
			"message": map[string]any{"text": "x", "card": map[string]any{"title": "Crash on start"}},
		})
	}
	got := click("track:gh:github.com/x/y/issues/1")
	mustContain(t, "text", text(got), "Tracking this as task #1")
	task, err := tb.store.GetTask(t.Context(), tb.ws, "1")
	if err != nil || task.Title != "Crash on start" || task.SourceURL == nil || *task.SourceURL != "https://github.com/x/y/issues/1" {
		t.Errorf("tracked task = %+v, %v", task, err)
	}
	got = click("track:gh:github.com/x/y/issues/1")
	mustContain(t, "text", text(got), "already tracked as task #1")
	got = click("track:zz")
	mustContain(t, "text", text(got), "I didn't understand the button")
}
