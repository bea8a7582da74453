package bot

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

func TestFixtureSlashCommand(t *testing.T) {
	tb := newTestBot(t, nil)
	got := tb.post(t, "/cliq/commands/task", fixture(t, "slash_command"))
	mustContain(t, "text", text(got), "Created task #1")
	mustContain(t, "card title", cardTitle(got), "#1 Update release notes")

	task, err := tb.store.GetTask(t.Context(), tb.ws, "1")
	if err != nil {
		t.Fatal(err)
	}
	wantDue := time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC) // 17:00 in Berlin (SPEC 12)
	if task.DueAt == nil || !task.DueAt.Equal(wantDue) {
		t.Errorf("due = %v, want %v", task.DueAt, wantDue)
	}
	lars, err := tb.store.UserByCliqID(t.Context(), tb.ws, "60087654321")
	if err != nil {
		t.Fatalf("mentioned user not created and linked: %v", err)
	}
	if task.Assignee == nil || *task.Assignee != lars.ID || lars.Email != "lars.becker@example.com" || lars.Name != "Lars Becker" {
		t.Errorf("assignee = %v, lars = %+v", task.Assignee, lars)
	}
	priya, err := tb.store.UserByCliqID(t.Context(), tb.ws, "60012345678")
	if err != nil || task.CreatedBy != priya.ID || priya.Timezone != "Europe/Berlin" {
		t.Errorf("caller = %+v, %v; created_by %s", priya, err, task.CreatedBy)
	}
}

func TestFixtureBotMessage(t *testing.T) {
	tb := newTestBot(t, nil)
	got := tb.post(t, "/cliq/bot/message", fixture(t, "bot_message"))
	// Not a command: the answer says so and offers the sentence as a task.
	mustContain(t, "text", text(got), `I didn't understand "remind me to review PR 318`, "Try: add remind me to review PR 318 tomorrow at 10:00")
}

func TestFixtureButtonFunction(t *testing.T) {
	tb := newTestBot(t, nil)
	got := tb.post(t, "/cliq/functions/taskaction", fixture(t, "button_function"))
	mustContain(t, "text", text(got), "There is no task #1042")

	tb.command(t, "add Update release notes", nil)
	f := fixture(t, "button_function")
	f["arguments"] = map[string]any{"key": "done:1"}
	got = tb.post(t, "/cliq/functions/taskaction", f)
	if got["type"] != "message_edit" {
		t.Errorf("type = %v, want message_edit", got["type"])
	}
	mustContain(t, "text", text(got), "Task #1 was completed by Priya Raman")
	if keys := buttonKeys(got); len(keys) != 1 || keys[0] != "reopen:1" {
		t.Errorf("buttons = %v, want [reopen:1]", keys)
	}
}

func TestFixtureFormSubmission(t *testing.T) {
	tb := newTestBot(t, nil)
	got := tb.post(t, "/cliq/functions/createtaskform", fixture(t, "form_submission"))
	mustContain(t, "text", text(got), "Created task #1 and posted it in this channel")
	task, err := tb.store.GetTask(t.Context(), tb.ws, "1")
	if err != nil {
		t.Fatal(err)
	}
	lars, err := tb.store.UserByCliqID(t.Context(), tb.ws, "60087654321")
	if err != nil {
		t.Fatalf("assignee not created: %v", err)
	}
	wantDue := time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)
	switch {
	case task.Title != "Update release notes",
		task.Description != "Collect changes merged since v2.3 and draft the notes.",
		task.Priority != tasks.PriorityHigh,
		task.DueAt == nil || !task.DueAt.Equal(wantDue),
		task.RemindBefore == nil || *task.RemindBefore != 60,
		strings.Join(task.Tags, ",") != "docs,release",
		task.Assignee == nil || *task.Assignee != lars.ID,
		lars.Name != "Lars Becker":
		t.Errorf("task = %+v, assignee %+v", task, lars)
	}
	if len(tb.poster.posts) != 1 || tb.poster.posts[0].channel != "devtasks" || tb.poster.posts[0].dedupe != "form:"+task.ID {
		t.Fatalf("posts = %+v, want one to devtasks", tb.poster.posts)
	}
	mustContain(t, "posted card", tb.poster.posts[0].msg.Card.Title, "#1 Update release notes")
}

