package tasks

import (
	"context"
	"time"
)

// What package webhooks, which keeps its own store (STYLE 1), needs from
// tasks: its keys under the workspace's hash tag, the event stream it reads
// with its own consumer group, ids of the same form, workspace
// registration, and the view of a delivery that the bot's alert buttons
// show (bot may not import webhooks). No delivery state is kept here.

// KeyPrefix is the prefix of every key of workspace ws: another package's
// keys under it share the workspace's hash tag, and so its Cluster slot.
func KeyPrefix(ws WorkspaceID) string { return keysFor(ws).p }

// EventStreamKey is the key of the workspace's event stream (the outbox):
// a package that follows it with its own consumer group creates the group
// there, and tests append events to it as a write would.
func EventStreamKey(ws WorkspaceID) string { return keysFor(ws).events() }

// NewID returns prefix + a ULID made at now: time-ordered, and in order
// within a process even in one millisecond.
func NewID(prefix string, now time.Time) string { return newID(prefix, now) }

// RegisterWorkspace records ws among the workspaces that background work
// visits, as any write of tasks does.
func (s *Store) RegisterWorkspace(ctx context.Context, ws WorkspaceID) error {
	return s.register(ctx, ws)
}

// WebhookStatus is where a webhook message stands.
type WebhookStatus string

// The statuses of a webhook message.
const (
	WebhookPending   WebhookStatus = "pending"
	WebhookDelivered WebhookStatus = "delivered"
	WebhookFailed    WebhookStatus = "failed"
)

// WebhookAttempt is one attempt of a webhook message, as its delivery log
// shows it.
type WebhookAttempt struct {
	At         time.Time
	StatusCode *int    // nil when no response arrived
	Error      *string // nil when none
}

// WebhookMessage is one event for one webhook endpoint with its attempts,
// oldest first: what the alert's Show deliveries button lists.
type WebhookMessage struct {
	ID        string
	EventType EventType
	Status    WebhookStatus
	CreatedAt time.Time
	Attempts  []WebhookAttempt
}
