package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/taskerhq/tasker/bot"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/deluge"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

const simTestSecret = "sim-test-secret"

// newSimServer serves the bot's routes on the embedded Redis.
func newSimServer(t *testing.T) (*httptest.Server, *tasks.Store) {
	t.Helper()
	store := tasks.NewStore(redistest.Embedded(t), time.Now)
	v, err := cliq.NewVerifier(simTestSecret, nil, store, 1<<20, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	bot.AddRoutes(r, slog.New(slog.DiscardHandler), store, v, bot.Options{Tenancy: tasks.SingleTenancy, DefaultTimezone: "UTC"})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, store
}

func sim(t *testing.T, srv *httptest.Server, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	all := append([]string{"--url", srv.URL, "--secret", simTestSecret, "--user-email", "priya.raman@example.com", "--tz", "Europe/Berlin"}, args...)
	if err := runSim(t.Context(), all, &out, &errOut); err != nil {
		t.Fatalf("sim %q: %v (%s)", args, err, errOut.String())
	}
	return out.String()
}

func TestSimSession(t *testing.T) {
	srv, store := newSimServer(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"/task", "add", "Water plants due:tomorrow 9am !high #home"}, []string{"▌ #1 Water plants", "Created task #1.", "Priority: High", "Tags: #home", "[Complete] --button done:1", "[Snooze 1h] --button snooze:1:60"}},
		{[]string{"add", "Call", "the", "plumber", "--mention", "60087654321:Lars Becker", "@Lars", "Becker"}, []string{"Created task #2.", "Assignee: {@60087654321}"}},
		{[]string{"list", "all"}, []string{"▌ All open tasks", "#  Title", "2  Call the plumber  -                   Lars Becker", "1  Water plants"}},
		{[]string{"--button", "done:1"}, []string{"(replaces the message that held the button)", "Task #1 was completed by Priya Raman", "[Reopen] --button reopen:1"}},
		{[]string{"/task new"}, []string{"▌ Form: New task", "title", "notify_channel", "Submit it with: tasker sim --form"}},
		{[]string{"--form", `{"title":"Ship it","due":"2026-12-01T17:00","labels":[{"label":"release","value":"release"}]}`}, []string{"Created task #3.", "Tags: #release"}},
		{[]string{"--channel", "devtasks", "/task subscribe"}, []string{"This channel (#devtasks) now gets"}},
		{[]string{"dnoe 2"}, []string{`I didn't understand "dnoe 2". Try: /task done 2`}},
	} {
		got := sim(t, srv, c.args...)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("sim %q printed\n%s\nwant it to contain %q", c.args, got, w)
			}
		}
		if strings.Contains(got, "\x1b[") {
			t.Errorf("sim %q printed colours to a buffer", c.args)
		}
	}
	task, err := store.GetTask(t.Context(), tasks.DefaultWorkspace, "3")
	if err != nil || task.DueAt == nil || task.DueAt.Format(time.RFC3339) != "2026-12-01T16:00:00Z" {
		t.Errorf("form task = %+v, %v", task, err)
	}

	raw := sim(t, srv, "--json", "show 2")
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m["card"] == nil {
		t.Errorf("--json printed %s", raw)
	}
}

func TestSimErrors(t *testing.T) {
	srv, _ := newSimServer(t)
	var out, errOut bytes.Buffer
	if err := runSim(t.Context(), []string{"--url", srv.URL, "--secret", "wrong", "list"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong secret: %v, want a 401 error", err)
	}
	t.Setenv("TASKER_CLIQ_SECRET", "")
	if err := runSim(t.Context(), []string{"--url", srv.URL, "list"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Errorf("no secret: %v", err)
	}
	for _, args := range [][]string{{}, {"--button", "done:1", "--form", "{}"}, {"--form", "not json"}} {
		if err := runSim(t.Context(), append([]string{"--url", srv.URL, "--secret", simTestSecret}, args...), &out, &errOut); err == nil {
			t.Errorf("sim %q: no error", args)
		}
	}
}

// TestSimSendsWhatDelugeSends checks that each request the sim builds has
// exactly the keys, in order, that its Deluge script puts in the payload.
func TestSimSendsWhatDelugeSends(t *testing.T) {
	putRe := regexp.MustCompile(`payload\.put\("([a-z_]+)"`)
	handlerRe := regexp.MustCompile(`payload\.put\("handler", "([a-z_]+)"\)`)
	componentRe := regexp.MustCompile(`payload\.put\("component", "([a-z_]+)"\)`)
	scripts := map[string]deluge.Script{}
	for _, s := range deluge.Scripts() {
		scripts[s.Route] = s
	}
	o := simOptions{userID: "1", email: "a.b@example.com", tz: "UTC", org: "sim", botName: "taskerbot"}
	for _, c := range []struct {
		text string
		opts func(*simOptions)
	}{
		{"/task add x", nil},
		{"list", nil},
		{"", func(o *simOptions) { o.button = "done:1" }},
		{"", func(o *simOptions) { o.form = `{"title":"x"}` }},
	} {
		oc := o
		if c.opts != nil {
			c.opts(&oc)
		}
		path, payload, err := simPayload(oc, c.text, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		s, ok := scripts[path]
		if !ok {
			t.Fatalf("no Deluge script posts to %s", path)
		}
		var want []string
		for _, m := range putRe.FindAllStringSubmatch(s.Template, -1) {
			want = append(want, m[1])
		}
		var got []string
		for _, f := range payload {
			got = append(got, f.key)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: sim sends keys %v, script %s sends %v", path, got, s.Name, want)
		}
		if h := handlerRe.FindStringSubmatch(s.Template); payload[0].value != h[1] {
			t.Errorf("%s: handler %v, script sends %s", path, payload[0].value, h[1])
		}
		if cm := componentRe.FindStringSubmatch(s.Template); payload[1].value != cm[1] {
			t.Errorf("%s: component %v, script sends %s", path, payload[1].value, cm[1])
		}
	}
}

func TestRenderAnswerColours(t *testing.T) {
	msg := `{"text":"hi","card":{"title":"T"},"buttons":[{"label":"Go","key":"done:1","type":"+","action":{"type":"invoke.function"}}]}`
	var b bytes.Buffer
	if err := renderAnswer(&b, []byte(msg), true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[1m▌ T\x1b[0m") || !strings.Contains(b.String(), "\x1b[36m[Go]\x1b[0m") {
		t.Errorf("coloured = %q", b.String())
	}
	b.Reset()
	if err := renderAnswer(&b, []byte(`{"type":"banner","status":"failure","text":"Nope"}`), false); err != nil || b.String() != "✖ Nope\n" {
		t.Errorf("banner = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := renderAnswer(&b, []byte(`{}`), false); err != nil || !strings.Contains(b.String(), "empty answer") {
		t.Errorf("empty = %q, %v", b.String(), err)
	}
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
}
