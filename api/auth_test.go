package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

func TestParseKeys(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string]tasks.WorkspaceID // key → workspace
		wantErr  bool
	}{
		{"OneDefault", "k1", map[string]tasks.WorkspaceID{"k1": "default"}, false},
		{"Bound", "k1@acme, k2 ,k3@60009876543", map[string]tasks.WorkspaceID{"k1": "acme", "k2": "default", "k3": "60009876543"}, false},
		{"LastAt", "p@ss@acme", map[string]tasks.WorkspaceID{"p@ss": "acme"}, false},
		{"Empty", "", nil, true},
		{"Blank", "  ", nil, true},
		{"EmptyEntry", "k1,,k2", nil, true},
		{"TrailingComma", "k1,", nil, true},
		{"EmptyKey", "@acme", nil, true},
		{"EmptyWorkspace", "k1@", nil, true},
		{"BadWorkspace", "k1@{acme}", nil, true},
		{"Duplicate", "k1@a,k1@b", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseKeys(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseKeys(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), "k1") || strings.Contains(err.Error(), "p@ss") {
					t.Errorf("error %q quotes a key", err)
				}
				return
			}
			for key, ws := range tc.want {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("X-Api-Key", key)
				if got, ok := keys.Authenticate(r); !ok || got != ws {
					t.Errorf("Authenticate(%q) = %q, %v; want %q", key, got, ok, ws)
				}
			}
			if s := keys.String(); strings.Contains(s, "k1") {
				t.Errorf("String() = %q shows a key", s)
			}
			var logged strings.Builder
			slog.New(slog.NewJSONHandler(&logged, nil)).Info("keys", "keys", keys)
			if want := fmt.Sprintf(`"keys":%q`, keys.String()); !strings.Contains(logged.String(), want) {
				t.Errorf("logged %q, want %s and nothing of the keys", logged.String(), want)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	keys, err := ParseKeys("secret-a@a,secret-b@b")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		header map[string]string
		want   tasks.WorkspaceID
		ok     bool
	}{
		{"None", nil, "", false},
		{"Bearer", map[string]string{"Authorization": "Bearer secret-a"}, "a", true},
		{"BearerLowerCase", map[string]string{"Authorization": "bearer secret-b"}, "b", true},
		{"XApiKey", map[string]string{"X-Api-Key": "secret-b"}, "b", true},
		{"WrongBearer", map[string]string{"Authorization": "Bearer secret-c"}, "", false},
		{"WrongXApiKey", map[string]string{"X-Api-Key": "secret"}, "", false},
		{"Prefix", map[string]string{"X-Api-Key": "secret-a-and-more"}, "", false},
		{"BasicScheme", map[string]string{"Authorization": "Basic secret-a"}, "", false},
		{"BasicThenKey", map[string]string{"Authorization": "Basic x", "X-Api-Key": "secret-a"}, "a", true},
		{"BearerWins", map[string]string{"Authorization": "Bearer wrong", "X-Api-Key": "secret-a"}, "", false},
		{"EmptyBearer", map[string]string{"Authorization": "Bearer "}, "", false},
		{"BareKey", map[string]string{"Authorization": "secret-a"}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if ws, ok := keys.Authenticate(r); ws != tc.want || ok != tc.ok {
				t.Errorf("Authenticate = %q, %v; want %q, %v", ws, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAuthRequired(t *testing.T) {
	e := newTestEnv(t)
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/tasks"}, {"POST", "/api/v1/tasks"}, {"GET", "/api/v1/tasks/1"},
		{"PATCH", "/api/v1/tasks/1"}, {"PUT", "/api/v1/tasks/1"}, {"DELETE", "/api/v1/tasks/1"},
		{"POST", "/api/v1/tasks/1/complete"}, {"POST", "/api/v1/tasks/1/reopen"}, {"POST", "/api/v1/tasks/1/snooze"},
		{"GET", "/api/v1/tasks/1/comments"}, {"POST", "/api/v1/tasks/1/comments"},
		{"GET", "/api/v1/users"}, {"POST", "/api/v1/users"}, {"GET", "/api/v1/users/usr_x"}, {"PUT", "/api/v1/users/usr_x/cliq"},
		{"GET", "/api/v1/events"},
		{"GET", "/api/tasks"}, {"POST", "/api/tasks"}, {"GET", "/api/tasks/1"}, {"PUT", "/api/tasks/1"}, {"DELETE", "/api/tasks/1"},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for name, header := range map[string]map[string]string{
				"None":  nil,
				"Wrong": {"Authorization": "Bearer " + e.keyA + "x"},
				"Empty": {"X-Api-Key": " "},
			} {
				w := e.do(t, call{method: rt.method, path: rt.path, body: `{"title":"x"}`, noAuth: true, header: header})
				mustError(t, w, http.StatusUnauthorized, "unauthenticated")
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s: no WWW-Authenticate", name)
				}
			}
		})
	}
	if strings.Contains(e.logs.String(), e.keyA) {
		t.Error("a key reached the log")
	}
}

func TestWorkspaceIsolation(t *testing.T) {
	e := newTestEnv(t)
	task := e.createTask(t, `{"title":"A's secret plan"}`)
	user := e.createUser(t, `{"name":"Ann","email":"ann@example.com"}`)
	asB := map[string]string{"Authorization": "", "X-Api-Key": e.keyB}

	p := mustPage[tasks.Task](t, e.mustDo(t, call{method: "GET", path: "/api/v1/tasks", header: asB}, http.StatusOK), "tasks")
	if len(p.Items) != 0 {
		t.Fatalf("B lists A's tasks: %+v", p.Items)
	}
	for _, rq := range []call{
		{method: "GET", path: "/api/v1/tasks/" + task.ID},
		{method: "GET", path: "/api/v1/tasks/1"},
		{method: "GET", path: "/api/tasks/1"},
		{method: "PATCH", path: "/api/v1/tasks/1", body: `{"title":"mine"}`},
		{method: "DELETE", path: "/api/v1/tasks/1"},
		{method: "POST", path: "/api/v1/tasks/1/complete"},
		{method: "POST", path: "/api/v1/tasks/1/comments", body: `{"text":"hi"}`},
		{method: "GET", path: "/api/v1/users/" + user.ID},
		{method: "GET", path: "/api/v1/users/ann@example.com"},
		{method: "PUT", path: "/api/v1/users/" + user.ID + "/cliq", body: `{"cliq_user_id":"123"}`},
	} {
		rq.header = asB
		mustError(t, e.do(t, rq), http.StatusNotFound, "not_found")
	}
	if p := mustPage[tasks.User](t, e.mustDo(t, call{method: "GET", path: "/api/v1/users", header: asB}, http.StatusOK), "users"); len(p.Items) != 0 {
		t.Errorf("B lists A's users: %+v", p.Items)
	}
	if p := mustPage[tasks.Event](t, e.mustDo(t, call{method: "GET", path: "/api/v1/events", header: asB}, http.StatusOK), "events"); len(p.Items) != 0 {
		t.Errorf("B lists A's events: %+v", p.Items)
	}
	// B's own task gets B's number 1, and A's task is untouched.
	w := e.mustDo(t, call{method: "POST", path: "/api/v1/tasks", body: `{"title":"B's task"}`, header: asB}, http.StatusCreated)
	if got := mustDecode[tasks.Task](t, w.Body.Bytes()); got.Number != 1 || got.Workspace != e.wsB {
		t.Errorf("B's task = %+v", got)
	}
	w = e.mustDo(t, call{method: "GET", path: "/api/v1/tasks/1"}, http.StatusOK)
	if got := mustDecode[tasks.Task](t, w.Body.Bytes()); got.ID != task.ID || got.Title != "A's secret plan" || got.Workspace != e.wsA {
		t.Errorf("A's task = %+v", got)
	}
}

func TestWeakKeys(t *testing.T) {
	keys, err := ParseKeys("k, 0123456789abcdef@acme, fifteen-chars-x")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys.Weak(); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("Weak() = %v, want entries 1 and 3", got)
	}
}
