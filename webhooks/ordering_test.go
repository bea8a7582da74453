package webhooks_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// orderReceiver is an endpoint that checks every task's versions arrive
// strictly in order, each once.
type orderReceiver struct {
	*receiver
	mu   sync.Mutex
	last map[string]int64
	bad  []string
}

func newOrderReceiver(t *testing.T, respond func(int, http.ResponseWriter, *http.Request) int) *orderReceiver {
	t.Helper()
	or := &orderReceiver{last: map[string]int64{}}
	or.receiver = newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		status := http.StatusOK
		if respond != nil {
			status = respond(n, w, r)
		}
		if status/100 == 2 {
			or.mu.Lock()
			ev := envelope(t, or.receiver.requests()[n].body)
			task := ev.Data.Task
			if prev := or.last[task.ID]; task.Version <= prev {
				or.bad = append(or.bad, ev.ID)
				t.Errorf("%s version %d arrived after %d", task.ID, task.Version, prev)
			}
			or.last[task.ID] = task.Version
			or.mu.Unlock()
		}
		return status
	})
	return or
}

// version returns the last version each task had delivered.
func (or *orderReceiver) version(task string) int64 {
	or.mu.Lock()
	defer or.mu.Unlock()
	return or.last[task]
}

// TestOrderedQueueSurvivesDisable disables an ordered endpoint while its
// task queue is half sent: what waits is held, not dropped, and goes out in
// order once it is enabled again, followed by new events. Until then the
// test runs the lanes' steps and the sweep itself, so "nothing more was
// sent" is known when they return rather than hoped after a wait.
func TestOrderedQueueSurvivesDisable(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true, nil)
	ctx := context.Background()
	inFlight := make(chan struct{})
	gate := make(chan struct{})
	var gateOnce sync.Once
	letGo := func() { gateOnce.Do(func() { close(gate) }) }
	rc := newOrderReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		if n == 1 {
			close(inFlight)
			<-gate // the second message is in flight while the endpoint is disabled
		}
		return http.StatusOK
	})
	t.Cleanup(letGo) // before the receiver closes, which waits for the held request
	sub := e.subscribe(t, rc.srv.URL, func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask })
	for v := int64(1); v <= 5; v++ {
		e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", v))
	}
	e.step(t, 1) // version 1 alone
	second := make(chan int, 1)
	go func() {
		n, err := e.svc.DeliverDue(ctx, e.ws)
		if err != nil {
			t.Error(err)
		}
		second <- n
	}()
	select {
	case <-inFlight:
	case <-time.After(5 * time.Second):
		t.Fatal("the second message was never sent")
	}
	if _, err := e.svc.Update(ctx, e.ws, sub.ID, webhooks.SubscriptionPatch{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	letGo()
	if n := <-second; n != 1 {
		t.Fatalf("second lane step = %d messages, want version 2 alone", n)
	}
	for range 3 { // sweeps and lane steps while disabled
		if err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		e.step(t, 0)
	}
	if total, _, _ := rc.stats(); total != 2 {
		t.Fatalf("while disabled the endpoint got %d requests, want 2", total)
	}
	if _, err := e.svc.Enable(ctx, e.ws, sub.ID); err != nil {
		t.Fatal(err)
	}
	e.startWorker(t)
	e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", 6))
	waitFor(t, 10*time.Second, "every version delivered", func() bool { return rc.version("tsk_1") == 6 })
	e.waitStatus(t, sub.ID, 6, webhooks.StatusDelivered)
	if total, _, _ := rc.stats(); total != 6 {
		t.Fatalf("receiver got %d requests, want 6", total)
	}
}

// TestOrderedQueueSurvivesDisableByFailures: an endpoint disabled by its
// failures mid-queue, re-enabled and recovered, gets every message, in
// order, and the queue keeps moving for new events.
func TestOrderedQueueSurvivesDisableByFailures(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil) // DisableAfter 3, three quick retries
	respond, up := downUntilUp(http.StatusBadRequest)
	rc := newOrderReceiver(t, respond)
	sub := e.subscribe(t, rc.srv.URL, func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask })
	ctx := context.Background()
	start := time.Now().Add(-time.Second)
	var last tasks.Event
	for v := int64(1); v <= 6; v++ { // written before any is sent
		last = e.event(tasks.EventTaskUpdated, "tsk_1", v)
		e.appendEvent(t, last)
	}
	e.handle(t, last)
	select {
	case <-e.disabled:
	case <-time.After(10 * time.Second):
		t.Fatal("not disabled after three failed messages")
	}
	up()
	if err := e.svc.Reenable(ctx, e.ws, sub.ID); err != nil {
		t.Fatal(err)
	}
	// The three held back while it was disabled go out on their own.
	waitFor(t, 10*time.Second, "versions 4 to 6", func() bool { return rc.version("tsk_1") == 6 })
	// Recovered, the failed ones come again in their own order.
	rc.mu.Lock()
	rc.last["tsk_1"] = 0
	rc.mu.Unlock()
	if n, err := e.svc.Recover(ctx, e.ws, sub.ID, start); err != nil || n != 3 {
		t.Fatalf("Recover() = %d, %v; want the 3 failed", n, err)
	}
	e.waitStatus(t, sub.ID, 6, webhooks.StatusDelivered)
	if v := rc.version("tsk_1"); v != 3 {
		t.Fatalf("after recover the last version delivered is %d, want 3", v)
	}
	e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_2", 1))
	waitFor(t, 10*time.Second, "a new task's event", func() bool { return rc.version("tsk_2") == 1 })
}

