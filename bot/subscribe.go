package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// eventTypes maps the grammar's event names to SPEC 8.2's event types.
var eventTypes = map[EventName]tasks.EventType{
	EventCreated:       tasks.EventTaskCreated,
	EventUpdated:       tasks.EventTaskUpdated,
	EventStatusChanged: tasks.EventTaskStatusChanged,
	EventCompleted:     tasks.EventTaskCompleted,
	EventAssigned:      tasks.EventTaskAssigned,
	EventDeleted:       tasks.EventTaskDeleted,
	EventReminder:      tasks.EventTaskReminder,
	EventOverdue:       tasks.EventTaskOverdue,
	EventComment:       tasks.EventCommentCreated,
}

// subscribe answers "/task subscribe" and "/task unsubscribe": only a
// channel can subscribe, because the posts go to it by its unique name.
func (c *call) subscribe(ctx context.Context, cmd Command) (any, error) {
	ch := c.channel()
	if ch == "" {
		return nil, sayf("Subscriptions post task events into a channel, so run this in the channel that should get them: " +
			"/task subscribe created completed overdue. Events: created, updated, status_changed, completed, assigned, deleted, reminder, overdue, comment, or all.")
	}
	events := make([]tasks.EventType, len(cmd.Events))
	for i, e := range cmd.Events {
		events[i] = eventTypes[e]
	}
	var (
		sub tasks.ChannelSubscription
		err error
	)
	if cmd.Verb == VerbSubscribe {
		chatID := ""
		if c.req.Chat != nil {
			chatID = c.req.Chat.ID
		}
		sub, err = c.store.SubscribeChannel(ctx, c.ws, c.actor, ch, chatID, events)
	} else {
		sub, err = c.store.UnsubscribeChannel(ctx, c.ws, ch, events)
	}
	if err != nil {
		return nil, err
	}
	if len(sub.Events) == 0 {
		return cliq.Text("This channel gets no task events now. Subscribe again with /task subscribe."), nil
	}
	var names []string // in the grammar's order, not the store's
	for _, e := range eventNames {
		if sub.Wants(eventTypes[e]) {
			names = append(names, string(e))
		}
	}
	return cliq.Text(fmt.Sprintf("This channel (#%s) now gets these task events: %s. Change it with /task subscribe EVENT or /task unsubscribe EVENT.",
		ch, strings.Join(names, ", "))), nil
}
