package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Idempotency identifies a create that a client may send more than once.
// Hash is a digest of the request body: the same key with another body is a
// conflict, not a replay.
type Idempotency struct {
	Key  string
	Hash string
}

type idemRecord struct {
	Hash string          `json:"h"`
	Body json.RawMessage `json:"b"`
}

// CreateTask stores a new task with the next number of the workspace and
// emits task.created (and task.assigned when it has an assignee). With idem
// set, a repeat of the same request within 24 h returns the first task and
// replayed=true. Errors: *ValidationError, ErrConflict (idempotency key reused
// with another body, or external id taken).
func (s *Store) CreateTask(ctx context.Context, ws WorkspaceID, actor Actor, in NewTask, idem *Idempotency) (t Task, replayed bool, err error) {
	k := keysFor(ws)
	if idem != nil {
		if t, ok, err := s.replay(ctx, k.idem(idem.Key), idem.Hash); ok || err != nil {
			return t, ok, err
		}
	}
	now := s.clock()
	t = Task{
		Workspace: ws, Title: strings.TrimSpace(in.Title), Description: in.Description,
		Status: in.Status, Priority: in.Priority, Type: in.Type, Category: in.Category,
		Tags: NormalizeTags(in.Tags), DueAt: utc(in.DueAt), RemindBefore: in.RemindBefore,
		ExternalID: in.ExternalID, SourceURL: in.SourceURL,
		CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if t.Status == "" {
		t.Status = StatusOpen
	}
	if t.Priority == "" {
		t.Priority = PriorityMedium
	}
	problems := t.Valid()
	if in.Assignee != nil {
		id, err := s.resolveUser(ctx, ws, *in.Assignee)
		switch {
		case errors.Is(err, ErrNotFound):
			problems["assignee"] = "no such user"
		case err != nil:
			return Task{}, false, err
		default:
			t.Assignee = &id
		}
	}
	switch {
	case in.Recurrence != nil:
		for k, v := range s.setRule(&t, *in.Recurrence, in.RecurrenceTimezone, now) {
			problems[k] = v
		}
	case in.RecurrenceTimezone != nil:
		problems["recurrence_timezone"] = "only with recurrence"
	}
	if err := invalid(problems); err != nil {
		return Task{}, false, err
	}
	if t.Status == StatusCompleted {
		t.CompletedAt, t.CompletedBy = &now, nilIfEmpty(actor.UserID)
	}
	n, err := s.rdb.Incr(ctx, k.seq()).Result()
	if err != nil {
		return Task{}, false, fmt.Errorf("tasks: create: %w", err)
	}
	t.ID, t.Number = newID("tsk_", now), n
	if t.Recurrence != nil {
		t.SeriesID = &t.ID
	}
	body := encodeTask(&t)

	// Two ops per index entry (the entry and its directory), a dozen more.
	x := newTxSized(ws, 2*(len(t.Tags)+maxIndexedWords/4)+12)
	if idem != nil {
		x.op("idem", k.idem(idem.Key), "", "")
	}
	x.op("eq", k.task(n), "", "")
	extCheck := -1
	if t.ExternalID != nil {
		extCheck = x.op("hfree", k.externalIDs(), *t.ExternalID, "")
		x.op("hset", k.externalIDs(), *t.ExternalID, n)
	}
	x.op("set", k.task(n), body, "")
	x.op("hset", k.taskIDs(), t.ID, n)
	indexOps(x, s.ReminderLead(), nil, &t)
	if idem != nil {
		x.op("set", k.idem(idem.Key), mustJSON(idemRecord{Hash: idem.Hash, Body: json.RawMessage(mustJSON(t))}), int(idempotencyTTL/time.Second))
	}
	x.emit(s.newEvent(ws, EventTaskCreated, now, EventData{Task: &t, Actor: actor}))
	if t.Assignee != nil {
		x.emit(s.newEvent(ws, EventTaskAssigned, now, EventData{
			Task: &t, Actor: actor, Changes: map[string]Change{"assignee": {From: nil, To: *t.Assignee}},
		}))
	}
	out, err := s.commit(ctx, x)
	if err != nil {
		return Task{}, false, err
	}
	switch {
	case out.replay != "":
		return decodeReplay(out.replay, idem.Hash)
	case out.failed < 0:
		return t, false, nil
	case out.failed == extCheck:
		return Task{}, false, conflict(fmt.Sprintf("external_id %q is already used by another task", *t.ExternalID))
	}
	return Task{}, false, fmt.Errorf("tasks: create: number %d already taken", n)
}

func (s *Store) replay(ctx context.Context, key, hash string) (Task, bool, error) {
	raw, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return Task{}, false, nil
	}
	if err != nil {
		return Task{}, false, fmt.Errorf("tasks: idempotency: %w", err)
	}
	return decodeReplay(raw, hash)
}