func TestRoutesNeedSignature(t *testing.T) {
	tb := newTestBot(t, nil)
	body := tb.body(t, map[string]any{"handler": "command", "arguments": "list", "user": priyaUser()})
	stale := tb.sign(body)
	staleTS := tb.now.Add(-301 * time.Second).Unix()
	stale.Set(cliq.HeaderTimestamp, strconv.FormatInt(staleTS, 10))
	stale.Set(cliq.HeaderSignature, cliq.Sign(testSecret, staleTS, body))
	wrong := tb.sign(body)
	wrong.Set(cliq.HeaderSignature, cliq.Sign("another secret", tb.now.Unix(), body))
	unsigned := http.Header{"Content-Type": {"application/json"}}
	noTimestamp := tb.sign(body)
	noTimestamp.Del(cliq.HeaderTimestamp)

	paths := []string{"/cliq/commands/task", "/cliq/functions/taskaction", "/cliq/functions/createtaskform", "/cliq/bot/message", "/cliq/bot/participation"}
	for _, path := range paths {
		for _, c := range []struct {
			name string
			body []byte
			h    http.Header
		}{
			{"Missing", body, unsigned},
			{"MissingTimestamp", body, noTimestamp},
			{"Wrong", body, wrong},
			{"Stale", body, stale},
			{"TamperedBody", []byte(strings.Replace(string(body), "list", "done 1", 1)), tb.sign(body)},
		} {
			status, raw := tb.do(t, path, c.body, c.h.Clone())
			var e struct {
				Error struct{ Code, Message string }
			}
			if status != http.StatusUnauthorized || json.Unmarshal(raw, &e) != nil || e.Error.Code != "unauthenticated" {
				t.Errorf("%s %s = %d %s, want 401 unauthenticated", c.name, path, status, raw)
			}
		}
	}
}

func TestRoutesRejectReplayOnAnotherRoute(t *testing.T) {
	tb := newTestBot(t, nil)
	body := tb.body(t, map[string]any{"handler": "command", "arguments": "add Once only", "user": priyaUser()})
	h := tb.sign(body)
	if status, raw := tb.do(t, "/cliq/commands/task", body, h.Clone()); status != http.StatusOK {
		t.Fatalf("first = %d %s", status, raw)
	}
	for _, path := range []string{"/cliq/commands/task", "/cliq/bot/message", "/cliq/functions/taskaction"} {
		if status, raw := tb.do(t, path, body, h.Clone()); status != http.StatusUnauthorized || !strings.Contains(string(raw), "replayed") {
			t.Errorf("replay on %s = %d %s, want 401 replayed", path, status, raw)
		}
	}
	if _, err := tb.store.GetTask(t.Context(), tb.ws, "2"); err == nil {
		t.Error("a replay created a second task")
	}
}

func TestRoutesUnknownNames(t *testing.T) {
	tb := newTestBot(t, nil)
	for _, path := range []string{"/cliq/functions/nosuch", "/cliq/bot/nosuch"} {
		body := tb.body(t, map[string]any{"user": priyaUser()})
		status, raw := tb.do(t, path, body, nil)
		if status != http.StatusNotFound || !strings.Contains(string(raw), `"code":"not_found"`) {
			t.Errorf("%s = %d %s, want 404 not_found", path, status, raw)
		}
	}
}

