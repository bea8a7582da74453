package bot

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
)

// snoozeChoices are the snooze lengths offered as buttons, as the last part
// of a snooze:N:… key; ParseSnooze reads each.
var snoozeChoices = []struct{ label, arg string }{
	{"20 min", "20"},
	{"1 hour", "60"},
	{"3 hours", "180"},
	{"Tomorrow 09:00", "tomorrow"},
	{"Next week", "nextweek"},
}

// snoozeButtons offers every snooze choice for task n.
func snoozeButtons(n int64) []cliq.Button {
	out := make([]cliq.Button, len(snoozeChoices))
	for i, ch := range snoozeChoices {
		out[i] = cliq.FunctionButton(ch.label, cards.ActionFunction, "snooze:"+strconv.FormatInt(n, 10)+":"+ch.arg)
	}
	return out
}

// snooze snoozes task n until the given time and answers with its card,
// whose buttons are the snooze choices, in case another one suits better.
func (c *call) snooze(ctx context.Context, n int64, until time.Time) (cliq.Message, error) {
	t, err := c.store.SnoozeTask(ctx, c.ws, c.actor, strconv.FormatInt(n, 10), until)
	if err != nil {
		return cliq.Message{}, taskErr(n, err)
	}
	msg := c.card(ctx, t, "Snoozed", fmt.Sprintf("Task #%d is snoozed until %s. Snooze for longer:", t.Number, cards.Due(until, c.loc, c.now)))
	msg.Buttons = snoozeButtons(t.Number)
	return msg, nil
}

// snoozeMenu answers a snooze:N key without a length: the task's card with
// the snooze choices.
func (c *call) snoozeMenu(ctx context.Context, n int64) (cliq.Message, error) {
	t, err := c.store.GetTask(ctx, c.ws, strconv.FormatInt(n, 10))
	if err != nil {
		return cliq.Message{}, taskErr(n, err)
	}
	msg := c.card(ctx, t, "", fmt.Sprintf("Snooze task #%d for how long?", t.Number))
	msg.Buttons = snoozeButtons(t.Number)
	return msg, nil
}
