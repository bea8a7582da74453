package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

func TestDeliverySignedAndLogged(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return http.StatusAccepted })
	sub := e.subscribe(t, rc.srv.URL+"/hook", nil)
	if !strings.HasPrefix(sub.ID, "wh_") || !strings.HasPrefix(sub.Secret, "whsec_") || sub.Status != "active" {
		t.Fatalf("Create() = %+v; want a wh_ id, a whsec_ secret, active", sub)
	}
	rc.expect(sub.Secret)
	ev := e.event(tasks.EventTaskCompleted, "tsk_1", 2)
	e.publish(t, ev)
	e.publish(t, ev) // the fan-out ran twice for it: still one message

	ds := e.waitStatus(t, sub.ID, 1, webhooks.StatusDelivered)
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	h := reqs[0].header
	if h.Get("webhook-id") != ev.ID || h.Get("X-Tasker-Event") != "task.completed" || h.Get("User-Agent") != "Tasker-Webhooks/1" {
		t.Errorf("headers = %v", h)
	}
	if got := envelope(t, reqs[0].body); got.ID != ev.ID || got.Test || got.Data.Task.ID != "tsk_1" {
		t.Errorf("body = %+v", got)
	}
	d := ds[0]
	if !strings.HasPrefix(d.ID, "msg_") || d.EventID != ev.ID || d.EventType != tasks.EventTaskCompleted || len(d.Attempts) != 1 {
		t.Fatalf("delivery = %+v", d)
	}
	a := d.Attempts[0]
	if a.ID != h.Get("X-Tasker-Delivery") || a.StatusCode == nil || *a.StatusCode != 202 || a.Error != nil || a.DurationMS == nil || a.Pending {
		t.Errorf("attempt = %+v", a)
	}
	got, _ := e.svc.Get(context.Background(), e.ws, sub.ID)
	if got.LastTriggered == nil || got.DeliverySuccessRate == nil || *got.DeliverySuccessRate != 1 {
		t.Errorf("after a delivery: last_triggered %v, success rate %v; want set, 1", got.LastTriggered, got.DeliverySuccessRate)
	}
}

func TestRetryRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		respond      func(int, http.ResponseWriter, *http.Request) int
		wantStatus   webhooks.Status
		wantAttempts int
		wantCodes    []int // 0 for no response
		wantDisabled bool
	}{
		{name: "ServerErrorTwiceThenOK", respond: statusSequence(500, 503), wantStatus: webhooks.StatusDelivered, wantAttempts: 3, wantCodes: []int{500, 503, 200}},
		{name: "BadRequestFailsAtOnce", respond: statusSequence(400), wantStatus: webhooks.StatusFailed, wantAttempts: 1, wantCodes: []int{400}},
		{name: "GoneDisables", respond: statusSequence(410), wantStatus: webhooks.StatusFailed, wantAttempts: 1, wantCodes: []int{410}, wantDisabled: true},
		{name: "RedirectIsFailure", respond: func(n int, w http.ResponseWriter, r *http.Request) int {
			w.Header().Set("Location", "/elsewhere")
			return http.StatusFound
		}, wantStatus: webhooks.StatusFailed, wantAttempts: 4, wantCodes: []int{302, 302, 302, 302}},
		{name: "TimeoutRetried", respond: func(n int, w http.ResponseWriter, r *http.Request) int {
			if n == 0 {
				<-r.Context().Done() // hang past the attempt timeout
				return 0
			}
			return http.StatusOK
		}, wantStatus: webhooks.StatusDelivered, wantAttempts: 2, wantCodes: []int{0, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, false, func(c *webhooks.Config) { c.Timeout = 300 * time.Millisecond })
			rc := newReceiver(t, tt.respond)
			sub := e.subscribe(t, rc.srv.URL, nil)
			rc.expect(sub.Secret)
			ev := e.event(tasks.EventTaskCreated, "tsk_1", 1)
			e.publish(t, ev)
			d := e.waitStatus(t, sub.ID, 1, tt.wantStatus)[0]
			if len(d.Attempts) != tt.wantAttempts {
				t.Fatalf("attempts = %d, want %d: %+v", len(d.Attempts), tt.wantAttempts, d.Attempts)
			}
			seen := map[string]bool{}
			for i, a := range d.Attempts {
				code := 0
				if a.StatusCode != nil {
					code = *a.StatusCode
				}
				if code != tt.wantCodes[i] {
					t.Errorf("attempt %d status_code = %d, want %d", i, code, tt.wantCodes[i])
				}
				if code == 0 && (a.Error == nil || !strings.Contains(*a.Error, "timeout")) {
					t.Errorf("attempt %d without response: error = %v, want a timeout", i, a.Error)
				}
				if code >= 300 && code < 400 && (a.Error == nil || *a.Error != "redirect not followed") {
					t.Errorf("attempt %d redirect: error = %v", i, a.Error)
				}
				if seen[a.ID] {
					t.Errorf("attempt %d repeats delivery id %s", i, a.ID)
				}
				seen[a.ID] = true
			}
			for i, r := range rc.requests() {
				if r.header.Get("webhook-id") != ev.ID {
					t.Errorf("request %d webhook-id = %q, want the event id %q on every retry", i, r.header.Get("webhook-id"), ev.ID)
				}
				if r.header.Get("X-Tasker-Delivery") != d.Attempts[i].ID {
					t.Errorf("request %d X-Tasker-Delivery = %q, want the logged %q", i, r.header.Get("X-Tasker-Delivery"), d.Attempts[i].ID)
				}
			}
			got, _ := e.svc.Get(context.Background(), e.ws, sub.ID)
			if (got.Status == "disabled") != tt.wantDisabled {
				t.Fatalf("status = %s (%v), want disabled %v", got.Status, got.DisabledReason, tt.wantDisabled)
			}
			if tt.wantDisabled {
				select {
				case s := <-e.disabled:
					if s.ID != sub.ID || s.DisabledReason == nil || !strings.Contains(*s.DisabledReason, "410") {
						t.Errorf("OnDisabled(%+v), want the subscription with a 410 reason", s)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("OnDisabled not called")
				}
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	sub := e.subscribe(t, rc.srv.URL, nil)
	e.publish(t, e.event(tasks.EventTaskCreated, "tsk_1", 1))
	e.waitStatus(t, sub.ID, 1, webhooks.StatusDelivered)
	reqs := rc.requests()
	// The schedule says 10ms; the receiver asked for a second.
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Fatalf("retry after %v, want at least the Retry-After of 1s", gap)
	}
}

func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	e := newTestEnv(t, false, func(c *webhooks.Config) { c.Now = clock })
	rc := newReceiver(t, nil)
	rc.now = clock
	sub := e.subscribe(t, rc.srv.URL, nil)
	rotated, err := e.svc.RotateSecret(context.Background(), e.ws, sub.ID)
	if err != nil || rotated.Secret == sub.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("RotateSecret() = %+v, %v; want a new whsec_ secret", rotated, err)
	}
	// During the overlap both verify; X-Tasker-Signature is the new one's.
	rc.expect(rotated.Secret, sub.Secret)
	e.publish(t, e.event(tasks.EventTaskCreated, "tsk_1", 1))
	e.waitStatus(t, sub.ID, 1, webhooks.StatusDelivered)
	if sigs := strings.Fields(rc.requests()[0].header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("webhook-signature during overlap has %d signatures, want 2", len(sigs))
	}

	mu.Lock()
	now = now.Add(webhooks.SecretOverlap + time.Minute)
	mu.Unlock()
	rc.expect(rotated.Secret)
	e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", 2))
	e.waitStatus(t, sub.ID, 2, webhooks.StatusDelivered)
	if sigs := strings.Fields(rc.requests()[1].header.Get("webhook-signature")); len(sigs) != 1 {
		t.Fatalf("webhook-signature after 24h has %d signatures, want only the new secret's", len(sigs))
	}
}

