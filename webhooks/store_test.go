package webhooks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// forEachBackend runs fn on a store of each test backend (real Redis and
// the embedded one), in a fresh workspace.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *store, ws tasks.WorkspaceID)) {
	t.Helper()
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			fn(t, newTestStore(t, b, time.Now), tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64())))
		})
	}
}

// newTestStore returns a store on backend b with clock now.
func newTestStore(t *testing.T, b string, now func() time.Time) *store {
	t.Helper()
	rdb := redistest.ClientFor(t, b)
	return &store{rdb: rdb, tasks: tasks.NewStore(rdb, now), now: now}
}

func newTestWebhook(t *testing.T, s *store, ws tasks.WorkspaceID, ordering string) subRecord {
	t.Helper()
	sub, err := s.createSub(context.Background(), ws, subRecord{
		URL: "https://example.com/hook", Events: []string{"*"}, Secret: "s", Enabled: true, Ordering: ordering,
	}, 50)
	if err != nil {
		t.Fatalf("CreateWebhook() = %v", err)
	}
	return sub
}

func TestWebhookLimitIsAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, conflicts := 0, 0
		for range 60 {
			wg.Go(func() {
				_, err := s.createSub(context.Background(), ws, subRecord{URL: "https://example.com", Events: []string{"*"}, Secret: "s", Enabled: true}, 50)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, tasks.ErrConflict):
					conflicts++
				default:
					t.Errorf("CreateWebhook() = %v", err)
				}
			})
		}
		wg.Wait()
		if created != 50 || conflicts != 10 {
			t.Fatalf("60 concurrent creates: %d created, %d conflicts; want 50, 10", created, conflicts)
		}
		subs, err := s.listSubs(context.Background(), ws)
		if err != nil || len(subs) != 50 {
			t.Fatalf("ListWebhooks() = %d, %v; want 50", len(subs), err)
		}
	})
}

func TestWebhookMessageOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		in := newMessage{SubscriptionID: sub.ID, EventID: "evt_1", EventType: tasks.EventTaskCreated, Body: "{}", DeliveryID: "del_1"}
		a, err := s.createMessage(ctx, ws, in)
		if err != nil || !a.Created || !a.Runnable {
			t.Fatalf("first CreateWebhookMessage() = %+v, %v", a, err)
		}
		b, err := s.createMessage(ctx, ws, in)
		if err != nil || b.Created || b.Message.ID != a.Message.ID || !b.Runnable || b.Message.Seq != 1 {
			t.Fatalf("second CreateWebhookMessage() = %+v, %v; want the first message again", b, err)
		}
		if n, _ := s.pendingCount(ctx, ws); n != 1 {
			t.Fatalf("WebhookPending() = %d, want 1", n)
		}
	})
}

// mustLease leases what of ws is due under token, as a lane does.
func mustLease(t *testing.T, s *store, ws tasks.WorkspaceID, token string) []leased {
	t.Helper()
	batch, _, err := s.leaseBatch(context.Background(), ws, token, 100, time.Minute)
	if err != nil {
		t.Fatalf("leaseBatch(%s) = %v", token, err)
	}
	return batch
}

// leasedIDs returns the ids of a leased batch, in its order.
func leasedIDs(batch []leased) []string {
	ids := make([]string, len(batch))
	for i, l := range batch {
		ids[i] = l.Message.ID
	}
	return ids
}

// mustSettle records outcomes under token, as a lane does after its sends.
func mustSettle(t *testing.T, s *store, ws tasks.WorkspaceID, token string, batch ...settle) []finishAnswer {
	t.Helper()
	out, err := s.finishMany(context.Background(), ws, token, batch)
	if err != nil {
		t.Fatalf("finishMany(%s) = %v", token, err)
	}
	return out
}

