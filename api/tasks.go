package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/taskerhq/tasker/tasks"
)

// Writes through the API are made by a key, not by a user.
var apiActor = tasks.Actor{Via: tasks.ViaAPI}

// maxIdempotencyKey bounds the Idempotency-Key header; UUIDs and ULIDs fit.
const maxIdempotencyKey = 255

// taskRef is the {id} of a task route: a task id or number.
func taskRef(r *http.Request) string {
	return httprouter.ParamsFromContext(r.Context()).ByName("id")
}

// notFoundTask says which task was missing.
func notFoundTask(ref string, err error) error {
	return fmt.Errorf("task %q: %w", ref, err)
}

// encodeTask answers with one task and its version as the ETag.
func encodeTask(w http.ResponseWriter, status int, t tasks.Task) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(t.Version, 10)))
	encode(w, status, t)
}

// cursorOrNil is a list's next_cursor: null, not "", on the last page.
func cursorOrNil(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// handleListTasks serves GET /api/v1/tasks and GET /api/tasks.
func handleListTasks(logger *slog.Logger, store *tasks.Store) http.Handler {
	type response struct {
		Tasks      []tasks.Task `json:"tasks"`
		NextCursor *string      `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseTaskQuery(r.URL.RawQuery)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		list, next, err := store.ListTasks(r.Context(), workspace(r), q.filter, q.cursor, q.limit)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if list == nil {
			list = []tasks.Task{}
		}
		encode(w, http.StatusOK, response{Tasks: list, NextCursor: cursorOrNil(next)})
	})
}

// handleCreateTask serves POST /api/v1/tasks and POST /api/tasks. With an
// Idempotency-Key, a repeat of the same body within 24 h answers exactly
// as the first call did; the same key with another body is a 409.
func handleCreateTask(logger *slog.Logger, store *tasks.Store) http.Handler {
	type request struct {
		tasks.NewTask
		DueAt *timestamp `json:"due_at"` // shadows NewTask's to name the field in errors
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if !validIdempotencyKey(key) {
			respondError(w, r, logger, badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters",
				map[string]string{"Idempotency-Key": "1 to 255 visible ASCII characters"}))
			return
		}
		body, err := readBody(r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		req, err := decodeJSON[request](body)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		in := req.NewTask
		in.DueAt = req.DueAt.ptr()
		var idem *tasks.Idempotency
		if key != "" {
			sum := sha256.Sum256(body)
			idem = &tasks.Idempotency{Key: key, Hash: hex.EncodeToString(sum[:])}
		}
		t, replayed, err := store.CreateTask(r.Context(), workspace(r), apiActor, in, idem)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		encodeTask(w, http.StatusCreated, t)
	})
}

// validIdempotencyKey accepts an absent key or 1 to 255 visible ASCII
// characters; the key becomes part of a Redis key name.
func validIdempotencyKey(key string) bool {
	if len(key) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return false
		}
	}
	return true
}

// handleGetTask serves GET /api/v1/tasks/{id} and GET /api/tasks/{id}.
func handleGetTask(logger *slog.Logger, store *tasks.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := taskRef(r)
		t, err := store.GetTask(r.Context(), workspace(r), ref)
		if err != nil {
			respondError(w, r, logger, notFoundTask(ref, err))
			return
		}
		encodeTask(w, http.StatusOK, t)
	})
}

// handleUpdateTask serves PATCH and PUT /api/v1/tasks/{id} and PUT
// /api/tasks/{id}: a partial update, conditional on If-Match when given.
// A field sent as null is cleared; a field left out is kept.
func handleUpdateTask(logger *slog.Logger, store *tasks.Store) http.Handler {
	type request struct {
		tasks.TaskPatch
		DueAt        tasks.Optional[timestamp] `json:"due_at"`
		SnoozedUntil tasks.Optional[timestamp] `json:"snoozed_until"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := taskRef(r)
		ifMatch, err := parseIfMatch(r.Header.Get("If-Match"))
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		req, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		patch := req.TaskPatch
		patch.DueAt = optionalTime(req.DueAt)
		patch.SnoozedUntil = optionalTime(req.SnoozedUntil)
		t, err := store.UpdateTask(r.Context(), workspace(r), apiActor, ref, patch, ifMatch)
		if err != nil {
			respondError(w, r, logger, notFoundTask(ref, err))
			return
		}
		encodeTask(w, http.StatusOK, t)
	})
}

// handleDeleteTask serves DELETE /api/v1/tasks/{id} and DELETE
// /api/tasks/{id}: 204, or 409 when If-Match names another version.
func handleDeleteTask(logger *slog.Logger, store *tasks.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref, ws := taskRef(r), workspace(r)
		ifMatch, err := parseIfMatch(r.Header.Get("If-Match"))
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if err := store.DeleteTaskIf(r.Context(), ws, apiActor, ref, ifMatch); err != nil {
			respondError(w, r, logger, notFoundTask(ref, err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleTaskAction serves POST /api/v1/tasks/{id}/complete, /reopen and
// /skip: act is store.CompleteTask, store.ReopenTask or store.SkipTask.
func handleTaskAction(logger *slog.Logger, act func(context.Context, tasks.WorkspaceID, tasks.Actor, string) (tasks.Task, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := taskRef(r)
		t, err := act(r.Context(), workspace(r), apiActor, ref)
		if err != nil {
			respondError(w, r, logger, notFoundTask(ref, err))
			return
		}
		encodeTask(w, http.StatusOK, t)
	})
}

// handleSnoozeTask serves POST /api/v1/tasks/{id}/snooze with
// {"until":"<RFC 3339>"} or {"for":"1h"} (a Go duration or "2d").
func handleSnoozeTask(logger *slog.Logger, store *tasks.Store) http.Handler {
	type request struct {
		Until *timestamp `json:"until"`
		For   *string    `json:"for"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := taskRef(r)
		req, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		var until time.Time
		switch {
		case req.Until != nil && req.For != nil:
			respondError(w, r, logger, invalidFields(map[string]string{"until": "give until or for, not both"}))
			return
		case req.Until != nil:
			until = *req.Until.ptr()
		case req.For != nil:
			d, err := parseSnoozeFor(*req.For)
			if err != nil {
				respondError(w, r, logger, invalidFields(map[string]string{
					"for": "must be a duration such as 90m, 1h or 2d, up to 366 days",
				}))
				return
			}
			until = time.Now().Add(d)
		default:
			respondError(w, r, logger, invalidFields(map[string]string{"until": "required, or for"}))
			return
		}
		t, err := store.SnoozeTask(r.Context(), workspace(r), apiActor, ref, until)
		if err != nil {
			respondError(w, r, logger, notFoundTask(ref, err))
			return
		}
		encodeTask(w, http.StatusOK, t)
	})
}
