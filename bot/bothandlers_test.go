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

	for _, c := range []struct{ target, want string }{
		{"My tasks", "Your tasks"},
		{"Overdue", ""},
		{"Today", ""},
		{"Help", "Tasker commands"},
		{"Dance", "Tasker commands"},
	} {
		got := tb.post(t, "/cliq/bot/menu", botPayload("menu", map[string]any{"target": map[string]any{"name": c.target}}))
		if c.want != "" {
			mustContain(t, "menu "+c.target, cardTitle(got), c.want)
		}
		if text(got) == "" {
			t.Errorf("menu %s: empty answer", c.target)
		}
	}
	got = tb.post(t, "/cliq/bot/menu", botPayload("menu", map[string]any{"target": map[string]any{"name": "New task"}}))
	if got["type"] != "form" {
		t.Errorf("menu New task = %v, want the form", got)
	}

	status, raw := tb.do(t, "/cliq/bot/participation", tb.body(t, map[string]any{"handler": "bot_participation", "operation": "added", "user": map[string]any{}}), nil)
	if status != 200 || strings.TrimSpace(string(raw)) != "{}" {
		t.Errorf("participation = %d %s, want 200 {}", status, raw)
	}
}