// TestOrderedQueueSurvivesDelete deletes an ordered endpoint mid-queue:
// its waiting messages end (failed), none stays pending for ever.
func TestOrderedQueueSurvivesDelete(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	ctx := context.Background()
	gate := make(chan struct{})
	var once sync.Once
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		once.Do(func() { <-gate })
		return http.StatusOK
	})
	sub := e.subscribe(t, rc.srv.URL, func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask })
	for v := int64(1); v <= 4; v++ {
		e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", v))
	}
	waitFor(t, 5*time.Second, "the first message in flight", func() bool { total, _, _ := rc.stats(); return total == 1 })
	if err := e.svc.Delete(ctx, e.ws, sub.ID); err != nil {
		t.Fatal(err)
	}
	close(gate)
	waitFor(t, 10*time.Second, "no message pending", func() bool {
		n, err := e.svc.Pending(ctx, e.ws)
		return err == nil && n == 0
	})
}

// TestOrderingAcrossFanoutFailure: the fan-out for version 1 never ran
// (its notice was lost, or an older version's event job for it failed)
// when version 2's runs: version 2's fan-out takes version 1 first, and the
// late run for version 1 adds nothing.
func TestOrderingAcrossFanoutFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	rc := newOrderReceiver(t, nil)
	sub := e.subscribe(t, rc.srv.URL, func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask })
	first := e.event(tasks.EventTaskUpdated, "tsk_1", 1)
	e.appendEvent(t, first) // Handle does not run for it until the end
	e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", 2))
	// Both delivered, in order, before anything ran for version 1.
	e.waitStatus(t, sub.ID, 2, webhooks.StatusDelivered)
	e.handle(t, first)
	// Handle has returned: a message it made would be in the log now.
	if n := len(e.deliveries(t, sub.ID)); n != 2 {
		t.Fatalf("after the late run for version 1: %d messages, want 2", n)
	}
	if v := rc.version("tsk_1"); v != 2 {
		t.Fatalf("last version delivered = %d, want 2", v)
	}
}

