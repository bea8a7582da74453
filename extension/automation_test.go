package extension

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/tasks"
)

func TestParseIncomingSecrets(t *testing.T) {
	got, err := ParseIncomingSecrets(" a1 , b@2@team-b ,, c@x@ ")
	if err == nil {
		t.Fatalf("trailing @ with no workspace: got %v, want an error", got)
	}
	// An empty entry is a mistake in a list of secrets, as in TASKER_API_KEYS.
	if _, err := ParseIncomingSecrets(" a1 , b@2@team-b ,"); err == nil || !strings.Contains(err.Error(), "entry 3 is empty") {
		t.Fatalf("trailing comma: %v, want entry 3 named", err)
	}
	got, err = ParseIncomingSecrets(" a1 , b@2@team-b ")
	want := []IncomingSecret{{"a1", tasks.DefaultWorkspace}, {"b@2", "team-b"}}
	if err != nil || !cmp.Equal(got, want) {
		t.Fatalf("ParseIncomingSecrets = %v, %v; want %v", got, err, want)
	}
	if got, err := ParseIncomingSecrets(""); err != nil || got != nil {
		t.Fatalf("empty: %v, %v; want nil, nil", got, err)
	}
	for _, bad := range []string{"@team", "topsecret@bad ws", "topsecret@{x}"} {
		_, err := ParseIncomingSecrets(bad)
		if err == nil {
			t.Errorf("ParseIncomingSecrets(%q): want an error", bad)
		} else if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("error %q shows the secret", err)
		}
	}
}

func incomingRequest(target, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestAutomationAuth(t *testing.T) {
	env := newTestEnv(t, Config{})
	body := `{"event":"task_created","task":{"id":"ext-1","title":"From Make"}}`
	cases := []struct {
		name   string
		req    *http.Request
		status int
		want   string
	}{
		{"Missing", incomingRequest("/api/incoming-webhook", body), 401, `{"error":"Unauthorized: Missing secret parameter"}` + "\n"},
		{"Invalid", incomingRequest("/api/incoming-webhook?secret=nope", body), 401, `{"error":"Unauthorized: Invalid secret"}` + "\n"},
		{"Query", incomingRequest("/api/incoming-webhook?secret=s3cret", body), 200,
			`{"success":true,"message":"Webhook received successfully","timestamp":"2026-03-10T11:45:00Z"}` + "\n"},
	}
	header := incomingRequest("/api/incoming-webhook", body)
	header.Header.Set("X-Webhook-Secret", "s3cret")
	cases = append(cases, struct {
		name   string
		req    *http.Request
		status int
		want   string
	}{"Header", header, 200, `{"success":true,"message":"Webhook received successfully","timestamp":"2026-03-10T11:45:00Z"}` + "\n"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := env.serve(c.req)
			if rec.Code != c.status || rec.Body.String() != c.want {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), c.status, c.want)
			}
		})
	}
}

