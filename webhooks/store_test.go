package webhooks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

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

func TestWebhookAttemptLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		q, _ := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_1", EventType: tasks.EventTaskCreated, Body: "{}", DeliveryID: "del_1"})
		id := q.Message.ID

		b, err := s.beginAttempt(ctx, ws, sub.ID, "", id, 1, "tok", time.Minute)
		if err != nil || b.Action != actRun || b.Subscription == nil || b.Message.NextDeliveryID != "del_1" {
			t.Fatalf("BeginWebhookAttempt() = %+v, %v; want run", b, err)
		}
		if b2, _ := s.beginAttempt(ctx, ws, sub.ID, "", id, 1, "other", time.Minute); b2.Action != actBusy {
			t.Fatalf("second BeginWebhookAttempt() = %q, want busy", b2.Action)
		}
		code, dur := 500, int64(3)
		f, err := s.finishAttempt(ctx, ws, b.Message, "tok", attemptResult{
			Status: StatusPending, NextAt: time.Now(), NextDeliveryID: "del_2", Count: true,
			Attempt: &AttemptLog{ID: "del_1", At: time.Now(), StatusCode: &code, DurationMS: &dur},
		})
		if err != nil || f.Lost {
			t.Fatalf("FinishWebhookAttempt(retry) = %+v, %v", f, err)
		}
		if b, _ := s.beginAttempt(ctx, ws, sub.ID, "", id, 1, "tok", time.Minute); b.Action != actStale {
			t.Fatalf("BeginWebhookAttempt(old seq) = %q, want stale", b.Action)
		}
		b, _ = s.beginAttempt(ctx, ws, sub.ID, "", id, 2, "tok2", time.Minute)
		if b.Action != actRun || b.Message.Round != 1 || len(b.Message.Attempts) != 1 {
			t.Fatalf("BeginWebhookAttempt(seq 2) = %+v", b)
		}
		code = 200
		if _, err := s.finishAttempt(ctx, ws, b.Message, "tok2", attemptResult{
			Status: StatusDelivered, Count: true,
			Attempt: &AttemptLog{ID: "del_2", At: time.Now(), StatusCode: &code, DurationMS: &dur},
		}); err != nil {
			t.Fatal(err)
		}
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
	})
}

func TestWebhookOrderedQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "task")
		var ids []string
		// Version 2 arrives before version 1 (a redelivery of an older
		// message): the head is always the lowest version.
		for _, v := range []int64{2, 1, 3} {
			q, err := s.createMessage(ctx, ws, newMessage{
				SubscriptionID: sub.ID, EventID: fmt.Sprintf("evt_%d", v), EventType: tasks.EventTaskUpdated,
				Body: "{}", OrderKey: "tsk_1", OrderScore: v, DeliveryID: "del",
			})
			if err != nil || q.Runnable != (v <= 2) {
				t.Fatalf("CreateWebhookMessage(v%d) = runnable %v, %v", v, q.Runnable, err)
			}
			ids = append(ids, q.Message.ID)
		}
		// Never attempted, v2 and v3 give the turn to v1.
		for _, id := range []string{ids[0], ids[2]} {
			b, err := s.beginAttempt(ctx, ws, sub.ID, "tsk_1", id, 1, "t", time.Minute)
			if err != nil || b.Action != actSwitch || b.Next != ids[1] {
				t.Fatalf("BeginWebhookAttempt(%s) = %+v, %v; want switch to v1", id, b, err)
			}
		}
		for i, want := range []string{ids[1], ids[0], ids[2]} {
			b, err := s.beginAttempt(ctx, ws, sub.ID, "tsk_1", want, 1, "t", time.Minute)
			if err != nil || b.Action != actRun {
				t.Fatalf("step %d: BeginWebhookAttempt() = %+v, %v; want run", i, b, err)
			}
			if i == 1 {
				// An older message rejoins while v2 is in flight: it heads
				// the queue, but waits for v2's attempt to end.
				q, err := s.createMessage(ctx, ws, newMessage{
					SubscriptionID: sub.ID, EventID: "evt_0", EventType: tasks.EventTaskUpdated,
					Body: "{}", OrderKey: "tsk_1", OrderScore: 0, DeliveryID: "del",
				})
				if err != nil || !q.Runnable {
					t.Fatalf("CreateWebhookMessage(v0) = %+v, %v; want runnable", q, err)
				}
				if b0, _ := s.beginAttempt(ctx, ws, sub.ID, "tsk_1", q.Message.ID, 1, "t0", time.Minute); b0.Action != actWait {
					t.Fatalf("BeginWebhookAttempt(v0) while v2 is in flight = %q, want wait", b0.Action)
				}
				f, err := s.finishAttempt(ctx, ws, b.Message, "t", attemptResult{Status: StatusFailed, Count: true})
				if err != nil || f.Next != q.Message.ID {
					t.Fatalf("finish v2: next = %q, %v; want v0", f.Next, err)
				}
				b0, _ := s.beginAttempt(ctx, ws, sub.ID, "tsk_1", q.Message.ID, 1, "t0", time.Minute)
				if f, _ := s.finishAttempt(ctx, ws, b0.Message, "t0", attemptResult{Status: StatusDelivered}); f.Next != ids[2] {
					t.Fatalf("finish v0: next = %q, want v3", f.Next)
				}
				continue
			}
			f, err := s.finishAttempt(ctx, ws, b.Message, "t", attemptResult{Status: StatusFailed, Count: true})
			if err != nil {
				t.Fatal(err)
			}
			wantNext := ""
			if i == 0 {
				wantNext = ids[0]
			}
			if f.Next != wantNext {
				t.Fatalf("step %d: next = %q, want %q", i, f.Next, wantNext)
			}
		}
	})
}

