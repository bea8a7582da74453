package cards

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// maxCommentShown is how much of a comment a notification shows.
const maxCommentShown = 1000

// EventView is what an event's card needs besides the event.
type EventView struct {
	// Actor is who caused the event; nil when unknown or when Tasker itself
	// did (reminders, overdue alerts).
	Actor *tasks.User
	// Assignee is the task's assignee, to show by name.
	Assignee *tasks.User
	// Direct says the card is a direct message to the assignee, so it
	// speaks to them ("assigned you").
	Direct bool
	// Loc is the reader's timezone and Now the time the card is made.
	Loc *time.Location
	Now time.Time
}

// Event renders the notification card of ev: the task's card with a
// heading and a line saying what happened, plus the comment or the changed
// fields where there are some. ok is false for events that have no card
// (no task in them, or a type notifications do not cover).
func Event(ev tasks.Event, v EventView) (msg cliq.Message, ok bool) {
	t := ev.Data.Task
	if t == nil {
		return cliq.Message{}, false
	}
	who := "Someone"
	if v.Actor != nil {
		who = v.Actor.DisplayName()
	}
	view := View{Assignee: v.Assignee, Loc: v.Loc, Now: v.Now}
	var extra []cliq.Slide
	switch ev.Type {
	case tasks.EventTaskCreated:
		view.Heading, view.Text = "New task", who+" created a task"
	case tasks.EventTaskCompleted:
		view.Heading, view.Text = "Completed", who+" completed a task"
	case tasks.EventTaskAssigned:
		view.Heading = "Assigned"
		switch {
		case t.Assignee == nil:
			view.Text = who + " unassigned a task"
		case v.Direct:
			view.Text = who + " assigned you a task"
		case v.Assignee != nil:
			// A name, not a mention: the assignee hears of it by direct message.
			view.Text = who + " assigned a task to " + v.Assignee.DisplayName()
		default:
			view.Text = who + " assigned a task to " + *t.Assignee
		}
	case tasks.EventTaskReminder:
		view.Heading = "Reminder"
		if t.DueAt != nil {
			view.Heading = dueIn(t.DueAt.Sub(ev.Timestamp))
			view.Text = "Reminder: this task is due " + Due(*t.DueAt, v.Loc, v.Now)
		} else {
			view.Text = "Reminder about this task"
		}
	case tasks.EventTaskOverdue:
		view.Heading, view.Text = "Overdue", "This task is overdue"
		if t.DueAt != nil {
			view.Text = "This task was due " + Due(*t.DueAt, v.Loc, v.Now)
		}
	case tasks.EventCommentCreated:
		view.Heading, view.Text = "New comment", who+" commented on a task"
		if c := ev.Data.Comment; c != nil {
			extra = append(extra, cliq.TextSlide(who+" wrote", clip(strings.TrimSpace(c.Text), maxCommentShown)))
		}
	case tasks.EventTaskDeleted:
		view.Heading, view.Text = "Deleted", who+" deleted a task"
	case tasks.EventTaskStatusChanged:
		view.Heading, view.Text = "Status changed", who+" changed the status of a task"
		if ch, ok := ev.Data.Changes["status"]; ok {
			view.Text = fmt.Sprintf("%s moved a task from %s to %s", who,
				StatusLabel(tasks.Status(fmt.Sprint(ch.From))), StatusLabel(tasks.Status(fmt.Sprint(ch.To))))
		}
	case tasks.EventTaskUpdated:
		view.Heading, view.Text = "Updated", who+" updated a task"
		if fields := changedFields(ev.Data.Changes, v.Loc, v.Now); len(fields) > 0 {
			extra = append(extra, cliq.LabelSlide("Changes", fields...))
		}
	default:
		return cliq.Message{}, false
	}
	msg = Task(*t, view)
	msg.Slides = append(extra, msg.Slides...)
	if ev.Type == tasks.EventTaskDeleted {
		msg.Buttons = nil // the task is gone; its buttons could only fail
	}
	return msg, true
}

// dueIn says how far off a due time is, in the largest unit that reads
// well: "Due in 45 minutes", "Due in 1 hour", "Due in 2 hours 30 minutes".
func dueIn(d time.Duration) string {
	m := int((d + 30*time.Second) / time.Minute)
	switch {
	case m <= 0:
		return "Due now"
	case m < 60:
		return "Due in " + plural(m, "minute")
	case m >= 48*60:
		return "Due in " + plural((m+12*60)/(24*60), "day")
	case m%60 == 0:
		return "Due in " + plural(m/60, "hour")
	}
	return "Due in " + plural(m/60, "hour") + " " + plural(m%60, "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// fieldLabels names the task fields a task.updated event may change, in the
// order a card lists them.
var fieldLabels = []struct{ field, label string }{
	{"title", "Title"},
	{"description", "Description"},
	{"priority", "Priority"},
	{"due_at", "Due"},
	{"snoozed_until", "Snoozed until"},
	{"remind_before", "Reminder"},
	{"tags", "Tags"},
	{"type", "Type"},
	{"category", "Category"},
	{"external_id", "External id"},
	{"source_url", "Source"},
}

// changedFields renders each change as "old → new", times in loc.
func changedFields(changes map[string]tasks.Change, loc *time.Location, now time.Time) []cliq.Field {
	var out []cliq.Field
	for _, f := range fieldLabels {
		ch, ok := changes[f.field]
		if !ok {
			continue
		}
		value := "changed" // long text reads badly as old → new
		if f.field != "description" {
			value = changeValue(f.field, ch.From, loc, now) + " → " + changeValue(f.field, ch.To, loc, now)
		}
		out = append(out, cliq.Field{Label: f.label, Value: value})
	}
	return out
}

// changeValue shows one side of a change. Events reach workers as JSON, so
// values are strings, numbers, lists or nil.
func changeValue(field string, v any, loc *time.Location, now time.Time) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		switch field {
		case "due_at", "snoozed_until":
			if at, err := time.Parse(time.RFC3339, x); err == nil {
				return Due(at, loc, now)
			}
		case "priority":
			return PriorityLabel(tasks.Priority(x))
		}
		if x == "" {
			return "none"
		}
		return clip(x, 80)
	case float64, int:
		if field == "remind_before" {
			return fmt.Sprintf("%v min before", x)
		}
		return fmt.Sprint(x)
	case []any, []string:
		var tags []string
		switch y := x.(type) {
		case []any:
			for _, t := range y {
				tags = append(tags, fmt.Sprint(t))
			}
		case []string:
			tags = slices.Clone(y)
		}
		if len(tags) == 0 {
			return "none"
		}
		return "#" + strings.Join(tags, " #")
	}
	return clip(fmt.Sprint(v), 80)
}
