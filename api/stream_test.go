package api

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// sseFrame is one event or comment of a stream as a client parses it.
type sseFrame struct {
	id, event, data, comment string
}

// sseClient is an open stream whose frames arrive on frames.
type sseClient struct {
	resp   *http.Response
	frames chan sseFrame
	cancel context.CancelFunc
}

// newStreamServer serves the API with a stream of quick keep-alives and no
// polling, so a test sees notices work, behind the server timeouts of cmd
// made short: a stream must outlive them.
func newStreamServer(t *testing.T, e *testEnv, opts StreamOptions) (*httptest.Server, *EventStream) {
	t.Helper()
	keys, err := ParseKeys(e.keyA + "@" + string(e.wsA))
	if err != nil {
		t.Fatal(err)
	}
	es := NewEventStream(slog.New(slog.NewTextHandler(io.Discard, nil)), e.store, KeyIdentity, opts)
	e.router.Handler(http.MethodGet, "/test/stream", keys.Require(es))
	srv := httptest.NewUnstartedServer(e.handler)
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, es
}

// openStream connects and fails the test unless the answer is status.
func openStream(t *testing.T, srv *httptest.Server, e *testEnv, query string, header map[string]string, status int) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/test/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+e.keyA)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET stream%s = %d %s, want %d", query, resp.StatusCode, b, status)
	}
	c := &sseClient{resp: resp, frames: make(chan sseFrame, 100), cancel: cancel}
	t.Cleanup(c.close)
	if status != http.StatusOK {
		c.close()
		return c
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	go func() {
		defer close(c.frames)
		br := bufio.NewReader(resp.Body)
		var f sseFrame
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if f != (sseFrame{}) {
					c.frames <- f
				}
				f = sseFrame{}
			case strings.HasPrefix(line, ":"):
				f.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next returns the next event, skipping comments.
func (c *sseClient) next(t *testing.T) sseFrame {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("stream ended")
			}
			if f.id != "" {
				return f
			}
		case <-timeout:
			t.Fatal("no event within 5 s")
		}
	}
}

// nothing checks that no event arrives for a while (comments may).
func (c *sseClient) nothing(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if f.id != "" {
				t.Fatalf("unexpected event %+v", f)
			}
		case <-timeout:
			return
		}
	}
}

func TestEventStreamLive(t *testing.T) {
	e := newTestEnv(t)
	srv, _ := newStreamServer(t, e, StreamOptions{KeepAlive: 50 * time.Millisecond, Poll: time.Hour})
	old := e.createTask(t, `{"title":"before the stream"}`)
	c := openStream(t, srv, e, "", nil, http.StatusOK)
	// Outlive the server's read and write timeouts before anything happens.
	time.Sleep(400 * time.Millisecond)
	task := e.createTask(t, `{"title":"live"}`)
	f := c.next(t)
	if f.event != "task.created" || !strings.HasPrefix(f.id, "evt_") {
		t.Fatalf("frame = %+v, want a task.created event", f)
	}
	ev := mustDecode[tasks.Event](t, []byte(f.data))
	if ev.ID != f.id || ev.Data.Task == nil || ev.Data.Task.ID != task.ID {
		t.Fatalf("data = %s, want the event %s of task %s", f.data, f.id, task.ID)
	}
	_ = old // created before the stream opened: never sent, as next showed

	// Keep-alive comments flow while nothing happens.
	timeout := time.After(2 * time.Second)
	for got := false; !got; {
		select {
		case f := <-c.frames:
			got = f.comment == "keep-alive"
		case <-timeout:
			t.Fatal("no keep-alive comment")
		}
	}
}