// TestDisableAfterConsecutiveFailures drives the lanes itself: OnDisabled
// runs inside the lane step that settles the failure, so once the step has
// returned, what the test has not received was not called.
func TestDisableAfterConsecutiveFailures(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true, nil) // DisableAfter 3
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return http.StatusBadRequest })
	sub := e.subscribe(t, rc.srv.URL, nil)
	ctx := context.Background()

	// Test events fail too, but count neither toward disabling nor the rate.
	for range 4 {
		if _, err := e.svc.Test(ctx, e.ws, sub.ID, tasks.EventTaskCreated); err != nil {
			t.Fatal(err)
		}
	}
	e.step(t, 4)
	e.waitStatus(t, sub.ID, 4, webhooks.StatusFailed)
	got, _ := e.svc.Get(ctx, e.ws, sub.ID)
	if got.Status != "active" || got.DeliverySuccessRate != nil {
		t.Fatalf("after 4 failed test events: status %s, rate %v; want active, null", got.Status, got.DeliverySuccessRate)
	}

	for i := range 3 {
		e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", int64(i+1)))
		e.step(t, 1)
		e.waitStatus(t, sub.ID, 5+i, webhooks.StatusFailed)
	}
	select {
	case s := <-e.disabled:
		if s.ID != sub.ID || s.Status != "disabled" || s.DisabledReason == nil || *s.DisabledReason != "3 consecutive messages failed" {
			t.Fatalf("OnDisabled(%+v)", s)
		}
	default:
		t.Fatal("OnDisabled not called")
	}
	got, _ = e.svc.Get(ctx, e.ws, sub.ID)
	if got.Status != "disabled" || got.Enabled || got.DeliverySuccessRate == nil || *got.DeliverySuccessRate != 0 {
		t.Fatalf("after 3 failures: %+v; want disabled with rate 0", got)
	}
	// A disabled endpoint gets no new messages.
	e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", 9))
	if n := len(e.deliveries(t, sub.ID)); n != 7 {
		t.Fatalf("deliveries after disabling = %d, want 7", n)
	}
	e.step(t, 0)
	select {
	case s := <-e.disabled:
		t.Fatalf("OnDisabled called again for %s", s.ID)
	default:
	}
	// The alert's buttons, as the bot calls them.
	recent, err := e.svc.RecentDeliveries(ctx, e.ws, sub.ID, 5)
	if err != nil || len(recent) != 5 || recent[0].Status != tasks.WebhookFailed || len(recent[0].Attempts) != 1 {
		t.Fatalf("RecentDeliveries() = %d messages, %v", len(recent), err)
	}
	if err := e.svc.Reenable(ctx, e.ws, sub.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = e.svc.Get(ctx, e.ws, sub.ID)
	if got.Status != "active" || got.DisabledReason != nil || got.ConsecutiveFailures != 0 {
		t.Fatalf("after Reenable: %+v", got)
	}
	if n, err := e.svc.RetryFailed(ctx, e.ws, sub.ID); err != nil || n != 7 {
		t.Fatalf("RetryFailed() = %d, %v; want all 7 failed messages, test ones included", n, err)
	}
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, want := range []string{"tasker_webhook_attempts_total", "tasker_webhook_deliveries_total", "tasker_webhook_attempt_duration_seconds",
		"tasker_webhook_endpoints_disabled_total", "tasker_webhook_pending_messages", "tasker_webhook_endpoints_disabled"} {
		if !names[want] {
			t.Errorf("metric %s not registered", want)
		}
	}
}

