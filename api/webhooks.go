package api

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// AddWebhookRoutes registers the outgoing-webhook endpoints of SPEC
// section 5 and 8 on r, every route behind keys. They share the :id node
// with nothing else, and /deliveries/:message_id/redeliver sits below the
// static /deliveries segment, which httprouter allows.
func AddWebhookRoutes(r *httprouter.Router, logger *slog.Logger, svc *webhooks.Service, keys *Keys) {
	auth := keys.Require
	r.Handler(http.MethodPost, "/api/v1/webhooks", auth(handleCreateWebhook(logger, svc)))
	r.Handler(http.MethodGet, "/api/v1/webhooks", auth(handleListWebhooks(logger, svc)))
	r.Handler(http.MethodGet, "/api/v1/webhooks/:id", auth(handleGetWebhook(logger, svc)))
	r.Handler(http.MethodPatch, "/api/v1/webhooks/:id", auth(handleUpdateWebhook(logger, svc)))
	r.Handler(http.MethodDelete, "/api/v1/webhooks/:id", auth(handleDeleteWebhook(logger, svc)))
	r.Handler(http.MethodPost, "/api/v1/webhooks/:id/rotate-secret", auth(handleRotateSecret(logger, svc)))
	r.Handler(http.MethodPost, "/api/v1/webhooks/:id/test", auth(handleTestWebhook(logger, svc)))
	r.Handler(http.MethodGet, "/api/v1/webhooks/:id/deliveries", auth(handleListDeliveries(logger, svc)))
	r.Handler(http.MethodPost, "/api/v1/webhooks/:id/deliveries/:message_id/redeliver", auth(handleRedeliver(logger, svc)))
	r.Handler(http.MethodPost, "/api/v1/webhooks/:id/recover", auth(handleRecover(logger, svc)))
}

// webhookID returns the {id} of a webhook route.
func webhookID(r *http.Request) string {
	return httprouter.ParamsFromContext(r.Context()).ByName("id")
}

// notFoundWebhook names the subscription a not-found error is about.
func notFoundWebhook(id string, err error) error {
	return fmt.Errorf("webhook %q: %w", id, err)
}

// handleCreateWebhook serves POST /api/v1/webhooks: 201 with the
// subscription and its secret.
func handleCreateWebhook(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	type request struct {
		URL         string   `json:"url"`
		Events      []string `json:"events"`
		Secret      string   `json:"secret"`
		Enabled     *bool    `json:"enabled"`
		Description string   `json:"description"`
		Ordering    string   `json:"ordering"`
		// CreatedBy is the Tasker user told in Cliq when the endpoint is
		// disabled; an API key belongs to no user.
		CreatedBy string `json:"created_by"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		sub, err := svc.Create(r.Context(), workspace(r), webhooks.NewSubscription{
			URL: in.URL, Events: in.Events, Secret: in.Secret, Enabled: in.Enabled,
			Description: in.Description, Ordering: in.Ordering, CreatedBy: in.CreatedBy,
		})
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		encode(w, http.StatusCreated, sub)
	})
}

// handleListWebhooks serves GET /api/v1/webhooks, newest first.
func handleListWebhooks(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	type response struct {
		Webhooks   []webhooks.Subscription `json:"webhooks"`
		NextCursor *string                 `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r.URL.RawQuery)
		pg := q.page()
		after := ""
		if pg.cursor != "" {
			b, err := base64.RawURLEncoding.DecodeString(pg.cursor)
			if id, ok := strings.CutPrefix(string(b), "w:"); err == nil && ok {
				after = id
			} else {
				q.problems["cursor"] = "invalid"
			}
		}
		if err := q.err(); err != nil {
			respondError(w, r, logger, err)
			return
		}
		all, err := svc.List(r.Context(), workspace(r))
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		// At most MaxSubscriptions exist, so paging in memory is cheap.
		list := make([]webhooks.Subscription, 0, len(all))
		for _, s := range all {
			if after == "" || s.ID < after {
				list = append(list, s)
			}
		}
		next := ""
		if len(list) > pg.limit {
			list = list[:pg.limit]
			next = base64.RawURLEncoding.EncodeToString([]byte("w:" + list[pg.limit-1].ID))
		}
		encode(w, http.StatusOK, response{Webhooks: list, NextCursor: cursorOrNil(next)})
	})
}

// handleGetWebhook serves GET /api/v1/webhooks/{id}.
func handleGetWebhook(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := webhookID(r)
		sub, err := svc.Get(r.Context(), workspace(r), id)
		if err != nil {
			respondError(w, r, logger, notFoundWebhook(id, err))
			return
		}
		encode(w, http.StatusOK, sub)
	})
}

