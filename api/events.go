package api

import (
	"log/slog"
	"net/http"

	"github.com/taskerhq/tasker/tasks"
)

// handleListEvents serves GET /api/v1/events: the event log of the last
// 30 days, newest first, filtered by since and type.
func handleListEvents(logger *slog.Logger, store *tasks.Store) http.Handler {
	type response struct {
		Events     []tasks.Event `json:"events"`
		NextCursor *string       `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseEventQuery(r.URL.RawQuery)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		list, next, err := store.ListEvents(r.Context(), workspace(r), q.filter, q.cursor, q.limit)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if list == nil {
			list = []tasks.Event{}
		}
		encode(w, http.StatusOK, response{Events: list, NextCursor: cursorOrNil(next)})
	})
}