func TestRecoverAndRedeliver(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	respond, up := downUntilUp(http.StatusServiceUnavailable)
	rc := newReceiver(t, respond)
	sub := e.subscribe(t, rc.srv.URL, func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask })
	ctx := context.Background()
	start := time.Now().Add(-time.Second)
	for i := range 3 {
		e.publish(t, e.event(tasks.EventTaskUpdated, "tsk_1", int64(i+1)))
	}
	ds := e.waitStatus(t, sub.ID, 3, webhooks.StatusFailed)
	if len(ds[0].Attempts) != 4 {
		t.Fatalf("failed message has %d attempts, want 1 + 3 retries", len(ds[0].Attempts))
	}
	if _, err := e.svc.Enable(ctx, e.ws, sub.ID); err != nil { // three failures disabled it
		t.Fatal(err)
	}
	up()

	n, err := e.svc.Recover(ctx, e.ws, sub.ID, start)
	if err != nil || n != 3 {
		t.Fatalf("Recover() = %d, %v; want 3", n, err)
	}
	e.waitStatus(t, sub.ID, 3, webhooks.StatusDelivered)
	if n, err := e.svc.Recover(ctx, e.ws, sub.ID, start); err != nil || n != 0 {
		t.Fatalf("second Recover() = %d, %v; want 0", n, err)
	}

	d, err := e.svc.Redeliver(ctx, e.ws, sub.ID, ds[0].ID)
	if err != nil || d.Status != webhooks.StatusPending || !d.Attempts[len(d.Attempts)-1].Pending || d.Attempts[len(d.Attempts)-1].StatusCode != nil {
		t.Fatalf("Redeliver() = %+v, %v; want pending with a pending attempt last", d, err)
	}
	e.waitStatus(t, sub.ID, 3, webhooks.StatusDelivered)
	if ds := e.deliveries(t, sub.ID); len(ds[0].Attempts) != 6 {
		t.Fatalf("redelivered message has %d attempts, want 6", len(ds[0].Attempts))
	}
	if _, err := e.svc.Redeliver(ctx, e.ws, sub.ID, "msg_nope"); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("Redeliver(unknown) = %v, want not found", err)
	}
}

func TestTestEventsStayOutOfTheLog(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	rc := newReceiver(t, nil)
	sub := e.subscribe(t, rc.srv.URL, nil)
	rc.expect(sub.Secret)
	ctx := context.Background()
	for _, typ := range tasks.EventTypes {
		d, err := e.svc.Test(ctx, e.ws, sub.ID, typ)
		if err != nil || !d.Test || d.Status != webhooks.StatusPending || d.EventType != typ {
			t.Fatalf("Test(%s) = %+v, %v", typ, d, err)
		}
	}
	e.waitStatus(t, sub.ID, len(tasks.EventTypes), webhooks.StatusDelivered)
	for _, r := range rc.requests() {
		ev := envelope(t, r.body)
		if !ev.Test || ev.Workspace != e.ws || !strings.HasPrefix(ev.ID, "evt_") {
			t.Errorf("test body = %+v; want test:true in the workspace", ev)
		}
		if ev.Type == tasks.EventUserLinked && ev.Data.User == nil || ev.Type != tasks.EventUserLinked && ev.Data.Task == nil {
			t.Errorf("test %s has no sample data", ev.Type)
		}
	}
	evs, _, err := e.store.ListEvents(ctx, e.ws, tasks.EventFilter{}, "", 100)
	if err != nil || len(evs) != 0 {
		t.Fatalf("event log = %d events, %v; want none", len(evs), err)
	}
	got, _ := e.svc.Get(ctx, e.ws, sub.ID)
	if got.DeliverySuccessRate != nil {
		t.Fatalf("success rate after test events = %v, want null", *got.DeliverySuccessRate)
	}
	if _, err := e.svc.Test(ctx, e.ws, sub.ID, "task.nope"); err == nil {
		t.Fatal("Test(unknown type) accepted")
	}
}