// handleUpdateWebhook serves PATCH /api/v1/webhooks/{id}: events, url,
// enabled, description and ordering; enabling clears disabled_reason.
func handleUpdateWebhook(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	type request struct {
		URL         *string   `json:"url"`
		Events      *[]string `json:"events"`
		Enabled     *bool     `json:"enabled"`
		Description *string   `json:"description"`
		Ordering    *string   `json:"ordering"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		id := webhookID(r)
		sub, err := svc.Update(r.Context(), workspace(r), id, webhooks.SubscriptionPatch{
			URL: in.URL, Events: in.Events, Enabled: in.Enabled, Description: in.Description, Ordering: in.Ordering,
		})
		if err != nil {
			respondError(w, r, logger, notFoundWebhook(id, err))
			return
		}
		encode(w, http.StatusOK, sub)
	})
}

// handleDeleteWebhook serves DELETE /api/v1/webhooks/{id}: 204.
func handleDeleteWebhook(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := webhookID(r)
		if err := svc.Delete(r.Context(), workspace(r), id); err != nil {
			respondError(w, r, logger, notFoundWebhook(id, err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleRotateSecret serves POST /api/v1/webhooks/{id}/rotate-secret: 200
// with the subscription carrying its new secret; the old one keeps signing
// for 24 hours.
func handleRotateSecret(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := webhookID(r)
		sub, err := svc.RotateSecret(r.Context(), workspace(r), id)
		if err != nil {
			respondError(w, r, logger, notFoundWebhook(id, err))
			return
		}
		encode(w, http.StatusOK, sub)
	})
}

// handleTestWebhook serves POST /api/v1/webhooks/{id}/test
// {"event_type":…}: 202 with the queued test message.
func handleTestWebhook(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	type request struct {
		EventType tasks.EventType `json:"event_type"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if in.EventType == "" {
			respondError(w, r, logger, invalidFields(map[string]string{"event_type": "required"}))
			return
		}
		id := webhookID(r)
		d, err := svc.Test(r.Context(), workspace(r), id, in.EventType)
		if err != nil {
			respondError(w, r, logger, notFoundWebhook(id, err))
			return
		}
		encode(w, http.StatusAccepted, d)
	})
}

// handleListDeliveries serves GET /api/v1/webhooks/{id}/deliveries: one
// entry per message, newest first, each with its attempts oldest first;
// ?status=pending|delivered|failed keeps only those.
func handleListDeliveries(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	type response struct {
		Deliveries []webhooks.Delivery `json:"deliveries"`
		NextCursor *string             `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r.URL.RawQuery)
		pg := q.page()
		status := webhooks.Status(q.str("status"))
		switch status {
		case "", webhooks.StatusPending, webhooks.StatusDelivered, webhooks.StatusFailed:
		default:
			q.problems["status"] = "must be pending, delivered or failed"
		}
		if err := q.err(); err != nil {
			respondError(w, r, logger, err)
			return
		}
		id := webhookID(r)
		list, next, err := svc.Deliveries(r.Context(), workspace(r), id, status, pg.cursor, pg.limit)
		if err != nil {
			respondError(w, r, logger, notFoundWebhook(id, err))
			return
		}
		encode(w, http.StatusOK, response{Deliveries: list, NextCursor: cursorOrNil(next)})
	})
}

// handleRedeliver serves POST
// /api/v1/webhooks/{id}/deliveries/{message_id}/redeliver: 200 with the
// message and its new pending attempt; 409 while an attempt is in flight.
func handleRedeliver(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := webhookID(r)
		msgID := httprouter.ParamsFromContext(r.Context()).ByName("message_id")
		d, err := svc.Redeliver(r.Context(), workspace(r), id, msgID)
		if err != nil {
			respondError(w, r, logger, fmt.Errorf("webhook %q message %q: %w", id, msgID, err))
			return
		}
		encode(w, http.StatusOK, d)
	})
}

// handleRecover serves POST /api/v1/webhooks/{id}/recover {"since":…}:
// every failed message since then is sent again; 200 {"queued":N}.
func handleRecover(logger *slog.Logger, svc *webhooks.Service) http.Handler {
	type request struct {
		Since *timestamp `json:"since"`
	}
	type response struct {
		Queued int `json:"queued"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if in.Since == nil {
			respondError(w, r, logger, invalidFields(map[string]string{"since": "required"}))
			return
		}
		id := webhookID(r)
		n, err := svc.Recover(r.Context(), workspace(r), id, *in.Since.ptr())
		if err != nil {
			respondError(w, r, logger, notFoundWebhook(id, err))
			return
		}
		encode(w, http.StatusOK, response{Queued: n})
	})
}
