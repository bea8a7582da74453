package bot

import (
	"strings"
	"testing"
)

func botPayload(handler string, extra map[string]any) map[string]any {
	p := map[string]any{"handler": "bot_" + handler, "component": "taskerbot", "user": priyaUser(), "chat": dmChat()}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestBotHandlers(t *testing.T) {
	tb := newTestBot(t, nil)
	got := tb.post(t, "/cliq/bot/welcome", botPayload("welcome", map[string]any{"newuser": true}))
	mustContain(t, "welcome", text(got), "Hi Priya!", "I linked your Cliq account to the Tasker user Priya Raman", "https://tasker.example.com/api/v1")
	got = tb.post(t, "/cliq/bot/welcome", botPayload("welcome", nil))
	mustContain(t, "welcome again", text(got), "Your Cliq account is linked")

	for _, c := range []struct{ msg, want string }{
		{"add Water plants due:tomorrow", "Created task #1"},
		{"/task add Feed cat", "Created task #2"},
		{"list overdue", "Nothing is overdue"},
		{"done 1", "Task #1 is done"},
		{"", "Tasker keeps your team's tasks"},
		{"Hello there", `Try: add Hello there (or /task help`},
	} {
		got := tb.post(t, "/cliq/bot/message", botPayload("message", map[string]any{"message": c.msg}))
		mustContain(t, "message "+c.msg, text(got), c.want)
	}
	// The text may come only in message_details.
	got = tb.post(t, "/cliq/bot/message", botPayload("message", map[string]any{
		"message_details": map[string]any{"time": 1, "message": map[string]any{"type": "text", "text": "show 2"}}}))
	mustContain(t, "message_details", cardTitle(got), "#2 Feed cat")

	botMention := map[string]any{"id": "b-7", "type": "bot", "first_name": "Tasker", "dname": "@taskerbot"}
	for _, c := range []struct{ msg, want string }{
		{"@Tasker add Deploy friday @Lars Becker", "Created task #3"},
		{"@taskerbot list all", "2 tasks"},
		{"{@b-7} show 3", ""},
		{"@Tasker", "Tasker keeps your team's tasks"},
	} {
		got := tb.post(t, "/cliq/bot/mention", botPayload("mention", map[string]any{
			"message": c.msg, "chat": channelChat(), "mentions": []any{botMention, larsMention()}}))
		if c.want == "" {
			mustContain(t, "mention "+c.msg, cardTitle(got), "#3 Deploy friday")
			continue
		}
		mustContain(t, "mention "+c.msg, text(got), c.want)
	}

	got = tb.post(t, "/cliq/bot/context", botPayload("context", map[string]any{"context_id": "x", "answers": map[string]any{}}))
	mustContain(t, "context", text(got), "I'm not waiting for an answer")

	// Each menu action's script sends its name as menu_action (SPEC 7.1).
	for _, c := range []struct{ action, want string }{
		{"My tasks", "Your tasks"},
		{"Overdue", "Nothing is overdue"},
		{"Help", "Tasker commands"},
		{"Dance", "Tasker commands"},
	} {
		got := tb.post(t, "/cliq/bot/menu", botPayload("menu", map[string]any{"menu_action": c.action, "sub_action": ""}))
		mustContain(t, "menu "+c.action, cardTitle(got)+" "+text(got), c.want)
	}
	got = tb.post(t, "/cliq/bot/menu", botPayload("menu", map[string]any{"menu_action": "New task"}))
	if got["type"] != "form" {
		t.Errorf("menu New task = %v, want the form", got)
	}
	// A script from before menu_action sent target.name; it keeps working.
	got = tb.post(t, "/cliq/bot/menu", botPayload("menu", map[string]any{"target": map[string]any{"name": "New task"}}))
	if got["type"] != "form" {
		t.Errorf("menu with target New task = %v, want the form", got)
	}

	status, raw := tb.do(t, "/cliq/bot/participation", tb.body(t, map[string]any{"handler": "bot_participation", "operation": "added", "user": map[string]any{}}), nil)
	if status != 200 || strings.TrimSpace(string(raw)) != "{}" {
		t.Errorf("participation = %d %s, want 200 {}", status, raw)
	}
}

// TestMessageActionAddTask runs Add as task on messages shaped as in Zoho's
// sample: the form comes back prefilled and within Cliq's input limits.
func TestMessageActionAddTask(t *testing.T) {
	tb := newTestBot(t, nil)
	sender := map[string]any{"id": "123456", "first_name": "Scott", "last_name": "Fisher", "email": "scott.fisher@example.com"}
	long := strings.Repeat("ship it ", 30) // 240 characters: more than the form's 100
	first := map[string]any{"sender": sender, "time": "1741602612345", "text": long + "\nsecond line", "type": "text"}
	second := map[string]any{"sender": sender, "time": "1741602613345", "text": "and this too", "type": "text"}
	chat := dmChat()
	chat["title"] = "Release crew"
	got := tb.post(t, "/cliq/messageactions/addtask", map[string]any{
		"handler": "message_action", "component": "Add as task", "user": priyaUser(), "chat": chat,
		"message": first, "messages": map[string]any{"count": 2, "list": []any{first, second}},
		"attachments": []any{}, "mentions": []any{}, "location": map[string]any{},
	})
	if got["type"] != "form" || got["name"] != "create_task" {
		t.Fatalf("answer = %v, want the create_task form", got)
	}
	inputs := got["inputs"].([]any)
	title := inputs[0].(map[string]any)["value"].(string)
	if n := len([]rune(title)); n != formTitleMax || !strings.HasPrefix(long, strings.TrimSuffix(title, "…")) {
		t.Errorf("title = %q (%d characters), want the first line cut to %d", title, n, formTitleMax)
	}
	desc := inputs[1].(map[string]any)["value"].(string)
	mustContain(t, "description", desc, "ship it", "— Scott Fisher, 10 Mar 2025", "and this too", "From the chat Release crew.")

	if status, _ := tb.do(t, "/cliq/messageactions/other", tb.body(t, map[string]any{"user": priyaUser()}), nil); status != 404 {
		t.Errorf("unknown message action = %d, want 404", status)
	}
}

// TestAnswersNameTheFunctionOwner: functions are personal in Cliq, so a
// button sent to anyone but their owner must name the owner.
func TestAnswersNameTheFunctionOwner(t *testing.T) {
	for _, owner := range []string{"", "admin@example.com"} {
		tb := newTestBot(t, func(o *Options) { o.FunctionOwner = owner })
		got := tb.command(t, "add Water plants", nil)
		bs, _ := got["buttons"].([]any)
		if len(bs) == 0 {
			t.Fatalf("answer %v has no buttons", got)
		}
		for _, b := range bs {
			data, _ := b.(map[string]any)["action"].(map[string]any)["data"].(map[string]any)
			if got, _ := data["owner"].(string); got != owner {
				t.Errorf("owner %q: button %v names owner %q", owner, b, got)
			}
		}
	}
}
