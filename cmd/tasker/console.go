package main

import (
	"context"
	"log/slog"
	"net/http"
	"slices"

	"github.com/hibiken/asynq"
	"github.com/julienschmidt/httprouter"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/api"
	"github.com/taskerhq/tasker/console"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/pipeline"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// addConsole serves the web console at /console/ (SPEC 15) over the same
// store, outbox log, webhook service, keys and event stream as the API.
func addConsole(router *httprouter.Router, logger *slog.Logger, store *tasks.Store, outbox *notify.Outbox, hooks *webhooks.Service, keys *api.Keys, rdb redis.UniversalClient) error {
	insp := asynq.NewInspectorFromRedisClient(rdb)
	c, err := console.New(console.Config{
		Logger: logger, Store: store, Outbox: outbox, Webhooks: hooks, Authenticate: keys.Authenticate,
		Stream: func(identify func(*http.Request) (tasks.WorkspaceID, string, bool)) http.Handler {
			return api.NewEventStream(logger, store, identify, api.StreamOptions{})
		},
		Queues: func(ctx context.Context) ([]console.Queue, error) { return queueDepths(insp) },
	})
	if err != nil {
		return err
	}
	router.Handler(http.MethodGet, console.Prefix+"*path", c)
	router.Handler(http.MethodPost, console.Prefix+"*path", c)
	router.Handler(http.MethodGet, "/console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	return nil
}

// queueDepths reads the depth of the job queues; a queue that never held a
// job reads as empty.
func queueDepths(insp *asynq.Inspector) ([]console.Queue, error) {
	existing, err := insp.Queues()
	if err != nil {
		return nil, err
	}
	var out []console.Queue
	for _, name := range []string{pipeline.Queue, notify.Queue, webhooks.Queue} {
		q := console.Queue{Name: name}
		if slices.Contains(existing, name) {
			info, err := insp.GetQueueInfo(name)
			if err != nil {
				return out, err
			}
			q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived = info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived
		}
		out = append(out, q)
	}
	return out, nil
}