// TestWebhookAttemptLifecycle: a due message is leased once, its retry
// comes back as the next attempt, and its delivery ends it, with both
// attempts logged and the subscription's state moved.
func TestWebhookAttemptLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		q, _ := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_1", EventType: tasks.EventTaskCreated, Body: "{}", DeliveryID: "del_1"})
		id := q.Message.ID

		b := mustLease(t, s, ws, "tok")
		if len(b) != 1 || b[0].Message.ID != id || b[0].Subscription == nil || b[0].Message.Seq != 1 || b[0].Message.NextDeliveryID != "del_1" {
			t.Fatalf("leaseBatch() = %+v; want the message's first attempt with its subscription", b)
		}
		// Made due again while leased (a sweep's ensure): the lease keeps
		// a second lane off it.
		if err := s.schedule(ctx, ws, id, 0); err != nil {
			t.Fatal(err)
		}
		if b2 := mustLease(t, s, ws, "other"); len(b2) != 0 {
			t.Fatalf("leaseBatch(other) while leased = %v, want none", leasedIDs(b2))
		}
		code, dur := 500, int64(3)
		f := mustSettle(t, s, ws, "tok", settle{m: b[0].Message, r: attemptResult{
			Status: StatusPending, NextAt: time.Now(), NextDeliveryID: "del_2", Count: true,
			Attempt: &AttemptLog{ID: "del_1", At: time.Now(), StatusCode: &code, DurationMS: &dur},
		}})
		if f[0].Lost {
			t.Fatalf("finishMany(retry) = %+v, want held", f)
		}
		// The lease went with the outcome: settling again under it is lost
		// and changes nothing.
		if f := mustSettle(t, s, ws, "tok", settle{m: b[0].Message, r: attemptResult{Status: StatusDelivered, Count: true}}); !f[0].Lost {
			t.Fatalf("finishMany(settled lease) = %+v, want lost", f)
		}
		b = mustLease(t, s, ws, "tok2")
		if len(b) != 1 || b[0].Message.Seq != 2 || b[0].Message.Round != 1 || b[0].Message.NextDeliveryID != "del_2" {
			t.Fatalf("leaseBatch() after the retry = %+v; want seq 2, round 1, del_2", b)
		}
		code = 200
		mustSettle(t, s, ws, "tok2", settle{m: b[0].Message, r: attemptResult{
			Status: StatusDelivered, Count: true,
			Attempt: &AttemptLog{ID: "del_2", At: time.Now(), StatusCode: &code, DurationMS: &dur},
		}})
		m, err := s.getMessage(ctx, ws, id)
		if err != nil || m.Status != StatusDelivered || len(m.Attempts) != 2 || m.Attempts[0].ID != "del_1" {
			t.Fatalf("WebhookMessage() = %+v, %v; want delivered after two attempts, oldest first", m, err)
		}
		got, _ := s.getSub(ctx, ws, sub.ID)
		if got.SuccessRate == nil || *got.SuccessRate != 1 || got.LastTriggered == nil {
			t.Fatalf("GetWebhook() state = rate %v, last %v; want 1 and set", got.SuccessRate, got.LastTriggered)
		}
		if n, _ := s.pendingCount(ctx, ws); n != 0 {
			t.Fatalf("WebhookPending() = %d, want 0", n)
		}
		if b := mustLease(t, s, ws, "tok3"); len(b) != 0 {
			t.Fatalf("leaseBatch() after delivery = %v, want none", leasedIDs(b))
		}
	})
}

// TestWebhookOrderedQueue: a task's messages to an ordered subscription
// are leased one at a time, lowest version first, each settled outcome
// making the next one due, even when an older version rejoins the queue.
func TestWebhookOrderedQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "task")
		create := func(v int64) string {
			t.Helper()
			q, err := s.createMessage(ctx, ws, newMessage{
				SubscriptionID: sub.ID, EventID: fmt.Sprintf("evt_%d", v), EventType: tasks.EventTaskUpdated,
				Body: "{}", OrderKey: "tsk_1", OrderScore: v, DeliveryID: "del",
			})
			if err != nil {
				t.Fatal(err)
			}
			return q.Message.ID
		}
		// lease leases one batch and wants exactly want in it.
		lease := func(step, token string, want ...string) []leased {
			t.Helper()
			b := mustLease(t, s, ws, token)
			if fmt.Sprint(leasedIDs(b)) != fmt.Sprint(want) {
				t.Fatalf("%s: leaseBatch() = %v, want %v", step, leasedIDs(b), want)
			}
			return b
		}
		finish := func(step, token string, l leased, status Status) {
			t.Helper()
			if f := mustSettle(t, s, ws, token, settle{m: l.Message, r: attemptResult{Status: status, Count: true}}); f[0].Lost {
				t.Fatalf("%s: finishMany() = %+v, want held", step, f[0])
			}
		}
		// Version 2 arrives before version 1 (a redelivery of an older
		// message): the head is always the lowest version.
		v2, v1, v3 := create(2), create(1), create(3)
		// v2 was due when it headed the queue, and v3 is made due as a
		// sweep might: neither runs before v1, and both leave the due set.
		if err := s.schedule(ctx, ws, v3, 0); err != nil {
			t.Fatal(err)
		}
		b := lease("v1", "t", v1)
		finish("v1", "t", b[0], StatusFailed)
		b = lease("v2", "t", v2)
		// An older message rejoins while v2 is in flight: it heads the
		// queue, but waits for v2's attempt to end.
		v0 := create(0)
		lease("v0 while v2 is in flight", "t0")
		finish("v2", "t", b[0], StatusFailed)
		b = lease("v0", "t0", v0)
		finish("v0", "t0", b[0], StatusDelivered)
		b = lease("v3", "t", v3)
		finish("v3", "t", b[0], StatusFailed)
		lease("emptied", "t")
		if heads, err := s.queueHeads(ctx, ws); err != nil || len(heads) != 0 {
			t.Fatalf("queueHeads() = %v, %v; want the emptied queue gone", heads, err)
		}
	})
}