func decodeReplay(raw, hash string) (Task, bool, error) {
	var rec idemRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return Task{}, false, fmt.Errorf("tasks: idempotency record: %w", err)
	}
	if rec.Hash != hash {
		return Task{}, false, conflict("Idempotency-Key was already used with a different request body")
	}
	var t Task
	if err := json.Unmarshal(rec.Body, &t); err != nil {
		return Task{}, false, fmt.Errorf("tasks: idempotency record: %w", err)
	}
	return t, true, nil
}

// GetTask returns the task whose id ("tsk_…") or number ("42", "#42") is ref.
func (s *Store) GetTask(ctx context.Context, ws WorkspaceID, ref string) (Task, error) {
	t, _, err := s.getTask(ctx, ws, ref)
	return t, err
}

// TaskByExternalID returns the task created with that external id.
func (s *Store) TaskByExternalID(ctx context.Context, ws WorkspaceID, externalID string) (Task, error) {
	n, err := s.rdb.HGet(ctx, keysFor(ws).externalIDs(), externalID).Int64()
	if errors.Is(err, redis.Nil) {
		return Task{}, ErrNotFound
	}
	if err != nil {
		return Task{}, fmt.Errorf("tasks: get by external id: %w", err)
	}
	return s.GetTask(ctx, ws, strconv.FormatInt(n, 10))
}

func (s *Store) getTask(ctx context.Context, ws WorkspaceID, ref string) (Task, string, error) {
	k := keysFor(ws)
	n, err := s.taskNumber(ctx, k, ref)
	if err != nil {
		return Task{}, "", err
	}
	raw, err := s.rdb.Get(ctx, k.task(n)).Result()
	if errors.Is(err, redis.Nil) {
		return Task{}, "", ErrNotFound
	}
	if err != nil {
		return Task{}, "", fmt.Errorf("tasks: get task %s: %w", ref, err)
	}
	t, err := decodeTask(raw, ws, n)
	if err != nil {
		return Task{}, "", fmt.Errorf("tasks: get task %s: %w", ref, err)
	}
	return t, raw, nil
}

func (s *Store) taskNumber(ctx context.Context, k keys, ref string) (int64, error) {
	ref = strings.TrimPrefix(strings.TrimSpace(ref), "#")
	if strings.HasPrefix(ref, "tsk_") {
		n, err := s.rdb.HGet(ctx, k.taskIDs(), ref).Int64()
		if errors.Is(err, redis.Nil) {
			return 0, ErrNotFound
		}
		if err != nil {
			return 0, fmt.Errorf("tasks: get task %s: %w", ref, err)
		}
		return n, nil
	}
	n, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrNotFound
	}
	return n, nil
}

