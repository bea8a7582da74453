package extension

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

func actionRequest(body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/api/cliq/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", testAPIKey)
	return req
}

type actionAnswer struct {
	Success bool        `json:"success"`
	Task    *tasks.Task `json:"task"`
	User    *tasks.User `json:"user"`
}

func TestActionEnvelope(t *testing.T) {
	env := newTestEnv(t, Config{})
	ctx := context.Background()

	rec := env.serve(actionRequest(`{"action":"task.create","data":{"title":"Water plants","priority":"high","cliqUserId":"600123"}}`))
	created := mustDecode[actionAnswer](t, rec)
	if rec.Code != http.StatusOK || !created.Success || created.Task == nil || created.Task.Number != 1 {
		t.Fatalf("task.create: %d %s", rec.Code, rec.Body.String())
	}

	rec = env.serve(actionRequest(`{"action":"task.update","data":{"taskId":"1","title":"Water the plants"}}`))
	if got := mustDecode[actionAnswer](t, rec); rec.Code != http.StatusOK || got.Task.Title != "Water the plants" {
		t.Fatalf("task.update: %d %s", rec.Code, rec.Body.String())
	}

	t.Run("CompleteByNumber", func(t *testing.T) {
		rec := env.serve(actionRequest(`{"action":"task.complete","data":{"taskId":1,"cliqUserId":"600123"}}`))
		got := mustDecode[actionAnswer](t, rec)
		if rec.Code != http.StatusOK || got.Task.Status != tasks.StatusCompleted {
			t.Fatalf("task.complete: %d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("CompleteByString", func(t *testing.T) {
		rec := env.serve(actionRequest(`{"action":"task.create","data":{"title":"Second"}}`))
		id := mustDecode[actionAnswer](t, rec).Task.ID
		rec = env.serve(actionRequest(`{"action":"task.complete","data":{"taskId":"` + id + `"}}`))
		if got := mustDecode[actionAnswer](t, rec); rec.Code != http.StatusOK || got.Task.Status != tasks.StatusCompleted {
			t.Fatalf("task.complete: %d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("LinkNewEmail", func(t *testing.T) {
		rec := env.serve(actionRequest(`{"action":"user.link","data":{"cliqUserId":"600777","email":"Dana.Fox@example.com"}}`))
		got := mustDecode[actionAnswer](t, rec)
		if rec.Code != http.StatusOK || got.User == nil || got.User.Name != "Dana.Fox" || got.User.Timezone != "Europe/Berlin" ||
			got.User.CliqUserID == nil || *got.User.CliqUserID != "600777" {
			t.Fatalf("user.link: %d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("LinkByTaskerID", func(t *testing.T) {
		u, err := env.store.CreateUser(ctx, env.ws, tasks.Actor{}, tasks.NewUser{Name: "Eve", Email: "eve@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		rec := env.serve(actionRequest(`{"action":"user.link","data":{"cliqUserId":"600888","taskerId":"` + u.ID + `"}}`))
		if got := mustDecode[actionAnswer](t, rec); rec.Code != http.StatusOK || got.User.ID != u.ID || *got.User.CliqUserID != "600888" {
			t.Fatalf("user.link: %d %s", rec.Code, rec.Body.String())
		}
	})

	errCases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"UnknownAction", `{"action":"task.explode","data":{}}`, http.StatusBadRequest, "invalid_argument"},
		{"NoAction", `{"data":{}}`, http.StatusBadRequest, "invalid_argument"},
		{"UnknownField", `{"action":"task.create","data":{"title":"x","colour":"red"}}`, http.StatusBadRequest, "invalid_argument"},
		{"NotJSON", `nope`, http.StatusBadRequest, "invalid_argument"},
		{"NoTitle", `{"action":"task.create","data":{}}`, http.StatusBadRequest, "invalid_argument"},
		{"NoTaskID", `{"action":"task.complete","data":{}}`, http.StatusBadRequest, "invalid_argument"},
		{"MissingTask", `{"action":"task.complete","data":{"taskId":999}}`, http.StatusNotFound, "not_found"},
		{"LinkWithoutEmail", `{"action":"user.link","data":{"cliqUserId":"600999"}}`, http.StatusBadRequest, "invalid_argument"},
		{"LinkTaken", `{"action":"user.link","data":{"cliqUserId":"600777","email":"other@example.com"}}`, http.StatusConflict, "conflict"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			wantAPIError(t, env.serve(actionRequest(c.body)), c.status, c.code)
		})
	}
	t.Run("NoKey", func(t *testing.T) {
		req := actionRequest(`{"action":"task.create","data":{"title":"x"}}`)
		req.Header.Del("X-Api-Key")
		wantAPIError(t, env.serve(req), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestActionIdempotencyKey(t *testing.T) {
	env := newTestEnv(t, Config{})
	var ids []string
	for range 2 {
		req := actionRequest(`{"action":"task.create","data":{"title":"Once"}}`)
		req.Header.Set("Idempotency-Key", "k-1")
		rec := env.serve(req)
		ids = append(ids, mustDecode[actionAnswer](t, rec).Task.ID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("same Idempotency-Key made two tasks: %v", ids)
	}
}
