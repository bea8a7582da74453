package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/tasks"
)

func TestTaskLifecycle(t *testing.T) {
	e := newTestEnv(t)
	u := e.createUser(t, `{"name":"Ann","email":"ann@example.com","timezone":"Europe/Berlin"}`)

	created := e.createTask(t, `{"title":" Review PR ","priority":"high","tags":["#Backend"],"assignee":"ann@example.com","due_at":"2030-12-01T17:00:00+01:00"}`)
	if created.Title != "Review PR" || created.Priority != tasks.PriorityHigh || created.Status != tasks.StatusOpen ||
		created.Number < 1 || created.Version != 1 || created.Assignee == nil || *created.Assignee != u.ID ||
		!cmp.Equal(created.Tags, []string{"backend"}) || !created.DueAt.Equal(time.Date(2030, 12, 1, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("created = %+v", created)
	}
	num := strconv.FormatInt(created.Number, 10)

	for _, ref := range []string{created.ID, num} {
		w := e.mustDo(t, call{method: "GET", path: "/api/v1/tasks/" + ref}, http.StatusOK)
		if got := mustDecode[tasks.Task](t, w.Body.Bytes()); got.ID != created.ID {
			t.Errorf("GET %s = %s, want %s", ref, got.ID, created.ID)
		}
		if etag := w.Header().Get("ETag"); etag != `"1"` {
			t.Errorf("GET ETag = %q, want \"1\"", etag)
		}
	}

	w := e.mustDo(t, call{method: "PATCH", path: "/api/v1/tasks/" + num, body: `{"title":"Review PR 7","due_at":null,"assignee":null}`}, http.StatusOK)
	patched := mustDecode[tasks.Task](t, w.Body.Bytes())
	if patched.Title != "Review PR 7" || patched.DueAt != nil || patched.Assignee != nil || patched.Priority != tasks.PriorityHigh || patched.Version != 2 {
		t.Fatalf("patched = %+v", patched)
	}
	if etag := w.Header().Get("ETag"); etag != `"2"` {
		t.Errorf("PATCH ETag = %q", etag)
	}

	w = e.mustDo(t, call{method: "PUT", path: "/api/v1/tasks/" + num, body: `{"status":"in_progress","snoozed_until":"2031-01-01T09:00:00Z"}`}, http.StatusOK)
	if put := mustDecode[tasks.Task](t, w.Body.Bytes()); put.Status != tasks.StatusInProgress || put.SnoozedUntil == nil || put.Title != "Review PR 7" {
		t.Fatalf("put = %+v", put)
	}

	w = e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + num + "/complete"}, http.StatusOK)
	if done := mustDecode[tasks.Task](t, w.Body.Bytes()); done.Status != tasks.StatusCompleted || done.CompletedAt == nil || w.Header().Get("ETag") == "" {
		t.Fatalf("complete = %+v, ETag %q", done, w.Header().Get("ETag"))
	}
	w = e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + created.ID + "/reopen"}, http.StatusOK)
	if open := mustDecode[tasks.Task](t, w.Body.Bytes()); open.Status != tasks.StatusOpen || open.CompletedAt != nil {
		t.Fatalf("reopen = %+v", open)
	}

	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	w = e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + num + "/snooze", body: `{"until":"` + until.Format(time.RFC3339) + `"}`}, http.StatusOK)
	if s := mustDecode[tasks.Task](t, w.Body.Bytes()); s.SnoozedUntil == nil || !s.SnoozedUntil.Equal(until) {
		t.Fatalf("snooze until = %+v, want %v", s.SnoozedUntil, until)
	}
	before := time.Now()
	w = e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + num + "/snooze", body: `{"for":"2d"}`}, http.StatusOK)
	s := mustDecode[tasks.Task](t, w.Body.Bytes())
	if s.SnoozedUntil == nil || s.SnoozedUntil.Before(before.Add(48*time.Hour-time.Second)) || s.SnoozedUntil.After(time.Now().Add(48*time.Hour)) {
		t.Fatalf("snooze for 2d = %v", s.SnoozedUntil)
	}

	w = e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + num + "/comments", body: `{"text":"LGTM"}`}, http.StatusCreated)
	if c := mustDecode[tasks.Comment](t, w.Body.Bytes()); c.Text != "LGTM" || c.TaskID != created.ID {
		t.Fatalf("comment = %+v", c)
	}
	w = e.mustDo(t, call{method: "GET", path: "/api/v1/tasks/" + num + "/comments"}, http.StatusOK)
	if p := mustPage[tasks.Comment](t, w, "comments"); len(p.Items) != 1 || p.NextCursor != nil {
		t.Fatalf("comments = %+v", p)
	}

	w = e.mustDo(t, call{method: "DELETE", path: "/api/v1/tasks/" + num}, http.StatusNoContent)
	if w.Body.Len() != 0 {
		t.Errorf("DELETE body = %q, want none", w.Body)
	}
	mustError(t, e.do(t, call{method: "GET", path: "/api/v1/tasks/" + num}), http.StatusNotFound, "not_found")

	w = e.mustDo(t, call{method: "GET", path: "/api/v1/events?limit=200"}, http.StatusOK)
	var types []string
	for _, ev := range mustPage[tasks.Event](t, w, "events").Items {
		types = append(types, string(ev.Type))
		// Nobody is known behind an API key: the actor says how it came in.
		if ev.Data.Actor != (tasks.Actor{Via: tasks.ViaAPI}) {
			t.Errorf("%s: actor %+v, want via api", ev.Type, ev.Data.Actor)
		}
	}
	for _, want := range []string{"task.created", "task.assigned", "task.updated", "task.status_changed", "task.completed", "comment.created", "task.deleted"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("events %v lack %s", types, want)
		}
	}
}

