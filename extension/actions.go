package extension

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/taskerhq/tasker/tasks"
)

// The actions of the SPEC 4.4 envelope.
const (
	actionTaskCreate   = "task.create"
	actionTaskComplete = "task.complete"
	actionTaskUpdate   = "task.update"
	actionUserLink     = "user.link"
)

// envelope is {"action":"task.create|task.complete|task.update|user.link","data":{…}}.
type envelope struct {
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
}

// actionResult is the envelope's success answer.
type actionResult struct {
	Success bool        `json:"success"`
	Task    *tasks.Task `json:"task,omitempty"`
	User    *tasks.User `json:"user,omitempty"`
}

// The data of each action. Unknown fields are rejected, as in the REST API,
// so a misspelt field is an error rather than silently ignored.
type (
	createData struct {
		tasks.NewTask
		CliqUserID string `json:"cliqUserId"`
	}
	completeData struct {
		TaskID     flexString `json:"taskId"` // a task id or number, as a string or a number
		CliqUserID string     `json:"cliqUserId"`
	}
	updateData struct {
		tasks.TaskPatch
		TaskID     flexString `json:"taskId"`
		CliqUserID string     `json:"cliqUserId"`
	}
	linkData struct {
		CliqUserID string `json:"cliqUserId"`
		Email      string `json:"email"`
		TaskerID   string `json:"taskerId"`
	}
)

// actionRunner runs envelopes against the store; defaultTimezone is given
// to users that user.link creates.
type actionRunner struct {
	store           *tasks.Store
	defaultTimezone string
}

// run performs env in ws. idem, when set, makes a repeated task.create
// return the first task.
func (a actionRunner) run(ctx context.Context, ws tasks.WorkspaceID, env envelope, idem *tasks.Idempotency) (actionResult, error) {
	data := env.Data
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	switch env.Action {
	case actionTaskCreate:
		d, err := decodeStrict[createData](data, "data")
		if err != nil {
			return actionResult{}, err
		}
		actor, err := a.actor(ctx, ws, d.CliqUserID)
		if err != nil {
			return actionResult{}, err
		}
		t, _, err := a.store.CreateTask(ctx, ws, actor, d.NewTask, idem)
		return taskResult(t, err)
	case actionTaskComplete:
		d, err := decodeStrict[completeData](data, "data")
		if err != nil {
			return actionResult{}, err
		}
		ref, actor, err := a.target(ctx, ws, d.TaskID, d.CliqUserID)
		if err != nil {
			return actionResult{}, err
		}
		t, err := a.store.CompleteTask(ctx, ws, actor, ref)
		return taskResult(t, err)
	case actionTaskUpdate:
		d, err := decodeStrict[updateData](data, "data")
		if err != nil {
			return actionResult{}, err
		}
		ref, actor, err := a.target(ctx, ws, d.TaskID, d.CliqUserID)
		if err != nil {
			return actionResult{}, err
		}
		t, err := a.store.UpdateTask(ctx, ws, actor, ref, d.TaskPatch, nil)
		return taskResult(t, err)
	case actionUserLink:
		d, err := decodeStrict[linkData](data, "data")
		if err != nil {
			return actionResult{}, err
		}
		u, err := a.link(ctx, ws, d)
		if err != nil {
			return actionResult{}, err
		}
		return actionResult{Success: true, User: &u}, nil
	case "":
		return actionResult{}, badRequest("action is required", map[string]string{"action": "required"})
	}
	return actionResult{}, badRequest(fmt.Sprintf("unknown action %q; use task.create, task.complete, task.update or user.link", env.Action),
		map[string]string{"action": "unknown"})
}

func taskResult(t tasks.Task, err error) (actionResult, error) {
	if err != nil {
		return actionResult{}, err
	}
	return actionResult{Success: true, Task: &t}, nil
}

// target checks the taskId and resolves the acting Cliq user.
func (a actionRunner) target(ctx context.Context, ws tasks.WorkspaceID, taskID flexString, cliqUserID string) (string, tasks.Actor, error) {
	ref := strings.TrimSpace(string(taskID))
	if ref == "" {
		return "", tasks.Actor{}, badRequest("data.taskId is required", map[string]string{"taskId": "required"})
	}
	actor, err := a.actor(ctx, ws, cliqUserID)
	return ref, actor, err
}

// actor is the Tasker user linked to cliqUserID, or just the Cliq id when
// nobody is linked to it yet; the zero Actor without a Cliq id.
func (a actionRunner) actor(ctx context.Context, ws tasks.WorkspaceID, cliqUserID string) (tasks.Actor, error) {
	if cliqUserID == "" {
		return tasks.Actor{Via: tasks.ViaAPI}, nil
	}
	u, err := a.store.UserByCliqID(ctx, ws, cliqUserID)
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		return tasks.Actor{CliqUserID: cliqUserID}, nil
	case err != nil:
		return tasks.Actor{}, err
	}
	return tasks.Actor{UserID: u.ID, CliqUserID: cliqUserID}, nil
}

// link links a Cliq user to the Tasker user given by taskerId or email. An
// email nobody has yet creates the user, named after the email's local part
// (SPEC 6.3 and 12).
func (a actionRunner) link(ctx context.Context, ws tasks.WorkspaceID, d linkData) (tasks.User, error) {
	if d.CliqUserID == "" {
		return tasks.User{}, badRequest("data.cliqUserId is required", map[string]string{"cliqUserId": "required"})
	}
	actor := tasks.Actor{CliqUserID: d.CliqUserID}
	switch {
	case d.TaskerID != "":
		return a.store.LinkCliq(ctx, ws, actor, d.TaskerID, d.CliqUserID)
	case d.Email == "":
		return tasks.User{}, badRequest("data.email or data.taskerId is required", map[string]string{"email": "required"})
	}
	u, err := a.store.GetUser(ctx, ws, d.Email)
	if err == nil {
		return a.store.LinkCliq(ctx, ws, actor, u.ID, d.CliqUserID)
	}
	if !errors.Is(err, tasks.ErrNotFound) {
		return tasks.User{}, err
	}
	local, _, _ := strings.Cut(strings.TrimSpace(d.Email), "@")
	cliqID := d.CliqUserID
	return a.store.CreateUser(ctx, ws, actor, tasks.NewUser{
		Name: firstNonEmpty(local, d.Email), Email: d.Email, Timezone: a.defaultTimezone, CliqUserID: &cliqID,
	})
}

// idempotencyOf returns the Idempotency-Key of r, tied to a digest of body.
func idempotencyOf(r *http.Request, body []byte) *tasks.Idempotency {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		return nil
	}
	sum := sha256.Sum256(body)
	return &tasks.Idempotency{Key: key, Hash: hex.EncodeToString(sum[:])}
}

// handleActionWebhook serves POST /api/cliq/webhook (SPEC 4.4), called by
// third parties and automation tools with a REST API key. authenticate
// checks the key and names its workspace.
func handleActionWebhook(logger *slog.Logger, runner actionRunner, authenticate func(*http.Request) (tasks.WorkspaceID, bool), maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, ok := authenticate(r)
		if !ok {
			respondError(w, r, logger, unauthenticated("a valid API key is required (Authorization: Bearer or X-Api-Key)"))
			return
		}
		body, err := readBody(w, r, maxBody)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		env, err := decodeStrict[envelope](body, "request body")
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		res, err := runner.run(r.Context(), ws, env, idempotencyOf(r, body))
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		encode(w, http.StatusOK, res)
	})
}
