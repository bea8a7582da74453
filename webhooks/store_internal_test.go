package webhooks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// newTestWebhookStore returns a store on backend b with a clock the test
// moves, and a subscription in a fresh workspace.
func newTestWebhookStore(t *testing.T, b string, now *time.Time) (*store, tasks.WorkspaceID, subRecord) {
	t.Helper()
	s := newTestStore(t, b, func() time.Time { return *now })
	ws := tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
	sub, err := s.createSub(context.Background(), ws, subRecord{URL: "https://example.com", Events: []string{"*"}, Secret: "s", Enabled: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s, ws, sub
}

// newQuietService returns a Service on rdb and ts that logs nothing and
// registers its metrics on a registry of its own.
func newQuietService(t *testing.T, rdb redis.UniversalClient, ts *tasks.Store, cfg Config) *Service {
	t.Helper()
	svc, err := NewService(slog.New(slog.NewTextHandler(io.Discard, nil)), rdb, ts, prometheus.NewRegistry(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// failMessage creates a message for event and fails its first attempt,
// leased and settled as a lane does. Other messages of ws then due are
// leased with it and left so.
func failMessage(t *testing.T, s *store, ws tasks.WorkspaceID, sub, event string) message {
	t.Helper()
	q, err := s.createMessage(context.Background(), ws, newMessage{SubscriptionID: sub, EventID: event, Body: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	b := mustLease(t, s, ws, "t")
	i := slices.IndexFunc(b, func(l leased) bool { return l.Message.ID == q.Message.ID })
	if i < 0 {
		t.Fatalf("leaseBatch() = %v, want %s among them", leasedIDs(b), q.Message.ID)
	}
	if f := mustSettle(t, s, ws, "t", settle{m: b[i].Message, r: attemptResult{Status: StatusFailed}}); f[0].Lost {
		t.Fatalf("finishMany() = %+v, want held", f)
	}
	return b[i].Message
}

// TestWebhookFailedIndexTrimmed: failures older than Retention
// leave the failed index when a later failure is recorded; the index does
// not grow for ever on an endpoint that keeps failing.
func TestWebhookFailedIndexTrimmed(t *testing.T) {
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now().Add(-Retention - 24*time.Hour)
			s, ws, sub := newTestWebhookStore(t, b, &now)
			old := failMessage(t, s, ws, sub.ID, "evt_old")
			now = time.Now()
			fresh := failMessage(t, s, ws, sub.ID, "evt_new")
			ids, err := s.rdb.ZRange(ctx, keysFor(ws).whFailed(sub.ID), 0, -1).Result()
			if err != nil || len(ids) != 1 || ids[0] != fresh.ID {
				t.Fatalf("failed index = %v, %v; want only %s (%s is older than the retention)", ids, err, fresh.ID, old.ID)
			}
			if got, _ := s.failedMessages(ctx, ws, sub.ID, time.Time{}, 0, 10); len(got) != 1 {
				t.Fatalf("FailedWebhookMessages(since zero) = %v, want the fresh one", got)
			}
		})
	}
}

// TestWebhookRequeueRefreshesExpiry: a redelivered message, its attempts
// and its (subscription, event) key are kept Retention from the
// requeue, not from their creation.
func TestWebhookRequeueRefreshesExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s, ws, sub := newTestWebhookStore(t, "redis", &now)
	m := failMessage(t, s, ws, sub.ID, "evt_1")
	k := keysFor(ws)
	keys := []string{k.whMsg(m.ID), k.whAttempts(m.ID), k.whMsgKey(sub.ID, "evt_1")}
	for _, key := range keys {
		s.rdb.Expire(ctx, key, time.Hour) // as if created 30 days minus an hour ago
	}
	s.rdb.RPush(ctx, k.whAttempts(m.ID), "{}")
	if _, err := s.requeue(ctx, ws, sub.ID, m.ID, "del_2"); err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if ttl := s.rdb.TTL(ctx, key).Val(); ttl < Retention-time.Minute {
			t.Errorf("TTL(%s) after requeue = %v, want about %v", key, ttl, Retention)
		}
	}
}

// TestWebhookTotals: the totals /metrics reads follow messages and
// endpoints once a workspace is reported, stay exact however often a
// report is repeated or skipped, and heal when something else moved them.
// It runs on a private embedded Redis, since the totals span every
// workspace.
func TestWebhookTotals(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s, ws, sub := newTestWebhookStore(t, "embedded", &now)
	report := func() {
		t.Helper()
		subs, err := s.listSubs(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := s.pendingCount(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.reportStats(ctx, ws, pending, disabledCount(subs)); err != nil {
			t.Fatal(err)
		}
	}
	want := func(pending, disabled int64) {
		t.Helper()
		p, d, err := s.totals(ctx)
		if err != nil || p != pending || d != disabled {
			t.Fatalf("totals() = %d, %d, %v; want %d, %d", p, d, err, pending, disabled)
		}
	}
	if _, err := s.upgradeStats(ctx); err != nil {
		t.Fatal(err)
	}
	want(0, 0)
	for i := range 3 {
		if _, err := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: fmt.Sprintf("evt_%d", i), Body: "{}"}); err != nil {
			t.Fatal(err)
		}
	}
	s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_0", Body: "{}"}) // a duplicate
	report()
	report() // a report repeated changes nothing
	want(3, 0)
	m := failMessage(t, s, ws, sub.ID, "evt_9")
	report()
	want(3, 0)
	if _, err := s.requeue(ctx, ws, sub.ID, m.ID, "del"); err != nil {
		t.Fatal(err)
	}
	set := func(enabled bool) {
		if _, err := s.updateSub(ctx, ws, sub.ID, func(w *subRecord) error { w.Enabled = enabled; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	set(false)
	set(false)
	report() // the reports of the changes between were lost: one catches up
	want(4, 1)
	set(true)
	report()
	want(4, 0)
	other, _ := s.createSub(ctx, ws, subRecord{URL: "https://example.com", Events: []string{"*"}, Secret: "s"}, 0)
	report()
	want(4, 1)
	if err := s.deleteSub(ctx, ws, other.ID); err != nil {
		t.Fatal(err)
	}
	report()
	want(4, 0)
	// A process of the version before moved the totals by itself; the
	// recomputation from the reports heals it.
	s.rdb.HIncrBy(ctx, webhookStatsKey, "pending", 7)
	if err := s.recomputeTotals(ctx); err != nil {
		t.Fatal(err)
	}
	want(4, 0)
}

// TestActiveSet: writes that give a workspace work put it in the active
// set, and it leaves only once idle, unmarked since read and idleAfter
// old by Redis' clock. Other tests' workspaces may share the set; only
// this one's membership is checked.
func TestActiveSet(t *testing.T) {
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) { testActiveSet(t, b) })
	}
}

func testActiveSet(t *testing.T, b string) {
	ctx := context.Background()
	now := time.Now()
	s, ws, sub := newTestWebhookStore(t, b, &now)
	score := func() (float64, bool) {
		t.Helper()
		zs, err := s.activeWorkspaces(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range zs {
			if workspaceOf(z.Member) == ws {
				return z.Score, true
			}
		}
		return 0, false
	}
	first, ok := score()
	if !ok {
		t.Fatal("a workspace whose subscription was just created is not in the active set")
	}
	if err := s.dropIdle(ctx, ws, first); err != nil {
		t.Fatal(err)
	}
	if _, ok := score(); !ok {
		t.Fatal("dropIdle removed a workspace marked just now")
	}
	old := first - float64(idleAfter.Milliseconds()) - 1000
	s.rdb.ZAdd(ctx, webhookActiveKey, redis.Z{Score: old, Member: string(ws)})
	if err := s.dropIdle(ctx, ws, old+1); err != nil {
		t.Fatal(err)
	}
	if _, ok := score(); !ok {
		t.Fatal("dropIdle removed a workspace whose score changed since it was read")
	}
	if err := s.dropIdle(ctx, ws, old); err != nil {
		t.Fatal(err)
	}
	if _, ok := score(); ok {
		t.Fatal("dropIdle kept an idle workspace")
	}
	s.marked.Clear() // another process, or markEvery later
	if _, err := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_1", Body: "{}"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := score(); !ok {
		t.Fatal("creating a message did not mark its workspace active")
	}
}

// TestLegacyMessageDelivered: a message stored by the version before
// (no copied fields in its hash, its attempts in a list of their own) is
// leased, sent and settled like any other, and its log reads the old
// attempts first, then the new one.
func TestLegacyMessageDelivered(t *testing.T) {
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			s, ws, sub := newTestWebhookStore(t, b, &now)
			k := keysFor(ws)
			m := message{ID: tasks.NewID("msg_", now), SubscriptionID: sub.ID, EventID: "evt_1", EventType: tasks.EventTaskCreated,
				Body: "{}", CreatedAt: now.UTC().Truncate(time.Millisecond)}
			old := AttemptLog{ID: "del_old", At: m.CreatedAt, Error: ptrTo("timeout")}
			if err := s.rdb.HSet(ctx, k.whMsg(m.ID), "d", mustJSON(m), "s", "pending", "q", 2, "r", 1, "t", now.UnixMilli(), "nd", "del_2", "n", 1).Err(); err != nil {
				t.Fatal(err)
			}
			s.rdb.RPush(ctx, k.whAttempts(m.ID), mustJSON(old))
			s.rdb.ZAdd(ctx, k.whMsgs(sub.ID), redis.Z{Member: m.ID})
			s.rdb.Incr(ctx, k.whPending())
			if err := s.schedule(ctx, ws, m.ID, 0); err != nil {
				t.Fatal(err)
			}
			batch, _, err := s.leaseBatch(ctx, ws, "tok", 10, time.Minute)
			if err != nil || len(batch) != 1 || batch[0].Message.ID != m.ID || batch[0].Subscription == nil || batch[0].Message.Seq != 2 ||
				batch[0].Message.Body != "{}" {
				t.Fatalf("leaseBatch() = %+v, %v; want the old message with its subscription and body", batch, err)
			}
			code := 200
			got, err := s.finishMany(ctx, ws, "tok", []settle{{m: batch[0].Message, r: attemptResult{
				Status: StatusDelivered, Attempt: &AttemptLog{ID: "del_2", At: now.UTC(), StatusCode: &code}, Count: true,
			}}})
			if err != nil || got[0].Lost {
				t.Fatalf("finishMany() = %+v, %v", got, err)
			}
			read, err := s.getMessage(ctx, ws, m.ID)
			if err != nil || read.Status != StatusDelivered || len(read.Attempts) != 2 || read.Attempts[0].ID != "del_old" || read.Attempts[1].ID != "del_2" {
				t.Fatalf("getMessage() = %+v, %v; want delivered with del_old then del_2", read, err)
			}
			if n, _ := s.pendingCount(ctx, ws); n != 0 {
				t.Errorf("pending = %d after the delivery, want 0", n)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
