package api

import (
	"log/slog"
	"net/http"

	"github.com/taskerhq/tasker/tasks"
)

// handleListNotifications serves GET /api/v1/notifications: the Cliq outbox
// log, one record per (event, destination) with its outcome, newest first.
func handleListNotifications(logger *slog.Logger, store *tasks.Store) http.Handler {
	type response struct {
		Notifications []tasks.Notification `json:"notifications"`
		NextCursor    *string              `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r.URL.RawQuery)
		p := q.page()
		if err := q.err(); err != nil {
			respondError(w, r, logger, err)
			return
		}
		list, next, err := store.ListNotifications(r.Context(), workspace(r), p.cursor, p.limit)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if list == nil {
			list = []tasks.Notification{}
		}
		encode(w, http.StatusOK, response{Notifications: list, NextCursor: cursorOrNil(next)})
	})
}