// TestOrderingAcrossDeadFanout: a replica died mid-fan-out, holding the
// lock with events read but not acknowledged. Nothing is lost and the
// order holds once its lock runs out.
func TestOrderingAcrossDeadFanout(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	ctx := context.Background()
	rc := newOrderReceiver(t, nil)
	e.subscribe(t, rc.srv.URL, func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask })
	// The dead replica's pass: it took the lock and read version 1.
	waitFor(t, 5*time.Second, "the fan-out lock", func() bool { // the sweep may hold it a moment
		ok, err := e.svc.LockFanout(ctx, e.ws, "dead", 300*time.Millisecond)
		return err == nil && ok
	})
	e.appendEvent(t, e.event(tasks.EventTaskUpdated, "tsk_1", 1))
	e.appendEvent(t, e.event(tasks.EventTaskUpdated, "tsk_1", 2))
	if got, err := e.store.ReadGroup(ctx, e.ws, webhooks.FanoutGroup, "dead", 1); err != nil || len(got) != 1 {
		t.Fatalf("ReadGroup() = %d, %v", len(got), err)
	}
	e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", 3)) // finds the lock held
	waitFor(t, 10*time.Second, "all three versions", func() bool { return rc.version("tsk_1") == 3 })
	if total, _, _ := rc.stats(); total != 3 {
		t.Fatalf("receiver got %d requests, want 3", total)
	}
}

// TestClockSkewKeepsLeases: a replica whose clock runs 20s ahead sweeps
// while an attempt is in flight. Leases follow Redis' clock, so it leaves
// the attempt alone: one request, nothing logged as interrupted.
func TestClockSkewKeepsLeases(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil) // lease 2.5s
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		if n == 0 {
			arrived <- struct{}{}
			<-release
		}
		return http.StatusOK
	})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(letGo) // before the receiver closes, which waits for the attempt
	sub := e.subscribe(t, rc.srv.URL, nil)
	e.publish(t, e.event(tasks.EventTaskCreated, "tsk_1", 1))
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the attempt never arrived")
	}

	ahead := func() time.Time { return time.Now().Add(20 * time.Second) }
	cfg := e.cfg
	cfg.Now, cfg.OnDisabled = ahead, nil
	skewed, err := webhooks.NewService(quietLogger(), e.rdb, tasks.NewStore(e.rdb, ahead), prometheus.NewRegistry(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := skewed.Reap(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Reap has returned: a lease it took would show in the log now.
	if ds := e.deliveries(t, sub.ID); len(ds) != 1 || ds[0].Status != webhooks.StatusPending || len(ds[0].Attempts) != 1 {
		t.Fatalf("after the skewed sweep: %+v; want the one attempt still in flight", ds)
	}
	letGo()
	// A second attempt, had there been one, reached the receiver before the
	// message could be delivered.
	d := e.waitStatus(t, sub.ID, 1, webhooks.StatusDelivered)[0]
	if total, _, peak := rc.stats(); total != 1 || peak != 1 {
		t.Fatalf("receiver: %d requests, %d at once; want 1, 1", total, peak)
	}
	for _, a := range d.Attempts {
		if a.Error != nil && strings.Contains(*a.Error, "interrupted") {
			t.Fatalf("attempts = %+v; the skewed sweep reaped a live lease", d.Attempts)
		}
	}
}

// TestFanoutRecreatesALostGroup: after the event stream and its group are
// gone, the fan-out makes the group again and new events get messages.
func TestFanoutRecreatesALostGroup(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	rc := newOrderReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return http.StatusOK })
	sub := e.subscribe(t, rc.srv.URL, nil)
	first := e.event(tasks.EventTaskUpdated, "tsk_1", 1)
	e.appendEvent(t, first)
	e.handle(t, first)
	e.waitStatus(t, sub.ID, 1, webhooks.StatusDelivered)
	if err := e.rdb.Del(context.Background(), tasks.EventStreamKey(e.ws)).Err(); err != nil {
		t.Fatal(err)
	}
	second := e.event(tasks.EventTaskUpdated, "tsk_1", 2)
	e.appendEvent(t, second)
	e.handle(t, second)
	e.waitStatus(t, sub.ID, 2, webhooks.StatusDelivered)
}
