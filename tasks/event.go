package tasks

import (
	"strings"
	"time"
)

// EventType names what happened. Webhook subscribers and channel
// subscriptions filter on it.
type EventType string

// The event types of SPEC 8.2.
const (
	EventTaskCreated       EventType = "task.created"
	EventTaskUpdated       EventType = "task.updated"
	EventTaskStatusChanged EventType = "task.status_changed"
	EventTaskCompleted     EventType = "task.completed"
	EventTaskAssigned      EventType = "task.assigned"
	EventTaskDeleted       EventType = "task.deleted"
	EventTaskReminder      EventType = "task.reminder"
	EventTaskOverdue       EventType = "task.overdue"
	EventCommentCreated    EventType = "comment.created"
	EventUserLinked        EventType = "user.linked"
)

// EventTypes lists every event type, in the order of SPEC 8.2.
var EventTypes = []EventType{
	EventTaskCreated, EventTaskUpdated, EventTaskStatusChanged, EventTaskCompleted,
	EventTaskAssigned, EventTaskDeleted, EventTaskReminder, EventTaskOverdue,
	EventCommentCreated, EventUserLinked,
}

// EventTypeList names every event type for an error message that says
// what is valid: "task.created, task.updated, …".
func EventTypeList() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool {
	for _, k := range EventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Event is the envelope stored in the outbox and sent to every target.
type Event struct {
	ID        string      `json:"id"`
	Type      EventType   `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Workspace WorkspaceID `json:"workspace"`
	Data      EventData   `json:"data"`
	// Test marks a webhook test event; such events never enter the log.
	Test bool `json:"test,omitempty"`
}

// EventData is what an event is about. Only the parts that apply are set.
type EventData struct {
	Task    *Task             `json:"task,omitempty"`
	Changes map[string]Change `json:"changes,omitempty"`
	Comment *Comment          `json:"comment,omitempty"`
	User    *User             `json:"user,omitempty"`
	// Digest is set on EventDailyDigest only; User is then its recipient.
	Digest *Digest `json:"digest,omitempty"`
	Actor  Actor   `json:"actor"`
}

// Change is one field's move from one value to another.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}
