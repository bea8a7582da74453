package bot

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// FuzzHandlers sends arbitrary signed bodies to every bot route: whatever
// a forwarder (or an attacker with the secret) sends, the answer is never a
// 5xx, never a panic, and a 200 is never empty.
func FuzzHandlers(f *testing.F) {
	for _, name := range []string{"slash_command", "bot_message", "button_function", "form_submission"} {
		b, err := os.ReadFile(filepath.Join("..", "cliq", "testdata", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	for _, seed := range []string{
		`{"user":{"id":"1","organization_id":"fuzz"},"arguments":"add x due:tomorrow @me !high #t"}`,
		`{"user":{"id":"1","organization_id":"fuzz"},"arguments":{"key":"snooze:1:tomorrow"}}`,
		`{"user":{"id":"1","organization_id":"fuzz"},"arguments":{"key":"list::."}}`,
		`{"user":{"id":"1","organization_id":"fuzz"},"form":{"name":"create_task","values":{"title":"t","due":"2026-13-45","labels":[{"value":7}]}}}`,
		`{"user":{"id":"1","organization_id":"fuzz"},"message":"@taskerbot list @x","mentions":[{"id":"","type":"user"}]}`,
		`{"user":{"id":"1","organization_id":"fuzz"},"target":{"name":"My tasks"}}`,
		`{"user":{"id":"1","organization_id":"bad org!"}}`,
		`{"user":{}}`, `[]`, `{"user":{"id":1e400}}`, ``,
	} {
		f.Add([]byte(seed), uint8(1))
	}
	tb := newTestBot(f, nil)
	paths := []string{
		"/cliq/commands/task", "/cliq/functions/taskaction", "/cliq/functions/createtaskform",
		"/cliq/bot/welcome", "/cliq/bot/message", "/cliq/bot/mention", "/cliq/bot/context",
		"/cliq/bot/menu", "/cliq/bot/participation",
	}
	f.Fuzz(func(t *testing.T, body []byte, route uint8) {
		path := paths[int(route)%len(paths)]
		status, raw := tb.do(t, path, body, nil)
		switch {
		case status >= 500:
			t.Fatalf("POST %s %q = %d %s", path, body, status, raw)
		case status == http.StatusOK && len(raw) < 3 && path != "/cliq/bot/participation":
			t.Fatalf("POST %s %q = 200 with an empty answer %s", path, body, raw)
		}
	})
}
