package console

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// taskFilters are the list filters of GET /api/v1/tasks, as the form holds them.
type taskFilters struct {
	Q, Status, Assignee, Tag, DueBefore, DueAfter, View string
}

func (f taskFilters) filter() (tasks.TaskFilter, string) {
	tf := tasks.TaskFilter{Status: tasks.Status(f.Status), Assignee: f.Assignee, Tag: f.Tag, Query: f.Q}
	if tf.Status != "" && !tf.Status.Valid() {
		return tf, "Unknown status."
	}
	for _, d := range []struct {
		s   string
		dst **time.Time
	}{{f.DueBefore, &tf.DueBefore}, {f.DueAfter, &tf.DueAfter}} {
		if d.s == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.s)
		if err != nil {
			return tf, "Dates are YYYY-MM-DD."
		}
		*d.dst = &t
	}
	return tf, ""
}

// query is f as a query string, for paging links.
func (f taskFilters) query() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "status": f.Status, "assignee": f.Assignee, "tag": f.Tag,
		"due_before": f.DueBefore, "due_after": f.DueAfter, "view": f.View} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// boardColumn is one status of the board.
type boardColumn struct {
	Status tasks.Status
	Tasks  []tasks.Task
}

// handleTasks serves GET /console/tasks: search, filters, a list page or
// (view=board) a board by status.
func (c *Console) handleTasks(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	q := r.URL.Query()
	f := taskFilters{Q: q.Get("q"), Status: q.Get("status"), Assignee: q.Get("assignee"), Tag: q.Get("tag"),
		DueBefore: q.Get("due_before"), DueAfter: q.Get("due_after"), View: q.Get("view")}
	tf, problem := f.filter()
	data := struct {
		Filters  taskFilters
		Statuses []tasks.Status
		Tasks    []tasks.Task
		Board    []boardColumn
		Next     string
	}{Filters: f, Statuses: []tasks.Status{tasks.StatusOpen, tasks.StatusInProgress, tasks.StatusCompleted, tasks.StatusCancelled}}
	p := page{Title: "Tasks", Nav: "tasks", Error: problem}
	if problem != "" {
		c.render(w, r, http.StatusBadRequest, "tasks", page{Title: "Tasks", Nav: "tasks", Error: problem, Data: data})
		return
	}
	if f.View == "board" {
		cols := map[tasks.Status]*boardColumn{}
		for _, st := range data.Statuses {
			data.Board = append(data.Board, boardColumn{Status: st})
		}
		for i := range data.Board {
			cols[data.Board[i].Status] = &data.Board[i]
		}
		// "open" lists every open task (in_progress too); the board splits
		// them. The board shows every status, whatever the status filter.
		for _, st := range []tasks.Status{tasks.StatusOpen, tasks.StatusCompleted, tasks.StatusCancelled} {
			g := tf
			g.Status = st
			list, _, err := c.cfg.Store.ListTasks(r.Context(), se.ws, g, "", 100)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			for _, t := range list {
				if col := cols[t.Status]; col != nil {
					col.Tasks = append(col.Tasks, t)
				}
			}
		}
	} else {
		list, next, err := c.cfg.Store.ListTasks(r.Context(), se.ws, tf, q.Get("cursor"), 50)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		data.Tasks = list
		if next != "" {
			v := f.query()
			v.Set("cursor", next)
			data.Next = "?" + v.Encode()
		}
	}
	p.Data = data
	c.render(w, r, http.StatusOK, "tasks", p)
}

// taskDelivery is a delivery of one of a task's events, with its endpoint.
type taskDelivery struct {
	Webhook webhooks.Subscription
	webhooks.Delivery
}

// Scan bounds of the task page: events are not indexed by task, so the
// page looks through the newest part of the log and of each delivery log.
const (
	taskEventScan    = 1000
	taskDeliveryScan = 200
)

// handleTask serves GET /console/tasks/{id}: the task, its events (among
// the newest taskEventScan of the log), comments and the deliveries of
// those events.
func (c *Console) handleTask(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	ctx := r.Context()
	t, err := c.cfg.Store.GetTask(ctx, se.ws, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	comments, _, err := c.cfg.Store.ListComments(ctx, se.ws, t.ID, "", 100)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	events, err := c.taskEvents(ctx, se.ws, t.ID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	deliveries, err := c.taskDeliveries(ctx, se.ws, events)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "task", page{Title: "#" + itoa(t.Number) + " " + t.Title, Nav: "tasks", Data: struct {
		Task       tasks.Task
		Comments   []tasks.Comment
		Events     []tasks.Event
		Deliveries []taskDelivery
		EventScan  int
	}{t, comments, events, deliveries, taskEventScan}})
}

func (c *Console) taskEvents(ctx context.Context, ws tasks.WorkspaceID, taskID string) ([]tasks.Event, error) {
	var out []tasks.Event
	cursor := ""
	for scanned := 0; scanned < taskEventScan; {
		evs, next, err := c.cfg.Store.ListEvents(ctx, ws, tasks.EventFilter{}, cursor, tasks.MaxLimit)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if ev.Data.Task != nil && ev.Data.Task.ID == taskID ||
				ev.Data.Comment != nil && ev.Data.Comment.TaskID == taskID {
				out = append(out, ev)
			}
		}
		scanned += len(evs)
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

func (c *Console) taskDeliveries(ctx context.Context, ws tasks.WorkspaceID, events []tasks.Event) ([]taskDelivery, error) {
	if len(events) == 0 || c.cfg.Webhooks == nil {
		return nil, nil
	}
	ids := make(map[string]bool, len(events))
	for _, ev := range events {
		ids[ev.ID] = true
	}
	subs, err := c.cfg.Webhooks.List(ctx, ws)
	if err != nil {
		return nil, err
	}
	var out []taskDelivery
	for _, sub := range subs {
		ds, _, err := c.cfg.Webhooks.Deliveries(ctx, ws, sub.ID, "", "", taskDeliveryScan)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if ids[d.EventID] {
				out = append(out, taskDelivery{Webhook: sub, Delivery: d})
			}
		}
	}
	return out, nil
}
