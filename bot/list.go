package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// listSpec is what a list shows, in a form that fits a button key: the
// "Next page" button carries it, as "list:" + spec + ":" + cursor.
type listSpec struct {
	filter ListFilter
	arg    string // FilterTag: the tag; FilterUser: the user id
}

// String gives the key form: "" (the default list), "mine", "all",
// "today", "overdue", "#tag" or "@usr_…".
func (s listSpec) String() string {
	switch s.filter {
	case FilterTag:
		return "#" + s.arg
	case FilterUser:
		return "@" + s.arg
	}
	return string(s.filter)
}

// parseListSpec reads String's form.
func parseListSpec(s string) (listSpec, bool) {
	switch {
	case strings.HasPrefix(s, "#") && len(s) > 1:
		return listSpec{filter: FilterTag, arg: s[1:]}, true
	case strings.HasPrefix(s, "@usr_"):
		return listSpec{filter: FilterUser, arg: s[1:]}, true
	case s == "" || contains(listFilters, s):
		return listSpec{filter: ListFilter(s)}, true
	}
	return listSpec{}, false
}

// listSpecOf resolves a parsed list command; @user becomes a user id.
func (c *call) listSpecOf(ctx context.Context, cmd Command) (listSpec, error) {
	switch cmd.Filter {
	case FilterUser:
		u, err := c.mentioned(ctx, cmd.User)
		if err != nil {
			return listSpec{}, err
		}
		return listSpec{filter: FilterUser, arg: u.ID}, nil
	case FilterTag:
		return listSpec{filter: FilterTag, arg: cmd.Tags[0]}, nil
	}
	return listSpec{filter: cmd.Filter}, nil
}

// maxEmptyPages bounds how many empty pages one answer reads on.
const maxEmptyPages = 20

// readOn fetches the page at cursor. A page comes back empty with a cursor
// when the store's scan stopped at its bound before finding a match: it
// follows such cursors, at most maxEmptyPages, rather than answer that
// nothing matches.
func readOn(fetch func(cursor string) ([]tasks.Task, string, error), cursor string) ([]tasks.Task, string, error) {
	page, next, err := fetch(cursor)
	for hops := 0; err == nil && len(page) == 0 && next != "" && hops < maxEmptyPages; hops++ {
		page, next, err = fetch(next)
	}
	return page, next, err
}

// listPage answers one page of a list, starting at cursor ("" for the
// first), with a "Next page" button while there is more.
func (c *call) listPage(ctx context.Context, spec listSpec, cursor string) (cliq.Message, error) {
	page, next, err := readOn(func(cursor string) ([]tasks.Task, string, error) {
		if spec.filter == FilterDefault {
			return c.listDefault(ctx, cursor)
		}
		return c.store.ListTasks(ctx, c.ws, c.filterOf(spec), cursor, c.opts.PageSize)
	}, cursor)
	if err != nil {
		return cliq.Message{}, err
	}
	title, empty := c.describe(ctx, spec)
	if len(page) == 0 {
		if cursor != "" {
			return cliq.Text("That was the last page: there are no more tasks in this list."), nil
		}
		if spec.filter == FilterDefault || spec.filter == FilterMine {
			return cliq.Text(empty + " Add one: /task add Water plants due:tomorrow"), nil
		}
		return cliq.Text(empty + " See every open task with /task list all."), nil
	}
	names := make(map[string]string)
	for _, t := range page {
		if t.Assignee == nil || names[*t.Assignee] != "" {
			continue
		}
		if u := c.assigneeOf(ctx, t); u != nil {
			names[*t.Assignee] = u.DisplayName()
		}
	}
	text := fmt.Sprintf("%d %s, newest first.", len(page), plural(len(page), "task", "tasks"))
	if next != "" {
		text = fmt.Sprintf("%d tasks, newest first; Next page shows more.", len(page))
	}
	text += " Act on one with /task done N, /task show N or /task snooze N 1h."
	msg := cards.TaskList(title, text, page, names, c.loc, c.now)
	if next != "" {
		if key := "list:" + spec.String() + ":" + next; len(key) <= cliq.MaxButtonKeyLength {
			msg.Buttons = []cliq.Button{cliq.FunctionButton("Next page", cards.ActionFunction, key)}
		}
	}
	return msg, nil
}

