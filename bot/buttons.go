package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/tasks"
)

// Button keys of the taskaction function (SPEC 7.3), N being a task number:
//
//	done:N  reopen:N  assign_me:N  show:N  skip:N
//	snooze:N:MINUTES  snooze:N:tomorrow  snooze:N:nextweek
//	snooze:N          (offers the snooze choices)
//	track:REF         (a third-party card's "Track as task")
//	list:SPEC:CURSOR  (a list card's "Next page"; see listSpec)
//	new               (opens the create_task form)
//	help
//	wh_retry:ID  wh_deliveries:ID  wh_enable:ID  (a disabled webhook's alert)
//
// Answers about one task replace the clicked card (a message edit), so the
// card shows what the click did; list pages replace the list card.

// pressButton answers the click of the button whose key is key.
func (c *call) pressButton(ctx context.Context, key string) (any, error) {
	action, rest, _ := strings.Cut(strings.TrimSpace(key), ":")
	switch action {
	case "new":
		return c.createTaskForm(ctx, taskPrefill{}), nil
	case "help":
		return helpCard(), nil
	case "track":
		return c.track(ctx, rest)
	case cards.KeyWebhookRetry, cards.KeyWebhookDeliveries, cards.KeyWebhookEnable:
		return c.webhookAction(ctx, action, rest)
	case "list":
		i := strings.LastIndex(rest, ":")
		if i < 0 {
			return nil, badKey(key)
		}
		spec, ok := parseListSpec(rest[:i])
		if !ok {
			return nil, badKey(key)
		}
		msg, err := c.listPage(ctx, spec, rest[i+1:])
		if err != nil {
			var ve *tasks.ValidationError
			if errors.As(err, &ve) && ve.Fields["cursor"] != "" {
				return nil, badKey(key)
			}
			return nil, err
		}
		return messageEdit{msg}, nil
	}
	numText, arg, hasArg := strings.Cut(rest, ":")
	n, ok := parseNumber(numText)
	if !ok {
		return nil, badKey(key)
	}
	ref := strconv.FormatInt(n, 10)
	switch {
	case action == "done" && !hasArg:
		t, err := c.store.CompleteTask(ctx, c.ws, c.actor, ref)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return messageEdit{c.card(ctx, t, "Completed", fmt.Sprintf("Task #%d was completed by %s.", t.Number, c.user.DisplayName())+c.nextLine(ctx, t))}, nil
	case action == "skip" && !hasArg:
		msg, err := c.skip(ctx, n)
		if err != nil {
			return nil, err
		}
		return messageEdit{msg}, nil
	case action == "reopen" && !hasArg:
		t, err := c.store.ReopenTask(ctx, c.ws, c.actor, ref)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return messageEdit{c.card(ctx, t, "Reopened", fmt.Sprintf("Task #%d was reopened by %s.", t.Number, c.user.DisplayName()))}, nil
	case action == "assign_me" && !hasArg:
		t, err := c.store.UpdateTask(ctx, c.ws, c.actor, ref, tasks.TaskPatch{Assignee: tasks.Some(c.user.ID)}, nil)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return messageEdit{c.card(ctx, t, "", fmt.Sprintf("Task #%d is assigned to %s.", t.Number, c.user.DisplayName()))}, nil
	case action == "show" && !hasArg:
		t, err := c.store.GetTask(ctx, c.ws, ref)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return c.card(ctx, t, "", ""), nil
	case action == "snooze" && !hasArg:
		msg, err := c.snoozeMenu(ctx, n)
		if err != nil {
			return nil, err
		}
		return messageEdit{msg}, nil
	case action == "snooze":
		until, err := ParseSnooze(arg, c.now, c.loc)
		if err != nil {
			return nil, badKey(key)
		}
		msg, err := c.snooze(ctx, n, until)
		if err != nil {
			return nil, err
		}
		return messageEdit{msg}, nil
	}
	return nil, badKey(key)
}

// badKey answers a key this function did not write: an old card, or a
// hand-made button.
func badKey(key string) error {
	return sayf(fmt.Sprintf("I didn't understand the button %q. Try /task list to see your tasks, or /task help.", clipText(key, 100)))
}

// parseNumber reads a task number, 42 or #42.
func parseNumber(s string) (int64, bool) {
	s = strings.TrimPrefix(s, "#")
	if s == "" || len(s) > 9 || !isDigits(s) {
		return 0, false
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n, n > 0
}

// track answers a "Track as task" click by creating the task, or finding
// the one tracked before.
func (c *call) track(ctx context.Context, ref string) (any, error) {
	if strings.TrimSpace(ref) == "" {
		return nil, badKey("track:" + ref)
	}
	title := ""
	if m := c.req.Message; m != nil && m.Card != nil {
		title = m.Card.Title
	}
	t, created, err := c.store.Track(ctx, c.ws, c.actor, ref, title)
	if errors.Is(err, tasks.ErrInvalidRef) {
		return nil, badKey("track:" + ref)
	}
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("Tracking this as task #%d.", t.Number)
	if !created {
		text = fmt.Sprintf("This is already tracked as task #%d.", t.Number)
	}
	return c.card(ctx, t, "", text), nil
}
