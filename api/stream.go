package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// StreamOptions tune an EventStream; zero fields take the defaults.
type StreamOptions struct {
	// MaxPerKey caps the open streams of one API key (or console session
	// key) on this replica; one more is 429 rate_limited. Default 5.
	MaxPerKey int
	// KeepAlive is how often a comment line is written to keep proxies
	// and the client from closing an idle connection. Default 15 s.
	KeepAlive time.Duration
	// Poll is how often the log is read when no write notice arrived:
	// notices travel by Redis pub/sub, which is best effort. Default 2 s.
	Poll time.Duration
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.MaxPerKey <= 0 {
		o.MaxPerKey = 5
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	return o
}

// Identify names the workspace a stream request reads and the key its
// streams are counted under; ok false means the request may not stream.
type Identify func(r *http.Request) (ws tasks.WorkspaceID, key string, ok bool)

// KeyIdentity identifies a request that passed Keys.Require: its
// workspace, counted under a digest of its API key.
func KeyIdentity(r *http.Request) (tasks.WorkspaceID, string, bool) {
	ws, ok := WorkspaceFrom(r.Context())
	d := sha256.Sum256([]byte(presentedKey(r)))
	return ws, "key:" + hex.EncodeToString(d[:12]), ok
}

// EventStream serves the event log live as Server-Sent Events (GET
// /api/v1/events/stream, SPEC section 5). Each event is written as
//
//	id: evt_…
//	event: task.created
//	data: {"id":"evt_…","type":"task.created",…}
//
// in the order the log holds them. A stream starts after the event named
// by Last-Event-ID, at ?since=, or at the end of the log; ?type= (a comma
// list) keeps only those types.
//
// It reads the workspace's stream, which is also the 30-day event log
// (tasks.Store.EventsAfter), whenever a write notice arrives and every
// StreamOptions.Poll besides. Notices come through one Redis pub/sub
// connection per EventStream, opened when its first stream starts and
// closed when its last ends, so a replica with no listener holds no
// connection and no goroutine for it; a stream itself borrows a pooled
// connection only for each short read.
type EventStream struct {
	logger   *slog.Logger
	store    *tasks.Store
	identify Identify
	opts     StreamOptions

	mu        sync.Mutex
	perKey    map[string]int
	listeners map[*listener]struct{}
	stopWatch context.CancelFunc
	watchDone chan struct{}
	// watching is closed once the notice subscription is live, or has
	// failed (then streams poll).
	watching chan struct{}
}

// listener is one open stream waiting for its workspace's notices.
type listener struct {
	ws     tasks.WorkspaceID
	notice chan struct{} // buffered 1: a pending notice is enough
}

// NewEventStream returns the stream handler; identify decides who may
// stream which workspace (KeyIdentity behind Keys.Require).
func NewEventStream(logger *slog.Logger, store *tasks.Store, identify Identify, opts StreamOptions) *EventStream {
	return &EventStream{
		logger: logger, store: store, identify: identify, opts: opts.withDefaults(),
		perKey: make(map[string]int), listeners: make(map[*listener]struct{}),
	}
}

// streamBatch is how many log entries one read takes.
const streamBatch = 200

// ServeHTTP streams until the client goes away or the server shuts down.
func (s *EventStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.identify(r)
	if !ok {
		WriteError(w, http.StatusUnauthorized, codeUnauthenticated, "sign in to stream events", nil)
		return
	}
	q := newQuery(r.URL.RawQuery)
	since := q.time("since")
	types, typeProblem := parseTypes(q.str("type"))
	if typeProblem != "" {
		q.problems["type"] = typeProblem
	}
	lastID := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	lastMs, lastOK := eventIDTime(lastID)
	if lastID != "" && !lastOK {
		q.problems["Last-Event-ID"] = "must be an event id (evt_…)"
	}
	if err := q.err(); err != nil {
		respondError(w, r, s.logger, err)
		return
	}
	if !s.acquire(key) {
		w.Header().Set("Retry-After", "10")
		WriteError(w, http.StatusTooManyRequests, codeRateLimited,
			fmt.Sprintf("at most %d event streams may be open per key", s.opts.MaxPerKey), nil)
		return
	}
	defer s.release(key)

	ctx := r.Context()
	var pos string
	var err error
	switch {
	case lastID != "":
		pos, err = s.positionOf(ctx, ws, lastID, lastMs)
	case since != nil:
		pos = tasks.LogPosition(*since)
	default:
		pos, err = s.store.LogTail(ctx, ws)
	}
	if err != nil {
		respondError(w, r, s.logger, err)
		return
	}

	l := s.listen(ws)
	defer s.unlisten(l)

	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests, not streams:
	// an expired read deadline would cancel the request's context.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.KeepAlive + 10*time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte("retry: 3000\n: connected\n\n")) {
		return
	}

	keepAlive := time.NewTicker(s.opts.KeepAlive)
	defer keepAlive.Stop()
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	for {
		var ok bool
		if pos, ok = s.send(ctx, ws, pos, types, write); !ok {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-l.notice:
		case <-poll.C:
		case <-keepAlive.C:
			if !write([]byte(": keep-alive\n\n")) {
				return
			}
		}
	}
}

