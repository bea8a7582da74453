package webhooks

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// countingHook counts the commands a client sends, pipelined or not.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestSweepSkipsIdleWorkspaces: the sweep visits a workspace with
// subscriptions while it has work, drops it once idle, and from then on
// costs one read for all of them, however many there are. It runs on a
// private embedded Redis, since the active set spans every workspace.
func TestSweepSkipsIdleWorkspaces(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.ClientFor(t, "embedded")
	svc := newQuietService(t, rdb, tasks.NewStore(rdb, nil), Config{})
	const idle = 300
	for i := range idle {
		ws := tasks.WorkspaceID(fmt.Sprintf("idle-%d", i))
		if _, err := svc.store.createSub(ctx, ws, subRecord{URL: "https://example.com", Events: []string{"*"}, Secret: "s", Enabled: true}, 0); err != nil {
			t.Fatal(err)
		}
	}
	// What the version before left: totals moved by hand (drifted), and
	// an active set it did not keep.
	rdb.HSet(ctx, webhookStatsKey, "pending", 12, "disabled", 1)
	rdb.Del(ctx, webhookActiveKey)
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if p, d, err := svc.store.totals(ctx); err != nil || p != 0 || d != 0 {
		t.Errorf("totals after the upgrade's sweep = %d, %d, %v; want 0, 0", p, d, err)
	}
	zs, err := svc.store.activeWorkspaces(ctx)
	if err != nil || len(zs) != idle {
		t.Fatalf("active set after the first sweep: %d members, %v; want %d (every workspace, marked by the upgrade)", len(zs), err, idle)
	}
	for _, z := range zs { // as if marked idleAfter ago
		rdb.ZAdd(ctx, webhookActiveKey, redis.Z{Score: z.Score - float64(idleAfter.Milliseconds()) - 1000, Member: z.Member})
	}
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rdb.ZCard(ctx, webhookActiveKey).Val(); n != 0 {
		t.Fatalf("active set after idle workspaces were swept: %d members, want 0", n)
	}
	hook := new(countingHook)
	rdb.AddHook(hook)
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := hook.n.Load(); n > 2 {
		t.Errorf("a sweep over %d idle workspaces sent %d commands, want at most 2", idle, n)
	}
}

// TestLostNoticeLeftToTheSweep: a workspace that went idle and left the
// active set gets an event whose notice is lost with its process (the
// dispatcher asked Wants, then died before the fan-out ran). Wants put the
// workspace back in the set, so the next sweep fans the event out.
func TestLostNoticeLeftToTheSweep(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.ClientFor(t, "embedded")
	svc := newQuietService(t, rdb, tasks.NewStore(rdb, nil), Config{})
	ws := tasks.WorkspaceID("quiet")
	if _, err := svc.store.createSub(ctx, ws, subRecord{URL: "https://example.com", Events: []string{"*"}, Secret: "s", Enabled: true}, 0); err != nil {
		t.Fatal(err)
	}
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	rdb.ZAdd(ctx, webhookActiveKey, redis.Z{Score: 1, Member: string(ws)}) // marked long ago
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rdb.ZCard(ctx, webhookActiveKey).Val(); n != 0 {
		t.Fatalf("active set = %d members, want the idle workspace gone", n)
	}
	svc.store.marked.Clear() // markEvery later
	svc.wanted.Clear()

	ev := tasks.Event{ID: "evt_lost", Type: tasks.EventTaskCreated, Timestamp: time.Now().UTC(), Workspace: ws,
		Data: tasks.EventData{Task: &tasks.Task{ID: "tsk_1", Version: 1}}}
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: tasks.EventStreamKey(ws), Values: []any{"e", mustJSON(ev)}}).Err(); err != nil {
		t.Fatal(err)
	}
	if !svc.Target().Wants(ev) {
		t.Fatal("Wants() = false for a workspace with a subscription")
	}
	// The notice is lost: no Notify, no Handle. The sweep finds it.
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.store.pendingCount(ctx, ws); err != nil || n != 1 {
		t.Fatalf("pending after the sweep = %d, %v; want the event's message", n, err)
	}
}
