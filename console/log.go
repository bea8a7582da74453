package console

import (
	"net/http"

	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
)

// handleNotifications serves GET /console/notifications: the Cliq outbox,
// newest first, with destination, status and error.
func (c *Console) handleNotifications(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	list, next, err := c.cfg.Outbox.ListNotifications(r.Context(), se.ws, r.URL.Query().Get("cursor"), 50)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "notifications", page{Title: "Cliq outbox", Nav: "notifications", Data: struct {
		Notifications []notify.Notification
		Next          string
	}{list, next}})
}

// handleEvents serves GET /console/events: the newest events of the log;
// the page's script appends new ones from the event stream as they happen.
func (c *Console) handleEvents(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	typ := tasks.EventType(r.URL.Query().Get("type"))
	if typ != "" && !typ.Valid() {
		typ = ""
	}
	list, next, err := c.cfg.Store.ListEvents(r.Context(), se.ws, tasks.EventFilter{Type: typ}, r.URL.Query().Get("cursor"), 50)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "events", page{Title: "Events", Nav: "events", Data: struct {
		Events     []tasks.Event
		Next       string
		Type       tasks.EventType
		EventTypes []tasks.EventType
		Live       bool
	}{list, next, typ, tasks.EventTypes, c.stream != nil && r.URL.Query().Get("cursor") == ""}})
}
