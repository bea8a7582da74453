package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// WebhookActions are what the buttons of a disabled webhook endpoint's
// alert do. cmd passes the webhooks service, which bot cannot import
// (STYLE 1). Errors: tasks.ErrNotFound for an unknown endpoint.
type WebhookActions interface {
	// RetryFailed re-sends the endpoint's failed messages of the last 30
	// days and says how many.
	RetryFailed(ctx context.Context, ws tasks.WorkspaceID, id string) (int, error)
	// RecentDeliveries returns the endpoint's last n messages, newest first.
	RecentDeliveries(ctx context.Context, ws tasks.WorkspaceID, id string, n int) ([]tasks.WebhookMessage, error)
	// Reenable turns the endpoint back on.
	Reenable(ctx context.Context, ws tasks.WorkspaceID, id string) error
}

// recentDeliveries is how many messages "Show deliveries" lists.
const recentDeliveries = 10

// webhookAction answers the alert's buttons: wh_retry:ID, wh_deliveries:ID
// and wh_enable:ID.
func (c *call) webhookAction(ctx context.Context, action, id string) (any, error) {
	if c.opts.Webhooks == nil {
		return cliq.Text("Webhooks are not managed from chat in this Tasker deployment; use the REST API."), nil
	}
	if id == "" || len(id) > 64 {
		return nil, badKey(action + ":" + id)
	}
	notFound := func(err error) error {
		if errors.Is(err, tasks.ErrNotFound) {
			return sayf("That webhook endpoint no longer exists.")
		}
		return err
	}
	switch action {
	case cards.KeyWebhookRetry:
		n, err := c.opts.Webhooks.RetryFailed(ctx, c.ws, id)
		if err != nil {
			return nil, notFound(err)
		}
		return cliq.Text(fmt.Sprintf("Queued %d failed %s to webhook %s again. They go out once the endpoint is enabled.", n, plural(n, "message", "messages"), id)), nil
	case cards.KeyWebhookEnable:
		if err := c.opts.Webhooks.Reenable(ctx, c.ws, id); err != nil {
			return nil, notFound(err)
		}
		return cliq.Text(fmt.Sprintf("Webhook %s is enabled again. Use Retry failed to re-send what it missed.", id)), nil
	default:
		msgs, err := c.opts.Webhooks.RecentDeliveries(ctx, c.ws, id, recentDeliveries)
		if err != nil {
			return nil, notFound(err)
		}
		ds := make([]cards.Delivery, 0, len(msgs))
		for _, m := range msgs {
			d := cards.Delivery{EventType: string(m.EventType), Status: string(m.Status), At: m.CreatedAt}
			if n := len(m.Attempts); n > 0 {
				a := m.Attempts[n-1]
				d.At = a.At
				switch {
				case a.StatusCode != nil:
					d.Code = strconv.Itoa(*a.StatusCode)
				case a.Error != nil:
					d.Code = *a.Error
				}
			}
			ds = append(ds, d)
		}
		return cards.WebhookDeliveries(id, ds, c.loc, c.now), nil
	}
}