func TestAutomationUpsertIdempotent(t *testing.T) {
	env := newTestEnv(t, Config{})
	ctx := context.Background()
	send := func(body string) {
		t.Helper()
		rec := env.serve(incomingRequest("/api/incoming-webhook?secret=s3cret", body))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body.String())
		}
	}
	get := func() tasks.Task {
		t.Helper()
		task, err := env.store.TaskByExternalID(ctx, env.ws, "ext-42")
		if err != nil {
			t.Fatal(err)
		}
		return task
	}

	created := `{"event":"task_created","task":{"id":42,"title":"Call supplier","priority":"high","tags":["Ops"],"due_at":"2026-04-01T09:00:00+02:00","url":"https://crm.example.com/t/42","createdAt":"ignored"}}`
	// The numeric id 42 and the string "ext-42" are different tasks; use the string form throughout.
	created = strings.Replace(created, `"id":42`, `"id":"ext-42"`, 1)
	send(created)
	first, events := get(), countEvents(t, env.store, env.ws)
	send(created)
	if again := get(); again.Version != first.Version || countEvents(t, env.store, env.ws) != events {
		t.Fatalf("same body twice: version %d→%d, events %d→%d", first.Version, again.Version, events, countEvents(t, env.store, env.ws))
	}
	if first.Title != "Call supplier" || first.Priority != tasks.PriorityHigh || first.DueAt == nil ||
		first.DueAt.Format("15:04") != "07:00" || *first.SourceURL != "https://crm.example.com/t/42" {
		t.Errorf("created task = %+v", first)
	}

	updated := `{"event":"task_updated","task":{"id":"ext-42","title":"Call the supplier","tags":["ops"]}}`
	send(updated)
	second := get()
	if second.Version != first.Version+1 || second.Title != "Call the supplier" {
		t.Fatalf("update: %+v", second)
	}
	events = countEvents(t, env.store, env.ws)
	send(updated)
	if get().Version != second.Version || countEvents(t, env.store, env.ws) != events {
		t.Fatal("same update twice changed the task")
	}

	send(`{"event":"task_status_changed","task":{"id":"ext-42","status":"completed"}}`)
	if got := get(); got.Status != tasks.StatusCompleted {
		t.Fatalf("status = %s, want completed", got.Status)
	}

	deleted := `{"event":"task_deleted","task":{"id":"ext-42"}}`
	send(deleted)
	if _, err := env.store.TaskByExternalID(ctx, env.ws, "ext-42"); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	send(deleted)

	send(`{"event":"task_updated","task":{"id":7,"title":"Numeric id"}}`)
	if _, err := env.store.TaskByExternalID(ctx, env.ws, "7"); err != nil {
		t.Fatalf("numeric task.id: %v", err)
	}
}

func TestAutomationEnvelope(t *testing.T) {
	env := newTestEnv(t, Config{})
	rec := env.serve(incomingRequest("/api/incoming-webhook?secret=s3cret", `{"action":"task.create","data":{"title":"Via envelope"}}`))
	got := mustDecode[automationOK](t, rec)
	if rec.Code != http.StatusOK || !got.Success || got.Message != "Webhook received successfully" || got.Task == nil || got.Task.Title != "Via envelope" {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
	rec = env.serve(incomingRequest("/api/incoming-webhook?secret=s3cret", `{"action":"task.complete","data":{"taskId":"`+got.Task.ID+`"}}`))
	if got := mustDecode[automationOK](t, rec); rec.Code != http.StatusOK || got.Task.Status != tasks.StatusCompleted {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

func TestAutomationBadBodies(t *testing.T) {
	env := newTestEnv(t, Config{})
	for _, body := range []string{
		``, `[]`, `"x"`, `{`, `{}`,
		`{"event":"task_exploded","task":{"id":"a"}}`,
		`{"event":"task_created","task":"a"}`,
		`{"event":"task_created","task":{"title":"no id"}}`,
		`{"event":"task_created","task":{"id":"b"}}`,
		`{"event":"task_created","task":{"id":"c","title":"x","status":"sleeping"}}`,
		`{"event":"task_created","task":{"id":"d","title":"x","due_at":"soon"}}`,
		`{"event":"task_created","task":{"id":"e","title":["x"]}}`,
		`{"action":"task.fly","data":{}}`,
	} {
		rec := env.serve(incomingRequest("/api/incoming-webhook?secret=s3cret", body))
		var got map[string]any
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d %s, want 400", body, rec.Code, rec.Body.String())
			continue
		}
		got = mustDecode[map[string]any](t, rec)
		if msg, ok := got["error"].(string); !ok || msg == "" || len(got) != 1 {
			t.Errorf("%q: body %s, want {\"error\":\"…\"}", body, rec.Body.String())
		}
	}
	if n := countEvents(t, env.store, env.ws); n != 0 {
		t.Errorf("bad bodies wrote %d events", n)
	}
}
