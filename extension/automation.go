package extension

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskerhq/tasker/internal/bound"
	"github.com/taskerhq/tasker/tasks"
)

// IncomingSecret is one secret of /api/incoming-webhook and the workspace it
// opens.
type IncomingSecret struct {
	Secret    string
	Workspace tasks.WorkspaceID
}

// ParseIncomingSecrets reads TASKER_INCOMING_SECRET: a comma list of
// SECRET[@WORKSPACE] by the rules of every such list (internal/bound); an
// empty list disables the endpoint.
func ParseIncomingSecrets(s string) ([]IncomingSecret, error) {
	list, err := bound.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("extension: incoming secret %w", err)
	}
	var out []IncomingSecret
	for _, e := range list {
		out = append(out, IncomingSecret{Secret: e.Value, Workspace: e.Workspace})
	}
	return out, nil
}

// automationActor made the changes of /api/incoming-webhook.
var automationActor = tasks.Actor{Via: tasks.ViaIncomingWebhook}

// matchSecret returns the workspace of the secret equal to given. Digests
// are compared, each in constant time and all of them every time, so the
// answer's timing reveals neither a secret's length nor which one matched.
func matchSecret(secrets []IncomingSecret, given string) (tasks.WorkspaceID, bool) {
	g := sha256.Sum256([]byte(given))
	var ws tasks.WorkspaceID
	found := 0
	for _, s := range secrets {
		d := sha256.Sum256([]byte(s.Secret))
		eq := subtle.ConstantTimeCompare(g[:], d[:])
		if eq == 1 && found == 0 {
			ws = s.Workspace
		}
		found |= eq
	}
	return ws, found == 1
}

// equalSecret compares a presented token with the configured one in
// constant time.
func equalSecret(given, want string) bool {
	g, w := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return given != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// The events an automation tool may send (SPEC 4.3).
const (
	eventTaskCreated       = "task_created"
	eventTaskUpdated       = "task_updated"
	eventTaskStatusChanged = "task_status_changed"
	eventTaskDeleted       = "task_deleted"
)

// automationBody is either {"event":…,"task":{…}} or an action envelope.
type automationBody struct {
	Event  string          `json:"event"`
	Task   json.RawMessage `json:"task"`
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
}

// foreignTask is a task as another system describes it. Unknown fields are
// ignored: automation tools pass on whatever their source had. Fields that
// are absent leave the task alone; null clears.
type foreignTask struct {
	ID          flexString               `json:"id"`
	Title       tasks.Optional[string]   `json:"title"`
	Description tasks.Optional[string]   `json:"description"`
	Status      tasks.Optional[string]   `json:"status"`
	Priority    tasks.Optional[string]   `json:"priority"`
	Tags        tasks.Optional[[]string] `json:"tags"`
	DueAt       tasks.Optional[string]   `json:"due_at"`
	SourceURL   tasks.Optional[string]   `json:"source_url"`
	URL         tasks.Optional[string]   `json:"url"`
	Assignee    tasks.Optional[string]   `json:"assignee"`
}

// automationOK is the exact success answer automation tools rely on.
type automationOK struct {
	Success   bool        `json:"success"`
	Message   string      `json:"message"`
	Timestamp string      `json:"timestamp"`
	Task      *tasks.Task `json:"task,omitempty"`
	User      *tasks.User `json:"user,omitempty"`
}

// handleAutomationWebhook serves POST /api/incoming-webhook (SPEC 4.3),
// called by automation tools (Make.com, Zapier) with a secret from
// TASKER_INCOMING_SECRET in ?secret= or X-Webhook-Secret. The secret is
// never logged: this handler logs nothing of the request, respondError logs
// only the path, and the api package's request log redacts the secret query
// parameter.
//
// An event body answers exactly {"success":true,"message":…,"timestamp":…};
// an action envelope adds its "task" or "user" to that answer.
func handleAutomationWebhook(logger *slog.Logger, store *tasks.Store, runner actionRunner, secrets []IncomingSecret, maxBody int64, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(secrets) == 0 {
			respondSimpleError(w, r, logger, notFound("Not Found: incoming webhooks are not enabled"))
			return
		}
		given := r.URL.Query().Get("secret")
		if given == "" {
			given = r.Header.Get("X-Webhook-Secret")
		}
		if given == "" {
			respondSimpleError(w, r, logger, unauthenticated("Unauthorized: Missing secret parameter"))
			return
		}
		ws, ok := matchSecret(secrets, given)
		if !ok {
			respondSimpleError(w, r, logger, unauthenticated("Unauthorized: Invalid secret"))
			return
		}
		body, err := readBody(w, r, maxBody)
		if err != nil {
			respondSimpleError(w, r, logger, err)
			return
		}
		var in automationBody
		if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(body, &in) != nil {
			respondSimpleError(w, r, logger, badRequest("Bad Request: body must be a JSON object", nil))
			return
		}
		answer := automationOK{Success: true, Message: "Webhook received successfully"}
		switch {
		case in.Action != "":
			res, err := runner.run(r.Context(), ws, envelope{Action: in.Action, Data: in.Data}, idempotencyOf(r, body))
			if err != nil {
				respondSimpleError(w, r, logger, err)
				return
			}
			answer.Task, answer.User = res.Task, res.User
		case in.Event != "":
			if err := applyEvent(r.Context(), store, ws, in.Event, in.Task); err != nil {
				respondSimpleError(w, r, logger, err)
				return
			}
		default:
			respondSimpleError(w, r, logger, badRequest(`Bad Request: body needs "event" and "task", or "action" and "data"`, nil))
			return
		}
		answer.Timestamp = now().UTC().Format(time.RFC3339)
		encode(w, http.StatusOK, answer)
	})
}

