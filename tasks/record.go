package tasks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// record is the stored form of a Task: one-letter keys, times as Unix
// milliseconds, and nothing that is null, empty or implied. The workspace
// and the number are in the record's key, so they are not repeated; open
// status, medium priority, a creation time equal to the one in the id's
// ULID and an update time equal to the creation time are left out. A million tasks make this the largest part of Redis, so every
// byte here counts (bench/README.md). Records written before it, in the
// wire form, are still read (decodeTask).
type record struct {
	ID           string      `json:"i"` // without the "tsk_" prefix
	Number       int64       `json:"n,omitempty"`
	Title        string      `json:"t"`
	Description  string      `json:"d,omitempty"`
	Status       Status      `json:"s,omitempty"`
	Priority     Priority    `json:"p,omitempty"`
	Type         string      `json:"y,omitempty"`
	Category     string      `json:"k,omitempty"`
	Tags         []string    `json:"g,omitempty"`
	Assignee     *string     `json:"a,omitempty"`
	CreatedBy    string      `json:"b,omitempty"`
	CompletedBy  *string     `json:"cb,omitempty"`
	DueAt        *int64      `json:"u,omitempty"`
	SnoozedUntil *int64      `json:"z,omitempty"`
	RemindBefore *int        `json:"rb,omitempty"`
	ExternalID   *string     `json:"x,omitempty"`
	SourceURL    *string     `json:"l,omitempty"`
	Recurrence   *Recurrence `json:"r,omitempty"`
	SeriesID     *string     `json:"sr,omitempty"`
	CreatedAt    int64       `json:"c,omitempty"` // 0: the time in the id's ULID
	UpdatedAt    int64       `json:"m,omitempty"` // 0: same as CreatedAt
	CompletedAt  *int64      `json:"ca,omitempty"`
	Version      int64       `json:"v,omitempty"` // the version less 1, so 1 is left out
}

const taskIDPrefix = "tsk_"

// toRecord turns t into its stored form. withNumber keeps the number, for
// records that are not under their task's key (events).
func toRecord(t *Task, withNumber bool) record {
	r := record{
		ID: strings.TrimPrefix(t.ID, taskIDPrefix), Title: t.Title, Description: t.Description,
		Type: t.Type, Category: t.Category, Tags: t.Tags, Assignee: t.Assignee,
		CreatedBy: t.CreatedBy, CompletedBy: t.CompletedBy, DueAt: millis(t.DueAt),
		SnoozedUntil: millis(t.SnoozedUntil), RemindBefore: t.RemindBefore, ExternalID: t.ExternalID,
		SourceURL: t.SourceURL, Recurrence: t.Recurrence, SeriesID: t.SeriesID,
		CreatedAt: t.CreatedAt.UnixMilli(), CompletedAt: millis(t.CompletedAt), Version: t.Version - 1,
	}
	if withNumber {
		r.Number = t.Number
	}
	if t.Status != StatusOpen {
		r.Status = t.Status
	}
	if t.Priority != PriorityMedium {
		r.Priority = t.Priority
	}
	if !t.UpdatedAt.Equal(t.CreatedAt) {
		r.UpdatedAt = t.UpdatedAt.UnixMilli()
	}
	if ms, ok := ULIDTime(r.ID); ok && ms == r.CreatedAt {
		r.CreatedAt = 0
	}
	return r
}

// task turns r back into a Task of ws numbered n (0: the number in r).
func (r *record) task(ws WorkspaceID, n int64) Task {
	if n == 0 {
		n = r.Number
	}
	created := r.CreatedAt
	if created == 0 {
		created, _ = ULIDTime(r.ID)
	}
	t := Task{
		ID: taskIDPrefix + r.ID, Number: n, Workspace: ws, Title: r.Title, Description: r.Description,
		Status: r.Status, Priority: r.Priority, Type: r.Type, Category: r.Category, Tags: r.Tags,
		Assignee: r.Assignee, CreatedBy: r.CreatedBy, CompletedBy: r.CompletedBy,
		DueAt: fromMillis(r.DueAt), SnoozedUntil: fromMillis(r.SnoozedUntil), RemindBefore: r.RemindBefore,
		ExternalID: r.ExternalID, SourceURL: r.SourceURL, Recurrence: r.Recurrence, SeriesID: r.SeriesID,
		CreatedAt: time.UnixMilli(created).UTC(), CompletedAt: fromMillis(r.CompletedAt), Version: r.Version + 1,
	}
	if t.Status == "" {
		t.Status = StatusOpen
	}
	if t.Priority == "" {
		t.Priority = PriorityMedium
	}
	if t.Tags == nil { // as the wire form decodes
		t.Tags = []string{}
	}
	t.UpdatedAt = t.CreatedAt
	if r.UpdatedAt != 0 {
		t.UpdatedAt = time.UnixMilli(r.UpdatedAt).UTC()
	}
	return t
}

// encodeTask returns the stored form of t, for its key k.task(t.Number).
// Stored times keep milliseconds, the store clock's precision.
func encodeTask(t *Task) string { return mustJSON(toRecord(t, false)) }

// decodeTask reads a stored task of ws numbered n, in either form: the
// compact record or the wire form of records written before it, which
// always starts with its "id" key.
func decodeTask(raw string, ws WorkspaceID, n int64) (Task, error) {
	if strings.HasPrefix(raw, `{"id":`) {
		var t Task
		err := json.Unmarshal([]byte(raw), &t)
		return t, err
	}
	var r record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return Task{}, fmt.Errorf("tasks: decode task %d: %w", n, err)
	}
	return r.task(ws, n), nil
}

