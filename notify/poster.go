package notify

import (
	"context"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// PostToChannel queues msg for the channel with unique name channel in ws,
// through the same queue, log and rate limit as event notifications. The
// same non-empty dedupeKey for the same channel posts once (a third party's
// redelivery of one hook). It returns once the post is recorded and queued.
func (n *Notifier) PostToChannel(ctx context.Context, ws tasks.WorkspaceID, channel string, msg cliq.Message, dedupeKey string) error {
	return n.Post(ctx, ws, Destination{Kind: DestinationChannel, Name: channel}, msg, dedupeKey)
}

// Post queues msg for dest in ws, as PostToChannel does for any kind of
// destination. Errors: *tasks.ValidationError for a bad destination.
func (n *Notifier) Post(ctx context.Context, ws tasks.WorkspaceID, dest Destination, msg cliq.Message, dedupeKey string) error {
	key := ""
	if dedupeKey != "" {
		key = "post|" + dedupeKey + "|" + dest.String()
	}
	return n.submit(ctx, ws, NewNotification{Key: key, Destination: dest, Summary: NotificationSummary{Title: title(msg)}}, msg)
}