// applyEvent applies an automation tool's task event to the task whose
// external_id is task.id. Applying the same event twice changes nothing
// the second time: an upsert writes only fields that differ.
func applyEvent(ctx context.Context, store *tasks.Store, ws tasks.WorkspaceID, event string, raw json.RawMessage) error {
	switch event {
	case eventTaskCreated, eventTaskUpdated, eventTaskStatusChanged, eventTaskDeleted:
	default:
		return badRequest(fmt.Sprintf("Bad Request: unknown event %q; use task_created, task_updated, task_status_changed or task_deleted", event), nil)
	}
	var ft foreignTask
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return badRequest("Bad Request: task must be an object", nil)
	}
	if err := json.Unmarshal(raw, &ft); err != nil {
		return badRequest("Bad Request: task has a field of the wrong type", nil)
	}
	extID := strings.TrimSpace(string(ft.ID))
	if extID == "" || utf8.RuneCountInString(extID) > 200 {
		return badRequest("Bad Request: task.id is required (1 to 200 characters)", nil)
	}
	if event == eventTaskDeleted {
		return deleteByExternalID(ctx, store, ws, extID)
	}
	return upsert(ctx, store, ws, extID, ft)
}

func deleteByExternalID(ctx context.Context, store *tasks.Store, ws tasks.WorkspaceID, extID string) error {
	t, err := store.TaskByExternalID(ctx, ws, extID)
	if errors.Is(err, tasks.ErrNotFound) {
		return nil // already gone: deleting twice is one delete
	}
	if err != nil {
		return err
	}
	if err := store.DeleteTask(ctx, ws, automationActor, t.ID); err != nil && !errors.Is(err, tasks.ErrNotFound) {
		return err
	}
	return nil
}

// upsertAttempts bounds the retries when another writer gets in between
// reading the task and writing it.
const upsertAttempts = 3

func upsert(ctx context.Context, store *tasks.Store, ws tasks.WorkspaceID, extID string, ft foreignTask) error {
	for range upsertAttempts {
		cur, err := store.TaskByExternalID(ctx, ws, extID)
		if errors.Is(err, tasks.ErrNotFound) {
			in, err := ft.newTask(extID)
			if err != nil {
				return err
			}
			_, _, err = store.CreateTask(ctx, ws, automationActor, in, nil)
			if errors.Is(err, tasks.ErrConflict) {
				continue // created meanwhile by the same event sent twice: update it instead
			}
			return err
		}
		if err != nil {
			return err
		}
		patch, changed, err := ft.patch(ctx, store, ws, cur)
		if err != nil || !changed {
			return err
		}
		_, err = store.UpdateTask(ctx, ws, automationActor, cur.ID, patch, &cur.Version)
		if errors.Is(err, tasks.ErrConflict) {
			continue
		}
		return err
	}
	return &tasks.ConflictError{Reason: "task is being changed by others; try again"}
}