// filterOf is the store filter of every list but the default one. Every
// list shows open tasks only.
func (c *call) filterOf(spec listSpec) tasks.TaskFilter {
	f := tasks.TaskFilter{Status: tasks.StatusOpen}
	switch spec.filter {
	case FilterMine:
		f.Assignee = c.user.ID
	case FilterToday:
		local := c.now.In(c.loc)
		start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, c.loc)
		after, before := start.Add(-time.Nanosecond), start.AddDate(0, 0, 1)
		f.DueAfter, f.DueBefore = &after, &before
	case FilterOverdue:
		now := c.now
		f.DueBefore = &now
	case FilterUser:
		f.Assignee = spec.arg
	case FilterTag:
		f.Tag = spec.arg
	}
	return f
}

// describe returns a list's card title and what to say when it is empty.
func (c *call) describe(ctx context.Context, spec listSpec) (title, empty string) {
	switch spec.filter {
	case FilterMine:
		return "Assigned to you", "Nothing is assigned to you."
	case FilterAll:
		return "All open tasks", "There are no open tasks."
	case FilterToday:
		return "Due today", "Nothing is due today."
	case FilterOverdue:
		return "Overdue", "Nothing is overdue."
	case FilterTag:
		return "Tagged #" + spec.arg, "No open task is tagged #" + spec.arg + "."
	case FilterUser:
		name := spec.arg
		if u, err := c.store.GetUser(ctx, c.ws, spec.arg); err == nil {
			name = u.DisplayName()
		}
		return "Assigned to " + name, "Nothing is assigned to " + name + "."
	}
	return "Your tasks", "You have no open tasks: none assigned to you, and none unassigned that you created."
}

// listDefault pages through the default list, the open tasks assigned to
// the caller together with the unassigned ones they created, newest first.
// The store filters one way at a time, so the two lists are read each with
// its own cursor and merged by number. The combined cursor is the two
// cursors joined by "." (base64url has no dot); "-" marks one that is used
// up, and "" one that has not started.
func (c *call) listDefault(ctx context.Context, cursor string) ([]tasks.Task, string, error) {
	size := c.opts.PageSize
	filters := [2]tasks.TaskFilter{
		{Status: tasks.StatusOpen, Assignee: c.user.ID},
		{Status: tasks.StatusOpen, Assignee: "none", CreatedBy: c.user.ID},
	}
	var curs [2]string
	if cursor != "" {
		a, b, ok := strings.Cut(cursor, ".")
		if !ok {
			return nil, "", &tasks.ValidationError{Fields: map[string]string{"cursor": "invalid"}}
		}
		curs = [2]string{a, b}
	}
	var (
		pages [2][]tasks.Task
		nexts [2]string
	)
	for i := range filters {
		if curs[i] == "-" {
			continue
		}
		var err error
		if pages[i], nexts[i], err = c.store.ListTasks(ctx, c.ws, filters[i], curs[i], size); err != nil {
			return nil, "", err
		}
	}
	out := make([]tasks.Task, 0, size)
	var taken [2]int
	for len(out) < size {
		pick := -1
		for i := range pages {
			if taken[i] < len(pages[i]) && (pick < 0 || pages[i][taken[i]].Number > pages[pick][taken[pick]].Number) {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		out = append(out, pages[pick][taken[pick]])
		taken[pick]++
	}
	var next [2]string
	for i := range filters {
		switch {
		case curs[i] == "-":
			next[i] = "-"
		case taken[i] == len(pages[i]):
			if next[i] = nexts[i]; next[i] == "" {
				next[i] = "-"
			}
		case taken[i] == 0:
			next[i] = curs[i]
		default:
			// Some of this page was shown: ask again for just those, to get
			// the store's cursor after the last one shown.
			_, n, err := c.store.ListTasks(ctx, c.ws, filters[i], curs[i], taken[i])
			if err != nil {
				return nil, "", err
			}
			next[i] = n
		}
	}
	if next == [2]string{"-", "-"} {
		return out, "", nil
	}
	return out, next[0] + "." + next[1], nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