func millis(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func fromMillis(ms *int64) *time.Time {
	if ms == nil {
		return nil
	}
	t := time.UnixMilli(*ms).UTC()
	return &t
}

// eventRecord is the stored form of an Event in the outbox stream, field
// "c": the envelope with short keys, the timestamp as Unix milliseconds, the
// task as its record, and the workspace left to the stream's key. When one
// write emits several events about the same task (task.created and
// task.assigned, task.status_changed and task.completed), only the first
// carries it: the others say SameTask, and the reader takes the task of the
// entry before (resolveTasks). Entries written before this form hold the
// wire form in field "e" (decodeEntry).
type eventRecord struct {
	ID        string  `json:"i"`            // without the "evt_" prefix
	Type      string  `json:"y"`            // eventCodes, or the type itself
	Timestamp int64   `json:"at,omitempty"` // 0: the time in the id's ULID
	Task      *record `json:"t,omitempty"`
	SameTask  bool    `json:"st,omitempty"`
	// ByActor says the task's created_by is the actor's user id, which is
	// then not repeated in the task.
	ByActor bool              `json:"ba,omitempty"`
	Changes map[string][2]any `json:"ch,omitempty"` // field → [from, to]
	Comment *Comment          `json:"cm,omitempty"`
	User    *User             `json:"u,omitempty"`
	Digest  *Digest           `json:"dg,omitempty"`
	Actor   *actorRecord      `json:"a,omitempty"`
	Test    bool              `json:"x,omitempty"`
}

// actorRecord is the stored form of an Actor: the same fields, converted
// to and from it, with short keys.
type actorRecord struct {
	UserID     string `json:"u,omitempty"`
	CliqUserID string `json:"c,omitempty"`
	Via        string `json:"v,omitempty"`
}

const eventIDPrefix = "evt_"

// eventCodes are the stored names of event types. A code is never reused
// or changed: stored events are read with it for 30 days. A type without
// a code is stored by its name.
var eventCodes = map[EventType]string{
	EventTaskCreated: "c", EventTaskUpdated: "u", EventTaskStatusChanged: "s", EventTaskCompleted: "k",
	EventTaskAssigned: "a", EventTaskDeleted: "d", EventTaskReminder: "r", EventTaskOverdue: "o",
	EventCommentCreated: "m", EventUserLinked: "l", EventDailyDigest: "g",
}

// eventTypes reverses eventCodes.
var eventTypes = func() map[string]EventType {
	out := make(map[string]EventType, len(eventCodes))
	for t, c := range eventCodes {
		out[c] = t
	}
	return out
}()

// encodeEvent returns the stored form of ev; sameTask leaves its task to
// the entry stored just before it, which holds the same one.
func encodeEvent(ev *Event, sameTask bool) (string, error) {
	r := eventRecord{
		ID: strings.TrimPrefix(ev.ID, eventIDPrefix), Type: string(ev.Type), Timestamp: ev.Timestamp.UnixMilli(),
		Comment: ev.Data.Comment, User: ev.Data.User, Digest: ev.Data.Digest, Test: ev.Test,
		SameTask: sameTask,
	}
	if c, ok := eventCodes[ev.Type]; ok {
		r.Type = c
	}
	if len(ev.Data.Changes) > 0 {
		r.Changes = make(map[string][2]any, len(ev.Data.Changes))
		for f, c := range ev.Data.Changes {
			r.Changes[f] = [2]any{c.From, c.To}
		}
	}
	if ev.Data.Task != nil && !sameTask {
		t := toRecord(ev.Data.Task, true)
		if t.CreatedBy != "" && t.CreatedBy == ev.Data.Actor.UserID {
			t.CreatedBy, r.ByActor = "", true
		}
		r.Task = &t
	}
	if a := actorRecord(ev.Data.Actor); a != (actorRecord{}) {
		r.Actor = &a
	}
	if ms, ok := ULIDTime(r.ID); ok && ms == r.Timestamp {
		r.Timestamp = 0
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// decodeEvent reads an event of ws stored by encodeEvent. sameTask reports
// that its task is the one of the entry before, still to be filled in.
func decodeEvent(raw string, ws WorkspaceID) (ev Event, sameTask bool, err error) {
	var r eventRecord
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return Event{}, false, err
	}
	at := r.Timestamp
	if at == 0 {
		at, _ = ULIDTime(r.ID)
	}
	ev = Event{
		ID: eventIDPrefix + r.ID, Type: EventType(r.Type), Timestamp: time.UnixMilli(at).UTC(), Workspace: ws, Test: r.Test,
		Data: EventData{Comment: r.Comment, User: r.User, Digest: r.Digest},
	}
	if t, ok := eventTypes[r.Type]; ok {
		ev.Type = t
	}
	if len(r.Changes) > 0 {
		ev.Data.Changes = make(map[string]Change, len(r.Changes))
		for f, c := range r.Changes {
			ev.Data.Changes[f] = Change{From: c[0], To: c[1]}
		}
	}
	if r.Actor != nil {
		ev.Data.Actor = Actor(*r.Actor)
	}
	if r.Task != nil {
		t := r.Task.task(ws, 0)
		if r.ByActor {
			t.CreatedBy = ev.Data.Actor.UserID
		}
		ev.Data.Task = &t
	}
	return ev, r.SameTask, nil
}
