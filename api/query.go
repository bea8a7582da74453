package api

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// query reads a request's query parameters, collecting every problem by
// parameter name so one 400 lists them all. Parameters nobody asked for are
// problems too, as unknown body fields are: a typo such as "asignee" must
// not silently widen a list.
type query struct {
	values   url.Values
	known    map[string]bool
	problems map[string]string
}

func newQuery(raw string) *query {
	q := &query{known: make(map[string]bool), problems: make(map[string]string)}
	values, err := url.ParseQuery(raw)
	if err != nil {
		q.problems["query"] = "malformed query string"
	}
	q.values = values
	return q
}

// str returns the parameter's single value, "" when absent.
func (q *query) str(name string) string {
	q.known[name] = true
	vs := q.values[name]
	if len(vs) > 1 {
		q.problems[name] = "give at most once"
		return ""
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// time returns the parameter as an RFC 3339 time, nil when absent.
func (q *query) time(name string) *time.Time {
	s := q.str(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.problems[name] = "must be an RFC 3339 time such as 2026-12-01T17:00:00Z"
		return nil
	}
	return &t
}

// limit returns the page size: 1 to tasks.MaxLimit, tasks.DefaultLimit when absent.
func (q *query) limit() int {
	s := q.str("limit")
	if s == "" {
		return tasks.DefaultLimit
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > tasks.MaxLimit {
		q.problems["limit"] = fmt.Sprintf("must be an integer from 1 to %d", tasks.MaxLimit)
		return tasks.DefaultLimit
	}
	return n
}

// err reports the problems found, including parameters never read.
func (q *query) err() error {
	for name := range q.values {
		if !q.known[name] {
			q.problems[name] = "unknown parameter"
		}
	}
	if len(q.problems) == 0 {
		return nil
	}
	return invalidFields(q.problems)
}

// page is the position and size of one page of a list.
type page struct {
	cursor string
	limit  int
}

func (q *query) page() page { return page{cursor: q.str("cursor"), limit: q.limit()} }

// taskQuery is what GET /api/v1/tasks asks for.
type taskQuery struct {
	filter tasks.TaskFilter
	page
}

// parseTaskQuery reads the list parameters of SPEC section 5: status,
// assignee, tag, due_before, due_after, q, limit and cursor.
func parseTaskQuery(raw string) (taskQuery, error) {
	q := newQuery(raw)
	var tq taskQuery
	tq.filter.Status = tasks.Status(q.str("status"))
	if tq.filter.Status != "" && !tq.filter.Status.Valid() {
		q.problems["status"] = "must be one of open, in_progress, completed, cancelled"
	}
	tq.filter.Assignee = q.str("assignee")
	tq.filter.Tag = q.str("tag")
	tq.filter.DueBefore = q.time("due_before")
	tq.filter.DueAfter = q.time("due_after")
	tq.filter.Query = q.str("q")
	tq.page = q.page()
	return tq, q.err()
}

// parsePageQuery reads a list that only pages: limit and cursor.
func parsePageQuery(raw string) (page, error) {
	q := newQuery(raw)
	p := q.page()
	return p, q.err()
}

// eventQuery is what GET /api/v1/events asks for.
type eventQuery struct {
	filter tasks.EventFilter
	page
}

// parseEventQuery reads since, type, limit and cursor.
func parseEventQuery(raw string) (eventQuery, error) {
	q := newQuery(raw)
	var eq eventQuery
	if since := q.time("since"); since != nil {
		eq.filter.Since = *since
	}
	eq.filter.Type = tasks.EventType(q.str("type"))
	if eq.filter.Type != "" && !eq.filter.Type.Valid() {
		q.problems["type"] = "unknown event type; use " + tasks.EventTypeList()
	}
	eq.page = q.page()
	return eq, q.err()
}

// parseIfMatch reads an If-Match header: 3, "3" or W/"3" ask for version
// 3; absent or * ask for none (nil). Anything else is a 400.
func parseIfMatch(h string) (*int64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return nil, nil
	}
	v := strings.TrimPrefix(h, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return nil, badRequest("If-Match must be a task version such as \"3\", or *",
			map[string]string{"If-Match": "must be a version such as \"3\", or *"})
	}
	return &n, nil
}

// maxSnooze bounds a relative snooze: beyond a year, a due date is the tool.
const maxSnooze = 366 * 24 * time.Hour

// parseSnoozeFor reads a snooze length: a Go duration ("90m", "1h30m"), a
// number of days ("2d"), or days then a duration ("1d12h").
func parseSnoozeFor(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 366 {
			return 0, fmt.Errorf("bad days %q", days)
		}
		d = time.Duration(n) * 24 * time.Hour
		s = rest
		if s == "" {
			s = "0s"
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	d += rest
	if d <= 0 || d > maxSnooze || rest < 0 {
		return 0, fmt.Errorf("out of range")
	}
	return d, nil
}