func TestCreateTaskValidation(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		name, body, field string
	}{
		{"TitleRequired", `{"title":"  "}`, "title"},
		{"TitleMissing", `{"priority":"low"}`, "title"},
		{"TitleTooLong", `{"title":"` + strings.Repeat("é", 301) + `"}`, "title"},
		{"BadStatus", `{"title":"x","status":"done"}`, "status"},
		{"BadPriority", `{"title":"x","priority":"p0"}`, "priority"},
		{"TooManyTags", `{"title":"x","tags":[` + strings.Repeat(`"t",`, 20) + `"u"]}`, "tags"},
		{"TagWithSpace", `{"title":"x","tags":["a b"]}`, "tags"},
		{"UnknownAssignee", `{"title":"x","assignee":"nobody@example.com"}`, "assignee"},
		{"BadSourceURL", `{"title":"x","source_url":"ftp://x"}`, "source_url"},
		{"BadRemindBefore", `{"title":"x","remind_before":-5}`, "remind_before"},
		{"BadDueAt", `{"title":"x","due_at":"tomorrow"}`, "due_at"},
		{"DueAtNoZone", `{"title":"x","due_at":"2030-01-01T10:00:00"}`, "due_at"},
		{"DueAtNumber", `{"title":"x","due_at":1700000000}`, "due_at"},
		{"TitleNumber", `{"title":5}`, "title"},
		{"TagsString", `{"title":"x","tags":"a,b"}`, "tags"},
		{"TagNumber", `{"title":"x","tags":["a",1]}`, "tags"},
		{"RemindBeforeFloat", `{"title":"x","remind_before":1.5}`, "remind_before"},
		{"UnknownField", `{"title":"x","titel":"y"}`, "titel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks", body: tc.body}), http.StatusBadRequest, "invalid_argument")
			if got.Error.Fields[tc.field] == "" {
				t.Errorf("fields = %v, want %q", got.Error.Fields, tc.field)
			}
			if !strings.Contains(got.Error.Message, tc.field) {
				t.Errorf("message %q does not name %s", got.Error.Message, tc.field)
			}
		})
	}
	w := e.mustDo(t, call{method: "GET", path: "/api/v1/tasks"}, http.StatusOK)
	if p := mustPage[tasks.Task](t, w, "tasks"); len(p.Items) != 0 {
		t.Errorf("invalid creates left %d tasks", len(p.Items))
	}
}

