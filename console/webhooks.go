package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// handleWebhooks serves GET /console/webhooks: the subscriptions with
// status and success rate, and the form to add one.
func (c *Console) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	c.renderWebhooks(w, r, http.StatusOK, "")
}

func (c *Console) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, problem string) {
	se, _ := sessionFrom(r)
	subs, err := c.cfg.Webhooks.List(r.Context(), se.ws)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, "webhooks", page{Title: "Webhooks", Nav: "webhooks", Error: problem, Data: struct {
		Webhooks   []webhooks.Subscription
		EventTypes []tasks.EventType
		Form       map[string]string
	}{subs, tasks.EventTypes, map[string]string{"url": r.PostFormValue("url"), "description": r.PostFormValue("description")}}})
}

// handleCreateWebhook serves POST /console/webhooks.
func (c *Console) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	events := r.PostForm["events"]
	if len(events) == 0 {
		events = []string{"*"}
	}
	_, err := c.cfg.Webhooks.Create(r.Context(), se.ws, webhooks.NewSubscription{
		URL: strings.TrimSpace(r.PostFormValue("url")), Events: events,
		Description: r.PostFormValue("description"), Ordering: r.PostFormValue("ordering"),
	})
	var invalid *tasks.ValidationError
	if asValidation(err, &invalid) {
		c.renderWebhooks(w, r, http.StatusBadRequest, invalid.Error())
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, Prefix+"webhooks", "created")
}

// handleWebhook serves GET /console/webhooks/{id}: the subscription and its
// delivery log, every attempt of every message, newest message first.
func (c *Console) handleWebhook(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	ctx := r.Context()
	id := r.PathValue("id")
	sub, err := c.cfg.Webhooks.Get(ctx, se.ws, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	list, next, err := c.cfg.Webhooks.Deliveries(ctx, se.ws, id, "", r.URL.Query().Get("cursor"), 50)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "webhook", page{Title: "Webhook " + sub.URL, Nav: "webhooks", Data: struct {
		Webhook    webhooks.Subscription
		Deliveries []webhooks.Delivery
		Next       string
		EventTypes []tasks.EventType
		DayAgo     string
	}{sub, list, next, tasks.EventTypes, c.cfg.Now().Add(-24 * time.Hour).UTC().Format("2006-01-02T15:04")}})
}

// handleWebhookAction serves POST /console/webhooks/{id}/{action}: enable,
// disable, rotate, test, recover and delete.
func (c *Console) handleWebhookAction(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	ctx := r.Context()
	id := r.PathValue("id")
	back := Prefix + "webhooks/" + id
	if r.PostFormValue("back") == "list" {
		back = Prefix + "webhooks"
	}
	var err error
	done := ""
	switch r.PathValue("action") {
	case "enable", "disable":
		on := r.PathValue("action") == "enable"
		_, err = c.cfg.Webhooks.Update(ctx, se.ws, id, webhooks.SubscriptionPatch{Enabled: &on})
		done = r.PathValue("action") + "d"
	case "rotate":
		_, err = c.cfg.Webhooks.RotateSecret(ctx, se.ws, id)
		done = "rotated"
	case "test":
		typ := tasks.EventType(r.PostFormValue("event_type"))
		if typ == "" {
			typ = tasks.EventTaskCreated
		}
		_, err = c.cfg.Webhooks.Test(ctx, se.ws, id, typ)
		done = "tested"
	case "recover":
		since, perr := time.Parse("2006-01-02T15:04", r.PostFormValue("since"))
		if perr != nil {
			since = c.cfg.Now().Add(-24 * time.Hour)
		}
		_, err = c.cfg.Webhooks.Recover(ctx, se.ws, id, since)
		done = "recovered"
	case "delete":
		err = c.cfg.Webhooks.Delete(ctx, se.ws, id)
		back, done = Prefix+"webhooks", "deleted"
	default:
		c.render(w, r, http.StatusNotFound, "error", page{Title: "Not found", Error: "There is no such action."})
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, back, done)
}

// handleRedeliver serves POST /console/webhooks/{id}/deliveries/{msg}/redeliver.
func (c *Console) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	id := r.PathValue("id")
	if _, err := c.cfg.Webhooks.Redeliver(r.Context(), se.ws, id, r.PathValue("msg")); err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, Prefix+"webhooks/"+id, "redelivered")
}
