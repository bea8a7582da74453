package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// Delivery is one message (an event for one endpoint) in the delivery log:
// an entry of GET /api/v1/webhooks/{id}/deliveries.
type Delivery struct {
	ID        string          `json:"id"`
	EventID   string          `json:"event_id"`
	EventType tasks.EventType `json:"event_type"`
	Status    Status          `json:"status"`
	Test      bool            `json:"test,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	// Attempts are oldest first; a pending message ends with the attempt
	// it waits for, marked "pending", with its due time and null results.
	Attempts []AttemptLog `json:"attempts"`
}

// deliveryOf turns a stored message into its delivery-log entry.
func deliveryOf(m message) Delivery {
	d := Delivery{
		ID: m.ID, EventID: m.EventID, EventType: m.EventType, Status: m.Status, Test: m.Test,
		CreatedAt: m.CreatedAt, Attempts: m.Attempts,
	}
	if d.Attempts == nil {
		d.Attempts = []AttemptLog{}
	}
	if m.Status == StatusPending {
		d.Attempts = append(d.Attempts, AttemptLog{ID: m.NextDeliveryID, At: m.NextAt, Pending: true})
	}
	return d
}

// Pending returns how many of ws's messages wait for delivery, from a
// running total: one read whatever the number of messages.
func (s *Service) Pending(ctx context.Context, ws tasks.WorkspaceID) (int64, error) {
	return s.store.pendingCount(ctx, ws)
}

// Deliveries pages the delivery log of subscription id, newest first,
// only messages with the given status unless it is "". cursor is "" or a
// next cursor it returned; the next cursor is "" on the last page (a
// filtered page may be short and still have one). Errors:
// tasks.ErrNotFound, *tasks.ValidationError for a bad cursor or status.
func (s *Service) Deliveries(ctx context.Context, ws tasks.WorkspaceID, id string, status Status, cursor string, limit int) ([]Delivery, string, error) {
	switch status {
	case "", StatusPending, StatusDelivered, StatusFailed:
	default:
		return nil, "", &tasks.ValidationError{Fields: map[string]string{"status": "must be pending, delivered or failed"}}
	}
	if _, err := s.store.getSub(ctx, ws, id); err != nil {
		return nil, "", err
	}
	ms, next, err := s.store.listMessages(ctx, ws, id, status, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]Delivery, len(ms))
	for i, m := range ms {
		out[i] = deliveryOf(m)
	}
	return out, next, nil
}

// Redeliver queues a new attempt of one message of subscription id now,
// whatever its status, with a fresh retry schedule, and returns the message
// with that pending attempt. An ordered message waits for its task's turn.
// Errors: tasks.ErrNotFound, *tasks.ConflictError while an attempt of it is
// in flight.
func (s *Service) Redeliver(ctx context.Context, ws tasks.WorkspaceID, id, messageID string) (Delivery, error) {
	if _, err := s.store.getSub(ctx, ws, id); err != nil {
		return Delivery{}, err
	}
	q, err := s.store.requeue(ctx, ws, id, messageID, NewDeliveryID())
	if err != nil {
		return Delivery{}, err
	}
	if q.Runnable {
		s.markDue(ws) // the requeue made it due
		s.wake()
	}
	return deliveryOf(q.Message), nil
}

// recoverBatch is how many failed message ids Recover reads at a time.
const recoverBatch = 500

// Recover re-sends every failed message of subscription id created since
// then (30 days at most are kept), and returns how many it queued. It is
// the Retry failed button of the alert. Errors: tasks.ErrNotFound.
func (s *Service) Recover(ctx context.Context, ws tasks.WorkspaceID, id string, since time.Time) (int, error) {
	if _, err := s.store.getSub(ctx, ws, id); err != nil {
		return 0, err
	}
	queued, skipped := 0, 0
	for {
		// Requeued messages leave the failed index, so each read starts
		// over past only the ones that could not be requeued.
		ids, err := s.store.failedMessages(ctx, ws, id, since, skipped, recoverBatch)
		if err != nil {
			return queued, err
		}
		for _, msgID := range ids {
			q, err := s.store.requeue(ctx, ws, id, msgID, NewDeliveryID())
			switch {
			case errors.Is(err, tasks.ErrNotFound), errors.Is(err, tasks.ErrConflict):
				skipped++
				continue
			case err != nil:
				return queued, err
			}
			if q.Runnable {
				s.markDue(ws) // the requeue made it due
				s.wake()
			}
			queued++
		}
		if len(ids) < recoverBatch {
			return queued, nil
		}
	}
}

// Test queues a sample event of type typ, marked "test":true, to
// subscription id, and returns its message. Test messages never enter the
// event log and count neither toward the success rate nor toward
// disabling; they are sent even to a disabled endpoint, to check it before
// re-enabling. Errors: tasks.ErrNotFound, *tasks.ValidationError for an
// unknown type.
func (s *Service) Test(ctx context.Context, ws tasks.WorkspaceID, id string, typ tasks.EventType) (Delivery, error) {
	if !typ.Valid() {
		return Delivery{}, &tasks.ValidationError{Fields: map[string]string{"event_type": fmt.Sprintf("unknown event type %q; use %s", typ, tasks.EventTypeList())}}
	}
	if _, err := s.store.getSub(ctx, ws, id); err != nil {
		return Delivery{}, err
	}
	ev := Sample(ws, typ, s.cfg.Now())
	body, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, fmt.Errorf("webhooks: encode test event: %w", err)
	}
	q, err := s.store.createMessage(ctx, ws, newMessage{
		SubscriptionID: id, EventID: ev.ID, EventType: typ, Test: true, Body: string(body), DeliveryID: NewDeliveryID(),
	})
	if err != nil {
		return Delivery{}, err
	}
	if err := s.schedule(ctx, ws, q.Message, 0); err != nil {
		return Delivery{}, err
	}
	return deliveryOf(q.Message), nil
}

// newEventID returns an id in the form of event ids for a test event,
// which the event log never holds.
func newEventID() string { return "evt_" + rand.Text() }

// The alert buttons. The Cliq DM sent through OnDisabled offers Retry
// failed, Show deliveries and Re-enable; the bot, which may not import this
// package, calls these through an interface of its own, so their
// signatures use only tasks and standard types.

// RetryFailed re-sends every failed message of subscription id still kept
// (the last WebhookRetention): the Retry failed button. It returns how many
// were queued. Errors: tasks.ErrNotFound.
func (s *Service) RetryFailed(ctx context.Context, ws tasks.WorkspaceID, id string) (int, error) {
	return s.Recover(ctx, ws, id, s.cfg.Now().Add(-Retention))
}

// Reenable re-enables subscription id: the Re-enable button. Errors:
// tasks.ErrNotFound.
func (s *Service) Reenable(ctx context.Context, ws tasks.WorkspaceID, id string) error {
	_, err := s.Enable(ctx, ws, id)
	return err
}

// RecentDeliveries returns the n newest messages of subscription id with
// their attempts, oldest attempt first: the Show deliveries button.
// Errors: tasks.ErrNotFound.
func (s *Service) RecentDeliveries(ctx context.Context, ws tasks.WorkspaceID, id string, n int) ([]tasks.WebhookMessage, error) {
	if _, err := s.store.getSub(ctx, ws, id); err != nil {
		return nil, err
	}
	ms, _, err := s.store.listMessages(ctx, ws, id, "", "", n)
	if err != nil {
		return nil, err
	}
	out := make([]tasks.WebhookMessage, len(ms))
	for i, m := range ms {
		out[i] = tasks.WebhookMessage{ID: m.ID, EventType: m.EventType, Status: tasks.WebhookStatus(m.Status), CreatedAt: m.CreatedAt}
		for _, a := range m.Attempts {
			out[i].Attempts = append(out[i].Attempts, tasks.WebhookAttempt{At: a.At, StatusCode: a.StatusCode, Error: a.Error})
		}
	}
	return out, nil
}