func TestOrderingPerTask(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false, nil)
	const events = 30
	var mu sync.Mutex
	lastVersion := map[string]int64{}
	ordered := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		time.Sleep(5 * time.Millisecond) // a slow receiver's latency, so overlapping sends would show in the peak
		return http.StatusOK
	})
	// The unordered endpoint's first four requests wait for each other: a
	// barrier that only concurrent sends pass (or the peak check fails).
	const together = 4
	var arrived atomic.Int32
	allIn := make(chan struct{})
	unordered := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		if k := arrived.Add(1); k == together {
			close(allIn)
		}
		select {
		case <-allIn:
		case <-time.After(5 * time.Second):
		}
		return http.StatusOK
	})
	osub := e.subscribe(t, ordered.srv.URL, func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask })
	us := e.subscribe(t, unordered.srv.URL, nil)
	// Two tasks' events interleaved, written in order, then the fan-out
	// target run on each at once, in whatever order the goroutines get.
	var evs []tasks.Event
	for v := int64(1); v <= events; v++ {
		for _, task := range []string{"tsk_a", "tsk_b"} {
			ev := e.event(tasks.EventTaskUpdated, task, v)
			e.appendEvent(t, ev)
			evs = append(evs, ev)
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Go(func() {
			<-start
			e.handle(t, ev)
		})
	}
	close(start)
	wg.Wait()
	e.waitStatus(t, osub.ID, 2*events, webhooks.StatusDelivered)
	e.waitStatus(t, us.ID, 2*events, webhooks.StatusDelivered)
	for i, r := range ordered.requests() {
		ev := envelope(t, r.body)
		mu.Lock()
		if prev := lastVersion[ev.Data.Task.ID]; ev.Data.Task.Version != prev+1 {
			t.Errorf("request %d: %s version %d after %d; want strictly in order", i, ev.Data.Task.ID, ev.Data.Task.Version, prev)
		}
		lastVersion[ev.Data.Task.ID] = ev.Data.Task.Version
		mu.Unlock()
	}
	if _, _, peak := ordered.stats(); peak > 2 {
		t.Errorf("ordered endpoint saw %d requests at once, want at most one per task (2)", peak)
	}
	if _, _, peak := unordered.stats(); peak < together {
		t.Errorf("unordered endpoint saw at most %d requests at once, want concurrency", peak)
	}
}

func TestWorkerKilledMidAttempt(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true, nil)
	arrived := make(chan struct{}, 1)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		if n == 0 {
			arrived <- struct{}{}
			<-r.Context().Done() // the worker dies while we answer
			return 0
		}
		return http.StatusOK
	})
	sub := e.subscribe(t, rc.srv.URL, nil)
	rc.expect(sub.Secret)
	e.publish(t, e.event(tasks.EventTaskCreated, "tsk_1", 1))

	worker := exec.Command(os.Args[0], "-test.run=^$")
	worker.Env = append(os.Environ(), workerEnv+"="+redistest.Addr(t), "WEBHOOKS_TEST_QUEUE="+e.queue, "WEBHOOKS_TEST_WS="+string(e.ws))
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		worker.Process.Kill()
		worker.Wait()
	})
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the worker process never attempted the delivery")
	}
	killed := time.Now()
	if err := worker.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	worker.Wait()

	e.startWorker(t) // another replica
	d := e.waitStatus(t, sub.ID, 1, webhooks.StatusDelivered)[0]
	if took := time.Since(killed); took > 2*time.Minute {
		t.Errorf("retried %v after the kill, want within 2 minutes", took)
	}
	total, ok, peak := rc.stats()
	if total != 2 || ok != 1 || peak != 1 {
		t.Fatalf("receiver: %d requests, %d delivered, %d at once; want 2, 1, 1", total, ok, peak)
	}
	if len(d.Attempts) != 2 || d.Attempts[0].StatusCode != nil || d.Attempts[0].Error == nil || !strings.Contains(*d.Attempts[0].Error, "interrupted") {
		t.Fatalf("attempts = %+v; want the interrupted one, then the delivery", d.Attempts)
	}
}