func TestEventStreamResume(t *testing.T) {
	e := newTestEnv(t)
	srv, _ := newStreamServer(t, e, StreamOptions{KeepAlive: time.Hour, Poll: time.Hour})
	start := time.Now()
	a := e.createTask(t, `{"title":"a"}`)
	b := e.createTask(t, `{"title":"b"}`)
	e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + b.ID + "/complete"}, http.StatusOK)
	evs, _, err := e.store.ListEvents(context.Background(), e.wsA, tasks.EventFilter{}, "", 10)
	if err != nil || len(evs) != 3 {
		t.Fatalf("ListEvents = %d events, %v; want 3", len(evs), err)
	}
	first := evs[2] // newest first

	t.Run("LastEventID", func(t *testing.T) {
		c := openStream(t, srv, e, "", map[string]string{"Last-Event-ID": first.ID}, http.StatusOK)
		if f := c.next(t); f.id != evs[1].ID {
			t.Fatalf("first resumed = %+v, want %s", f, evs[1].ID)
		}
		if f := c.next(t); f.id != evs[0].ID || f.event != "task.completed" {
			t.Fatalf("second resumed = %+v, want %s", f, evs[0].ID)
		}
		c.nothing(t, 200*time.Millisecond)
	})
	t.Run("Since", func(t *testing.T) {
		c := openStream(t, srv, e, "?since="+start.Add(-time.Second).UTC().Format(time.RFC3339), nil, http.StatusOK)
		for i := 2; i >= 0; i-- {
			if f := c.next(t); f.id != evs[i].ID {
				t.Fatalf("event %d = %+v, want %s", 2-i, f, evs[i].ID)
			}
		}
	})
	t.Run("Type", func(t *testing.T) {
		c := openStream(t, srv, e, "?type=task.completed&since="+start.Add(-time.Second).UTC().Format(time.RFC3339), nil, http.StatusOK)
		if f := c.next(t); f.event != "task.completed" {
			t.Fatalf("event = %+v, want task.completed only", f)
		}
		e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + a.ID + "/complete"}, http.StatusOK)
		if f := c.next(t); f.event != "task.completed" {
			t.Fatalf("live event = %+v, want task.completed", f)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, q := range []string{"?type=task.nope", "?since=yesterday", "?limit=3"} {
			c := openStream(t, srv, e, q, nil, http.StatusBadRequest)
			c.close()
		}
		openStream(t, srv, e, "", map[string]string{"Last-Event-ID": "42"}, http.StatusBadRequest)
	})
}

func TestEventStreamLimitPerKey(t *testing.T) {
	e := newTestEnv(t)
	srv, es := newStreamServer(t, e, StreamOptions{MaxPerKey: 2})
	c1 := openStream(t, srv, e, "", nil, http.StatusOK)
	openStream(t, srv, e, "", nil, http.StatusOK)
	openStream(t, srv, e, "", nil, http.StatusTooManyRequests)
	c1.close()
	waitFor(t, func() bool { return es.Open() == 1 })
	openStream(t, srv, e, "", nil, http.StatusOK)
}

// TestEventStreamLeavesNothingBehind opens streams and drops them: the
// goroutines and the pub/sub subscription of the notices must end too.
func TestEventStreamLeavesNothingBehind(t *testing.T) {
	e := newTestEnv(t)
	srv, es := newStreamServer(t, e, StreamOptions{KeepAlive: 20 * time.Millisecond})
	rdb := redistest.Client(t)
	subscribers := func() int64 {
		n, err := rdb.PubSubNumSub(context.Background(), "tasker:events").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n["tasker:events"]
	}
	srv.Client().Transport.(*http.Transport).DisableKeepAlives = true
	before := runtime.NumGoroutine()
	var cs []*sseClient
	for range 3 {
		cs = append(cs, openStream(t, srv, e, "", nil, http.StatusOK))
	}
	waitFor(t, func() bool { return subscribers() == 1 })
	e.createTask(t, `{"title":"seen by all"}`)
	for _, c := range cs {
		c.next(t)
		c.close()
	}
	waitFor(t, func() bool { return es.Open() == 0 && subscribers() == 0 })
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("condition not met within 5 s; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
