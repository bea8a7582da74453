package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// funcs are the templates' helpers. They return plain strings: the
// templates escape every one of them.
var funcs = template.FuncMap{
	"time": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05")
		}
		return "—"
	},
	"str": func(p *string) string {
		if p == nil {
			return "—"
		}
		return *p
	},
	"int": func(p any) string {
		switch v := p.(type) {
		case *int:
			if v != nil {
				return strconv.Itoa(*v)
			}
		case *int64:
			if v != nil {
				return strconv.FormatInt(*v, 10)
			}
		}
		return "—"
	},
	"pct": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return fmt.Sprintf("%.0f%%", *p*100)
	},
	"rate": func(f float64) string {
		if f > 0 && f < 1 {
			return fmt.Sprintf("%.2f", f)
		}
		return fmt.Sprintf("%.1f", f)
	},
	"ok": func(code *int) bool { return code != nil && *code/100 == 2 },
	"json": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return ""
		}
		return string(b)
	},
	"subject": eventSubject,
}

// eventSubject says in a few words what an event is about.
func eventSubject(ev tasks.Event) string {
	switch {
	case ev.Data.Task != nil:
		return "#" + itoa(ev.Data.Task.Number) + " " + ev.Data.Task.Title
	case ev.Data.Comment != nil:
		return "comment on #" + itoa(ev.Data.Comment.TaskNumber)
	case ev.Data.User != nil:
		return ev.Data.User.Email
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func asValidation(err error, target **tasks.ValidationError) bool {
	return err != nil && errors.As(err, target)
}
