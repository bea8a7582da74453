package bot

import (
	"errors"
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

// TestReadOnPastEmptyPages: a page that comes back empty with a cursor (the
// store's scan stopped at its bound) is followed, so "nothing is overdue"
// is never answered while matches lie further on; the following is bounded.
func TestReadOnPastEmptyPages(t *testing.T) {
	// Pages "", "c1", "c2" are empty with a next cursor; "c3" holds a task.
	calls := 0
	fetch := func(cursor string) ([]tasks.Task, string, error) {
		calls++
		switch cursor {
		case "", "c1", "c2":
			return nil, map[string]string{"": "c1", "c1": "c2", "c2": "c3"}[cursor], nil
		case "c3":
			return []tasks.Task{{Number: 7}}, "c4", nil
		}
		return nil, "", errors.New("unexpected cursor " + cursor)
	}
	page, next, err := readOn(fetch, "")
	if err != nil || len(page) != 1 || page[0].Number != 7 || next != "c4" || calls != 4 {
		t.Fatalf("readOn = %v, %q, %v after %d fetches; want task 7, next c4, after 4", page, next, err, calls)
	}

	// A list that only ever answers empty pages with a cursor ends.
	calls = 0
	endless := func(string) ([]tasks.Task, string, error) { calls++; return nil, "more", nil }
	if page, _, err := readOn(endless, ""); err != nil || len(page) != 0 || calls != maxEmptyPages+1 {
		t.Fatalf("readOn(endless) = %v, %v after %d fetches; want empty after %d", page, err, calls, maxEmptyPages+1)
	}

	// An error stops at once.
	boom := errors.New("redis down")
	calls = 0
	failing := func(string) ([]tasks.Task, string, error) { calls++; return nil, "more", boom }
	if _, _, err := readOn(failing, ""); !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("readOn(failing) = %v after %d fetches; want the error after 1", err, calls)
	}
}