// TestWebhookDisableAfterFailures: the failure that makes DisableAfter
// consecutive ones disables the subscription, once, within a lane's
// batch; its later messages are parked rather than sent.
func TestWebhookDisableAfterFailures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		for i := range 4 {
			if _, err := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: fmt.Sprintf("evt_%d", i), Body: "{}"}); err != nil {
				t.Fatal(err)
			}
		}
		b := mustLease(t, s, ws, "t")
		if len(b) != 4 {
			t.Fatalf("leaseBatch() = %v, want the 4 messages", leasedIDs(b))
		}
		settles := make([]settle, len(b))
		for i, l := range b {
			settles[i] = settle{m: l.Message, r: attemptResult{Status: StatusFailed, Count: true, DisableAfter: 3, DisableAfterReason: "3 failed"}}
		}
		var disabled []int
		for i, f := range mustSettle(t, s, ws, "t", settles...) {
			if f.Disabled {
				disabled = append(disabled, i)
			}
		}
		got, _ := s.getSub(ctx, ws, sub.ID)
		if fmt.Sprint(disabled) != "[2]" || got.Enabled || got.DisabledReason != "3 failed" {
			t.Fatalf("after 4 failures: disabled by %v, enabled %v, reason %q; want by the third only, false, 3 failed", disabled, got.Enabled, got.DisabledReason)
		}
		failed, err := s.failedMessages(ctx, ws, sub.ID, time.Now().Add(-time.Hour), 0, 100)
		if err != nil || len(failed) != 4 {
			t.Fatalf("FailedWebhookMessages() = %d, %v; want 4", len(failed), err)
		}
		q, _ := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_4", Body: "{}"})
		if b := mustLease(t, s, ws, "t"); len(b) != 0 {
			t.Fatalf("leaseBatch() while disabled = %v, want none", leasedIDs(b))
		}
		if ids, err := s.parked(ctx, ws, sub.ID, 10); err != nil || fmt.Sprint(ids) != fmt.Sprint([]string{q.Message.ID}) {
			t.Fatalf("parked() = %v, %v; want %s", ids, err, q.Message.ID)
		}
		got, err = s.updateSub(ctx, ws, sub.ID, func(w *subRecord) error { w.Enabled = true; return nil })
		if err != nil || !got.Enabled || got.DisabledReason != "" || got.ConsecutiveFailures != 0 {
			t.Fatalf("re-enable = %+v, %v", got, err)
		}
	})
}

// expireLease makes the lease of message id run out now, as Redis
// would: the key goes and its deadline in the leases set passes, by
// Redis' clock, so the test need not wait for a real lease to end.
func expireLease(t *testing.T, s *store, ws tasks.WorkspaceID, id string) {
	t.Helper()
	ctx := context.Background()
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	k := keysFor(ws)
	if err := s.rdb.Del(ctx, k.whLease(id)).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.rdb.ZAddXX(ctx, k.whLeases(), redis.Z{Score: float64(now.UnixMilli() - 1), Member: id}).Result(); err != nil || n != 0 {
		t.Fatalf("moving the lease's deadline = %d, %v", n, err)
	}
}

