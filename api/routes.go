// Package api is Tasker's REST API (SPEC section 5): tasks, comments, users
// and the event log under /api/v1, the operations endpoints, and the HTTP
// middleware every route shares. Handlers decode, call tasks.Store and
// encode; every error leaves through respondError in the section 5 shape.
package api

import (
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/taskerhq/tasker/tasks"
)

// AddRoutes registers the REST API on r, every route behind keys. Bodies
// are read whole, so the router must be wrapped in Middleware (or at least
// LimitBody). When r has no NotFound or MethodNotAllowed handler yet,
// AddRoutes sets ones answering in the section 5 error shape.
//
// httprouter lets /tasks/:id and /tasks/:id/complete share the :id node;
// a static segment beside :id (say /tasks/search) would panic at start-up.
func AddRoutes(r *httprouter.Router, logger *slog.Logger, store *tasks.Store, keys *Keys) {
	auth := keys.Require
	r.Handler(http.MethodGet, "/api/v1/tasks", auth(handleListTasks(logger, store)))
	r.Handler(http.MethodPost, "/api/v1/tasks", auth(handleCreateTask(logger, store)))
	r.Handler(http.MethodGet, "/api/v1/tasks/:id", auth(handleGetTask(logger, store)))
	r.Handler(http.MethodPatch, "/api/v1/tasks/:id", auth(handleUpdateTask(logger, store)))
	r.Handler(http.MethodPut, "/api/v1/tasks/:id", auth(handleUpdateTask(logger, store)))
	r.Handler(http.MethodDelete, "/api/v1/tasks/:id", auth(handleDeleteTask(logger, store)))
	r.Handler(http.MethodPost, "/api/v1/tasks/:id/complete", auth(handleTaskAction(logger, store.CompleteTask)))
	r.Handler(http.MethodPost, "/api/v1/tasks/:id/reopen", auth(handleTaskAction(logger, store.ReopenTask)))
	r.Handler(http.MethodPost, "/api/v1/tasks/:id/snooze", auth(handleSnoozeTask(logger, store)))
	r.Handler(http.MethodPost, "/api/v1/tasks/:id/skip", auth(handleTaskAction(logger, store.SkipTask)))
	r.Handler(http.MethodGet, "/api/v1/tasks/:id/comments", auth(handleListComments(logger, store)))
	r.Handler(http.MethodPost, "/api/v1/tasks/:id/comments", auth(handleAddComment(logger, store)))

	r.Handler(http.MethodGet, "/api/v1/users", auth(handleListUsers(logger, store)))
	r.Handler(http.MethodPost, "/api/v1/users", auth(handleCreateUser(logger, store)))
	r.Handler(http.MethodGet, "/api/v1/users/:id", auth(handleGetUser(logger, store)))
	r.Handler(http.MethodPut, "/api/v1/users/:id/cliq", auth(handleLinkCliq(logger, store)))

	r.Handler(http.MethodGet, "/api/v1/events", auth(handleListEvents(logger, store)))
	r.Handler(http.MethodGet, "/api/v1/openapi.json", handleOpenAPI())
	r.Handler(http.MethodGet, "/api/v1/events/stream", auth(NewEventStream(logger, store, KeyIdentity, StreamOptions{})))

	// The unversioned synonyms of the simple setup (SPEC section 5).
	r.Handler(http.MethodGet, "/api/tasks", auth(handleListTasks(logger, store)))
	r.Handler(http.MethodPost, "/api/tasks", auth(handleCreateTask(logger, store)))
	r.Handler(http.MethodGet, "/api/tasks/:id", auth(handleGetTask(logger, store)))
	r.Handler(http.MethodPut, "/api/tasks/:id", auth(handleUpdateTask(logger, store)))
	r.Handler(http.MethodDelete, "/api/tasks/:id", auth(handleDeleteTask(logger, store)))

	if r.NotFound == nil {
		r.NotFound = handleNotFound()
	}
	if r.MethodNotAllowed == nil {
		r.MethodNotAllowed = handleMethodNotAllowed()
	}
}

// AddOpsRoutes registers the operations endpoints, which need no key:
// GET /healthz, GET /readyz and GET /metrics (gatherer in the Prometheus
// text format).
func AddOpsRoutes(r *httprouter.Router, store *tasks.Store, gatherer prometheus.Gatherer) {
	r.Handler(http.MethodGet, "/healthz", handleHealthz())
	r.Handler(http.MethodGet, "/readyz", handleReadyz(store))
	r.Handler(http.MethodGet, "/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
}

// handleNotFound answers a path no route serves.
func handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, codeNotFound, "no such endpoint", nil)
	})
}

// handleMethodNotAllowed answers a method the path does not serve; the
// router has set Allow.
func handleMethodNotAllowed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed here", nil)
	})
}
