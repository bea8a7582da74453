package api

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/tasks"
)

func TestUsers(t *testing.T) {
	e := newTestEnv(t)
	ann := e.createUser(t, `{"name":"Ann","email":"Ann@Example.com","timezone":"Europe/Berlin"}`)
	if ann.Email != "ann@example.com" || ann.CliqUserID != nil || ann.Workspace != e.wsA {
		t.Fatalf("created = %+v", ann)
	}
	for _, ref := range []string{ann.ID, "ann@example.com", "ANN@example.com"} {
		w := e.mustDo(t, call{method: "GET", path: "/api/v1/users/" + ref}, http.StatusOK)
		if got := mustDecode[tasks.User](t, w.Body.Bytes()); got.ID != ann.ID {
			t.Errorf("GET %s = %+v", ref, got)
		}
	}
	w := e.mustDo(t, call{method: "PUT", path: "/api/v1/users/ann@example.com/cliq", body: `{"cliq_user_id":"55501"}`}, http.StatusOK)
	if got := mustDecode[tasks.User](t, w.Body.Bytes()); got.CliqUserID == nil || *got.CliqUserID != "55501" {
		t.Fatalf("linked = %+v", got)
	}
	bob := e.createUser(t, `{"name":"Bob","cliq_user_id":"55502"}`)

	conflicts := []call{
		{method: "POST", path: "/api/v1/users", body: `{"name":"Ann 2","email":"ann@example.com"}`},
		{method: "POST", path: "/api/v1/users", body: `{"name":"Ann 3","cliq_user_id":"55501"}`},
		{method: "PUT", path: "/api/v1/users/" + bob.ID + "/cliq", body: `{"cliq_user_id":"55501"}`},
	}
	for _, rq := range conflicts {
		mustError(t, e.do(t, rq), http.StatusConflict, "conflict")
	}
	invalid := []struct {
		name, method, path, body, field string
	}{
		{"NameRequired", "POST", "/api/v1/users", `{"email":"x@example.com"}`, "name"},
		{"BadEmail", "POST", "/api/v1/users", `{"name":"X","email":"not an email"}`, "email"},
		{"BadTimezone", "POST", "/api/v1/users", `{"name":"X","timezone":"Mars/Olympus"}`, "timezone"},
		{"BadCliqID", "POST", "/api/v1/users", `{"name":"X","cliq_user_id":"a b"}`, "cliq_user_id"},
		{"Unknown", "POST", "/api/v1/users", `{"name":"X","role":"admin"}`, "role"},
		{"NameNumber", "POST", "/api/v1/users", `{"name":7}`, "name"},
		{"LinkMissing", "PUT", "/api/v1/users/" + bob.ID + "/cliq", `{}`, "cliq_user_id"},
		{"LinkNull", "PUT", "/api/v1/users/" + bob.ID + "/cliq", `{"cliq_user_id":null}`, "cliq_user_id"},
		{"LinkBad", "PUT", "/api/v1/users/" + bob.ID + "/cliq", `{"cliq_user_id":"x y"}`, "cliq_user_id"},
		{"LinkNumber", "PUT", "/api/v1/users/" + bob.ID + "/cliq", `{"cliq_user_id":55503}`, "cliq_user_id"},
		{"LinkUnknown", "PUT", "/api/v1/users/" + bob.ID + "/cliq", `{"cliq":"1"}`, "cliq"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			got := mustError(t, e.do(t, call{method: tc.method, path: tc.path, body: tc.body}), http.StatusBadRequest, "invalid_argument")
			if got.Error.Fields[tc.field] == "" {
				t.Errorf("fields = %v, want %q", got.Error.Fields, tc.field)
			}
		})
	}

	var ids []string
	next := ""
	for range 4 {
		p := mustPage[tasks.User](t, e.mustDo(t, call{method: "GET", path: "/api/v1/users?limit=1" + next}, http.StatusOK), "users")
		for _, u := range p.Items {
			ids = append(ids, u.ID)
		}
		if p.NextCursor == nil {
			break
		}
		next = "&cursor=" + *p.NextCursor
	}
	if diff := cmp.Diff([]string{bob.ID, ann.ID}, ids); diff != "" {
		t.Errorf("users newest first (-want +got):\n%s", diff)
	}
}

func TestEvents(t *testing.T) {
	e := newTestEnv(t)
	for i := range 3 {
		e.createTask(t, fmt.Sprintf(`{"title":"t%d"}`, i))
	}
	e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/2/complete"}, http.StatusOK)

	var types []tasks.EventType
	next := ""
	for range 10 {
		p := mustPage[tasks.Event](t, e.mustDo(t, call{method: "GET", path: "/api/v1/events?limit=1" + next}, http.StatusOK), "events")
		for _, ev := range p.Items {
			types = append(types, ev.Type)
		}
		if p.NextCursor == nil {
			break
		}
		next = "&cursor=" + *p.NextCursor
	}
	want := []tasks.EventType{tasks.EventTaskCompleted, tasks.EventTaskCreated, tasks.EventTaskCreated, tasks.EventTaskCreated}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("events newest first (-want +got):\n%s", diff)
	}

	p := mustPage[tasks.Event](t, e.mustDo(t, call{method: "GET", path: "/api/v1/events?type=task.completed"}, http.StatusOK), "events")
	if len(p.Items) != 1 || p.Items[0].Data.Task == nil || p.Items[0].Data.Task.Number != 2 {
		t.Errorf("task.completed events = %+v", p.Items)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	p = mustPage[tasks.Event](t, e.mustDo(t, call{method: "GET", path: "/api/v1/events?since=" + future}, http.StatusOK), "events")
	if len(p.Items) != 0 || p.NextCursor != nil {
		t.Errorf("events since %s = %+v", future, p)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	p = mustPage[tasks.Event](t, e.mustDo(t, call{method: "GET", path: "/api/v1/events?since=" + past}, http.StatusOK), "events")
	if len(p.Items) != 4 {
		t.Errorf("events since %s = %d, want 4", past, len(p.Items))
	}
}