// TestWebhookReap: a lease still held is left alone; one that ran out
// (its lane died) is found, its attempt logged as lost and a new attempt
// made, which the lane that lost it can no longer settle.
func TestWebhookReap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		q, _ := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_1", Body: "{}"})
		id := q.Message.ID
		b := mustLease(t, s, ws, "t")
		if len(b) != 1 {
			t.Fatalf("leaseBatch() = %v, want the message", leasedIDs(b))
		}
		if ids, err := s.expiredLeases(ctx, ws, 10); err != nil || len(ids) != 0 {
			t.Fatalf("ExpiredWebhookLeases() with a live lease = %v, %v; want none", ids, err)
		}
		if ok, _ := s.reapLease(ctx, ws, b[0].Message, AttemptLog{ID: "del_lost"}, "del_next"); ok {
			t.Fatal("ReapWebhookLease() took a live lease")
		}
		expireLease(t, s, ws, id)
		if ids, err := s.expiredLeases(ctx, ws, 10); err != nil || fmt.Sprint(ids) != fmt.Sprint([]string{id}) {
			t.Fatalf("ExpiredWebhookLeases() = %v, %v; want the message", ids, err)
		}
		ok, err := s.reapLease(ctx, ws, b[0].Message, AttemptLog{ID: "del_lost"}, "del_next")
		if err != nil || !ok {
			t.Fatalf("ReapWebhookLease() = %v, %v; want requeued", ok, err)
		}
		m, err := s.getMessage(ctx, ws, id)
		if err != nil || m.Seq != 2 || m.NextDeliveryID != "del_next" || len(m.Attempts) != 1 || m.Attempts[0].ID != "del_lost" {
			t.Fatalf("message after ReapWebhookLease() = %+v, %v; want seq 2 with the lost attempt logged", m, err)
		}
		if ids, _ := s.expiredLeases(ctx, ws, 10); len(ids) != 0 {
			t.Fatalf("ExpiredWebhookLeases() after the reap = %v, want none", ids)
		}
		if f := mustSettle(t, s, ws, "t", settle{m: b[0].Message, r: attemptResult{Status: StatusDelivered, Count: true}}); !f[0].Lost {
			t.Fatalf("finishMany() by the lane that lost the lease = %+v, want lost", f)
		}
		if err := s.schedule(ctx, ws, id, 0); err != nil {
			t.Fatal(err)
		}
		if b := mustLease(t, s, ws, "t2"); len(b) != 1 || b[0].Message.Seq != 2 || b[0].Message.NextDeliveryID != "del_next" {
			t.Fatalf("leaseBatch() after the reap = %+v, want the new attempt", b)
		}
	})
}

func TestWebhookMessagesByStatus(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		var failed []string
		for i := range 7 {
			q, err := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: fmt.Sprintf("evt_%d", i), Body: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				failed = append([]string{q.Message.ID}, failed...) // newest first
			}
		}
		// The odd ones fail, the even ones wait for a retry.
		b := mustLease(t, s, ws, "t")
		if len(b) != 7 {
			t.Fatalf("leaseBatch() = %v, want the 7 messages", leasedIDs(b))
		}
		settles := make([]settle, len(b))
		for i, l := range b {
			settles[i] = settle{m: l.Message, r: attemptResult{Status: StatusPending, NextAt: time.Now().Add(time.Hour)}}
			if slices.Contains(failed, l.Message.ID) {
				settles[i].r = attemptResult{Status: StatusFailed}
			}
		}
		mustSettle(t, s, ws, "t", settles...)
		for _, limit := range []int{1, 2, 50} {
			var got []string
			cursor := ""
			for range 10 {
				ms, next, err := s.listMessages(ctx, ws, sub.ID, StatusFailed, cursor, limit)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					if m.Status != StatusFailed {
						t.Fatalf("limit %d: %s is %s", limit, m.ID, m.Status)
					}
					got = append(got, m.ID)
				}
				if cursor = next; cursor == "" {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(failed) {
				t.Errorf("limit %d: failed messages = %v, want %v", limit, got, failed)
			}
		}
		if ms, _, _ := s.listMessages(ctx, ws, sub.ID, StatusPending, "", 50); len(ms) != 4 {
			t.Errorf("pending messages = %d, want 4", len(ms))
		}
	})
}

// TestWebhookReapAndRequeueMakeDue: a reaped attempt and a requeued one
// are due when the script that made them returns, with no second call: a
// process dying, or Redis failing, between the two would otherwise leave
// an unordered message pending for good, out of the due set (and, once
// requeued, out of the failed index that Recover reads).
func TestWebhookReapAndRequeueMakeDue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		q, err := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_1", Body: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		id := q.Message.ID
		b := mustLease(t, s, ws, "t")
		if len(b) != 1 {
			t.Fatalf("leaseBatch() = %v, want the message", leasedIDs(b))
		}
		expireLease(t, s, ws, id)
		if ok, err := s.reapLease(ctx, ws, b[0].Message, AttemptLog{ID: "del_lost"}, "del_2"); err != nil || !ok {
			t.Fatalf("reapLease() = %v, %v; want requeued", ok, err)
		}
		b = mustLease(t, s, ws, "t2")
		if len(b) != 1 || b[0].Message.NextDeliveryID != "del_2" {
			t.Fatalf("leaseBatch() after the reap alone = %v, want the new attempt", leasedIDs(b))
		}
		mustSettle(t, s, ws, "t2", settle{m: b[0].Message, r: attemptResult{Status: StatusFailed}})
		rq, err := s.requeue(ctx, ws, sub.ID, id, "del_3")
		if err != nil || !rq.Runnable {
			t.Fatalf("requeue() = %+v, %v; want runnable", rq, err)
		}
		b = mustLease(t, s, ws, "t3")
		if len(b) != 1 || b[0].Message.NextDeliveryID != "del_3" {
			t.Fatalf("leaseBatch() after the requeue alone = %v, want the new attempt", leasedIDs(b))
		}
	})
}
