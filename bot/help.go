package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// helpRows are the help card's table: every form of the grammar with an
// example that works as typed.
var helpRows = [][]string{
	{"/task add TITLE [due:WHEN] [every:RULE] [@user] [!priority] [#tag]", "/task add Review PR due:friday 5pm @me !high #backend"},
	{"/task new", "opens a form with every field"},
	{"/task list [mine|all|today|overdue|@user|#tag]", "/task list overdue"},
	{"/task show N | done N | reopen N | delete N", "/task done 42"},
	{"/task assign N @user", "/task assign 42 @me"},
	{"/task due N WHEN", "/task due 42 tomorrow 9am"},
	{"/task snooze N DURATION", "/task snooze 42 3h"},
	{"/task comment N TEXT", "/task comment 42 Waiting for the designs"},
	{"/task repeat N RULE | repeat N off | skip N", "/task repeat 42 every weekday at 9:30"},
	{"/task subscribe [EVENTS] | unsubscribe [EVENTS]", "/task subscribe created completed overdue (in a channel)"},
	{"/task link", "shows how your Cliq account is linked to Tasker"},
}

// helpButtons open the form and the two lists people want most.
func helpButtons() []cliq.Button {
	return []cliq.Button{
		cliq.FunctionButton("New task", cards.ActionFunction, "new"),
		cliq.FunctionButton("My tasks", cards.ActionFunction, "list::"),
		cliq.FunctionButton("Overdue", cards.ActionFunction, "list:overdue:"),
	}
}

// helpCard is the answer to "/task" and "/task help".
func helpCard() cliq.Message {
	return cliq.Message{
		Text: "Tasker keeps your team's tasks in Cliq. Dates are read in your timezone: today, tomorrow 5pm, friday, next monday, in 3h, 2026-12-01 17:30. " +
			"In my chat, type the same commands without /task.",
		Card: &cliq.Card{Title: "Tasker commands", Theme: cliq.ThemeModernInline},
		Slides: []cliq.Slide{
			cliq.TableSlide("", []string{"Command", "Example"}, helpRows...),
		},
		Buttons: helpButtons(),
	}
}

// welcome greets a user who opens the bot's chat: what Tasker does, how
// their account is linked, and commands to start with.
func (c *call) welcome() cliq.Message {
	name := c.req.User.FirstName
	if name == "" {
		name = c.user.DisplayName()
	}
	examples := []string{
		"add Water plants due:tomorrow",
		"add Review PR due:friday 5pm !high #backend",
		"list",
		"done 42",
		"snooze 42 1h",
	}
	text := fmt.Sprintf("Hi %s! I'm Tasker. I keep your team's tasks: add them here or with /task in any chat, "+
		"and I'll remind you before they are due, tell you when they are overdue and send you a daily digest.\n%s",
		name, c.linkStatus())
	if c.opts.PublicURL != "" {
		text += "\nOther tools can reach your tasks through the REST API at " + strings.TrimRight(c.opts.PublicURL, "/") + "/api/v1."
	}
	return cliq.Message{
		Text:    text,
		Card:    &cliq.Card{Title: "Welcome to Tasker", Theme: cliq.ThemeModernInline},
		Slides:  []cliq.Slide{cliq.ListSlide("Try typing", examples...)},
		Buttons: helpButtons(),
	}
}

// linkStatus says which Tasker user the caller's Cliq account is linked to.
func (c *call) linkStatus() string {
	who := c.user.DisplayName()
	if c.user.Email != "" {
		who += " (" + c.user.Email + ")"
	}
	if c.firstContact {
		return "I linked your Cliq account to the Tasker user " + who + "."
	}
	return "Your Cliq account is linked to the Tasker user " + who + "."
}

// link answers "/task link": the caller's link, and what to do when their
// email belongs to another Tasker user. The link itself is made on first
// contact (to the Tasker user with the same email, or a new one).
func (c *call) link(ctx context.Context) (cliq.Message, error) {
	lines := []string{c.linkStatus()}
	email := tasks.NormalizeEmail(c.req.User.Email)
	if email != "" && email != c.user.Email {
		other, err := c.store.GetUser(ctx, c.ws, email)
		switch {
		case err == nil && other.ID != c.user.ID:
			lines = append(lines, fmt.Sprintf("Your email %s belongs to another Tasker user, %s (%s). "+
				"To work as that user, an admin can link it with PUT /api/v1/users/%s/cliq and the body {\"cliq_user_id\":%q}.",
				email, other.DisplayName(), other.ID, other.ID, c.req.User.ID))
		case err != nil && !errors.Is(err, tasks.ErrNotFound):
			return cliq.Message{}, err
		}
	}
	lines = append(lines, "Tasker user id: "+c.user.ID+". Timezone: "+c.loc.String()+".")
	return cliq.Text(strings.Join(lines, "\n")), nil
}