// send writes every event after pos and returns the new position; false
// when the client is gone. A failed read is logged and retried later.
func (s *EventStream) send(ctx context.Context, ws tasks.WorkspaceID, pos string, types map[tasks.EventType]bool, write func([]byte) bool) (string, bool) {
	for {
		evs, err := s.store.EventsAfter(ctx, ws, pos, streamBatch)
		if err != nil {
			if ctx.Err() != nil {
				return pos, false
			}
			s.logger.WarnContext(ctx, "event stream read failed", "workspace", string(ws), "err", err)
			return pos, true
		}
		for _, se := range evs {
			pos = se.ID
			if len(types) > 0 && !types[se.Event.Type] {
				continue
			}
			data, err := json.Marshal(se.Event)
			if err != nil {
				continue
			}
			frame := make([]byte, 0, len(data)+64)
			frame = fmt.Appendf(frame, "id: %s\nevent: %s\ndata: %s\n\n", se.Event.ID, se.Event.Type, data)
			if !write(frame) {
				return pos, false
			}
		}
		if len(evs) < streamBatch {
			return pos, true
		}
	}
}

// positionOf finds the log position of the event id, whose time ms the id
// carries. Ids are made on the writer's clock and positions on Redis's, so
// the search starts a minute before; an event no longer (or never) in the
// log resumes at its time.
func (s *EventStream) positionOf(ctx context.Context, ws tasks.WorkspaceID, id string, ms int64) (string, error) {
	const skew = time.Minute
	t := time.UnixMilli(ms)
	pos := tasks.LogPosition(t.Add(-skew))
	for range 20 { // at most 4,000 entries
		evs, err := s.store.EventsAfter(ctx, ws, pos, streamBatch)
		if err != nil {
			return "", err
		}
		for _, se := range evs {
			if se.Event.ID == id {
				return se.ID, nil
			}
			if se.Event.Timestamp.After(t.Add(skew)) {
				return tasks.LogPosition(t), nil
			}
			pos = se.ID
		}
		if len(evs) < streamBatch {
			break
		}
	}
	return tasks.LogPosition(t), nil
}

// parseTypes reads ?type=, a comma list of event types.
func parseTypes(s string) (map[tasks.EventType]bool, string) {
	if s == "" {
		return nil, ""
	}
	out := make(map[tasks.EventType]bool)
	for _, part := range strings.Split(s, ",") {
		t := tasks.EventType(strings.TrimSpace(part))
		if !t.Valid() {
			return nil, "unknown event type; use " + tasks.EventTypeList()
		}
		out[t] = true
	}
	return out, ""
}

// eventIDTime returns the millisecond time inside an event id: evt_ and a
// ULID, whose first 10 base-32 digits are the time.
func eventIDTime(id string) (int64, bool) {
	u, ok := strings.CutPrefix(id, "evt_")
	if !ok {
		return 0, false
	}
	return tasks.ULIDTime(strings.ToUpper(u))
}

// acquire counts a stream for key unless key has MaxPerKey open.
func (s *EventStream) acquire(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perKey[key] >= s.opts.MaxPerKey {
		return false
	}
	s.perKey[key]++
	return true
}

func (s *EventStream) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perKey[key]--; s.perKey[key] <= 0 {
		delete(s.perKey, key)
	}
}

// listen registers a listener, opening the notice subscription for the
// first one, and returns once the subscription is live (or has failed): a
// notice published before that would be lost, so the caller reads the log
// only afterwards and no event falls between the two.
func (s *EventStream) listen(ws tasks.WorkspaceID) *listener {
	l := &listener{ws: ws, notice: make(chan struct{}, 1)}
	s.mu.Lock()
	s.listeners[l] = struct{}{}
	if s.stopWatch == nil {
		ctx, cancel := context.WithCancel(context.Background())
		done, watching := make(chan struct{}), make(chan struct{})
		s.stopWatch, s.watchDone, s.watching = cancel, done, watching
		var once sync.Once
		live := func() { once.Do(func() { close(watching) }) }
		go func() {
			defer close(done)
			defer live()
			// A failed subscription leaves the streams polling.
			if err := s.store.WatchEvents(ctx, live, s.notify); err != nil && !errors.Is(err, context.Canceled) {
				s.logger.Warn("event stream notices unavailable; polling", "err", err)
			}
		}()
	}
	watching := s.watching
	s.mu.Unlock()
	<-watching
	return l
}

// unlisten removes l and, with the last listener gone, closes the notice
// subscription and waits for its goroutine to end.
func (s *EventStream) unlisten(l *listener) {
	s.mu.Lock()
	delete(s.listeners, l)
	var stop context.CancelFunc
	var done chan struct{}
	if len(s.listeners) == 0 && s.stopWatch != nil {
		stop, done = s.stopWatch, s.watchDone
		s.stopWatch, s.watchDone = nil, nil
	}
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// notify wakes the listeners of ws.
func (s *EventStream) notify(ws tasks.WorkspaceID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		if l.ws != ws {
			continue
		}
		select {
		case l.notice <- struct{}{}:
		default:
		}
	}
}

// Open returns the number of streams open, for tests and metrics.
func (s *EventStream) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listeners)
}
