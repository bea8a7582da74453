package api

import (
	"context"
	"net/http"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// readyTimeout bounds the Redis ping of /readyz: a probe that hangs is as
// bad as one that fails.
const readyTimeout = 2 * time.Second

// handleHealthz serves GET /healthz: the process is alive.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleReadyz serves GET /readyz: 200 while Redis answers, 503 otherwise,
// so a load balancer stops sending requests this replica cannot serve.
func handleReadyz(store *tasks.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			// Not logged: probes repeat every few seconds, and the request
			// log already records each 503.
			WriteError(w, http.StatusServiceUnavailable, codeUnavailable, "redis is not answering", nil)
			return
		}
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
