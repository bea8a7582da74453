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

// repeat serves "/task repeat N RULE" and "/task repeat N off": the rule
// is read in the caller's timezone, and due_at moves to its first
// occurrence (SPEC 6.5).
func (c *call) repeat(ctx context.Context, cmd Command) (any, error) {
	n := int64(cmd.Number)
	patch := tasks.TaskPatch{Recurrence: tasks.Null[string]()}
	if cmd.Rule != RuleOff {
		patch = tasks.TaskPatch{Recurrence: tasks.Some(cmd.Rule), RecurrenceTimezone: tasks.Some(c.loc.String())}
	}
	t, err := c.store.UpdateTask(ctx, c.ws, c.actor, strconv.FormatInt(n, 10), patch, nil)
	if err != nil {
		return nil, ruleErr(n, err, example(VerbRepeat))
	}
	if t.Recurrence == nil {
		return c.card(ctx, t, "", fmt.Sprintf("Task #%d no longer repeats.", t.Number)), nil
	}
	return c.card(ctx, t, "", fmt.Sprintf("Task #%d repeats %s; next due %s.", t.Number, t.Recurrence.Text, cards.Due(*t.DueAt, c.loc, c.now))), nil
}

// skip serves "/task skip N" and the card's Skip button (skip:N).
func (c *call) skip(ctx context.Context, n int64) (cliq.Message, error) {
	t, err := c.store.SkipTask(ctx, c.ws, c.actor, strconv.FormatInt(n, 10))
	if err != nil {
		return cliq.Message{}, ruleErr(n, err, "/task skip 42")
	}
	return c.card(ctx, t, "Skipped", fmt.Sprintf("Skipped an occurrence: task #%d is now due %s.", t.Number, cards.Due(*t.DueAt, c.loc, c.now))), nil
}

// nextLine says which task completing t created, if it repeats.
func (c *call) nextLine(ctx context.Context, t tasks.Task) string {
	if t.Recurrence == nil {
		return ""
	}
	next, err := c.store.Successor(ctx, c.ws, t.Number)
	if err != nil || next.DueAt == nil {
		return " That was the last of its series."
	}
	return fmt.Sprintf(" Next: #%d, due %s.", next.Number, cards.Due(*next.DueAt, c.loc, c.now))
}

// ruleErr turns the store's complaints about a rule or a skip into a
// sentence for the chat; other errors go as taskErr would.
func ruleErr(n int64, err error, try string) error {
	var ve *tasks.ValidationError
	if errors.As(err, &ve) {
		for _, field := range []string{"recurrence", "status", "recurrence_timezone"} {
			if msg := ve.Fields[field]; msg != "" {
				return sayf(fmt.Sprintf("Task #%d: %s. Try: %s", n, msg, try))
			}
		}
	}
	return taskErr(n, err)
}
