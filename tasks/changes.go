package tasks

import (
	"reflect"
	"time"
)

// diff lists the fields that differ between old and t, with wire values.
func diff(old, t *Task) map[string]Change {
	c := make(map[string]Change)
	add := func(name string, from, to any) {
		if !reflect.DeepEqual(from, to) {
			c[name] = Change{From: from, To: to}
		}
	}
	add("title", old.Title, t.Title)
	add("description", old.Description, t.Description)
	add("status", string(old.Status), string(t.Status))
	add("priority", string(old.Priority), string(t.Priority))
	add("type", old.Type, t.Type)
	add("category", old.Category, t.Category)
	add("tags", nonNilTags(old.Tags), nonNilTags(t.Tags))
	add("assignee", str(old.Assignee), str(t.Assignee))
	add("due_at", when(old.DueAt), when(t.DueAt))
	add("snoozed_until", when(old.SnoozedUntil), when(t.SnoozedUntil))
	add("remind_before", num(old.RemindBefore), num(t.RemindBefore))
	add("external_id", str(old.ExternalID), str(t.ExternalID))
	add("source_url", str(old.SourceURL), str(t.SourceURL))
	add("recurrence", recurrence(old.Recurrence), recurrence(t.Recurrence))
	add("series_id", str(old.SeriesID), str(t.SeriesID))
	return c
}

func nonNilTags(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func num(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func recurrence(r *Recurrence) any {
	if r == nil {
		return nil
	}
	return *r
}

func when(p *time.Time) any {
	if p == nil {
		return nil
	}
	return p.UTC().Format(time.RFC3339)
}

type pendingEvent struct {
	typ  EventType
	data EventData
}

// changeEvents splits a write's changes into one event per facet: status
// (task.completed when it became completed, else task.status_changed),
// assignee (task.assigned) and everything else (task.updated).
func changeEvents(t *Task, changes map[string]Change, actor Actor) []pendingEvent {
	var out []pendingEvent
	rest := make(map[string]Change)
	for name, ch := range changes {
		switch name {
		case "status":
			typ := EventTaskStatusChanged
			if t.Status == StatusCompleted {
				typ = EventTaskCompleted
			}
			out = append(out, pendingEvent{typ, EventData{Task: t, Actor: actor, Changes: map[string]Change{name: ch}}})
		case "assignee":
			out = append(out, pendingEvent{EventTaskAssigned, EventData{Task: t, Actor: actor, Changes: map[string]Change{name: ch}}})
		default:
			rest[name] = ch
		}
	}
	if len(rest) > 0 {
		out = append(out, pendingEvent{EventTaskUpdated, EventData{Task: t, Actor: actor, Changes: rest}})
	}
	return out
}