func TestDecodeErrors(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		name, body, want string
	}{
		{"Malformed", "{\n  \"title\": \"x\",\n  oops\n}", "line 3, column 3"},
		{"Truncated", `{"title":"x"`, "unexpected end"},
		{"Trailing", `{"title":"x"} {"title":"y"}`, "single JSON value"},
		{"TrailingGarbage", `{"title":"x"} x`, "single JSON value"},
		{"Array", `[{"title":"x"}]`, "JSON object"},
		{"String", `"x"`, "JSON object"},
		{"Empty", ` `, "required"},
		{"WrongType", `{"title":true}`, "title must be a string, not bool"},
		{"Unknown", `{"title":"x","color":"red"}`, `unknown field "color"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks", body: tc.body}), http.StatusBadRequest, "invalid_argument")
			if !strings.Contains(got.Error.Message, tc.want) {
				t.Errorf("message = %q, want it to hold %q", got.Error.Message, tc.want)
			}
		})
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	e := newTestEnv(t)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "nonsense/"} {
		t.Run(ct, func(t *testing.T) {
			w := e.do(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"x"}`, header: map[string]string{"Content-Type": ct}})
			mustError(t, w, http.StatusUnsupportedMediaType, "unsupported_media_type")
		})
	}
	for _, ct := range []string{"application/json; charset=UTF-8", "application/merge-patch+json", ""} {
		t.Run("Accept "+ct, func(t *testing.T) {
			e.mustDo(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"x"}`, header: map[string]string{"Content-Type": ct}}, http.StatusCreated)
		})
	}
}

func TestIdempotentCreate(t *testing.T) {
	e := newTestEnv(t)
	key := map[string]string{"Idempotency-Key": "order-1"}
	first := e.mustDo(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"Once"}`, header: key}, http.StatusCreated)
	// Change the task so a replay that re-read it would differ.
	e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/1/complete"}, http.StatusOK)

	again := e.mustDo(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"Once"}`, header: key}, http.StatusCreated)
	if first.Body.String() != again.Body.String() {
		t.Errorf("replay body = %s, want %s", again.Body, first.Body)
	}
	if again.Header().Get("ETag") != first.Header().Get("ETag") || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay headers = %v", again.Header())
	}
	mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"Other"}`, header: key}), http.StatusConflict, "conflict")

	// The key is per workspace, and the synonym shares it.
	e.mustDo(t, call{method: "POST", path: "/api/tasks", body: `{"title":"Once"}`, header: key}, http.StatusCreated)
	w := e.mustDo(t, call{method: "GET", path: "/api/v1/tasks"}, http.StatusOK)
	if p := mustPage[tasks.Task](t, w, "tasks"); len(p.Items) != 1 {
		t.Errorf("%d tasks after replays, want 1", len(p.Items))
	}
	keyB := map[string]string{"Idempotency-Key": "order-1", "Authorization": "Bearer " + e.keyB}
	e.mustDo(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"Other"}`, header: keyB}, http.StatusCreated)

	for _, bad := range []string{"has space", strings.Repeat("k", 256), "tab\tkey", "ключ"} {
		w := e.do(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"x"}`, header: map[string]string{"Idempotency-Key": bad}})
		if got := mustError(t, w, http.StatusBadRequest, "invalid_argument"); got.Error.Fields["Idempotency-Key"] == "" {
			t.Errorf("Idempotency-Key %q: fields = %v", bad, got.Error.Fields)
		}
	}
}

func TestIfMatch(t *testing.T) {
	e := newTestEnv(t)
	task := e.createTask(t, `{"title":"x"}`) // version 1
	path := "/api/v1/tasks/" + task.ID
	cases := []struct {
		name, ifMatch string
		want          int
	}{
		{"Bare", "1", http.StatusOK},
		{"Quoted", `"2"`, http.StatusOK},
		{"Weak", `W/"3"`, http.StatusOK},
		{"Any", "*", http.StatusOK},
		{"Stale", `"1"`, http.StatusConflict},
		{"Future", `"99"`, http.StatusConflict},
		{"Garbage", "abc", http.StatusBadRequest},
		{"Zero", "0", http.StatusBadRequest},
		{"List", `"5", "6"`, http.StatusBadRequest},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, call{method: "PATCH", path: path, body: fmt.Sprintf(`{"title":"v%d"}`, i), header: map[string]string{"If-Match": tc.ifMatch}})
			if w.Code != tc.want {
				t.Fatalf("If-Match %s = %d %s, want %d", tc.ifMatch, w.Code, w.Body, tc.want)
			}
			if tc.want == http.StatusBadRequest {
				if got := mustError(t, w, tc.want, "invalid_argument"); got.Error.Fields["If-Match"] == "" {
					t.Errorf("fields = %v", got.Error.Fields)
				}
			}
		})
	}
	current := mustDecode[tasks.Task](t, e.mustDo(t, call{method: "GET", path: path}, http.StatusOK).Body.Bytes())
	mustError(t, e.do(t, call{method: "DELETE", path: path, header: map[string]string{"If-Match": `"1"`}}), http.StatusConflict, "conflict")
	mustError(t, e.do(t, call{method: "DELETE", path: path, header: map[string]string{"If-Match": `x`}}), http.StatusBadRequest, "invalid_argument")
	e.mustDo(t, call{method: "DELETE", path: path, header: map[string]string{"If-Match": strconv.Quote(strconv.FormatInt(current.Version, 10))}}, http.StatusNoContent)
	mustError(t, e.do(t, call{method: "DELETE", path: path, header: map[string]string{"If-Match": "*"}}), http.StatusNotFound, "not_found")
}