// sourceURL is source_url, or url when only that is given.
func (ft foreignTask) sourceURL() tasks.Optional[string] {
	if ft.SourceURL.Set {
		return ft.SourceURL
	}
	return ft.URL
}

// dueAt parses due_at: RFC 3339, or a date alone meaning 17:00 UTC that day.
func (ft foreignTask) dueAt() (tasks.Optional[time.Time], error) {
	if !ft.DueAt.Set || ft.DueAt.Value == nil || strings.TrimSpace(*ft.DueAt.Value) == "" {
		if ft.DueAt.Set {
			return tasks.Null[time.Time](), nil
		}
		return tasks.Optional[time.Time]{}, nil
	}
	s := strings.TrimSpace(*ft.DueAt.Value)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return tasks.Some(t.UTC()), nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return tasks.Some(d.Add(17 * time.Hour)), nil
	}
	return tasks.Optional[time.Time]{}, &tasks.ValidationError{Fields: map[string]string{"due_at": "must be an RFC 3339 time or a date (YYYY-MM-DD)"}}
}

// newTask is the task to create for a foreign task first seen.
func (ft foreignTask) newTask(extID string) (tasks.NewTask, error) {
	due, err := ft.dueAt()
	if err != nil {
		return tasks.NewTask{}, err
	}
	in := tasks.NewTask{ExternalID: &extID, DueAt: due.Value, SourceURL: ft.sourceURL().Value, Assignee: ft.Assignee.Value}
	if ft.Title.Value != nil {
		in.Title = *ft.Title.Value
	}
	if ft.Description.Value != nil {
		in.Description = *ft.Description.Value
	}
	if ft.Status.Value != nil {
		in.Status = tasks.Status(*ft.Status.Value)
	}
	if ft.Priority.Value != nil {
		in.Priority = tasks.Priority(*ft.Priority.Value)
	}
	if ft.Tags.Value != nil {
		in.Tags = *ft.Tags.Value
	}
	return in, nil
}

// patch holds the fields of ft that differ from cur; changed is false when
// there are none, so a repeated event writes nothing and emits no event.
func (ft foreignTask) patch(ctx context.Context, store *tasks.Store, ws tasks.WorkspaceID, cur tasks.Task) (p tasks.TaskPatch, changed bool, err error) {
	differs := func(o tasks.Optional[string], have string) bool {
		return o.Set && o.Value != nil && strings.TrimSpace(*o.Value) != have
	}
	if differs(ft.Title, cur.Title) {
		p.Title, changed = ft.Title, true
	}
	if ft.Description.Set && value(ft.Description.Value) != cur.Description {
		p.Description, changed = tasks.Some(value(ft.Description.Value)), true
	}
	if differs(ft.Status, string(cur.Status)) {
		p.Status, changed = tasks.Some(tasks.Status(*ft.Status.Value)), true
	}
	if differs(ft.Priority, string(cur.Priority)) {
		p.Priority, changed = tasks.Some(tasks.Priority(*ft.Priority.Value)), true
	}
	if ft.Tags.Set {
		var want []string
		if ft.Tags.Value != nil {
			want = tasks.NormalizeTags(*ft.Tags.Value)
		}
		if !slices.Equal(want, cur.Tags) && (len(want) > 0 || len(cur.Tags) > 0) {
			p.Tags, changed = ft.Tags, true
		}
	}
	if src := ft.sourceURL(); src.Set && value(src.Value) != value(cur.SourceURL) {
		p.SourceURL, changed = src, true
		if value(src.Value) == "" {
			p.SourceURL = tasks.Null[string]()
		}
	}
	due, err := ft.dueAt()
	if err != nil {
		return p, false, err
	}
	if due.Set && !sameTime(due.Value, cur.DueAt) {
		p.DueAt, changed = due, true
	}
	if ft.Assignee.Set {
		want := ""
		if a := value(ft.Assignee.Value); a != "" {
			u, err := store.GetUser(ctx, ws, a)
			if errors.Is(err, tasks.ErrNotFound) {
				return p, false, &tasks.ValidationError{Fields: map[string]string{"assignee": "no such user"}}
			}
			if err != nil {
				return p, false, err
			}
			want = u.ID
		}
		if want != value(cur.Assignee) {
			p.Assignee, changed = ft.Assignee, true
			if want == "" {
				p.Assignee = tasks.Null[string]()
			}
		}
	}
	return p, changed, nil
}

func value(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
