// Package cards renders tasks as Cliq messages. The bot's answers, the
// notifications and the digests all show a task the same way, with the
// buttons of SPEC 7.3, so the rendering lives here once.
package cards

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// ActionFunction is the Cliq function every task button invokes.
const ActionFunction = "taskaction"

// maxDescription is how much of a description a card shows.
const maxDescription = 600

// maxFieldValue is how much of a rule a card's field shows; a rule's words
// are short, but one shown as its RRULE may not be.
const maxFieldValue = 200

// View is what a card needs besides the task: who the assignee is, and
// whose clock and calendar the times are shown on.
type View struct {
	// Heading replaces the card title's default "#N title"; the task's
	// number and title are appended after it, e.g. "Overdue".
	Heading string
	// Text is the message line above the card, e.g. "{@600} assigned you a task".
	Text     string
	Assignee *tasks.User
	Loc      *time.Location
	Now      time.Time
}

// Task renders t as a card with its details and the buttons that apply.
func Task(t tasks.Task, v View) cliq.Message {
	title := fmt.Sprintf("#%d %s", t.Number, t.Title)
	if v.Heading != "" {
		title = v.Heading + ": " + title
	}
	fields := []cliq.Field{
		{Label: "Status", Value: StatusLabel(t.Status)},
		{Label: "Priority", Value: PriorityLabel(t.Priority)},
	}
	if t.DueAt != nil {
		fields = append(fields, cliq.Field{Label: "Due", Value: Due(*t.DueAt, v.Loc, v.Now)})
	}
	fields = append(fields, cliq.Field{Label: "Assignee", Value: assigneeName(t, v.Assignee)})
	if len(t.Tags) > 0 {
		fields = append(fields, cliq.Field{Label: "Tags", Value: "#" + strings.Join(t.Tags, " #")})
	}
	if t.Recurrence != nil {
		repeats := t.Recurrence.Text
		if v.Loc != nil && t.Recurrence.Timezone != v.Loc.String() {
			repeats += " (" + t.Recurrence.Timezone + ")" // its days and times are that zone's
		}
		fields = append(fields, cliq.Field{Label: "Repeats", Value: clip(repeats, maxFieldValue)})
		// A closed occurrence's successor is a task of its own.
		if next := t.Upcoming(3); len(next) > 0 && t.Status.IsOpen() {
			when := make([]string, len(next))
			for i, at := range next {
				when[i] = Due(at, v.Loc, v.Now)
			}
			fields = append(fields, cliq.Field{Label: "Then", Value: strings.Join(when, ", ")})
		}
	}
	if t.SnoozedUntil != nil && t.SnoozedUntil.After(v.Now) {
		fields = append(fields, cliq.Field{Label: "Snoozed until", Value: Due(*t.SnoozedUntil, v.Loc, v.Now)})
	}
	slides := []cliq.Slide{cliq.LabelSlide("", fields...)}
	if d := strings.TrimSpace(t.Description); d != "" {
		slides = append(slides, cliq.TextSlide("Description", clip(d, maxDescription)))
	}
	return cliq.Message{
		Text:    v.Text,
		Card:    &cliq.Card{Title: clip(title, cliq.MaxCardTitleLength), Theme: cliq.ThemeModernInline},
		Buttons: Buttons(t),
		Slides:  slides,
	}
}

// Buttons are a task's actions: Complete, Snooze 1h and Assign to me while
// it is open (and Skip when it repeats), Reopen once it is closed, and its
// source link if it has one.
func Buttons(t tasks.Task) []cliq.Button {
	n := strconv.FormatInt(t.Number, 10)
	var out []cliq.Button
	if t.Status.IsOpen() {
		snooze := cliq.FunctionButton("Snooze 1h", ActionFunction, "snooze:"+n+":60")
		snooze.Type = cliq.ButtonNegative
		out = append(out,
			cliq.FunctionButton("Complete", ActionFunction, "done:"+n),
			snooze,
			cliq.FunctionButton("Assign to me", ActionFunction, "assign_me:"+n),
		)
		if t.Recurrence != nil {
			out = append(out, cliq.FunctionButton("Skip", ActionFunction, "skip:"+n))
		}
	} else {
		out = append(out, cliq.FunctionButton("Reopen", ActionFunction, "reopen:"+n))
	}
	if t.SourceURL != nil {
		out = append(out, cliq.URLButton("Open source", *t.SourceURL))
	}
	return out
}

// Due shows a time in loc, relative to now where that reads better:
// "today 17:00", "tomorrow 09:00", "Fri 5 Dec 17:00", with the zone.
func Due(at time.Time, loc *time.Location, now time.Time) string {
	if loc == nil {
		loc = time.UTC
	}
	local, today := at.In(loc), now.In(loc)
	day := local.Format("Mon 2 Jan 2006")
	switch days := dayDiff(today, local); {
	case days == 0:
		day = "today"
	case days == 1:
		day = "tomorrow"
	case days == -1:
		day = "yesterday"
	case local.Year() == today.Year():
		day = local.Format("Mon 2 Jan")
	}
	return day + " " + local.Format("15:04 MST")
}

// dayDiff counts calendar days from a to b in a's location.
func dayDiff(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.In(a.Location()).Date()
	da := time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 12, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// StatusLabel is how chat names a status.
func StatusLabel(s tasks.Status) string {
	switch s {
	case tasks.StatusInProgress:
		return "In progress"
	case tasks.StatusCompleted:
		return "Completed"
	case tasks.StatusCancelled:
		return "Cancelled"
	}
	return "Open"
}

// PriorityLabel is how chat names a priority.
func PriorityLabel(p tasks.Priority) string {
	switch p {
	case tasks.PriorityLow:
		return "Low"
	case tasks.PriorityHigh:
		return "High"
	case tasks.PriorityUrgent:
		return "Urgent"
	}
	return "Medium"
}

func assigneeName(t tasks.Task, u *tasks.User) string {
	switch {
	case t.Assignee == nil:
		return "Unassigned"
	case u != nil && u.CliqUserID != nil:
		return "{@" + *u.CliqUserID + "}"
	case u != nil:
		return u.Name
	}
	return *t.Assignee
}

// clip shortens s to at most n code points, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
