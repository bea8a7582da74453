package api

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// TestRoutesLeaveRoomForOthers registers, beside AddRoutes, the routes other
// packages are to add (SPEC sections 4, 5 and 7): httprouter panics at
// start-up on a conflicting pattern, so this is where a conflict shows.
func TestRoutesLeaveRoomForOthers(t *testing.T) {
	keys, err := ParseKeys("k")
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	store := tasks.NewStore(redistest.Client(t), time.Now)
	AddRoutes(r, slog.New(slog.NewTextHandler(io.Discard, nil)), store, keys)
	AddOpsRoutes(r, store, prometheus.NewRegistry())
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, rt := range []struct{ method, path string }{
		{"POST", "/api/v1/webhooks"}, {"GET", "/api/v1/webhooks"},
		{"GET", "/api/v1/webhooks/:id"}, {"PATCH", "/api/v1/webhooks/:id"}, {"DELETE", "/api/v1/webhooks/:id"},
		{"POST", "/api/v1/webhooks/:id/rotate-secret"}, {"POST", "/api/v1/webhooks/:id/test"},
		{"GET", "/api/v1/webhooks/:id/deliveries"}, {"POST", "/api/v1/webhooks/:id/deliveries/:message_id/redeliver"},
		{"POST", "/api/v1/webhooks/:id/recover"},
		{"POST", "/api/cliq/webhook"}, {"POST", "/api/incoming-webhook"},
		{"POST", "/hooks/gitlab"}, {"POST", "/hooks/github"},
		{"POST", "/cliq/commands/task"}, {"POST", "/cliq/functions/:name"},
	} {
		r.Handler(rt.method, rt.path, nop)
	}
}