// UpdateTask applies patch to the task ref. With ifMatch set, the write
// happens only if the task's version is still that one (ErrConflict
// otherwise); without it, a concurrent write is retried on the new state.
// A patch that changes nothing returns the task as it is, without events.
func (s *Store) UpdateTask(ctx context.Context, ws WorkspaceID, actor Actor, ref string, patch TaskPatch, ifMatch *int64) (Task, error) {
	if err := invalid(patch.nullProblems()); err != nil {
		return Task{}, err
	}
	var assignee *string
	if patch.Assignee.Set && patch.Assignee.Value != nil {
		id, err := s.resolveUser(ctx, ws, *patch.Assignee.Value)
		if errors.Is(err, ErrNotFound) {
			return Task{}, invalid(map[string]string{"assignee": "no such user"})
		}
		if err != nil {
			return Task{}, err
		}
		assignee = &id
	}
	return s.modify(ctx, ws, actor, ref, ifMatch, func(t *Task, now time.Time) error {
		applyPatch(t, patch, assignee)
		problems := t.Valid()
		for k, v := range s.patchRule(t, patch, now) {
			problems[k] = v
		}
		return invalid(problems)
	})
}

// CompleteTask marks the task completed; completing a completed task changes nothing.
func (s *Store) CompleteTask(ctx context.Context, ws WorkspaceID, actor Actor, ref string) (Task, error) {
	return s.modify(ctx, ws, actor, ref, nil, func(t *Task, now time.Time) error {
		t.Status = StatusCompleted
		return nil
	})
}

// ReopenTask puts a completed or cancelled task back to open.
func (s *Store) ReopenTask(ctx context.Context, ws WorkspaceID, actor Actor, ref string) (Task, error) {
	return s.modify(ctx, ws, actor, ref, nil, func(t *Task, now time.Time) error {
		if !t.Status.IsOpen() {
			t.Status = StatusOpen
		}
		return nil
	})
}

// SnoozeTask holds the task's reminders until until, which must be in the future.
func (s *Store) SnoozeTask(ctx context.Context, ws WorkspaceID, actor Actor, ref string, until time.Time) (Task, error) {
	return s.modify(ctx, ws, actor, ref, nil, func(t *Task, now time.Time) error {
		if !until.After(now) {
			return invalid(map[string]string{"until": "must be in the future"})
		}
		t.SnoozedUntil = utc(&until)
		return nil
	})
}

// modify reads the task, lets change edit a copy, and writes it back with
// the events its changes call for, retrying when another write got there first.
func (s *Store) modify(ctx context.Context, ws WorkspaceID, actor Actor, ref string, ifMatch *int64, change func(t *Task, now time.Time) error) (Task, error) {
	k := keysFor(ws)
	var nextNumber int64 // taken once, kept across retries
	for range maxRetries {
		old, raw, err := s.getTask(ctx, ws, ref)
		if err != nil {
			return Task{}, err
		}
		if ifMatch != nil && *ifMatch != old.Version {
			return Task{}, conflict(fmt.Sprintf("task %d is at version %d, not %d", old.Number, old.Version, *ifMatch))
		}
		now := s.clock()
		t := old
		t.Tags = append([]string(nil), old.Tags...)
		if err := change(&t, now); err != nil {
			return Task{}, err
		}
		settleCompletion(&old, &t, actor, now)
		changes := diff(&old, &t)
		if len(changes) == 0 {
			return old, nil
		}
		t.Version, t.UpdatedAt = old.Version+1, now

		x := newTx(ws)
		x.op("eq", k.task(t.Number), raw, "")
		extCheck := -1
		if !reflect.DeepEqual(old.ExternalID, t.ExternalID) {
			if old.ExternalID != nil {
				x.op("hdel", k.externalIDs(), *old.ExternalID, "")
			}
			if t.ExternalID != nil {
				extCheck = x.op("hfree", k.externalIDs(), *t.ExternalID, t.Number)
				x.op("hset", k.externalIDs(), *t.ExternalID, t.Number)
			}
		}
		x.op("set", k.task(t.Number), encodeTask(&t), "")
		indexOps(x, s.ReminderLead(), &old, &t)
		for _, ev := range changeEvents(&t, changes, actor) {
			x.emit(s.newEvent(ws, ev.typ, now, ev.data))
		}
		if old.Status != StatusCompleted && t.Status == StatusCompleted && t.Recurrence != nil {
			if err := s.addSuccessor(ctx, x, &t, actor, now, &nextNumber); err != nil {
				return Task{}, err
			}
		}
		out, err := s.commit(ctx, x)
		if err != nil {
			return Task{}, err
		}
		switch {
		case out.failed < 0:
			return t, nil
		case out.failed == extCheck:
			return Task{}, conflict(fmt.Sprintf("external_id %q is already used by another task", *t.ExternalID))
		}
	}
	return Task{}, conflict("task is being changed by others; try again")
}