func TestUpdateTaskValidation(t *testing.T) {
	e := newTestEnv(t)
	task := e.createTask(t, `{"title":"x"}`)
	path := "/api/v1/tasks/" + task.ID
	cases := []struct {
		name, body, field string
	}{
		{"TitleNull", `{"title":null}`, "title"},
		{"TitleEmpty", `{"title":""}`, "title"},
		{"BadStatus", `{"status":"later"}`, "status"},
		{"BadDueAt", `{"due_at":"soon"}`, "due_at"},
		{"BadSnoozedUntil", `{"snoozed_until":12}`, "snoozed_until"},
		{"UnknownAssignee", `{"assignee":"usr_nobody"}`, "assignee"},
		{"Unknown", `{"version":3}`, "version"},
		{"TagsWrongType", `{"tags":{"a":1}}`, "tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustError(t, e.do(t, call{method: "PATCH", path: path, body: tc.body}), http.StatusBadRequest, "invalid_argument")
			if got.Error.Fields[tc.field] == "" {
				t.Errorf("fields = %v, want %q", got.Error.Fields, tc.field)
			}
		})
	}
	mustError(t, e.do(t, call{method: "PATCH", path: path}), http.StatusBadRequest, "invalid_argument")
	if got := mustDecode[tasks.Task](t, e.mustDo(t, call{method: "GET", path: path}, http.StatusOK).Body.Bytes()); got.Version != 1 {
		t.Errorf("failed patches moved the version to %d", got.Version)
	}
}

func TestSnoozeValidation(t *testing.T) {
	e := newTestEnv(t)
	task := e.createTask(t, `{"title":"x"}`)
	path := "/api/v1/tasks/" + task.ID + "/snooze"
	cases := []struct {
		name, body, field string
	}{
		{"Neither", `{}`, "until"},
		{"Both", `{"until":"2030-01-01T00:00:00Z","for":"1h"}`, "until"},
		{"Past", `{"until":"2001-01-01T00:00:00Z"}`, "until"},
		{"BadUntil", `{"until":"monday"}`, "until"},
		{"BadFor", `{"for":"soon"}`, "for"},
		{"NegativeFor", `{"for":"-1h"}`, "for"},
		{"TooLong", `{"for":"400d"}`, "for"},
		{"ForNumber", `{"for":3600}`, "for"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustError(t, e.do(t, call{method: "POST", path: path, body: tc.body}), http.StatusBadRequest, "invalid_argument")
			if got.Error.Fields[tc.field] == "" {
				t.Errorf("fields = %v, want %q", got.Error.Fields, tc.field)
			}
		})
	}
}

func TestListTasksPagination(t *testing.T) {
	e := newTestEnv(t)
	for i := 1; i <= 5; i++ {
		e.createTask(t, fmt.Sprintf(`{"title":"task %d"}`, i))
	}
	var numbers []int64
	path := "/api/v1/tasks?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		p := mustPage[tasks.Task](t, e.mustDo(t, call{method: "GET", path: path}, http.StatusOK), "tasks")
		for _, task := range p.Items {
			numbers = append(numbers, task.Number)
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/v1/tasks?limit=2&cursor=" + *p.NextCursor
	}
	if diff := cmp.Diff([]int64{5, 4, 3, 2, 1}, numbers); diff != "" {
		t.Errorf("pages newest first (-want +got):\n%s", diff)
	}
	p := mustPage[tasks.Task](t, e.mustDo(t, call{method: "GET", path: "/api/v1/tasks"}, http.StatusOK), "tasks")
	if len(p.Items) != 5 || p.NextCursor != nil {
		t.Errorf("default page = %d tasks, cursor %v", len(p.Items), p.NextCursor)
	}
}

