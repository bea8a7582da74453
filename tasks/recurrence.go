package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Recurrence is a task's repeat rule on the wire (SPEC 6.2): the rule as an
// RRULE, the timezone its days and times are in, and the rule in words as
// cards show it.
type Recurrence struct {
	Rule     string `json:"rule"`
	Timezone string `json:"timezone"`
	Text     string `json:"text"`
}

// parse reads the stored rule back; a stored rule always parses.
func (r Recurrence) parse() (Rule, *time.Location, error) {
	rule, err := ParseRRULE(r.Rule)
	if err != nil {
		return Rule{}, nil, fmt.Errorf("tasks: stored rule %q: %w", r.Rule, err)
	}
	loc, err := loadZone(r.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return rule, loc, nil
}

func newRecurrence(r Rule, loc *time.Location) *Recurrence {
	return &Recurrence{Rule: r.String(), Timezone: loc.String(), Text: r.Text(loc)}
}

// Upcoming returns up to n occurrences of t's series after its due_at, as
// cards list them; none for a task that does not repeat.
func (t Task) Upcoming(n int) []time.Time {
	if t.Recurrence == nil || t.DueAt == nil {
		return nil
	}
	rule, loc, err := t.Recurrence.parse()
	if err != nil {
		return nil
	}
	return rule.Upcoming(*t.DueAt, loc, n)
}

// SetTimezone sets the zone of rules given without one: TASKER_TIMEZONE.
// Without it they are read in UTC. Call it before the store serves writes.
func (s *Store) SetTimezone(loc *time.Location) { s.zone.Store(loc) }

// Timezone returns the zone set with SetTimezone, else UTC.
func (s *Store) Timezone() *time.Location {
	if loc := s.zone.Load(); loc != nil {
		return loc
	}
	return time.UTC
}

// setRule gives t the rule spec, read in zone (else t's current zone, else
// the store's), and moves due_at to the rule's first occurrence at or after
// the later of now and the start of due_at's local day, so "due tomorrow,
// every weekday at 9:30" is tomorrow at 9:30. A rule without a time of day
// takes due_at's, else 17:00. Problems are keyed recurrence and
// recurrence_timezone, naming the part of the rule that is wrong.
func (s *Store) setRule(t *Task, spec string, zone *string, now time.Time) map[string]string {
	loc := s.Timezone()
	switch {
	case zone != nil:
		l, err := loadZone(*zone)
		if err != nil {
			return map[string]string{"recurrence_timezone": "must be an IANA timezone such as Europe/Berlin"}
		}
		loc = l
	case t.Recurrence != nil:
		if l, err := loadZone(t.Recurrence.Timezone); err == nil {
			loc = l
		}
	}
	rule, err := ParseRule(spec, loc)
	if err != nil {
		return map[string]string{"recurrence": err.Error()}
	}
	if rule.Hour < 0 {
		rule.Hour, rule.Minute = 17, 0
		if t.DueAt != nil {
			due := t.DueAt.In(loc)
			rule.Hour, rule.Minute = due.Hour(), due.Minute()
		}
	}
	from := now
	if t.DueAt != nil {
		due := t.DueAt.In(loc)
		if day := time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, loc); day.After(from) {
			from = day
		}
	}
	first, ok := rule.First(from, loc)
	if !ok {
		return map[string]string{"recurrence": "the rule has no occurrence after now"}
	}
	t.DueAt = &first
	t.Recurrence = newRecurrence(rule, loc)
	if t.SeriesID == nil && t.ID != "" {
		t.SeriesID = &t.ID
	}
	return nil
}

// successor builds the occurrence that follows t when t is completed at
// now: due at the rule's first occurrence after the later of t's due_at and
// now (SPEC 6.5). ok is false when the series has ended.
func successor(t *Task, now time.Time) (Task, bool, error) {
	rule, loc, err := t.Recurrence.parse()
	if err != nil {
		return Task{}, false, err
	}
	current := now
	if t.DueAt != nil {
		current = *t.DueAt
	}
	at, rest, ok := rule.Next(current, later(current, now), loc)
	if !ok {
		return Task{}, false, nil
	}
	series := t.SeriesID
	if series == nil {
		series = &t.ID
	}
	return Task{
		ID: newID("tsk_", now), Workspace: t.Workspace,
		Title: t.Title, Description: t.Description, Status: StatusOpen, Priority: t.Priority,
		Type: t.Type, Category: t.Category, Tags: append([]string{}, t.Tags...), Assignee: t.Assignee,
		CreatedBy: t.CreatedBy, DueAt: &at, RemindBefore: t.RemindBefore,
		Recurrence: newRecurrence(rest, loc), SeriesID: series,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}, true, nil
}