func TestWebhookDisableAfterFailures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		disabled := 0
		for i := range 4 {
			q, _ := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: fmt.Sprintf("evt_%d", i), Body: "{}"})
			b, _ := s.beginAttempt(ctx, ws, sub.ID, "", q.Message.ID, 1, "t", time.Minute)
			f, err := s.finishAttempt(ctx, ws, b.Message, "t", attemptResult{
				Status: StatusFailed, Count: true, DisableAfter: 3, DisableAfterReason: "3 failed",
			})
			if err != nil {
				t.Fatal(err)
			}
			if f.Disabled {
				disabled++
			}
		}
		got, _ := s.getSub(ctx, ws, sub.ID)
		if disabled != 1 || got.Enabled || got.DisabledReason != "3 failed" {
			t.Fatalf("after 4 failures: disabled %d times, enabled %v, reason %q; want once, false, 3 failed", disabled, got.Enabled, got.DisabledReason)
		}
		failed, err := s.failedMessages(ctx, ws, sub.ID, time.Now().Add(-time.Hour), 0, 100)
		if err != nil || len(failed) != 4 {
			t.Fatalf("FailedWebhookMessages() = %d, %v; want 4", len(failed), err)
		}
		got, err = s.updateSub(ctx, ws, sub.ID, func(w *subRecord) error { w.Enabled = true; return nil })
		if err != nil || !got.Enabled || got.DisabledReason != "" || got.ConsecutiveFailures != 0 {
			t.Fatalf("re-enable = %+v, %v", got, err)
		}
	})
}

func TestWebhookReap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		sub := newTestWebhook(t, s, ws, "none")
		q, _ := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: "evt_1", Body: "{}"})
		if b, _ := s.beginAttempt(ctx, ws, sub.ID, "", q.Message.ID, 1, "t", 50*time.Millisecond); b.Action != actRun {
			t.Fatalf("BeginWebhookAttempt() = %q", b.Action)
		}
		if _, ok, _ := s.reapLease(ctx, ws, q.Message, AttemptLog{ID: "del_lost"}, "del_next"); ok {
			t.Fatal("ReapWebhookLease() took a live lease")
		}
		deadline := time.Now().Add(5 * time.Second)
		var ids []string
		for len(ids) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			ids, _ = s.expiredLeases(ctx, ws, 10)
		}
		if len(ids) != 1 {
			t.Fatalf("ExpiredWebhookLeases() = %v, want the message", ids)
		}
		var m message
		var ok bool
		for time.Now().Before(deadline) && !ok { // the lease key's own TTL may lag the score by a moment
			m, ok, _ = s.reapLease(ctx, ws, q.Message, AttemptLog{ID: "del_lost"}, "del_next")
			time.Sleep(10 * time.Millisecond)
		}
		if !ok || m.Seq != 2 || m.NextDeliveryID != "del_next" || len(m.Attempts) != 1 {
			t.Fatalf("ReapWebhookLease() = %+v, %v; want seq 2 with the lost attempt logged", m, ok)
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
				b, _ := s.beginAttempt(ctx, ws, sub.ID, "", q.Message.ID, 1, "t", time.Minute)
				if _, err := s.finishAttempt(ctx, ws, b.Message, "t", attemptResult{Status: StatusFailed}); err != nil {
					t.Fatal(err)
				}
				failed = append([]string{q.Message.ID}, failed...) // newest first
			}
		}
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
