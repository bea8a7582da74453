package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/deluge"
	"github.com/taskerhq/tasker/deluge/delugetest"
)

// answerLog records what the service answered on each route, so a test can
// tell the backend's answer from a script's fallback.
type answerLog struct {
	mu      sync.Mutex
	answers map[string][]recorded
}

type recorded struct {
	status int
	body   []byte
}

func (l *answerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		l.mu.Lock()
		l.answers[r.URL.Path] = append(l.answers[r.URL.Path], recorded{rec.Code, rec.Body.Bytes()})
		l.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// last returns the newest answer on path and forgets every answer.
func (l *answerLog) last(t *testing.T, path string) recorded {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.answers[path]
	clear(l.answers)
	if len(got) != 1 {
		t.Fatalf("%s was called %d times, want once", path, len(got))
	}
	return got[0]
}

// sampleFiles names, per script, Zoho's sample payload under
// deluge/testdata/zoho-samples; fixtureFiles the project's fixture under
// cliq/testdata. Every script has at least one of them.
var (
	sampleFiles = map[string]string{
		"commands/task":            "command/execution_handler.json",
		"functions/taskaction":     "function/button_handler.json",
		"functions/createtaskform": "function/form_handler.json",
		"bot/welcome":              "bot/welcome_handler.json",
		"bot/message":              "bot/message_handler.json",
		"bot/mention":              "bot/mention_handler.json",
		"bot/context":              "bot/context_handler.json",
		"bot/menu-new-task":        "bot/action_handler.json",
		"bot/menu-my-tasks":        "bot/action_handler.json",
		"bot/menu-overdue":         "bot/action_handler.json",
		"bot/menu-help":            "bot/action_handler.json",
		"bot/participation":        "bot/participation_handler.json",
		"messageactions/addtask":   "messageaction/execution_handler.json",
		"extension/install":        "extension/installation_handler.json",
	}
	fixtureFiles = map[string]string{
		"commands/task":            "slash_command.json",
		"functions/taskaction":     "button_function.json",
		"functions/createtaskform": "form_submission.json",
		"bot/message":              "bot_message.json",
		"extension/incoming":       "extension_incoming_webhook.json",
	}
)

// attributeSets returns, per source, the attributes a handler is run with:
// exactly its documented attributes, valued from that source (null where the
// source has none), as Cliq binds them.
func attributeSets(t *testing.T, h deluge.Handler) map[string]map[string]any {
	t.Helper()
	sets := map[string]map[string]any{}
	bind := func(source string, from map[string]any) {
		attrs := make(map[string]any, len(h.Attrs))
		for _, name := range h.AttrNames() {
			attrs[name] = from[name]
		}
		sets[source] = attrs
	}
	if f, ok := sampleFiles[h.Name]; ok {
		var sample map[string]any
		readJSON(t, filepath.Join("..", "..", "deluge", "testdata", "zoho-samples", f), &sample)
		params, _ := sample["params"].(map[string]any)
		if h.MenuAction != "" { // the sample carries sub_action outside params
			params["sub_action"] = sample["sub_action"]
		}
		bind("zoho-sample", params)
	}
	if f, ok := fixtureFiles[h.Name]; ok {
		var fixture map[string]any
		readJSON(t, filepath.Join("..", "..", "cliq", "testdata", f), &fixture)
		bind("fixture", fixture)
	}
	if len(sets) == 0 {
		t.Fatalf("%s: no sample or fixture to run it with", h.Name)
	}
	return sets
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return bytes.Equal(jsonOf(t, x), jsonOf(t, y))
}

// TestDelugeScriptsRunAgainstTheService runs every shipped script in the
// Deluge interpreter with exactly its handler's documented attributes, as
// Cliq's editor would save and run it, its invokeurl reaching the real
// routes: each must return the backend's answer, never its fallback, and
// that answer must be one Cliq accepts from that handler.
func TestDelugeScriptsRunAgainstTheService(t *testing.T) {
	log := &answerLog{answers: map[string][]recorded{}}
	svc, _ := newTestService(t, nil)
	srv := httptest.NewServer(log.wrap(svc.handler))
	t.Cleanup(srv.Close)
	rendered, err := deluge.Render(srv.URL, "test-secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rendered {
		h := r.Script.Handler
		t.Run(h.Name, func(t *testing.T) {
			prog, err := delugetest.Parse(r.Script.File(), r.Text)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			// Cliq's editor saves only a script whose every variable is
			// one of its handler's attributes or assigned first.
			if err := prog.Check(h.AttrNames()); err != nil {
				t.Fatalf("Cliq would not save it: %v", err)
			}
			for source, attrs := range attributeSets(t, h) {
				var posted []string
				var logs []string
				got, err := prog.Run(t.Context(), delugetest.Env{
					Attrs: attrs, HTTPClient: srv.Client(), Now: time.Now, Location: time.UTC,
					PostToChannel: func(channel string, message any) any {
						posted = append(posted, channel+" "+string(jsonOf(t, message)))
						return map[string]any{}
					},
					Info: func(line string) { logs = append(logs, line) },
				})
				if err != nil {
					t.Fatalf("%s: run: %v (log: %q)", source, err, logs)
				}
				answer := log.last(t, h.Route)
				if answer.status != http.StatusOK {
					t.Fatalf("%s: the service answered %d %s (log: %q)", source, answer.status, answer.body, logs)
				}
				result := jsonOf(t, got)
				checkAnswer(t, h, source, answer.body, result, posted)
			}
		})
	}
}

// wantInAnswer is what some answers must say, by script and source: proof
// that the backend understood what the script forwarded.
var wantInAnswer = map[string]string{
	"commands/task fixture":              "Created task #",
	"functions/createtaskform fixture":   "Created task #",
	"bot/message fixture":                "add remind me to review PR 318",
	"bot/menu-my-tasks zoho-sample":      "open tasks",
	"bot/menu-help zoho-sample":          "Tasker commands",
	"messageactions/addtask zoho-sample": `"value":"Hi"`,
}

// checkAnswer holds a script's result against the service's answer and
// Cliq's rules for what that handler may return.
func checkAnswer(t *testing.T, h deluge.Handler, source string, answer, result []byte, posted []string) {
	t.Helper()
	if h.Name == "extension/incoming" {
		// The script posts the answer's message to its channel and tells
		// the third party it was received.
		var a struct {
			Channel string          `json:"channel"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(answer, &a); err != nil || a.Channel == "" {
			t.Fatalf("%s: answer %s has no channel", source, answer)
		}
		if len(posted) != 1 || !strings.HasPrefix(posted[0], a.Channel+" ") || !sameJSON(t, []byte(strings.TrimPrefix(posted[0], a.Channel+" ")), a.Message) {
			t.Errorf("%s: posted %q, want the answer's message in %s", source, posted, a.Channel)
		}
		if err := cliq.ValidateResponse(a.Message); err != nil {
			t.Errorf("%s: posted message breaks Cliq's rules: %v", source, err)
		}
		if !sameJSON(t, result, []byte(`{"status":"received"}`)) {
			t.Errorf("%s: script returned %s, want received", source, result)
		}
		return
	}
	if !sameJSON(t, result, answer) {
		t.Fatalf("%s: script returned %s, the service answered %s", source, result, answer)
	}
	if want, ok := wantInAnswer[h.Name+" "+source]; ok && !bytes.Contains(answer, []byte(want)) {
		t.Errorf("%s: answer %s, want it to contain %q", source, answer, want)
	}
	switch {
	case h.Name == "extension/install":
		var a map[string]any
		json.Unmarshal(answer, &a)
		if a["status"] != "200" {
			t.Errorf("%s: install answer %s, want status \"200\"", source, answer)
		}
		return
	case h.MenuAction == deluge.MenuNewTask || h.Name == "messageactions/addtask":
		if !bytes.Contains(answer, []byte(`"type":"form"`)) {
			t.Errorf("%s: answer %s, want the create_task form", source, answer)
		}
	}
	if err := cliq.ValidateResponse(answer); err != nil {
		t.Errorf("%s: answer breaks Cliq's rules: %v\n%s", source, err, answer)
	}
}