func TestSubscriptionRules(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true, nil)
	ctx := context.Background()
	problems := func(err error) map[string]string {
		var v *tasks.ValidationError
		if !errors.As(err, &v) {
			t.Fatalf("error %v, want a validation error", err)
		}
		return v.Fields
	}
	bad := []struct {
		name  string
		in    webhooks.NewSubscription
		field string
	}{
		{"NoURL", webhooks.NewSubscription{Events: []string{"*"}}, "url"},
		{"FTP", webhooks.NewSubscription{URL: "ftp://example.com", Events: []string{"*"}}, "url"},
		{"Metadata", webhooks.NewSubscription{URL: "http://169.254.169.254/", Events: []string{"*"}}, "url"},
		{"NoEvents", webhooks.NewSubscription{URL: "http://127.0.0.1/"}, "events"},
		{"UnknownEvent", webhooks.NewSubscription{URL: "http://127.0.0.1/", Events: []string{"task.nope"}}, "events"},
		{"Ordering", webhooks.NewSubscription{URL: "http://127.0.0.1/", Events: []string{"*"}, Ordering: "strict"}, "ordering"},
	}
	for _, tt := range bad {
		_, err := e.svc.Create(ctx, e.ws, tt.in)
		if p := problems(err); p[tt.field] == "" {
			t.Errorf("%s: problems = %v, want one for %s", tt.name, p, tt.field)
		}
	}

	strict := newTestEnv(t, true, func(c *webhooks.Config) { c.AllowPrivate = false })
	_, err := strict.svc.Create(ctx, strict.ws, webhooks.NewSubscription{URL: "https://127.0.0.1/hook", Events: []string{"*"}})
	if p := problems(err); !strings.Contains(p["url"], "loopback") {
		t.Errorf("loopback without allowPrivate: problems = %v", p)
	}

	sub, err := e.svc.Create(ctx, e.ws, webhooks.NewSubscription{URL: "http://127.0.0.1/", Events: []string{"task.created", "task.created"}, Secret: "my own secret"})
	if err != nil || len(sub.Events) != 1 || sub.Secret != "my own secret" || sub.Ordering != "none" || sub.DeliverySuccessRate != nil || sub.LastTriggered != nil {
		t.Fatalf("Create() = %+v, %v", sub, err)
	}
	upd, err := e.svc.Update(ctx, e.ws, sub.ID, webhooks.SubscriptionPatch{Ordering: ptr("task"), Events: &[]string{"*"}, Enabled: ptr(false)})
	if err != nil || upd.Ordering != "task" || upd.Events[0] != "*" || upd.Status != "disabled" || upd.DisabledReason != nil {
		t.Fatalf("Update() = %+v, %v", upd, err)
	}
	for i := 1; i < webhooks.MaxSubscriptions; i++ {
		if _, err := e.svc.Create(ctx, e.ws, webhooks.NewSubscription{URL: "http://127.0.0.1/", Events: []string{"*"}}); err != nil {
			t.Fatalf("subscription %d: %v", i+1, err)
		}
	}
	if _, err := e.svc.Create(ctx, e.ws, webhooks.NewSubscription{URL: "http://127.0.0.1/", Events: []string{"*"}}); !errors.Is(err, tasks.ErrConflict) {
		t.Fatalf("subscription 51: %v, want a conflict", err)
	}
	if err := e.svc.Delete(ctx, e.ws, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, e.ws, sub.ID); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("Get(deleted) = %v", err)
	}
}

func TestEnsureStatic(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 { // replicas starting together
		wg.Go(func() {
			if _, err := e.svc.EnsureStatic(ctx, e.ws, "http://127.0.0.1:9/hook", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"); err != nil {
				t.Errorf("EnsureStatic() = %v", err)
			}
		})
	}
	wg.Wait()
	subs, err := e.svc.List(ctx, e.ws)
	if err != nil || len(subs) != 1 || subs[0].ID != webhooks.StaticID || subs[0].Events[0] != "*" || subs[0].Secret != "whsec_c2VjcmV0c2VjcmV0c2VjcmV0" {
		t.Fatalf("List() = %+v, %v; want the one static subscription", subs, err)
	}
	again, err := e.svc.EnsureStatic(ctx, e.ws, "http://127.0.0.1:10/hook", "")
	if err != nil || again.URL != "http://127.0.0.1:10/hook" || again.Secret != subs[0].Secret {
		t.Fatalf("EnsureStatic(new url, no secret) = %+v, %v; want the url changed, the secret kept", again, err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestTargetSkipsInternalAndTestEvents: the daily digest is for chat and a
// test event is sent by its own route; neither becomes a subscriber message.
func TestTargetSkipsInternalAndTestEvents(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true, nil)
	e.subscribe(t, "http://127.0.0.1/hook", nil)
	target := e.svc.Target()
	if ev := e.event(tasks.EventTaskCreated, "tsk_1", 1); !target.Wants(ev) {
		t.Fatal("Wants(task.created) = false with a \"*\" subscriber")
	}
	if ev := e.event(tasks.EventDailyDigest, "tsk_1", 1); target.Wants(ev) {
		t.Error("Wants(digest.daily) = true")
	}
	ev := e.event(tasks.EventTaskCreated, "tsk_1", 1)
	ev.Test = true
	if target.Wants(ev) {
		t.Error("Wants(test event) = true")
	}
}
