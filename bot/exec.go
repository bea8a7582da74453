package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// runText parses text as a /task command, with the call's mentions, and
// runs it. A command that is not understood returns the parser's
// *SyntaxError, which respondError shows in chat.
func (c *call) runText(ctx context.Context, text string) (any, error) {
	cmd, err := ParseCommand(text, c.mentionNames())
	if err != nil {
		return nil, err
	}
	return c.exec(ctx, cmd)
}

// exec runs a parsed command against the store and returns the answer: a
// cliq.Message or a cliq.Form.
func (c *call) exec(ctx context.Context, cmd Command) (any, error) {
	n := int64(cmd.Number)
	ref := strconv.FormatInt(n, 10)
	switch cmd.Verb {
	case VerbHelp:
		return helpCard(), nil
	case VerbNew:
		return c.createTaskForm(ctx, taskPrefill{}), nil
	case VerbAdd:
		return c.add(ctx, cmd)
	case VerbList:
		spec, err := c.listSpecOf(ctx, cmd)
		if err != nil {
			return nil, err
		}
		return c.listPage(ctx, spec, "")
	case VerbShow:
		t, err := c.store.GetTask(ctx, c.ws, ref)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return c.card(ctx, t, "", ""), nil
	case VerbDone:
		t, err := c.store.CompleteTask(ctx, c.ws, c.actor, ref)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return c.card(ctx, t, "Completed", fmt.Sprintf("Task #%d is done.", t.Number)+c.nextLine(ctx, t)), nil
	case VerbReopen:
		t, err := c.store.ReopenTask(ctx, c.ws, c.actor, ref)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return c.card(ctx, t, "Reopened", fmt.Sprintf("Task #%d is open again.", t.Number)), nil
	case VerbDelete:
		t, err := c.store.GetTask(ctx, c.ws, ref)
		if err != nil {
			return nil, taskErr(n, err)
		}
		if err := c.store.DeleteTask(ctx, c.ws, c.actor, t.ID); err != nil {
			return nil, taskErr(n, err)
		}
		return cliq.Text(fmt.Sprintf("Deleted task #%d %s.", t.Number, t.Title)), nil
	case VerbAssign:
		u, err := c.mentioned(ctx, cmd.User)
		if err != nil {
			return nil, err
		}
		t, err := c.store.UpdateTask(ctx, c.ws, c.actor, ref, tasks.TaskPatch{Assignee: tasks.Some(u.ID)}, nil)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return c.card(ctx, t, "Assigned", fmt.Sprintf("Task #%d is assigned to %s.", t.Number, u.DisplayName())), nil
	case VerbDue:
		at, err := ParseWhen(cmd.When, c.now, c.loc)
		if err != nil {
			return nil, err
		}
		t, err := c.store.UpdateTask(ctx, c.ws, c.actor, ref, tasks.TaskPatch{DueAt: tasks.Some(at)}, nil)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return c.card(ctx, t, "", fmt.Sprintf("Task #%d is now due %s.", t.Number, cards.Due(at, c.loc, c.now))), nil
	case VerbSnooze:
		until, err := ParseSnooze(cmd.Snooze, c.now, c.loc)
		if err != nil {
			return nil, err
		}
		return c.snooze(ctx, n, until)
	case VerbComment:
		cm, err := c.store.AddComment(ctx, c.ws, c.actor, ref, cmd.Text)
		if err != nil {
			return nil, taskErr(n, err)
		}
		return cliq.Text(fmt.Sprintf("Comment added to task #%d: %s", cm.TaskNumber, clipText(cm.Text, 200))), nil
	case VerbRepeat:
		return c.repeat(ctx, cmd)
	case VerbSkip:
		return c.skip(ctx, n)
	case VerbSubscribe, VerbUnsubscribe:
		return c.subscribe(ctx, cmd)
	case VerbLink:
		return c.link(ctx)
	}
	return helpCard(), nil
}

// add creates a task from "/task add".
func (c *call) add(ctx context.Context, cmd Command) (any, error) {
	in := tasks.NewTask{Title: cmd.Title, Priority: cmd.Priority, Tags: cmd.Tags}
	if cmd.When != "" {
		at, err := ParseWhen(cmd.When, c.now, c.loc)
		if err != nil {
			return nil, err
		}
		in.DueAt = &at
	}
	if cmd.User != nil {
		u, err := c.mentioned(ctx, cmd.User)
		if err != nil {
			return nil, err
		}
		in.Assignee = &u.ID
	}
	if cmd.Rule != "" {
		zone := c.loc.String()
		in.Recurrence, in.RecurrenceTimezone = &cmd.Rule, &zone
	}
	t, _, err := c.store.CreateTask(ctx, c.ws, c.actor, in, nil)
	if err != nil {
		return nil, err
	}
	return c.card(ctx, t, "", fmt.Sprintf("Created task #%d.", t.Number)), nil
}

// card renders t for the caller.
func (c *call) card(ctx context.Context, t tasks.Task, heading, text string) cliq.Message {
	return cards.Task(t, cards.View{Heading: heading, Text: text, Assignee: c.assigneeOf(ctx, t), Loc: c.loc, Now: c.now})
}

// clipText shortens s to n code points for a chat line.
func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
