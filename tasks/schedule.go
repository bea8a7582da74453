package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultReminderLead is how long before due_at a reminder fires for tasks
// without remind_before, unless SetReminderLead says otherwise: the default
// of TASKER_REMINDER_LEAD.
const DefaultReminderLead = time.Hour

// SetReminderLead sets the deployment's reminder lead (TASKER_REMINDER_LEAD)
// for tasks without remind_before; a negative lead counts as zero. Call it
// before the store serves writes.
//
// Reminder instants are computed when a task is written, so a new lead
// re-arms only tasks whose due date, snooze, remind_before or status change
// after it; entries already armed keep the instant they were armed with.
func (s *Store) SetReminderLead(d time.Duration) {
	d = max(d, 0)
	s.lead.Store(&d)
}

// ReminderLead returns the deployment's reminder lead.
func (s *Store) ReminderLead() time.Duration {
	if d := s.lead.Load(); d != nil {
		return *d
	}
	return DefaultReminderLead
}

// Alert is what the scheduler sends about a task that falls due.
type Alert string

// The alerts of SPEC 9: task.reminder before due_at, task.overdue after.
const (
	AlertReminder Alert = "reminder"
	AlertOverdue  Alert = "overdue"
)

// Fired is one schedule entry that a FireDue call claimed.
type Fired struct {
	Alert Alert
	// Task is the task's number.
	Task int64
	// At is the instant the entry fell due: due_at − lead for a reminder,
	// due_at for an overdue alert, or snoozed_until when that is later.
	At time.Time
	// Event is the id of the emitted task.reminder or task.overdue, or ""
	// when the entry was dropped: its task no longer exists, is no longer
	// open or has no due date. (A reminder whose task is already overdue is
	// not dropped: its entry emits the overdue alert instead.)
	Event string
}

// scheduleMemberships lists the scheduler's entries of t: an open task with
// a due date waits in schedAlert for its reminder, and in its assignee's
// schedAssignee for digests. Snoozing holds both alerts until snoozed_until.
func scheduleMemberships(k keys, t *Task, lead time.Duration) []membership {
	if t.DueAt == nil || !t.Status.IsOpen() {
		return nil
	}
	if t.RemindBefore != nil {
		lead = time.Duration(*t.RemindBefore) * time.Minute
	}
	remind := t.DueAt.Add(-lead).Unix()
	if t.SnoozedUntil != nil {
		remind = max(remind, t.SnoozedUntil.Unix())
	}
	out := []membership{{key: k.schedAlert(), score: remind}}
	if t.Assignee != nil {
		out = append(out, membership{key: k.schedAssignee(*t.Assignee), score: t.DueAt.Unix()})
	}
	return out
}

// overdueAt is the instant (Unix seconds) t's overdue alert falls due: its
// due time, or snoozed_until when that is later.
func overdueAt(t *Task) int64 {
	at := t.DueAt.Unix()
	if t.SnoozedUntil != nil {
		at = max(at, t.SnoozedUntil.Unix())
	}
	return at
}