func TestRoutesMalformedBodies(t *testing.T) {
	tb := newTestBot(t, nil)
	for _, c := range []struct{ name, body string }{
		{"NotJSON", `add milk`},
		{"Array", `[{"user":{}}]`},
		{"Null", `null`},
		{"NoUser", `{"arguments":"list"}`},
		{"UserNotObject", `{"user":"60012345678","arguments":"list"}`},
		{"UserNull", `{"user":null}`},
		{"ArgumentsWrongType", `{"user":{"id":"1"},"arguments":42}`},
		{"ChatWrongType", `{"user":{"id":"1"},"chat":"x"}`},
		{"MentionsWrongType", `{"user":{"id":"1"},"mentions":{"id":"2"}}`},
		{"UserWithoutID", `{"user":{"first_name":"Nobody"},"arguments":"list"}`},
		{"FormWrongType", `{"user":{"id":"1"},"form":[1]}`},
	} {
		for _, path := range []string{"/cliq/commands/task", "/cliq/functions/createtaskform", "/cliq/bot/welcome"} {
			status, raw := tb.do(t, path, []byte(c.body), nil)
			var e struct {
				Error struct{ Code, Message string }
			}
			if status != http.StatusBadRequest || json.Unmarshal(raw, &e) != nil || e.Error.Code != "invalid_argument" || e.Error.Message == "" {
				t.Errorf("%s on %s = %d %s, want 400 invalid_argument", c.name, path, status, raw)
			}
		}
	}
}

func TestOrgTenancyNeedsOrganization(t *testing.T) {
	tb := newTestBot(t, nil)
	body := []byte(`{"handler":"command","arguments":"list","user":{"id":"60012345678","email":"priya.raman@example.com"}}`)
	status, raw := tb.do(t, "/cliq/commands/task", body, nil)
	if status != http.StatusBadRequest || !strings.Contains(string(raw), "organization_id") {
		t.Errorf("no organization_id = %d %s, want 400", status, raw)
	}
}

func TestSingleTenancyUsesDefaultWorkspace(t *testing.T) {
	store := tasks.NewStore(redistest.Embedded(t), func() time.Time { return testNow })
	tb := newTestBotOn(t, store, func(o *Options) { o.Tenancy = tasks.SingleTenancy })
	body := []byte(`{"handler":"command","arguments":"add Water plants","user":{"id":"60012345678","first_name":"Priya"}}`)
	if status, raw := tb.do(t, "/cliq/commands/task", body, nil); status != http.StatusOK {
		t.Fatalf("= %d %s", status, raw)
	}
	if _, err := store.GetTask(t.Context(), tasks.DefaultWorkspace, "1"); err != nil {
		t.Errorf("task not in workspace default: %v", err)
	}
}

func TestInternalErrorIs500AndLogged(t *testing.T) {
	rdb := redistest.Client(t)
	store := tasks.NewStore(rdb, func() time.Time { return testNow })
	tb := &testBot{store: store, org: "orgbroken", now: testNow}
	v, err := cliq.NewVerifier(testSecret, nil, cliq.NewMemoryReplayGuard(func() time.Time { return testNow }), 1<<20, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	r := httprouter.New()
	AddRoutes(r, slog.New(slog.NewTextHandler(&logs, nil)), store, v, Options{Tenancy: tasks.OrgTenancy, Now: func() time.Time { return testNow }})
	tb.handler = r
	rdb.Close() // every store call now fails
	body := tb.body(t, map[string]any{"handler": "command", "arguments": "add Secret plans", "user": priyaUser()})
	status, raw := tb.do(t, "/cliq/commands/task", body, nil)
	if status != http.StatusInternalServerError || !strings.Contains(string(raw), `"code":"internal"`) || strings.Contains(string(raw), "redis") {
		t.Errorf("= %d %s, want 500 internal without detail", status, raw)
	}
	if n := strings.Count(logs.String(), "cliq request failed"); n != 1 || strings.Contains(logs.String(), "Secret plans") || strings.Contains(logs.String(), testSecret) {
		t.Errorf("logs = %q, want one error line without the text or secret", logs.String())
	}
}
