package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// EventFilter selects events of the log; zero fields do not filter.
type EventFilter struct {
	Since time.Time
	Type  EventType
}

// ListEvents pages through the event log, newest first. The log keeps
// EventRetention of events. cursor is the previous page's next cursor.
func (s *Store) ListEvents(ctx context.Context, ws WorkspaceID, f EventFilter, cursor string, limit int) ([]Event, string, error) {
	limit = ClampLimit(limit)
	if f.Type != "" && !f.Type.Valid() {
		return nil, "", invalid(map[string]string{"type": "unknown event type; use " + EventTypeList()})
	}
	end := "+"
	if cursor != "" {
		id, ok := before(cursor)
		if !ok {
			return nil, "", invalid(map[string]string{"cursor": "invalid"})
		}
		end = id
	}
	start := "-"
	if !f.Since.IsZero() {
		start = strconv.FormatInt(f.Since.UnixMilli(), 10)
	}
	out := make([]Event, 0, limit)
	lastID := ""
	scanned := 0
	for {
		msgs, err := s.rdb.XRevRangeN(ctx, keysFor(ws).events(), end, start, int64(limit+1)).Result()
		if err != nil {
			return nil, "", fmt.Errorf("tasks: list events: %w", err)
		}
		evs, oks, err := s.decodeEntries(ctx, ws, msgs, -1)
		if err != nil {
			return nil, "", fmt.Errorf("tasks: list events: %w", err)
		}
		for i, m := range msgs {
			scanned++
			ev, ok := evs[i], oks[i]
			if ok && (f.Type == "" || ev.Type == f.Type) {
				if len(out) == limit {
					return out, lastID, nil
				}
				out = append(out, ev)
				lastID = m.ID
			} else if scanned >= maxScan {
				return out, m.ID, nil
			}
		}
		if len(msgs) < limit+1 {
			return out, "", nil
		}
		var ok bool
		if end, ok = before(msgs[len(msgs)-1].ID); !ok {
			return out, "", nil
		}
	}
}