// FireDue claims up to limit alerts of ws that are due at now and emits
// their events. Each claim is one script call that checks the entry still
// has the score it was read with and appends the event, so any number of
// concurrent callers, on clocks however skewed, emit each (task, instant) at
// most once. An entry whose task is overdue at now emits task.overdue and
// leaves the set, so a reminder the sweep reaches only after due_at gives
// way to the overdue alert; one before due_at emits task.reminder and moves
// to the overdue instant. data.task is the task exactly as stored: a claim
// whose task changed since it was read fails and is retried on the next call.
//
// more reports that a batch was full and this call made progress: call
// again for the rest. A sweep's cost grows with what is due, not with the
// number of tasks.
func (s *Store) FireDue(ctx context.Context, ws WorkspaceID, now time.Time, limit int) (fired []Fired, more bool, err error) {
	k := keysFor(ws)
	now = now.UTC().Truncate(time.Millisecond)
	entries, legacyFull, err := s.dueEntries(ctx, ws, now, limit)
	if err != nil {
		return nil, false, err
	}
	if len(entries) == 0 {
		return nil, legacyFull, nil
	}
	raws, err := s.taskJSON(ctx, k, entries)
	if err != nil {
		return nil, false, err
	}
	txs := make([]*tx, 0, len(entries))
	cands := make([]Fired, 0, len(entries))
	for _, e := range entries {
		n := mustInt(e.Member.(string))
		f := Fired{Alert: AlertReminder, Task: n, At: time.Unix(int64(e.Score), 0).UTC()}
		x := newTx(ws)
		x.op("zscore", k.schedAlert(), n, int64(e.Score))
		raw := raws[n]
		t, err := decodeTask(raw, ws, n)
		switch {
		case raw == "" || err != nil || !t.Status.IsOpen() || t.DueAt == nil:
			// Gone or not due any more: drop the stray entry.
			x.op("zrem", k.schedAlert(), n, "")
		case overdueAt(&t) <= now.Unix():
			x.op("eq", k.task(n), raw, "")
			x.op("zrem", k.schedAlert(), n, "")
			f.Alert, f.At = AlertOverdue, time.Unix(overdueAt(&t), 0).UTC()
			ev := s.newEvent(ws, EventTaskOverdue, now, EventData{Task: &t})
			x.emit(ev)
			f.Event = ev.ID
		default:
			x.op("eq", k.task(n), raw, "")
			x.op("zadd", k.schedAlert(), overdueAt(&t), n)
			ev := s.newEvent(ws, EventTaskReminder, now, EventData{Task: &t})
			x.emit(ev)
			f.Event = ev.ID
		}
		txs, cands = append(txs, x), append(cands, f)
	}
	outs, err := s.applyAll(ctx, ws, txs)
	if err != nil {
		return nil, false, fmt.Errorf("tasks: fire due: %w", err)
	}
	for i, out := range outs {
		if out.failed < 0 {
			fired = append(fired, cands[i])
		}
	}
	return fired, legacyFull || (len(entries) == limit && len(fired) > 0), nil
}

// dueEntries reads the entries of schedAlert due at now, earliest first, at
// most limit. Entries of the two sets it replaced that are due are first
// moved into it (moveLegacyAlerts); legacyFull reports that there may be
// more of those to move.
func (s *Store) dueEntries(ctx context.Context, ws WorkspaceID, now time.Time, limit int) (entries []redis.Z, legacyFull bool, err error) {
	k := keysFor(ws)
	by := &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.Unix(), 10), Count: int64(limit)}
	var ac, oc, rc *redis.ZSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ac = p.ZRangeByScoreWithScores(ctx, k.schedAlert(), by)
		oc = p.ZRangeByScoreWithScores(ctx, k.schedOverdue(), by)
		rc = p.ZRangeByScoreWithScores(ctx, k.schedRemind(), by)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("tasks: due entries: %w", err)
	}
	if len(oc.Val())+len(rc.Val()) == 0 {
		return ac.Val(), false, nil
	}
	if err := s.moveLegacyAlerts(ctx, ws, oc.Val(), rc.Val()); err != nil {
		return nil, false, err
	}
	entries, err = s.rdb.ZRangeByScoreWithScores(ctx, k.schedAlert(), by).Result()
	if err != nil {
		return nil, false, fmt.Errorf("tasks: due entries: %w", err)
	}
	return entries, len(oc.Val()) == limit || len(rc.Val()) == limit, nil
}

// moveLegacyAlerts moves due entries of schedOverdue and schedRemind into
// schedAlert, each task's in one script call checked against the scores
// read. A task in both keeps the overdue instant: its reminder would give
// way to the overdue alert anyway.
func (s *Store) moveLegacyAlerts(ctx context.Context, ws WorkspaceID, overdue, reminders []redis.Z) error {
	k := keysFor(ws)
	var txs []*tx
	seen := make(map[string]bool, len(overdue))
	move := func(set string, e redis.Z) {
		m := e.Member.(string)
		if seen[m] {
			return
		}
		seen[m] = true
		x := newTx(ws)
		x.op("zscore", set, m, int64(e.Score))
		x.op("zrem", k.schedOverdue(), m, "")
		x.op("zrem", k.schedRemind(), m, "")
		x.op("zadd", k.schedAlert(), int64(e.Score), m)
		txs = append(txs, x)
	}
	for _, e := range overdue {
		move(k.schedOverdue(), e)
	}
	for _, e := range reminders {
		move(k.schedRemind(), e)
	}
	if _, err := s.applyAll(ctx, ws, txs); err != nil {
		return fmt.Errorf("tasks: move legacy alerts: %w", err)
	}
	return nil
}

