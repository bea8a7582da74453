package tasks_test

import (
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

// TestControlCharactersRefused: C0 and C1 control characters are refused in
// every field (SPEC 6.2), newline and tab in the description excepted. A
// title such as "\x1b]0;pwned\x07" would rewrite the terminal of whoever
// lists it.
func TestControlCharactersRefused(t *testing.T) {
	ok := tasks.Task{Title: "Ship", Status: tasks.StatusOpen, Priority: tasks.PriorityMedium}
	ext := func(s string) *string { return &s }
	for name, c := range map[string]struct {
		change func(*tasks.Task)
		field  string
	}{
		"OSCTitle":         {func(t *tasks.Task) { t.Title = "\x1b]0;pwned\x07" }, "title"},
		"C1Title":          {func(t *tasks.Task) { t.Title = "next\u0085line" }, "title"},
		"DELType":          {func(t *tasks.Task) { t.Type = "bug\x7f" }, "type"},
		"NewlineCategory":  {func(t *tasks.Task) { t.Category = "a\nb" }, "category"},
		"BellDescription":  {func(t *tasks.Task) { t.Description = "ding\a" }, "description"},
		"EscExternalID":    {func(t *tasks.Task) { t.ExternalID = ext("x\x1b[2J") }, "external_id"},
		"NULTag":           {func(t *tasks.Task) { t.Tags = []string{"ops\x00"} }, "tags"},
		"NewlineTitleOnly": {func(t *tasks.Task) { t.Title = "two\nlines" }, "title"},
	} {
		task := ok
		c.change(&task)
		if p := task.Valid(); p[c.field] == "" {
			t.Errorf("%s: Valid() = %v, want %s refused", name, p, c.field)
		}
	}
	multiline := ok
	multiline.Description = "line one\n\tindented"
	if p := multiline.Valid(); len(p) != 0 {
		t.Errorf("description with newline and tab: Valid() = %v, want none", p)
	}
	if got := tasks.CleanText("a\x1b[31mb\u0085c\nd\te", true); got != "a[31mbc\nd\te" {
		t.Errorf("CleanText = %q", got)
	}
	if got := tasks.CleanText("a\nb\tc", false); got != "abc" {
		t.Errorf("CleanText one line = %q", got)
	}
}
