package bot

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// fieldValue returns the value of a card's label field.
func fieldValue(m map[string]any, label string) string {
	slides, _ := m["slides"].([]any)
	for _, s := range slides {
		data, _ := s.(map[string]any)["data"].([]any)
		for _, d := range data {
			if f, ok := d.(map[string]any); ok {
				if v, ok := f[label].(string); ok {
					return v
				}
			}
		}
	}
	return ""
}

// TestRecurringThroughChat drives a series through the signed routes: add
// with every:, Complete (twice), Skip, repeat with a new rule across the
// change to summer time, repeat off, and the mistakes.
func TestRecurringThroughChat(t *testing.T) {
	tb := newTestBot(t, nil) // Monday 10 March 2025, 09:15 in Berlin
	ctx := t.Context()
	berlin, _ := time.LoadLocation("Europe/Berlin")

	got := tb.command(t, "add Stand-up every:weekday at 9:30 #team", nil)
	mustContain(t, "add", text(got), "Created task #1.")
	if v := fieldValue(got, "Repeats"); v != "every weekday at 09:30" {
		t.Errorf("Repeats = %q", v)
	}
	if v := fieldValue(got, "Due"); v != "today 09:30 CET" {
		t.Errorf("Due = %q, want today's occurrence", v)
	}
	if v := fieldValue(got, "Then"); v != "tomorrow 09:30 CET, Wed 12 Mar 09:30 CET, Thu 13 Mar 09:30 CET" {
		t.Errorf("Then = %q", v)
	}
	if keys := buttonKeys(got); !slices.Contains(keys, "skip:1") {
		t.Errorf("buttons = %v, want skip:1", keys)
	}

	tb.now = testNow.Add(time.Hour)
	got = tb.press(t, "done:1")
	mustContain(t, "done", text(got), "completed by Priya Raman", "Next: #2, due tomorrow 09:30 CET.")
	got = tb.press(t, "done:1")
	mustContain(t, "done again", text(got), "Next: #2")
	open, _, err := tb.store.ListTasks(ctx, tb.ws, tasks.TaskFilter{Status: tasks.StatusOpen}, "", 50)
	if err != nil || len(open) != 1 || open[0].Number != 2 || open[0].Tags[0] != "team" {
		t.Fatalf("open tasks after two clicks = %+v, %v; want #2 only", open, err)
	}

	got = tb.press(t, "skip:2")
	if got["type"] != "message_edit" {
		t.Errorf("skip answer type = %v, want message_edit", got["type"])
	}
	mustContain(t, "skip", text(got), "task #2 is now due Wed 12 Mar 09:30 CET")

	got = tb.command(t, "repeat 2 every last friday", nil)
	mustContain(t, "repeat", text(got), "Task #2 repeats every last Fri at 09:30; next due Fri 28 Mar 09:30 CET.")
	tb.now = time.Date(2025, 3, 28, 12, 0, 0, 0, berlin)
	got = tb.command(t, "done 2", nil)
	mustContain(t, "done over DST", text(got), "Task #2 is done. Next: #3, due Fri 25 Apr 09:30 CEST.")

	got = tb.command(t, "skip 2", nil)
	mustContain(t, "skip completed", text(got), "Task #2: only an open task can be skipped. Try: /task skip 42")
	got = tb.command(t, "repeat 3 off", nil)
	mustContain(t, "off", text(got), "Task #3 no longer repeats.")
	if keys := buttonKeys(got); slices.Contains(keys, "skip:3") {
		t.Errorf("buttons after off = %v, want no skip", keys)
	}
	got = tb.command(t, "skip 3", nil)
	mustContain(t, "skip one-off", text(got), "Task #3: task 3 does not repeat.")
	got = tb.command(t, "add Stand-up every:fortnight", nil)
	mustContain(t, "bad rule", text(got), `in the repeat rule, "fortnight" is not understood here`, "Try: /task add Stand-up every:weekday at 9:30")
	got = tb.command(t, "repeat 3 every day until 2020-01-01", nil)
	mustContain(t, "past until", text(got), "Task #3: the rule has no occurrence after now.")
	got = tb.command(t, "skip 99", nil)
	mustContain(t, "missing", text(got), "There is no task #99")
}

// TestRecurringThroughForm: the create_task form's repeat select.
func TestRecurringThroughForm(t *testing.T) {
	tb := newTestBot(t, nil)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	got := tb.post(t, "/cliq/functions/createtaskform", formPayload(map[string]any{
		"title": "Water plants", "repeat": map[string]any{"label": "Every week", "value": "every week"},
		"due": map[string]any{"date_time": "2025-03-12T08:00", "time_zone_id": "Europe/Berlin"},
	}, dmChat()))
	mustContain(t, "form", text(got), "Created task #1.")
	task, err := tb.store.GetTask(t.Context(), tb.ws, "1")
	if err != nil {
		t.Fatal(err)
	}
	if task.Recurrence == nil || task.Recurrence.Text != "every week at 08:00" || task.Recurrence.Timezone != "Europe/Berlin" ||
		!task.DueAt.Equal(time.Date(2025, 3, 12, 8, 0, 0, 0, berlin)) {
		t.Errorf("task = %+v, recurrence %+v", task, task.Recurrence)
	}
	if v := fieldValue(got, "Then"); v != "Wed 19 Mar 08:00 CET, Wed 26 Mar 08:00 CET, Wed 2 Apr 08:00 CEST" {
		t.Errorf("Then = %q", v)
	}
	for _, none := range []any{"none", map[string]any{"label": "Does not repeat", "value": "none"}, ""} {
		got = tb.post(t, "/cliq/functions/createtaskform", formPayload(map[string]any{"title": "Once", "repeat": none}, dmChat()))
		number := strings.TrimPrefix(strings.Fields(cardTitle(got))[0], "#")
		if task, err := tb.store.GetTask(t.Context(), tb.ws, number); err != nil || task.Recurrence != nil {
			t.Errorf("repeat %v made %+v, %v", none, task, err)
		}
	}
	got = tb.post(t, "/cliq/functions/createtaskform", formPayload(map[string]any{"title": "Odd", "repeat": "every hour"}, dmChat()))
	mustContain(t, "bad repeat", text(got), "repeat must be none, every day, every weekday, every week or every month")
}
