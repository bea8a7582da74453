package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// streamReads counts the stream commands sent per workspace.
type streamReads struct {
	mu sync.Mutex
	n  map[tasks.WorkspaceID]int
}

func (c *streamReads) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *streamReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *streamReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *streamReads) count(cmd redis.Cmder) {
	name := cmd.Name()
	if name != "xreadgroup" && name != "xautoclaim" {
		return
	}
	for _, a := range cmd.Args() {
		s, _ := a.(string)
		if i, j := strings.Index(s, "{"), strings.Index(s, "}"); i >= 0 && j > i {
			c.mu.Lock()
			c.n[tasks.WorkspaceID(s[i+1:j])]++
			c.mu.Unlock()
			return
		}
	}
}

// take returns the counts so far and starts again from zero.
func (c *streamReads) take() map[tasks.WorkspaceID]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = make(map[tasks.WorkspaceID]int)
	return n
}

// noticed is a Follower recording the workspaces it is told of.
type noticed struct {
	mu sync.Mutex
	ws map[tasks.WorkspaceID]int
}

func (f *noticed) Name() string                              { return "noticed" }
func (f *noticed) Wants(tasks.Event) bool                    { return true }
func (f *noticed) Handle(context.Context, tasks.Event) error { return nil }
func (f *noticed) Notify(ws tasks.WorkspaceID) {
	f.mu.Lock()
	f.ws[ws]++
	f.mu.Unlock()
}

func (f *noticed) has(ws tasks.WorkspaceID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ws[ws] > 0
}

// TestIdleWorkspacesAreNotPolled: once its work is done and ActiveFor has
// passed, a workspace costs no stream read per poll; a notice makes it
// active again; a write whose notice was lost is found by the spread full
// sweep within one Sweep.
func TestIdleWorkspacesAreNotPolled(t *testing.T) {
	rdb := redistest.Client(t)
	reads := &streamReads{n: make(map[tasks.WorkspaceID]int)}
	rdb.AddHook(reads)
	store := tasks.NewStore(rdb, time.Now)
	ctx := context.Background()
	mine := make([]tasks.WorkspaceID, 12)
	for i := range mine {
		mine[i] = tasks.WorkspaceID(fmt.Sprintf("idle-%x", rand.Uint64()))
		if _, _, err := store.CreateTask(ctx, mine[i], tasks.Actor{}, tasks.NewTask{Title: "t"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	f := &noticed{ws: make(map[tasks.WorkspaceID]int)}
	opt := Options{Consumer: "c1", Poll: time.Second, Sweep: 5 * time.Minute, ClaimIdle: 30 * time.Second}
	d := NewDispatcher(slog.New(slog.NewTextHandler(io.Discard, nil)), store, asynq.NewClientFromRedisClient(rdb),
		[]Target{f}, prometheus.NewRegistry(), opt)
	now := time.Now()
	d.now = func() time.Time { return now }

	d.startSweep(ctx, now, true)
	d.nextSweep = now.Add(opt.Sweep) // the first spread pass later: polls alone until then
	for _, ws := range mine {
		if !f.has(ws) {
			t.Fatalf("the start sweep left %s undispatched", ws)
		}
	}
	// Quiet for ActiveFor: one more poll each, then none.
	now = now.Add(d.opt.ActiveFor)
	d.tick(ctx, now)
	reads.take()
	for range 3 {
		now = now.Add(time.Second)
		d.tick(ctx, now)
	}
	for _, ws := range mine {
		if n := reads.take()[ws]; n != 0 {
			t.Fatalf("idle %s read %d times in 3 polls, want 0", ws, n)
		}
	}

	// A notice: dispatched at once and polled while active.
	if _, _, err := store.CreateTask(ctx, mine[0], tasks.Actor{}, tasks.NewTask{Title: "woken"}, nil); err != nil {
		t.Fatal(err)
	}
	f.ws = make(map[tasks.WorkspaceID]int)
	d.wake(mine[0])
	d.takeWoken(ctx, now)
	if !f.has(mine[0]) {
		t.Fatal("a notice did not dispatch its workspace")
	}
	now = now.Add(time.Second)
	d.tick(ctx, now)
	if got := reads.take(); got[mine[0]] == 0 || got[mine[1]] != 0 {
		t.Fatalf("reads after a notice = %v, want the woken workspace polled and no other", got)
	}

	// A write whose notice nobody heard: the full sweep finds it.
	lost := mine[len(mine)-1]
	if _, _, err := store.CreateTask(ctx, lost, tasks.Actor{}, tasks.NewTask{Title: "lost"}, nil); err != nil {
		t.Fatal(err)
	}
	now = d.nextSweep
	for range int(opt.Sweep / opt.Poll) {
		d.tick(ctx, now)
		now = now.Add(time.Second)
	}
	if !f.has(lost) {
		t.Fatal("the full sweep missed a write whose notice was lost")
	}
	got := reads.take()
	for _, ws := range mine {
		if got[ws] == 0 {
			t.Errorf("the full sweep did not visit %s", ws)
		}
	}
}

// TestReconnectSweepsEverything: notices published while the notice
// connection was down are lost, so after the client reconnects the
// dispatcher visits every workspace at once instead of leaving a write
// to the next spread pass.
func TestReconnectSweepsEverything(t *testing.T) {
	rdb := redistest.Client(t)
	store := tasks.NewStore(rdb, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	ws := tasks.WorkspaceID(fmt.Sprintf("resub-%x", rand.Uint64()))
	task, _, err := store.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "before"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &noticed{ws: make(map[tasks.WorkspaceID]int)}
	// Polls and spread passes an hour apart: within the test only the start
	// sweep, notices and a reconnect can dispatch.
	opt := Options{Consumer: "c1", Poll: time.Hour, Sweep: time.Hour, ActiveFor: time.Nanosecond}
	d := NewDispatcher(slog.New(slog.NewTextHandler(io.Discard, nil)), store, asynq.NewClientFromRedisClient(rdb),
		[]Target{f}, prometheus.NewRegistry(), opt)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, "the start sweep", func() bool { return f.has(ws) })

	// An event that reaches the stream without its notice, as one written
	// while the notice connection is down.
	f.mu.Lock()
	f.ws = make(map[tasks.WorkspaceID]int)
	f.mu.Unlock()
	ev := tasks.Event{ID: "evt_01KQ0000000000000000000000", Type: tasks.EventTaskUpdated, Timestamp: time.Now().UTC(),
		Workspace: ws, Data: tasks.EventData{Task: &task}}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: tasks.EventStreamKey(ws), Values: []any{"e", string(raw)}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the sweep after the reconnect", func() bool { return f.has(ws) })
}

// waitUntil polls cond until it holds, failing t after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
