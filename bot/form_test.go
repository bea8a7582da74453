package bot

import (
	"testing"
	"time"
)

func formPayload(values map[string]any, chat map[string]any) map[string]any {
	return map[string]any{
		"handler": "form_submit", "component": "createtaskform", "user": priyaUser(), "chat": chat,
		"form": map[string]any{"name": "create_task", "values": values},
	}
}

func TestFormSubmission(t *testing.T) {
	tb := newTestBot(t, nil)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct {
		name    string
		values  map[string]any
		wantDue time.Time
	}{
		{"TitleOnly", map[string]any{"title": "Just a title"}, time.Time{}},
		{"NaiveDatetime", map[string]any{"title": "Naive", "due": "2025-03-12T08:30"}, time.Date(2025, 3, 12, 8, 30, 0, 0, berlin)},
		{"DateOnly", map[string]any{"title": "Date", "due": "2025-03-12"}, time.Date(2025, 3, 12, 17, 0, 0, 0, berlin)},
		{"EpochMillis", map[string]any{"title": "Millis", "due": "1741795200000"}, time.UnixMilli(1741795200000)},
		{"TypedWhen", map[string]any{"title": "Typed", "due": "tomorrow 9am"}, time.Date(2025, 3, 11, 9, 0, 0, 0, berlin)},
		{"EmptyOptional", map[string]any{"title": "Empty", "due": "", "assignee": nil, "labels": nil, "priority": nil, "notify_channel": false}, time.Time{}},
		{"LabelsAsText", map[string]any{"title": "Text labels", "labels": "ops, Docs"}, time.Time{}},
		// Cliq sends a datetime as an object; its zone wins over the user's.
		{"DatetimeObject", map[string]any{"title": "Obj", "due": map[string]any{"date_time": "2025-03-14T17:00", "time_zone_id": "America/New_York"}},
			time.Date(2025, 3, 14, 21, 0, 0, 0, time.UTC)},
		{"DatetimeNoZone", map[string]any{"title": "NoZone", "due": map[string]any{"date_time": "2025-03-14T09:15:00"}}, time.Date(2025, 3, 14, 9, 15, 0, 0, berlin)},
	} {
		got := tb.post(t, "/cliq/functions/createtaskform", formPayload(c.values, dmChat()))
		mustContain(t, c.name, text(got), "Created task #")
		if c.name == "LabelsAsText" {
			mustContain(t, c.name, cardTitle(got), "Text labels")
		}
		num := text(got)[len("Created task #"):]
		task, err := tb.store.GetTask(t.Context(), tb.ws, num[:len(num)-1])
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (task.DueAt == nil) != c.wantDue.IsZero() || task.DueAt != nil && !task.DueAt.Equal(c.wantDue) {
			t.Errorf("%s: due = %v, want %v", c.name, task.DueAt, c.wantDue)
		}
	}
	if len(tb.poster.posts) != 0 {
		t.Errorf("posted %d cards from a DM, want none", len(tb.poster.posts))
	}

	for _, c := range []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{"NoTitle", map[string]any{"title": "  "}, []string{"title is required"}},
		{"BadDue", map[string]any{"title": "x", "due": "the day after never"}, []string{"due is not a date"}},
		{"BadPriority", map[string]any{"title": "x", "priority": map[string]any{"label": "Meh", "value": "meh"}}, []string{"priority must be"}},
		{"BadRemind", map[string]any{"title": "x", "remind_before": map[string]any{"label": "x", "value": "-5"}}, []string{"remind before must be minutes"}},
		{"BadTag", map[string]any{"title": "x", "labels": []any{"no spaces please"}}, []string{"tags"}},
		{"Several", map[string]any{"title": "", "due": "soon-ish"}, []string{"due is not", "title is required"}},
		{"BadZone", map[string]any{"title": "x", "due": map[string]any{"date_time": "2025-03-14T17:00", "time_zone_id": "Mars/Olympus"}}, []string{"due has the unknown time zone Mars/Olympus"}},
		{"BadDatetime", map[string]any{"title": "x", "due": map[string]any{"date_time": "someday", "time_zone_id": "UTC"}}, []string{"due is not a date"}},
	} {
		got := tb.post(t, "/cliq/functions/createtaskform", formPayload(c.values, dmChat()))
		mustContain(t, c.name, text(got), append([]string{"I couldn't create the task"}, c.want...)...)
		if keys := buttonKeys(got); len(keys) != 1 || keys[0] != "new" {
			t.Errorf("%s: buttons = %v, want the form again", c.name, keys)
		}
	}
	// An assignee in a rejected form is not created.
	tb.post(t, "/cliq/functions/createtaskform", formPayload(map[string]any{"title": "", "assignee": map[string]any{"label": "Ghost", "value": "60070000000"}}, dmChat()))
	if _, err := tb.store.UserByCliqID(t.Context(), tb.ws, "60070000000"); err == nil {
		t.Error("a rejected form created its assignee")
	}

	other := formPayload(map[string]any{"title": "x"}, dmChat())
	other["form"].(map[string]any)["name"] = "survey"
	mustContain(t, "other form", text(tb.post(t, "/cliq/functions/createtaskform", other)), `I don't know the form "survey"`)
	noForm := map[string]any{"user": priyaUser()}
	if status, _ := tb.do(t, "/cliq/functions/createtaskform", tb.body(t, noForm), nil); status != 400 {
		t.Errorf("no form = %d, want 400", status)
	}
}

func TestFormNotifyWithoutPoster(t *testing.T) {
	tb := newTestBot(t, func(o *Options) { o.Poster = nil })
	got := tb.post(t, "/cliq/functions/createtaskform", formPayload(map[string]any{"title": "Quiet", "notify_channel": true}, channelChat()))
	if text(got) != "Created task #1." || cardTitle(got) != "#1 Quiet" {
		t.Errorf("answer = %v", got)
	}
}

func TestGoldenForm(t *testing.T) {
	tb := newTestBot(t, nil)
	golden(t, "create_task_form", tb.raw(t, "/cliq/commands/task", map[string]any{"arguments": "new", "user": priyaUser(), "chat": dmChat()}))
	// In a channel, the labels of recent tasks join the defaults and
	// "Post in this chat" starts on.
	tb.command(t, "add Tagged #ops #backend", nil)
	form := tb.command(t, "new", channelChat())
	inputs := form["inputs"].([]any)
	labels := inputs[6].(map[string]any)["options"].([]any)
	if len(labels) != 6 {
		t.Errorf("labels = %v, want defaults plus backend and ops", labels)
	}
	if inputs[7].(map[string]any)["value"] != true {
		t.Errorf("notify_channel = %v, want on in a channel", inputs[7])
	}
}

func TestGoldenHelpAndList(t *testing.T) {
	tb := newTestBot(t, nil)
	golden(t, "help_card", tb.raw(t, "/cliq/commands/task", map[string]any{"arguments": "help", "user": priyaUser()}))
	for range 5 {
		tb.command(t, "add Filler", nil)
	}
	tb.command(t, "add Water plants due:tomorrow", nil)
	tb.command(t, "add Review PR due:2025-03-07 @Lars Becker", nil)
	tb.command(t, "add Book flights @me", nil)
	golden(t, "list_card", tb.raw(t, "/cliq/commands/task", map[string]any{"arguments": "list all", "user": priyaUser()}))
}
