package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/julienschmidt/httprouter"
	"github.com/mattn/go-runewidth"

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
		{[]string{"add", "Call", "the", "plumber", "--mention", "60087654321:Lars Becker", "@Lars", "Becker"}, []string{"Created task #2.", "Assignee: @Lars Becker"}},
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
	if err := renderAnswer(&b, []byte(msg), true, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[1m▌ T\x1b[0m") || !strings.Contains(b.String(), "\x1b[36m[Go]\x1b[0m") {
		t.Errorf("coloured = %q", b.String())
	}
	b.Reset()
	if err := renderAnswer(&b, []byte(`{"type":"banner","status":"failure","text":"Nope"}`), false, nil); err != nil || b.String() != "✖ Nope\n" {
		t.Errorf("banner = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := renderAnswer(&b, []byte(`{}`), false, nil); err != nil || !strings.Contains(b.String(), "empty answer") {
		t.Errorf("empty = %q, %v", b.String(), err)
	}
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
}

// TestSimLeavesTheStoredTimezone: without --tz the request names no
// timezone, so the bot reads dates in the one it stored for the user, not
// in $TZ or UTC.
func TestSimLeavesTheStoredTimezone(t *testing.T) {
	t.Setenv("TZ", "UTC")
	srv, store := newSimServer(t)
	if _, _, err := store.EnsureCliqUser(t.Context(), tasks.DefaultWorkspace, tasks.CliqProfile{
		ID: "1000000001", Name: "Priya Raman", Email: "priya.raman@example.com", Timezone: "Europe/Berlin",
	}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	args := []string{"--url", srv.URL, "--secret", simTestSecret, "--user-email", "priya.raman@example.com", "/task", "add", "Call Lars due:2026-12-01 9am"}
	if err := runSim(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("sim: %v (%s)", err, errOut.String())
	}
	task, err := store.GetTask(t.Context(), tasks.DefaultWorkspace, "1")
	if err != nil || task.DueAt == nil || !task.DueAt.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("task = %+v, %v; want due at 09:00 in Berlin", task, err)
	}
	u, err := store.UserByCliqID(t.Context(), tasks.DefaultWorkspace, "1000000001")
	if err != nil || u.Timezone != "Europe/Berlin" {
		t.Errorf("stored user = %+v, %v", u, err)
	}

	_, payload, err := simPayload(simOptions{userID: "1", email: "a@example.com"}, "list", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(payload)
	if bytes.Contains(body, []byte(`"timezone"`)) {
		t.Errorf("payload without --tz names a timezone: %s", body)
	}
	_, payload, _ = simPayload(simOptions{userID: "1", email: "a@example.com", tz: "Asia/Tokyo"}, "list", time.Now())
	if body, _ := json.Marshal(payload); !bytes.Contains(body, []byte(`"timezone":"Asia/Tokyo"`)) {
		t.Errorf("payload with --tz: %s", body)
	}
}

func TestRenderAnswerMentions(t *testing.T) {
	msg := `{"text":"{@60087654321} assigned you #4; {@42} and {@1000000001} watch it in {#devtasks}",
		"slides":[{"type":"label","data":[{"Assignee":"{@60087654321}"}]}]}`
	var b bytes.Buffer
	names := simOptions{userID: "1000000001", email: "priya.raman@example.com",
		mentions: []cliq.Mention{{ID: "60087654321", FirstName: "Lars", LastName: "Becker"}}}.names()
	if err := renderAnswer(&b, []byte(msg), false, names); err != nil {
		t.Fatal(err)
	}
	want := "@Lars Becker assigned you #4; @42 and @Priya Raman watch it in #devtasks\n  Assignee: @Lars Becker\n"
	if b.String() != want {
		t.Errorf("renderAnswer = %q, want %q", b.String(), want)
	}
}

// TestRenderTableWidths: columns line up in a terminal, where CJK
// characters and most emoji take two columns.
func TestRenderTableWidths(t *testing.T) {
	rows := []map[string]string{
		{"#": "1", "Title": "買い物リスト", "Who": "Ann"},
		{"#": "2", "Title": "🚀 Launch day 🎉", "Who": "Ann"},
		{"#": "3", "Title": "Plain title", "Who": "Ann"},
		{"#": "4", "Title": strings.Repeat("漢", 40), "Who": "Ann"},
	}
	var b strings.Builder
	renderTable(&b, style(false), []string{"#", "Title", "Who"}, rows)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("table:\n%s", b.String())
	}
	want := runewidth.StringWidth(strings.TrimSuffix(lines[0], "Who"))
	for _, l := range lines[1:] {
		if got := runewidth.StringWidth(strings.TrimSuffix(l, "Ann")); got != want {
			t.Errorf("row %q starts its last column at %d, header at %d:\n%s", l, got, want, b.String())
		}
	}
	if w := runewidth.StringWidth(lines[4]); w > 2+1+2+maxCell+2+3 {
		t.Errorf("long cell not cut to %d columns: %q", maxCell, lines[4])
	}
}

// TestSimEscapesControlCharacters: text from the server never reaches
// the terminal with raw control characters, rendered, as --json or in an
// error.
func TestSimEscapesControlCharacters(t *testing.T) {
	evil := `\u001b]0;pwned\u0007\u009b31m`
	answer := `{"text":"` + evil + `","card":{"title":"T` + evil + `"},
		"slides":[{"type":"table","title":"x` + evil + `","data":{"headers":["Title"],"rows":[{"Title":"a\u001b[2Jb"}]}},
			{"type":"list","data":["` + evil + `"]},{"type":"label","data":[{"K` + evil + `":"` + evil + `"}]}],
		"buttons":[{"label":"` + evil + `","key":"done:1\u0008","type":"+"}]}`
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	check := func(name, out string) {
		t.Helper()
		for _, r := range out {
			if r != '\n' && unicode.IsControl(r) {
				t.Errorf("%s printed control character %U:\n%q", name, r, out)
				return
			}
		}
	}
	for _, mode := range [][]string{nil, {"--json"}} {
		var out, errOut bytes.Buffer
		if err := runSim(t.Context(), append([]string{"--url", srv.URL, "--secret", "s", "list"}, mode...), &out, &errOut); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprint("sim ", mode), out.String())
		if mode == nil && !strings.Contains(out.String(), `\x1b]0;pwned\x07\u009b31m`) {
			t.Errorf("sim printed %q, want the control characters escaped", out.String())
		}
	}
	status, answer = http.StatusBadRequest, "bad \x1b[2J request\x9b"
	err := runSim(t.Context(), []string{"--url", srv.URL, "--secret", "s", "list"}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("no error for a 400")
	}
	check("the error", err.Error())
}