func TestListTasksFilters(t *testing.T) {
	e := newTestEnv(t)
	ann := e.createUser(t, `{"name":"Ann","email":"ann@example.com"}`)
	e.createTask(t, `{"title":"Deploy backend","tags":["ops"],"assignee":"`+ann.ID+`","due_at":"2030-01-10T00:00:00Z"}`)           // 1
	e.createTask(t, `{"title":"Write docs","description":"backend guide","status":"in_progress","due_at":"2030-02-10T00:00:00Z"}`) // 2
	e.createTask(t, `{"title":"Old chore","status":"completed","tags":["ops","home"],"assignee":"ann@example.com"}`)               // 3
	e.createTask(t, `{"title":"Cancelled idea","status":"cancelled"}`)                                                             // 4
	cases := []struct {
		query string
		want  []int64
	}{
		{"", []int64{4, 3, 2, 1}},
		{"status=open", []int64{2, 1}},
		{"status=in_progress", []int64{2}},
		{"status=completed", []int64{3}},
		{"assignee=" + ann.ID, []int64{3, 1}},
		{"assignee=ANN@example.com", []int64{3, 1}},
		{"assignee=none", []int64{4, 2}},
		{"assignee=nobody@example.com", nil},
		{"tag=ops", []int64{3, 1}},
		{"tag=%23Home", []int64{3}},
		{"due_before=2030-02-01T00:00:00Z", []int64{1}},
		{"due_after=2030-02-01T00:00:00Z", []int64{2}},
		{"due_after=2029-01-01T00:00:00Z&due_before=2031-01-01T00:00:00Z", []int64{1, 2}}, // soonest due first
		{"q=backend", []int64{2, 1}},
		{"q=backend+deploy", []int64{1}},
		{"status=open&tag=ops&assignee=" + ann.ID, []int64{1}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			p := mustPage[tasks.Task](t, e.mustDo(t, call{method: "GET", path: "/api/v1/tasks?" + tc.query}, http.StatusOK), "tasks")
			var got []int64
			for _, task := range p.Items {
				got = append(got, task.Number)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("numbers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListQueryValidation(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		path   string
		fields []string
	}{
		{"/api/v1/tasks?status=done", []string{"status"}},
		{"/api/v1/tasks?due_before=tomorrow", []string{"due_before"}},
		{"/api/v1/tasks?due_after=2030-01-01", []string{"due_after"}},
		{"/api/v1/tasks?limit=0", []string{"limit"}},
		{"/api/v1/tasks?limit=201", []string{"limit"}},
		{"/api/v1/tasks?limit=ten", []string{"limit"}},
		{"/api/v1/tasks?limit=1&limit=2", []string{"limit"}},
		{"/api/v1/tasks?cursor=bogus", []string{"cursor"}},
		{"/api/v1/tasks?asignee=none", []string{"asignee"}},
		{"/api/v1/tasks?status=x&limit=-1&due_after=y", []string{"status", "limit", "due_after"}},
		{"/api/v1/tasks?%zz", []string{"query"}},
		{"/api/v1/users?limit=500", []string{"limit"}},
		{"/api/v1/users?cursor=x", []string{"cursor"}},
		{"/api/v1/users?status=open", []string{"status"}},
		{"/api/v1/events?since=yesterday", []string{"since"}},
		{"/api/v1/events?type=task.exploded", []string{"type"}},
		{"/api/v1/events?cursor=nope", []string{"cursor"}},
		{"/api/v1/events?limit=0", []string{"limit"}},
		{"/api/v1/tasks/1/comments?limit=x", []string{"limit"}},
	}
	e.createTask(t, `{"title":"x"}`)
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			got := mustError(t, e.do(t, call{method: "GET", path: tc.path}), http.StatusBadRequest, "invalid_argument")
			for _, f := range tc.fields {
				if got.Error.Fields[f] == "" {
					t.Errorf("fields = %v, want %q", got.Error.Fields, f)
				}
			}
		})
	}
}