// settleCompletion keeps completed_at and completed_by in step with status.
func settleCompletion(old, t *Task, actor Actor, now time.Time) {
	switch {
	case t.Status == StatusCompleted && old.Status != StatusCompleted:
		t.CompletedAt, t.CompletedBy = &now, nilIfEmpty(actor.UserID)
	case t.Status != StatusCompleted:
		t.CompletedAt, t.CompletedBy = nil, nil
	}
}

// DeleteTask removes the task, its comments and its index entries, and
// emits task.deleted carrying the task as it was.
func (s *Store) DeleteTask(ctx context.Context, ws WorkspaceID, actor Actor, ref string) error {
	return s.DeleteTaskIf(ctx, ws, actor, ref, nil)
}

// DeleteTaskIf is DeleteTask that, with ifMatch set, deletes only while the
// task is still at that version (ErrConflict otherwise).
func (s *Store) DeleteTaskIf(ctx context.Context, ws WorkspaceID, actor Actor, ref string, ifMatch *int64) error {
	k := keysFor(ws)
	for range maxRetries {
		old, raw, err := s.getTask(ctx, ws, ref)
		if err != nil {
			return err
		}
		if ifMatch != nil && *ifMatch != old.Version {
			return conflict(fmt.Sprintf("task %d is at version %d, not %d", old.Number, old.Version, *ifMatch))
		}
		now := s.clock()
		x := newTx(ws)
		x.op("eq", k.task(old.Number), raw, "")
		x.op("del", k.task(old.Number), "", "")
		x.op("hdel", k.taskIDs(), old.ID, "")
		if old.ExternalID != nil {
			x.op("hdel", k.externalIDs(), *old.ExternalID, "")
		}
		x.op("del", k.comments(old.Number), "", "")
		x.op("hdel", k.successors(), old.Number, "")
		indexOps(x, s.ReminderLead(), &old, nil)
		x.emit(s.newEvent(ws, EventTaskDeleted, now, EventData{Task: &old, Actor: actor}))
		out, err := s.commit(ctx, x)
		if err != nil {
			return err
		}
		if out.failed < 0 {
			return nil
		}
	}
	return conflict("task is being changed by others; try again")
}

// resolveUser turns a user id or an email into a user id of ws.
func (s *Store) resolveUser(ctx context.Context, ws WorkspaceID, ref string) (string, error) {
	u, err := s.GetUser(ctx, ws, ref)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func applyPatch(t *Task, p TaskPatch, assignee *string) {
	set := func(o Optional[string], dst *string) {
		if o.Set && o.Value != nil {
			*dst = *o.Value
		}
	}
	set(p.Title, &t.Title)
	t.Title = strings.TrimSpace(t.Title)
	set(p.Description, &t.Description)
	set(p.Type, &t.Type)
	set(p.Category, &t.Category)
	if p.Status.Set && p.Status.Value != nil {
		t.Status = *p.Status.Value
	}
	if p.Priority.Set && p.Priority.Value != nil {
		t.Priority = *p.Priority.Value
	}
	if p.Tags.Set {
		t.Tags = []string{}
		if p.Tags.Value != nil {
			t.Tags = NormalizeTags(*p.Tags.Value)
		}
	}
	if p.Assignee.Set {
		t.Assignee = assignee
	}
	if p.DueAt.Set {
		t.DueAt = utc(p.DueAt.Value)
	}
	if p.SnoozedUntil.Set {
		t.SnoozedUntil = utc(p.SnoozedUntil.Value)
	}
	if p.RemindBefore.Set {
		t.RemindBefore = p.RemindBefore.Value
	}
	if p.ExternalID.Set {
		t.ExternalID = p.ExternalID.Value
	}
	if p.SourceURL.Set {
		t.SourceURL = p.SourceURL.Value
	}
}
