package cards

import (
	"strconv"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// maxListTitle is how much of a task's title a list row shows.
const maxListTitle = 80

// TaskList renders tasks as one table, a row per task in the given order:
// number, title, due time (in loc, marked when overdue at now) and
// assignee. names maps assignee user ids to the names shown; an id missing
// from it is shown as it is. text is the line above the card.
func TaskList(title, text string, ts []tasks.Task, names map[string]string, loc *time.Location, now time.Time) cliq.Message {
	headers := []string{"#", "Title", "Due", "Assignee"}
	rows := make([][]string, len(ts))
	for i, t := range ts {
		due := "-"
		if t.DueAt != nil {
			due = Due(*t.DueAt, loc, now)
			if t.Status.IsOpen() && t.DueAt.Before(now) {
				due += " (overdue)"
			}
		}
		who := "Unassigned"
		if t.Assignee != nil {
			if who = names[*t.Assignee]; who == "" {
				who = *t.Assignee
			}
		}
		rows[i] = []string{strconv.FormatInt(t.Number, 10), clip(t.Title, maxListTitle), due, who}
	}
	table := cliq.TableSlide("", headers, rows...)
	table.Styles = &cliq.SlideStyles{Width: []int{8, 44, 28, 20}}
	return cliq.Message{
		Text:   text,
		Card:   &cliq.Card{Title: clip(title, cliq.MaxCardTitleLength), Theme: cliq.ThemeModernInline},
		Slides: []cliq.Slide{table},
	}
}