func TestCommentsPaginationAndErrors(t *testing.T) {
	e := newTestEnv(t)
	task := e.createTask(t, `{"title":"x"}`)
	path := "/api/v1/tasks/" + task.ID + "/comments"
	for i := range 3 {
		e.mustDo(t, call{method: "POST", path: path, body: fmt.Sprintf(`{"text":"c%d"}`, i)}, http.StatusCreated)
	}
	var texts []string
	next := ""
	for range 4 {
		p := mustPage[tasks.Comment](t, e.mustDo(t, call{method: "GET", path: path + "?limit=2" + next}, http.StatusOK), "comments")
		for _, c := range p.Items {
			texts = append(texts, c.Text)
		}
		if p.NextCursor == nil {
			break
		}
		next = "&cursor=" + *p.NextCursor
	}
	if diff := cmp.Diff([]string{"c2", "c1", "c0"}, texts); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	got := mustError(t, e.do(t, call{method: "POST", path: path, body: `{"text":"  "}`}), http.StatusBadRequest, "invalid_argument")
	if got.Error.Fields["text"] != "required" {
		t.Errorf("fields = %v", got.Error.Fields)
	}
	mustError(t, e.do(t, call{method: "POST", path: path, body: `{"body":"x"}`}), http.StatusBadRequest, "invalid_argument")
	mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks/999/comments", body: `{"text":"x"}`}), http.StatusNotFound, "not_found")
	mustError(t, e.do(t, call{method: "GET", path: "/api/v1/tasks/999/comments"}), http.StatusNotFound, "not_found")
}

func TestSynonyms(t *testing.T) {
	e := newTestEnv(t)
	w := e.mustDo(t, call{method: "POST", path: "/api/tasks", body: `{"title":"simple"}`}, http.StatusCreated)
	task := mustDecode[tasks.Task](t, w.Body.Bytes())
	if w.Header().Get("ETag") != `"1"` {
		t.Errorf("ETag = %q", w.Header().Get("ETag"))
	}
	if p := mustPage[tasks.Task](t, e.mustDo(t, call{method: "GET", path: "/api/tasks?status=open"}, http.StatusOK), "tasks"); len(p.Items) != 1 {
		t.Errorf("list = %+v", p)
	}
	e.mustDo(t, call{method: "GET", path: "/api/tasks/" + task.ID}, http.StatusOK)
	w = e.mustDo(t, call{method: "PUT", path: "/api/tasks/1", body: `{"priority":"urgent"}`, header: map[string]string{"If-Match": "1"}}, http.StatusOK)
	if got := mustDecode[tasks.Task](t, w.Body.Bytes()); got.Priority != tasks.PriorityUrgent || got.Title != "simple" {
		t.Errorf("PUT = %+v", got)
	}
	mustError(t, e.do(t, call{method: "PUT", path: "/api/tasks/1", body: `{"title":""}`}), http.StatusBadRequest, "invalid_argument")
	e.mustDo(t, call{method: "DELETE", path: "/api/tasks/1"}, http.StatusNoContent)
	mustError(t, e.do(t, call{method: "GET", path: "/api/tasks/1"}), http.StatusNotFound, "not_found")
	if p := mustPage[tasks.Task](t, e.mustDo(t, call{method: "GET", path: "/api/tasks"}, http.StatusOK), "tasks"); len(p.Items) != 0 {
		t.Errorf("after delete list = %+v", p)
	}
}

func TestNotFound(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct{ method, path, body string }{
		{"GET", "/api/v1/tasks/42", ""},
		{"GET", "/api/v1/tasks/tsk_01NOSUCHTASK", ""},
		{"GET", "/api/v1/tasks/not-a-ref", ""},
		{"PATCH", "/api/v1/tasks/42", `{"title":"x"}`},
		{"PUT", "/api/v1/tasks/42", `{"title":"x"}`},
		{"DELETE", "/api/v1/tasks/42", ""},
		{"POST", "/api/v1/tasks/42/complete", ""},
		{"POST", "/api/v1/tasks/42/reopen", ""},
		{"POST", "/api/v1/tasks/42/snooze", `{"for":"1h"}`},
		{"GET", "/api/v1/users/usr_nobody", ""},
		{"GET", "/api/v1/users/nobody@example.com", ""},
		{"PUT", "/api/v1/users/usr_nobody/cliq", `{"cliq_user_id":"123"}`},
		{"GET", "/api/v1/nothing", ""},
		{"GET", "/api/v2/tasks", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			mustError(t, e.do(t, call{method: tc.method, path: tc.path, body: tc.body}), http.StatusNotFound, "not_found")
		})
	}
	w := e.do(t, call{method: "PATCH", path: "/api/v1/users"})
	mustError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := w.Header().Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow = %q", allow)
	}
}
