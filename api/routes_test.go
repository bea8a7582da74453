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

// TestRoutesLeaveRoomForOthers registers, beside AddRoutes, the patterns of
// the packages api cannot import (bot, extension; SPEC sections 4 and 7):
// httprouter panics at start-up on a conflicting pattern, so this is where a
// conflict shows. The webhook routes are registered for real in
// TestWebhookRoutesCoexist.
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
		{"POST", "/api/cliq/webhook"}, {"POST", "/api/incoming-webhook"},
		{"POST", "/hooks/gitlab"}, {"POST", "/hooks/github"},
		{"POST", "/cliq/commands/task"}, {"POST", "/cliq/functions/:name"},
		{"POST", "/cliq/bot/:handler"}, {"POST", "/cliq/extension/incoming"}, {"POST", "/cliq/extension/install"},
	} {
		r.Handler(rt.method, rt.path, nop)
	}
}
