package tasks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where a task stands. Open means neither completed nor cancelled,
// so in_progress is open too.
type Status string

// The statuses of a task.
const (
	StatusOpen       Status = "open"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusCancelled  Status = "cancelled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusOpen, StatusInProgress, StatusCompleted, StatusCancelled:
		return true
	}
	return false
}

// IsOpen reports whether a task in status s still needs doing.
func (s Status) IsOpen() bool { return s == StatusOpen || s == StatusInProgress }

// Priority orders tasks by urgency.
type Priority string

// The priorities of a task.
const (
	PriorityLow    Priority = "low"
	PriorityMedium Priority = "medium"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool {
	switch p {
	case PriorityLow, PriorityMedium, PriorityHigh, PriorityUrgent:
		return true
	}
	return false
}

// Limits on task fields, in Unicode code points.
const (
	MaxTitle       = 300
	MaxDescription = 10000
	MaxTags        = 20
	MaxTag         = 40
	maxShortField  = 100
	maxURL         = 2048
)

// Task is one thing to do. Its JSON form is the wire form of SPEC 6.2.
type Task struct {
	ID           string      `json:"id"`
	Number       int64       `json:"number"`
	Workspace    WorkspaceID `json:"workspace"`
	Title        string      `json:"title"`
	Description  string      `json:"description"`
	Status       Status      `json:"status"`
	Priority     Priority    `json:"priority"`
	Type         string      `json:"type"`
	Category     string      `json:"category"`
	Tags         []string    `json:"tags"`
	Assignee     *string     `json:"assignee"`
	CreatedBy    string      `json:"created_by"`
	CompletedBy  *string     `json:"completed_by"`
	DueAt        *time.Time  `json:"due_at"`
	SnoozedUntil *time.Time  `json:"snoozed_until"`
	// RemindBefore overrides the deployment's reminder lead for this task, in
	// minutes (the create_task form's remind_before).
	RemindBefore *int    `json:"remind_before"`
	ExternalID   *string `json:"external_id"`
	SourceURL    *string `json:"source_url"`
	// Recurrence makes the task one occurrence of a series (SPEC 6.5);
	// SeriesID is the id of the series' first task, kept when the series ends.
	Recurrence  *Recurrence `json:"recurrence"`
	SeriesID    *string     `json:"series_id"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	CompletedAt *time.Time  `json:"completed_at"`
	Version     int64       `json:"version"`
}

// MarshalJSON writes tags as [] when there are none, like every other
// list: a stored task without tags decodes with nil ones.
func (t Task) MarshalJSON() ([]byte, error) {
	type task Task // no MarshalJSON method: avoids recursion
	if t.Tags == nil {
		t.Tags = []string{}
	}
	return json.Marshal(task(t))
}

// Valid reports what is wrong with t, keyed by field name. An empty map
// means valid. It checks what a client can set; ids and times are the store's.
func (t Task) Valid() map[string]string {
	p := make(map[string]string)
	title := strings.TrimSpace(t.Title)
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		p["title"] = "required"
	case n > MaxTitle:
		p["title"] = fmt.Sprintf("at most %d characters", MaxTitle)
	case hasControl(t.Title, false):
		p["title"] = noControl
	}
	switch {
	case utf8.RuneCountInString(t.Description) > MaxDescription:
		p["description"] = fmt.Sprintf("at most %d characters", MaxDescription)
	case hasControl(t.Description, true):
		p["description"] = "must not contain control characters other than newline and tab"
	}
	if !t.Status.Valid() {
		p["status"] = "must be one of open, in_progress, completed, cancelled"
	}
	if !t.Priority.Valid() {
		p["priority"] = "must be one of low, medium, high, urgent"
	}
	if utf8.RuneCountInString(t.Type) > maxShortField {
		p["type"] = fmt.Sprintf("at most %d characters", maxShortField)
	} else if hasControl(t.Type, false) {
		p["type"] = noControl
	}
	if utf8.RuneCountInString(t.Category) > maxShortField {
		p["category"] = fmt.Sprintf("at most %d characters", maxShortField)
	} else if hasControl(t.Category, false) {
		p["category"] = noControl
	}
	if msg := validTags(t.Tags); msg != "" {
		p["tags"] = msg
	}
	if t.ExternalID != nil && (*t.ExternalID == "" || utf8.RuneCountInString(*t.ExternalID) > 200) {
		p["external_id"] = "1 to 200 characters"
	} else if t.ExternalID != nil && hasControl(*t.ExternalID, false) {
		p["external_id"] = noControl
	}
	if t.SourceURL != nil && !validURL(*t.SourceURL) {
		p["source_url"] = "must be an http or https URL"
	}
	if t.RemindBefore != nil && (*t.RemindBefore < 0 || *t.RemindBefore > 60*24*30) {
		p["remind_before"] = "minutes between 0 and 43200"
	}
	return p
}

// noControl is the problem of a one-line field holding a control character.
const noControl = "must not contain control characters"

func validTags(tags []string) string {
	if len(tags) > MaxTags {
		return fmt.Sprintf("at most %d tags", MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, tag := range tags {
		n := utf8.RuneCountInString(tag)
		if n == 0 || n > MaxTag {
			return fmt.Sprintf("each tag 1 to %d characters", MaxTag)
		}
		if strings.ContainsAny(tag, " \t\r\n,") {
			return "tags may not contain spaces or commas"
		}
		if hasControl(tag, false) {
			return "tags may not contain control characters"
		}
		if seen[tag] {
			return fmt.Sprintf("duplicate tag %q", tag)
		}
		seen[tag] = true
	}
	return ""
}

func validURL(s string) bool {
	if len(s) > maxURL {
		return false
	}
	lower := strings.ToLower(s)
	return (strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://")) && !strings.ContainsAny(s, " \t\r\n")
}

// NormalizeTags lower-cases and trims tags, dropping a leading '#', so
// "#Backend" and "backend" are one tag.
func NormalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, tag := range tags {
		tag = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(tag), "#"))
		out = append(out, tag)
	}
	return out
}

// NewTask is what a client supplies to create a task.
type NewTask struct {
	Title        string     `json:"title"`
	Description  string     `json:"description"`
	Status       Status     `json:"status"`
	Priority     Priority   `json:"priority"`
	Type         string     `json:"type"`
	Category     string     `json:"category"`
	Tags         []string   `json:"tags"`
	Assignee     *string    `json:"assignee"`
	DueAt        *time.Time `json:"due_at"`
	RemindBefore *int       `json:"remind_before"`
	ExternalID   *string    `json:"external_id"`
	SourceURL    *string    `json:"source_url"`
	// Recurrence is a rule in words or an RRULE (SPEC 6.5), read in
	// RecurrenceTimezone, else the store's timezone (TASKER_TIMEZONE).
	Recurrence         *string `json:"recurrence"`
	RecurrenceTimezone *string `json:"recurrence_timezone"`
}

// Optional is a field of a partial update that may be absent, null or set.
type Optional[T any] struct {
	Set   bool // present in the input
	Value *T   // nil when present as null
}

// UnmarshalJSON records presence; a JSON null clears the value.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// Some returns an Optional set to v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: &v} }

// Null returns an Optional that clears the field.
func Null[T any]() Optional[T] { return Optional[T]{Set: true} }

// TaskPatch is a partial update: only fields that are Set change.
type TaskPatch struct {
	Title        Optional[string]    `json:"title"`
	Description  Optional[string]    `json:"description"`
	Status       Optional[Status]    `json:"status"`
	Priority     Optional[Priority]  `json:"priority"`
	Type         Optional[string]    `json:"type"`
	Category     Optional[string]    `json:"category"`
	Tags         Optional[[]string]  `json:"tags"`
	Assignee     Optional[string]    `json:"assignee"`
	DueAt        Optional[time.Time] `json:"due_at"`
	SnoozedUntil Optional[time.Time] `json:"snoozed_until"`
	RemindBefore Optional[int]       `json:"remind_before"`
	ExternalID   Optional[string]    `json:"external_id"`
	SourceURL    Optional[string]    `json:"source_url"`
	// Recurrence sets a new rule (realigning due_at to its first
	// occurrence) or, as null, ends the series.
	Recurrence         Optional[string] `json:"recurrence"`
	RecurrenceTimezone Optional[string] `json:"recurrence_timezone"`
}

// nonNullable lists the patch fields that cannot be cleared with null.
func (p TaskPatch) nullProblems() map[string]string {
	problems := make(map[string]string)
	check := func(name string, set, isNil bool) {
		if set && isNil {
			problems[name] = "may not be null"
		}
	}
	check("title", p.Title.Set, p.Title.Value == nil)
	check("description", p.Description.Set, p.Description.Value == nil)
	check("status", p.Status.Set, p.Status.Value == nil)
	check("priority", p.Priority.Set, p.Priority.Value == nil)
	check("type", p.Type.Set, p.Type.Value == nil)
	check("category", p.Category.Set, p.Category.Value == nil)
	return problems
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}
