package api

import (
	"log/slog"
	"net/http"

	"github.com/taskerhq/tasker/tasks"
)

// handleListComments serves GET /api/v1/tasks/{id}/comments, newest first.
func handleListComments(logger *slog.Logger, store *tasks.Store) http.Handler {
	type response struct {
		Comments   []tasks.Comment `json:"comments"`
		NextCursor *string         `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := taskRef(r)
		p, err := parsePageQuery(r.URL.RawQuery)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		list, next, err := store.ListComments(r.Context(), workspace(r), ref, p.cursor, p.limit)
		if err != nil {
			respondError(w, r, logger, notFoundTask(ref, err))
			return
		}
		if list == nil {
			list = []tasks.Comment{}
		}
		encode(w, http.StatusOK, response{Comments: list, NextCursor: cursorOrNil(next)})
	})
}

// handleAddComment serves POST /api/v1/tasks/{id}/comments with {"text":…}.
func handleAddComment(logger *slog.Logger, store *tasks.Store) http.Handler {
	type request struct {
		Text string `json:"text"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := taskRef(r)
		req, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		c, err := store.AddComment(r.Context(), workspace(r), apiActor, ref, req.Text)
		if err != nil {
			respondError(w, r, logger, notFoundTask(ref, err))
			return
		}
		encode(w, http.StatusCreated, c)
	})
}
