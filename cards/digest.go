package cards

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// digestBudget bounds the characters a digest's lines may take, so that
// with its text and title the whole message stays within Cliq's 5,000.
const digestBudget = 4000

// maxDigestLine is how much of one title a digest line shows.
const maxDigestLine = 100

// DigestItem is one notification a digest combines.
type DigestItem struct {
	Type   tasks.EventType // "" for a message no event caused
	Number int64           // the task's number; 0 when not about a task
	Title  string          // the task's title, or the message's title
	Open   bool            // the task was open, so it can be completed
}

// digestWording says what a digest of one event type is about: one item,
// many items (with %d), and the short tag a mixed digest puts on a line.
var digestWording = map[tasks.EventType]struct{ one, many, tag string }{
	tasks.EventTaskCreated:       {"1 task was created", "%d tasks were created", "new"},
	tasks.EventTaskCompleted:     {"1 task was completed", "%d tasks were completed", "completed"},
	tasks.EventTaskAssigned:      {"1 task was assigned", "%d tasks were assigned", "assigned"},
	tasks.EventTaskReminder:      {"1 task is due soon", "%d tasks are due soon", "due soon"},
	tasks.EventTaskOverdue:       {"1 task became overdue", "%d tasks became overdue", "overdue"},
	tasks.EventCommentCreated:    {"1 new comment", "%d new comments", "comment"},
	tasks.EventTaskDeleted:       {"1 task was deleted", "%d tasks were deleted", "deleted"},
	tasks.EventTaskStatusChanged: {"1 task changed status", "%d tasks changed status", "status changed"},
	tasks.EventTaskUpdated:       {"1 task was updated", "%d tasks were updated", "updated"},
	"":                           {"1 message", "%d messages", ""},
}

// Digest combines notifications for one destination into one message, for
// when they queued up behind the rate limit: "5 tasks became overdue" and a
// numbered list of them, within Cliq's 5,000 characters and 5 buttons (one
// Complete button for each of the first open tasks that need action).
func Digest(items []DigestItem) cliq.Message {
	var typ tasks.EventType
	same := len(items) > 0
	for i, it := range items {
		if i == 0 {
			typ = it.Type
		}
		same = same && it.Type == typ
	}
	headline := fmt.Sprintf("%d updates", len(items))
	if len(items) == 1 {
		headline = "1 update"
	}
	if w, ok := digestWording[typ]; ok && same {
		headline = w.one
		if len(items) != 1 {
			headline = fmt.Sprintf(w.many, len(items))
		}
	}
	lines := make([]string, 0, len(items))
	used := utf8.RuneCountInString(headline) * 2 // text and card title
	for i, it := range items {
		line := clip(it.Title, maxDigestLine)
		if it.Number > 0 {
			line = "#" + strconv.FormatInt(it.Number, 10) + " " + line
		}
		if tag := digestWording[it.Type].tag; !same && tag != "" {
			line += " (" + tag + ")"
		}
		n := utf8.RuneCountInString(line)
		if used+n > digestBudget {
			lines = append(lines, fmt.Sprintf("…and %d more", len(items)-i))
			break
		}
		used += n
		lines = append(lines, line)
	}
	return cliq.Message{
		Text:    headline,
		Card:    &cliq.Card{Title: clip(headline, cliq.MaxCardTitleLength), Theme: cliq.ThemeModernInline},
		Buttons: completeButtons(items),
		Slides:  []cliq.Slide{cliq.ListSlide("", lines...)},
	}
}

// completeButtons offers Complete for the first open tasks that ask for
// action (assigned, due soon, overdue), each once, at most cliq.MaxButtons.
func completeButtons(items []DigestItem) []cliq.Button {
	var out []cliq.Button
	seen := make(map[int64]bool)
	for _, it := range items {
		switch it.Type {
		case tasks.EventTaskAssigned, tasks.EventTaskReminder, tasks.EventTaskOverdue:
		default:
			continue
		}
		if !it.Open || it.Number <= 0 || seen[it.Number] || len(out) == cliq.MaxButtons {
			continue
		}
		seen[it.Number] = true
		n := strconv.FormatInt(it.Number, 10)
		out = append(out, cliq.FunctionButton("Complete #"+n, ActionFunction, "done:"+n))
	}
	return out
}

// DailyDigest renders one user's daily digest (SPEC 9): their overdue tasks
// and those due later that day, times in loc, with Complete buttons for the
// first of them.
func DailyDigest(d tasks.Digest, loc *time.Location, now time.Time) cliq.Message {
	title := "Your tasks for today"
	if day, err := time.ParseInLocation("2006-01-02", d.Date, loc); err == nil {
		title += ", " + day.Format("Mon 2 Jan")
	}
	var parts []string
	if d.OverdueCount > 0 {
		parts = append(parts, plural(d.OverdueCount, "overdue task"))
	}
	if d.DueTodayCount > 0 {
		parts = append(parts, plural(d.DueTodayCount, "task")+" due today")
	}
	text := "Nothing is due today."
	switch len(parts) {
	case 1:
		text = "You have " + parts[0] + "."
	case 2:
		text = "You have " + parts[0] + " and " + parts[1] + "."
	}
	budget := digestBudget - utf8.RuneCountInString(title+text)
	var slides []cliq.Slide
	var items []DigestItem
	for _, list := range []struct {
		name  string
		typ   tasks.EventType // what the list's tasks are, for their buttons
		ts    []tasks.Task
		count int
	}{
		{"Overdue", tasks.EventTaskOverdue, d.Overdue, d.OverdueCount},
		{"Due today", tasks.EventTaskReminder, d.DueToday, d.DueTodayCount},
	} {
		if list.count == 0 {
			continue
		}
		var rows [][]string
		for i, t := range list.ts {
			due := "-"
			if t.DueAt != nil {
				due = Due(*t.DueAt, loc, now)
			}
			row := []string{strconv.FormatInt(t.Number, 10), clip(t.Title, maxDigestLine), due}
			n := utf8.RuneCountInString(row[0] + row[1] + row[2])
			if budget-n < 0 {
				rows = append(rows, []string{"", fmt.Sprintf("…and %d more", list.count-i), ""})
				break
			}
			budget -= n
			rows = append(rows, row)
			items = append(items, DigestItem{Type: list.typ, Number: t.Number, Title: t.Title, Open: t.Status.IsOpen()})
		}
		if more := list.count - len(list.ts); more > 0 && len(rows) == len(list.ts) {
			rows = append(rows, []string{"", fmt.Sprintf("…and %d more", more), ""})
		}
		table := cliq.TableSlide(fmt.Sprintf("%s (%d)", list.name, list.count), []string{"#", "Title", "Due"}, rows...)
		table.Styles = &cliq.SlideStyles{Width: []int{10, 60, 30}}
		slides = append(slides, table)
	}
	return cliq.Message{
		Text:    text,
		Card:    &cliq.Card{Title: clip(title, cliq.MaxCardTitleLength), Theme: cliq.ThemeModernInline},
		Buttons: completeButtons(items),
		Slides:  slides,
	}
}