// taskJSON reads the stored JSON of the entries' tasks by number; a missing
// task reads as "".
func (s *Store) taskJSON(ctx context.Context, k keys, entries []redis.Z) (map[int64]string, error) {
	out := make(map[int64]string, len(entries))
	var nums []int64
	var taskKeys []string
	for _, e := range entries {
		n := mustInt(e.Member.(string))
		if _, ok := out[n]; !ok {
			out[n] = ""
			nums = append(nums, n)
			taskKeys = append(taskKeys, k.task(n))
		}
	}
	vals, err := s.mget(ctx, taskKeys)
	if err != nil {
		return nil, fmt.Errorf("tasks: read due tasks: %w", err)
	}
	for i, n := range nums {
		out[n] = vals[i]
	}
	return out, nil
}

// applyAll runs each tx as its own script call and returns their outcomes
// in order. The calls go in pipelines of pipelineSize, up to
// pipelinesInFlight at once, so encoding the next chunk overlaps Redis
// running the last. The pipelines carry EVALSHA only; when the server has
// lost the script it is loaded again and the calls it refused are sent once
// more.
func (s *Store) applyAll(ctx context.Context, ws WorkspaceID, txs []*tx) ([]outcome, error) {
	if len(txs) == 0 {
		return nil, nil
	}
	if err := s.register(ctx, ws); err != nil {
		return nil, err
	}
	outs := make([]outcome, len(txs))
	argv := make([][]any, len(txs))
	pending := make([]int, len(txs))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := applyScript.Load(ctx, s.rdb).Err(); err != nil {
				return nil, err
			}
		}
		var (
			mu      sync.Mutex
			refused []int
			errs    []error
			wg      sync.WaitGroup
			slots   = make(chan struct{}, pipelinesInFlight)
		)
		for start := 0; start < len(pending); start += pipelineSize {
			chunk := pending[start:min(start+pipelineSize, len(pending))]
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				r, err := s.applyChunk(ctx, txs, argv, chunk, outs, attempt == 0)
				mu.Lock()
				defer mu.Unlock()
				refused = append(refused, r...)
				if err != nil {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		pending = refused
	}
	return outs, nil
}

// applyChunk sends the txs at idx in one pipeline and writes their outcomes
// into outs. It returns the calls refused for want of the script when
// retry allows another attempt.
func (s *Store) applyChunk(ctx context.Context, txs []*tx, argv [][]any, idx []int, outs []outcome, retry bool) (refused []int, err error) {
	for _, i := range idx {
		if argv[i] == nil { // sealed once: sealing appends the events
			if argv[i], err = s.seal(txs[i]); err != nil {
				return nil, err
			}
		}
	}
	cmds := make([]*redis.Cmd, len(idx))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for j, i := range idx {
			cmds[j] = applyScript.EvalSha(ctx, p, txs[i].keys, argv[i]...)
		}
		return nil
	})
	for j, i := range idx {
		res, err := cmds[j].StringSlice()
		switch {
		case retry && redis.HasErrorPrefix(err, "NOSCRIPT"):
			refused = append(refused, i)
			continue
		case err != nil:
			return nil, err
		}
		if outs[i], err = decodeOutcome(res); err != nil {
			return nil, err
		}
	}
	return refused, nil
}

// pipelineSize bounds the script calls sent in one pipeline, so a large
// batch streams instead of buffering every reply at once.
const pipelineSize = 250

// pipelinesInFlight bounds the pipelines one applyAll keeps open.
const pipelinesInFlight = 4