// ParseStreamID splits a stream entry id "ms-seq"; ok is false when id is
// not one.
func ParseStreamID(id string) (ms, seq uint64, ok bool) {
	msStr, seqStr, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(msStr, 10, 64)
	seq, err2 := strconv.ParseUint(seqStr, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

// before returns the greatest stream id smaller than id, which makes an
// exclusive range bound on every Redis version.
func before(id string) (string, bool) {
	ms, seq, ok := ParseStreamID(id)
	if !ok {
		return "", false
	}
	if seq > 0 {
		return fmt.Sprintf("%d-%d", ms, seq-1), true
	}
	if ms == 0 {
		return "", false
	}
	return fmt.Sprintf("%d-%d", ms-1, uint64(1<<64-1)), true
}

// decodeEntry reads a stream entry of ws: the compact form in field "c", or
// the wire form in "e" of entries written before it. sameTask reports that
// its task is the one of the entry before, still to be filled in.
func decodeEntry(m redis.XMessage, ws WorkspaceID) (ev Event, sameTask, ok bool) {
	if raw, ok := m.Values["c"].(string); ok {
		ev, same, err := decodeEvent(raw, ws)
		return ev, same, err == nil
	}
	raw, _ := m.Values["e"].(string)
	if raw == "" || decode(raw, &ev) != nil {
		return Event{}, false, false
	}
	return ev, false, true
}

// decodeEntries reads stream entries of ws and fills in the tasks that
// entries leave to the one before (eventRecord.SameTask). order says how
// msgs sit in the stream: adjacent and oldest first (1), adjacent and
// newest first (-1), or perhaps apart (0); the entry before is taken from
// msgs when it is there, else read from the stream. ok[i] is false for an
// entry that cannot be read; err is set when the stream could not be read,
// so that some of those may be readable later.
func (s *Store) decodeEntries(ctx context.Context, ws WorkspaceID, msgs []redis.XMessage, order int) (evs []Event, ok []bool, err error) {
	evs, ok = make([]Event, len(msgs)), make([]bool, len(msgs))
	same := make([]bool, len(msgs))
	for i, m := range msgs {
		evs[i], same[i], ok[i] = decodeEntry(m, ws)
	}
	// Oldest first, so an entry before is filled in before those after it.
	idx := make([]int, len(msgs))
	for i := range idx {
		idx[i] = i
		if order < 0 {
			idx[i] = len(msgs) - 1 - i
		}
	}
	for _, i := range idx {
		if !ok[i] || !same[i] {
			continue
		}
		j := i - order
		var task *Task
		if order != 0 && j >= 0 && j < len(msgs) && ok[j] {
			task = evs[j].Data.Task
		}
		if task == nil {
			var e error
			if task, e = s.taskBefore(ctx, ws, msgs[i].ID); e != nil && err == nil {
				err = e
			}
		}
		if task == nil { // the entry before was trimmed from the log, or unread
			ok[i] = false
			continue
		}
		t := *task
		evs[i].Data.Task = &t
	}
	return evs, ok, err
}

// taskBefore reads back from the entry id to the nearest entry that carries
// its task, which the entries between leave to it; nil when there is none.
func (s *Store) taskBefore(ctx context.Context, ws WorkspaceID, id string) (*Task, error) {
	const reach = 16 // more events than one write emits
	msgs, err := s.rdb.XRevRangeN(ctx, keysFor(ws).events(), id, "-", reach).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: read event before %s: %w", id, err)
	}
	for i, m := range msgs {
		ev, same, ok := decodeEntry(m, ws)
		switch {
		case i == 0 && m.ID != id, !ok:
			return nil, nil
		case i > 0 && !same:
			return ev.Data.Task, nil
		}
	}
	return nil, nil
}

// StreamEvent is an event read from a workspace's outbox stream by a
// consumer group; ID is its stream id, to acknowledge it by.
type StreamEvent struct {
	ID    string
	Event Event
}

// EnsureGroup creates the consumer group on the workspace's stream, reading
// from the start, if it does not exist yet.
func (s *Store) EnsureGroup(ctx context.Context, ws WorkspaceID, group string) error {
	return s.EnsureGroupFrom(ctx, ws, group, "0")
}

// EnsureGroupFrom is EnsureGroup for a group that, when made now, starts
// at start: "0" for the whole log, "$" for the events after this call.
func (s *Store) EnsureGroupFrom(ctx context.Context, ws WorkspaceID, group, start string) error {
	err := s.rdb.XGroupCreateMkStream(ctx, keysFor(ws).events(), group, start).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("tasks: create group %s: %w", group, err)
	}
	return nil
}

// ErrNoGroup is wrapped by the group reads when the consumer group (or the
// stream) does not exist: it was deleted, or Redis lost its data. The
// caller makes it again with EnsureGroup.
var ErrNoGroup = errors.New("tasks: no such consumer group")

// groupErr wraps err, marking Redis' NOGROUP answer as ErrNoGroup.
func groupErr(what string, err error) error {
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		return fmt.Errorf("tasks: %s: %w: %w", what, ErrNoGroup, err)
	}
	return fmt.Errorf("tasks: %s: %w", what, err)
}

// ReadGroup returns up to count events never delivered to the group,
// assigning them to consumer; they stay pending until acknowledged.
func (s *Store) ReadGroup(ctx context.Context, ws WorkspaceID, group, consumer string, count int) ([]StreamEvent, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{keysFor(ws).events(), ">"},
		Count: int64(count), Block: -1,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, groupErr("read events", err)
	}
	var out []StreamEvent
	for _, st := range res {
		// Entries never delivered are the stream's newest, adjacent.
		out = append(out, s.entries(ctx, ws, group, st.Messages, 1)...)
	}
	return out, nil
}

// ClaimStale moves to consumer the group's events that another consumer
// read but did not acknowledge within minIdle (it crashed, or hangs), and
// returns them. This is how a killed dispatcher's events are not lost.
func (s *Store) ClaimStale(ctx context.Context, ws WorkspaceID, group, consumer string, minIdle time.Duration, count int) ([]StreamEvent, error) {
	msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: keysFor(ws).events(), Group: group, Consumer: consumer,
		MinIdle: minIdle, Start: "0-0", Count: int64(count),
	}).Result()
	if err != nil {
		return nil, groupErr("claim events", err)
	}
	return s.entries(ctx, ws, group, msgs, 0), nil
}

