package deluge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/deluge"
	"github.com/taskerhq/tasker/deluge/delugetest"
)

// FuzzCommandScriptSignature sends arbitrary text through the /task script
// as its arguments: whatever Deluge's serialisation makes of it, the script
// signs exactly the text it sends, so the backend's verifier accepts it and
// reads the arguments back unchanged.
func FuzzCommandScriptSignature(f *testing.F) {
	for _, seed := range []string{
		"add Ship it", `add "quoted" \ back\slash`, "line one\nline two\ttab", "emoji 🚀 and ünïcödé, 漢字",
		"\u2028\u2029 separators", "{@60012345678} {\"json\":true}", "", "\x00\x1f control",
	} {
		f.Add(seed)
	}
	const secret = "fuzz-secret"
	verifier, err := cliq.NewVerifier(secret, nil, replaysAllowed{}, 1<<20, time.Now)
	if err != nil {
		f.Fatal(err)
	}
	var received string
	srv := httptest.NewServer(verifier.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var got struct {
			Arguments string `json:"arguments"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			http.Error(w, "not json", http.StatusBadRequest)
			return
		}
		received = got.Arguments
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"text":"ok"}`))
	})))
	f.Cleanup(srv.Close)
	rendered, err := deluge.Render(srv.URL, secret)
	if err != nil {
		f.Fatal(err)
	}
	var script deluge.Rendered
	for _, r := range rendered {
		if r.Script.Name == "commands/task" {
			script = r
		}
	}
	prog, err := delugetest.Parse(script.Script.File(), script.Text)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, args string) {
		if !utf8.ValidString(args) {
			return // Cliq hands scripts text, which is valid UTF-8
		}
		user := map[string]any{"id": "60012345678", "first_name": "Fuzz"}
		received = ""
		got, err := prog.Run(t.Context(), delugetest.Env{
			Attrs: map[string]any{"arguments": args, "user": user, "options": nil, "chat": nil,
				"mentions": nil, "selections": nil, "attachments": nil, "location": nil},
			HTTPClient: srv.Client(), Now: time.Now, Location: time.UTC,
		})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		b, _ := json.Marshal(got)
		if string(b) != `{"text":"ok"}` {
			t.Fatalf("script returned %s, want the backend's answer (the signature did not verify?)", b)
		}
		if received != args {
			t.Errorf("backend read arguments %q, want %q", received, args)
		}
	})
}

// replaysAllowed lets the fuzzer send the same input twice within a second,
// which the real guard would rightly refuse as a replay.
type replaysAllowed struct{}

func (replaysAllowed) Seen(context.Context, string, time.Duration) (bool, error) { return false, nil }
