package tasks

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// EventsAfter reads the event log forward, oldest first: up to count events
// stored after the log position after (a StreamEvent.ID; "" or "0-0" means
// from the start of the log). It is what a live reader tails: each call
// continues from the last ID it returned. Entries that cannot be decoded are
// skipped, not returned.
func (s *Store) EventsAfter(ctx context.Context, ws WorkspaceID, after string, count int) ([]StreamEvent, error) {
	start := "-"
	if after != "" && after != "0-0" {
		if _, ok := before(after); !ok {
			return nil, invalid(map[string]string{"after": "invalid log position"})
		}
		start = "(" + after // exclusive, Redis 6.2 and later
	}
	msgs, err := s.rdb.XRangeN(ctx, keysFor(ws).events(), start, "+", int64(count)).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: read events after %s: %w", after, err)
	}
	out := make([]StreamEvent, 0, len(msgs))
	evs, oks, err := s.decodeEntries(ctx, ws, msgs, 1)
	if err != nil {
		return nil, fmt.Errorf("tasks: read events after %s: %w", after, err)
	}
	for i, m := range msgs {
		if oks[i] {
			out = append(out, StreamEvent{ID: m.ID, Event: evs[i]})
		}
	}
	return out, nil
}

// LogPosition returns the log position just before the first event stored
// at or after t, for EventsAfter: events are positioned by the time Redis
// stored them, which may differ a little from their timestamp.
func LogPosition(t time.Time) string {
	ms := t.UnixMilli()
	if ms <= 0 {
		return "0-0"
	}
	return strconv.FormatInt(ms-1, 10) + "-18446744073709551615"
}

// LogTail returns the position of the newest event of the log, or "0-0"
// when it is empty: a reader starting there sees only events to come.
func (s *Store) LogTail(ctx context.Context, ws WorkspaceID) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, keysFor(ws).events(), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("tasks: event log tail: %w", err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}