// SkipTask moves a recurring task's due_at to its next occurrence after
// the later of due_at and now (SPEC 6.5), clears its snooze and re-arms its
// reminders. Errors: ErrNotFound, *ValidationError (the task does not
// repeat, is not open, or its series has no further occurrence).
func (s *Store) SkipTask(ctx context.Context, ws WorkspaceID, actor Actor, ref string) (Task, error) {
	return s.modify(ctx, ws, actor, ref, nil, func(t *Task, now time.Time) error {
		if t.Recurrence == nil {
			return invalid(map[string]string{"recurrence": fmt.Sprintf("task %d does not repeat", t.Number)})
		}
		if !t.Status.IsOpen() {
			return invalid(map[string]string{"status": "only an open task can be skipped"})
		}
		rule, loc, err := t.Recurrence.parse()
		if err != nil {
			return err
		}
		current := now
		if t.DueAt != nil {
			current = *t.DueAt
		}
		at, rest, ok := rule.Next(current, later(current, now), loc)
		if !ok {
			return invalid(map[string]string{"recurrence": "the series has no occurrence after this one"})
		}
		t.DueAt, t.SnoozedUntil = &at, nil
		t.Recurrence = newRecurrence(rest, loc)
		return nil
	})
}

// Successor returns the occurrence that completing task number n created.
// ErrNotFound when it created none (or that one was deleted).
func (s *Store) Successor(ctx context.Context, ws WorkspaceID, n int64) (Task, error) {
	next, err := s.rdb.HGet(ctx, keysFor(ws).successors(), strconv.FormatInt(n, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return Task{}, ErrNotFound
	}
	if err != nil {
		return Task{}, fmt.Errorf("tasks: successor of %d: %w", n, err)
	}
	return s.GetTask(ctx, ws, next)
}

// patchRule applies the recurrence parts of a patch to t: a rule sets the
// series anew, null ends it (series_id stays), a timezone alone reads the
// current rule in that zone.
func (s *Store) patchRule(t *Task, p TaskPatch, now time.Time) map[string]string {
	zone := p.RecurrenceTimezone.Value
	switch {
	case p.Recurrence.Set && p.Recurrence.Value == nil:
		t.Recurrence = nil
	case p.Recurrence.Set:
		return s.setRule(t, *p.Recurrence.Value, zone, now)
	case p.RecurrenceTimezone.Set && zone != nil && t.Recurrence != nil:
		return s.setRule(t, t.Recurrence.Rule, zone, now)
	case p.RecurrenceTimezone.Set && zone != nil:
		return map[string]string{"recurrence_timezone": "only with recurrence"}
	}
	return nil
}

// addSuccessor adds to x the creation of the occurrence after t, which x
// completes: the task, its indexes, its task.created event, and the
// successors entry whose absence x checks first, so that t's completion
// creates at most one next occurrence however often it is completed. The
// number is taken once per write, into *number, and reused on retries.
func (s *Store) addSuccessor(ctx context.Context, x *tx, t *Task, actor Actor, now time.Time, number *int64) error {
	k := x.k
	done, err := s.rdb.HExists(ctx, k.successors(), strconv.FormatInt(t.Number, 10)).Result()
	if err != nil {
		return fmt.Errorf("tasks: complete %d: %w", t.Number, err)
	}
	if done {
		return nil
	}
	next, ok, err := successor(t, now)
	if err != nil || !ok {
		return err
	}
	if *number == 0 {
		if *number, err = s.rdb.Incr(ctx, k.seq()).Result(); err != nil {
			return fmt.Errorf("tasks: complete %d: %w", t.Number, err)
		}
	}
	next.Number = *number
	x.op("heq", k.successors(), t.Number, "")
	x.op("eq", k.task(next.Number), "", "")
	x.op("set", k.task(next.Number), encodeTask(&next), "")
	x.op("hset", k.taskIDs(), next.ID, next.Number)
	x.op("hset", k.successors(), t.Number, next.Number)
	indexOps(x, s.ReminderLead(), nil, &next)
	x.emit(s.newEvent(x.ws, EventTaskCreated, now, EventData{Task: &next, Actor: actor}))
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