// DropIdleConsumers removes from group the consumers other than keep that
// hold no pending entry and have been idle for longer than idle: those of
// processes gone in earlier deploys, which would otherwise pile up. It
// returns how many it removed.
func (s *Store) DropIdleConsumers(ctx context.Context, ws WorkspaceID, group, keep string, idle time.Duration) (int, error) {
	key := keysFor(ws).events()
	cs, err := s.rdb.XInfoConsumers(ctx, key, group).Result()
	if err != nil {
		return 0, groupErr("list consumers", err)
	}
	n := 0
	for _, c := range cs {
		if c.Name == keep || c.Pending > 0 || c.Idle < idle {
			continue
		}
		// A consumer of a dead process gains no entries, so removing one
		// with none pending loses nothing.
		if err := s.rdb.XGroupDelConsumer(ctx, key, group, c.Name).Err(); err != nil {
			return n, fmt.Errorf("tasks: remove consumer: %w", err)
		}
		n++
	}
	return n, nil
}

// entries decodes stream messages. One that cannot be decoded can never be
// handled, so it is acknowledged rather than left to be claimed forever;
// unless Redis failed meanwhile, in which case it stays pending, to be
// claimed again later.
func (s *Store) entries(ctx context.Context, ws WorkspaceID, group string, msgs []redis.XMessage, order int) []StreamEvent {
	out := make([]StreamEvent, 0, len(msgs))
	evs, oks, err := s.decodeEntries(ctx, ws, msgs, order)
	for i, m := range msgs {
		ev, ok := evs[i], oks[i]
		if !ok {
			if err == nil {
				s.rdb.XAck(ctx, keysFor(ws).events(), group, m.ID)
			}
			continue
		}
		out = append(out, StreamEvent{ID: m.ID, Event: ev})
	}
	return out
}

// Ack marks events handled by the group.
func (s *Store) Ack(ctx context.Context, ws WorkspaceID, group string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.rdb.XAck(ctx, keysFor(ws).events(), group, ids...).Err(); err != nil {
		return fmt.Errorf("tasks: ack events: %w", err)
	}
	return nil
}

// WatchEvents calls fn with the workspace of every write that emitted
// events, until ctx ends. ready is called each time the subscription is
// live: once at first, and again whenever the client has reconnected,
// because notices published while it was down are lost and the caller
// should read everything then. Notices are best effort: a reader must also
// poll.
func (s *Store) WatchEvents(ctx context.Context, ready func(), fn func(WorkspaceID)) error {
	sub := s.rdb.Subscribe(ctx, eventsChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("tasks: watch events: %w", err)
	}
	if ready != nil {
		ready()
	}
	ch := sub.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-ch:
			if !ok {
				return nil
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" && ready != nil {
					ready()
				}
			case *redis.Message:
				fn(WorkspaceID(m.Payload))
			}
		}
	}
}

// noticeRetry is how long FollowEvents waits before subscribing again
// after the subscription failed.
const noticeRetry = 5 * time.Second

// FollowEvents runs WatchEvents in the background for as long as ctx
// lasts, subscribing again noticeRetry after each failure, which it tells
// failed. live is closed once the first subscription is live or has
// failed, so a caller reads everything after that and misses no write;
// resync receives after every later (re)subscription, since the notices
// of the gap are lost and the caller should read everything again.
func (s *Store) FollowEvents(ctx context.Context, fn func(WorkspaceID), failed func(error)) (live, resync <-chan struct{}) {
	var once sync.Once
	first, again := make(chan struct{}), make(chan struct{}, 1)
	start := func() bool {
		was := false
		once.Do(func() { close(first); was = true })
		return was
	}
	ready := func() {
		if !start() {
			select {
			case again <- struct{}{}:
			default: // one is pending already
			}
		}
	}
	go func() {
		for {
			err := s.WatchEvents(ctx, ready, fn)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("tasks: event notices ended")
			}
			failed(err)
			start()
			select {
			case <-ctx.Done():
				return
			case <-time.After(noticeRetry):
			}
		}
	}()
	return first, again
}

// Seen records key for ttl and reports whether it was already recorded:
// the replay check of signed Cliq requests, shared by every replica.
func (s *Store) Seen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, "tasker:replay:"+key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("tasks: replay check: %w", err)
	}
	return !ok, nil
}
