package api

import (
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/taskerhq/tasker/notify"
)

// AddNotificationRoutes registers GET /api/v1/notifications, over the
// notifier's outbox log, which package tasks does not hold (SPEC 1).
func AddNotificationRoutes(r *httprouter.Router, logger *slog.Logger, outbox *notify.Outbox, keys *Keys) {
	r.Handler(http.MethodGet, "/api/v1/notifications", keys.Require(handleListNotifications(logger, outbox)))
}

// handleListNotifications serves GET /api/v1/notifications: the Cliq outbox
// log, one record per (event, destination) with its outcome, newest first.
func handleListNotifications(logger *slog.Logger, outbox *notify.Outbox) http.Handler {
	type response struct {
		Notifications []notify.Notification `json:"notifications"`
		NextCursor    *string               `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r.URL.RawQuery)
		p := q.page()
		if err := q.err(); err != nil {
			respondError(w, r, logger, err)
			return
		}
		list, next, err := outbox.ListNotifications(r.Context(), workspace(r), p.cursor, p.limit)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if list == nil {
			list = []notify.Notification{}
		}
		encode(w, http.StatusOK, response{Notifications: list, NextCursor: cursorOrNil(next)})
	})
}
