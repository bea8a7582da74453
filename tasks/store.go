package tasks

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// EventRetention is how long the event log keeps events.
const EventRetention = 30 * 24 * time.Hour

// idempotencyTTL is how long an Idempotency-Key is remembered.
const idempotencyTTL = 24 * time.Hour

// maxRetries bounds optimistic-concurrency retries of writes that did not
// ask for a specific version: beyond it the key is too hot to win.
const maxRetries = 8

//go:embed apply.lua
var applySource string

var applyScript = redis.NewScript(applySource)

//go:embed userbycliq.lua
var userByCliqSource string

var userByCliqScript = redis.NewScript(userByCliqSource)

// Store keeps tasks, users, comments and events in Redis. Every write stores
// its records and its events in one atomic script call: an acknowledged
// write always has its events in the outbox stream, a failed one has none.
type Store struct {
	rdb   redis.UniversalClient
	now   func() time.Time
	known sync.Map // WorkspaceID → struct{}: already in workspacesKey
	// openDue holds the workspaces whose open-due index is known built
	// (buildOpenDue), so a list asks Redis once per process, not per call.
	openDue sync.Map
	// lead is the deployment's reminder lead (SetReminderLead); nil means
	// DefaultReminderLead.
	lead atomic.Pointer[time.Duration]
	// zone is the timezone of rules given without one (SetTimezone).
	zone atomic.Pointer[time.Location]
}

// NewStore returns a store on rdb. now is the clock (time.Now outside tests).
func NewStore(rdb redis.UniversalClient, now func() time.Time) *Store {
	return &Store{rdb: rdb, now: now}
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// clock returns the current time in UTC at millisecond precision, the
// precision that survives a JSON round trip of every stored time.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// tx collects the checks, writes and events of one atomic write.
type tx struct {
	ws     WorkspaceID
	k      keys
	keys   []string
	index  map[string]int
	ops    []any
	n      int
	events []Event
}

func newTx(ws WorkspaceID) *tx { return newTxSized(ws, 0) }

// newTxSized is newTx for a write of about ops operations, most on keys of
// their own (a create: one per index entry), so its slices and map are
// allocated once instead of grown step by step.
func newTxSized(ws WorkspaceID, ops int) *tx {
	return &tx{
		ws: ws, k: keysFor(ws), index: make(map[string]int, ops),
		keys: make([]string, 0, ops), ops: make([]any, 0, 4*ops+4),
	}
}

// op appends one operation of apply.lua and returns its position, which a
// failed check reports back.
func (t *tx) op(name, key string, a, b any) int {
	t.ops = append(t.ops, name, t.keyIndex(key), a, b)
	t.n++
	return t.n - 1
}

// keyIndex returns key's position in KEYS (from 1), adding it if new.
func (t *tx) keyIndex(key string) int {
	i, ok := t.index[key]
	if !ok {
		t.keys = append(t.keys, key)
		i = len(t.keys)
		t.index[key] = i
	}
	return i
}

// emit adds an event to the write's outbox entries.
func (t *tx) emit(ev Event) { t.events = append(t.events, ev) }

// outcome is what apply.lua answered.
type outcome struct {
	failed int    // index of the failed check, -1 when none failed
	replay string // stored answer of an idempotent replay
}

// commit runs t as one script call.
func (s *Store) commit(ctx context.Context, t *tx) (outcome, error) {
	if err := s.register(ctx, t.ws); err != nil {
		return outcome{}, err
	}
	args, err := s.seal(t)
	if err != nil {
		return outcome{}, err
	}
	res, err := applyScript.Run(ctx, s.rdb, t.keys, args...).StringSlice()
	if err != nil {
		return outcome{}, fmt.Errorf("tasks: write: %w", err)
	}
	return decodeOutcome(res)
}

// decodeOutcome reads apply.lua's answer.
func decodeOutcome(res []string) (outcome, error) {
	switch {
	case len(res) == 1 && res[0] == "ok":
		return outcome{failed: -1}, nil
	case len(res) == 2 && res[0] == "fail":
		i, _ := strconv.Atoi(res[1])
		return outcome{failed: i}, nil
	case len(res) == 2 && res[0] == "idem":
		return outcome{failed: -1, replay: res[1]}, nil
	}
	return outcome{}, fmt.Errorf("tasks: write: unexpected script answer %q", res)
}

// seal appends t's events as xadd operations and returns the script's ARGV.
func (s *Store) seal(t *tx) ([]any, error) {
	if len(t.events) > 0 {
		minID := fmt.Sprintf("%d-0", s.now().Add(-EventRetention).UnixMilli())
		for i := range t.events {
			// Entries of one script call are adjacent in the stream.
			same := i > 0 && sameTask(t.events[i-1].Data.Task, t.events[i].Data.Task)
			raw, err := encodeEvent(&t.events[i], same)
			if err != nil {
				return nil, fmt.Errorf("tasks: encode event: %w", err)
			}
			t.op("xadd", t.k.events(), raw, minID)
		}
		// Wakes the dispatcher at once; it also polls, so a notice nobody
		// hears only delays. Inside the script it costs no round trip.
		t.op("publish", t.k.events(), eventsChannel, string(t.ws))
	}
	return append([]any{t.n}, t.ops...), nil
}

// sameTask reports whether two events carry the same task.
func sameTask(a, b *Task) bool {
	return a != nil && b != nil && (a == b || reflect.DeepEqual(*a, *b))
}

// register records ws in the set of workspaces once per process.
func (s *Store) register(ctx context.Context, ws WorkspaceID) error {
	if err := ws.Valid(); err != nil {
		return err
	}
	if _, ok := s.known.Load(ws); ok {
		return nil
	}
	if err := s.rdb.SAdd(ctx, workspacesKey, string(ws)).Err(); err != nil {
		return fmt.Errorf("tasks: register workspace: %w", err)
	}
	s.known.Store(ws, struct{}{})
	return nil
}

// Workspaces lists every workspace that has been written to.
func (s *Store) Workspaces(ctx context.Context) ([]WorkspaceID, error) {
	names, err := s.rdb.SMembers(ctx, workspacesKey).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: workspaces: %w", err)
	}
	out := make([]WorkspaceID, len(names))
	for i, n := range names {
		out[i] = WorkspaceID(n)
	}
	return out, nil
}

// newEvent builds an event envelope stamped now.
func (s *Store) newEvent(ws WorkspaceID, typ EventType, now time.Time, data EventData) Event {
	return Event{ID: newID("evt_", now), Type: typ, Timestamp: now, Workspace: ws, Data: data}
}

// getJSON reads key into v and returns the raw value for a later eq check.
func (s *Store) getJSON(ctx context.Context, key string, v any) (string, error) {
	raw, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return "", fmt.Errorf("decode %s: %w", key, err)
	}
	return raw, nil
}

func isNil(err error) bool { return errors.Is(err, redis.Nil) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs reach here; failing to encode them is a bug.
		panic(fmt.Sprintf("tasks: encode %T: %v", v, err))
	}
	return string(b)
}
