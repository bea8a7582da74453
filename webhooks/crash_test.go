package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// crashReceiver is an endpoint that keeps, per (endpoint path, event),
// what it answered and how many requests were in flight at once, so a
// test can check the ledger and that no message had two attempts at once.
type crashReceiver struct {
	*receiver
	mu       sync.Mutex
	inflight map[string]int
	ok       map[string]bool
	overlap  []string
}

// newCrashReceiver answers 500 to events of task "tsk_fail", 400 to
// those of "tsk_reject" and 200 to the rest.
func newCrashReceiver(t *testing.T) *crashReceiver {
	t.Helper()
	lr := &crashReceiver{inflight: map[string]int{}, ok: map[string]bool{}}
	lr.receiver = newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) int {
		key := r.URL.Path + " " + r.Header.Get("webhook-id")
		lr.mu.Lock()
		lr.inflight[key]++
		if lr.inflight[key] > 1 {
			lr.overlap = append(lr.overlap, key)
		}
		lr.mu.Unlock()
		defer func() {
			lr.mu.Lock()
			lr.inflight[key]--
			lr.mu.Unlock()
		}()
		status := http.StatusOK
		switch envelope(t, lr.receiver.requests()[n].body).Data.Task.ID {
		case "tsk_fail":
			status = http.StatusInternalServerError
		case "tsk_reject":
			status = http.StatusBadRequest
		}
		if status == http.StatusOK {
			lr.mu.Lock()
			lr.ok[key] = true
			lr.mu.Unlock()
		}
		return status
	})
	return lr
}

// received returns how many distinct (endpoint, event) pairs got a 2xx.
func (lr *crashReceiver) received() int {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return len(lr.ok)
}

// startWorkerProcess runs the test binary as a bare delivery worker of e's
// workspace (runWorker) and returns it; the test ends it.
func startWorkerProcess(t *testing.T, e *testEnv) *exec.Cmd {
	t.Helper()
	worker := exec.Command(os.Args[0], "-test.run=^$")
	worker.Env = append(os.Environ(), workerEnv+"="+redistest.Addr(t), "WEBHOOKS_TEST_QUEUE="+e.queue, "WEBHOOKS_TEST_WS="+string(e.ws),
		fmt.Sprintf("WEBHOOKS_TEST_DISABLE_AFTER=%d", e.cfg.DisableAfter))
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		worker.Process.Kill()
		worker.Wait()
	})
	return worker
}

// TestKilledUnderLoadKeepsTheLedger kills a delivery process with SIGKILL
// while it delivers a stream of events to two endpoints, some of which
// fail, lets another take over, and checks the ledger: every (event,
// endpoint) pair is one message, each delivered one reached the receiver,
// events × subscriptions = distinct received + failed + pending, and no
// message ever had two attempts in flight at once.
func TestKilledUnderLoadKeepsTheLedger(t *testing.T) {
	t.Parallel()
	// Failing messages must not disable an endpoint here: that would park
	// the rest.
	e := newTestEnv(t, true, func(c *webhooks.Config) { c.DisableAfter = 1000 })
	lr := newCrashReceiver(t)
	subs := []webhooks.Subscription{
		e.subscribe(t, lr.srv.URL+"/a", nil),
		e.subscribe(t, lr.srv.URL+"/b", func(in *webhooks.NewSubscription) { in.Ordering = webhooks.OrderingTask }),
	}
	const events = 240
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			task := fmt.Sprintf("tsk_%d", i%8)
			switch i % 40 {
			case 7:
				task = "tsk_fail"
			case 13:
				task = "tsk_reject"
			}
			e.publish(t, e.event(tasks.EventTaskUpdated, task, int64(i+1)))
		}
	}

	worker := startWorkerProcess(t, e)
	publish(0, events/2)
	waitFor(t, 20*time.Second, "the first process to deliver", func() bool { return lr.received() >= events/4 })
	if err := worker.Process.Kill(); err != nil { // SIGKILL: no cleanup of any kind
		t.Fatal(err)
	}
	worker.Wait()
	publish(events/2, events)
	startWorkerProcess(t, e)

	var ds [][]webhooks.Delivery
	waitFor(t, 60*time.Second, "every message to be delivered or failed", func() bool {
		ds = ds[:0]
		for _, sub := range subs {
			var all []webhooks.Delivery
			for cursor := ""; ; {
				page, next, err := e.svc.Deliveries(context.Background(), e.ws, sub.ID, "", cursor, tasks.MaxLimit)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, page...)
				if cursor = next; cursor == "" {
					break
				}
			}
			for _, d := range all {
				if d.Status == webhooks.StatusPending {
					return false
				}
			}
			if len(all) != events {
				return false
			}
			ds = append(ds, all)
		}
		return true
	})

	delivered, failed, pending := 0, 0, 0
	for i, sub := range subs {
		seen := map[string]bool{}
		path := []string{"/a", "/b"}[i]
		for _, d := range ds[i] {
			if seen[d.EventID] {
				t.Errorf("%s: event %s has two messages", sub.ID, d.EventID)
			}
			seen[d.EventID] = true
			switch d.Status {
			case webhooks.StatusDelivered:
				delivered++
				lr.mu.Lock()
				got := lr.ok[path+" "+d.EventID]
				lr.mu.Unlock()
				if !got {
					t.Errorf("%s: %s is delivered but the receiver never answered 2xx to it", sub.ID, d.EventID)
				}
			case webhooks.StatusFailed:
				failed++
			case webhooks.StatusPending:
				pending++
			}
		}
		if len(seen) != events {
			t.Errorf("%s has messages for %d events, want %d", sub.ID, len(seen), events)
		}
	}
	if received := lr.received(); received != delivered || events*len(subs) != received+failed+pending {
		t.Errorf("ledger: %d events × %d subscriptions != %d received + %d failed + %d pending (%d marked delivered)",
			events, len(subs), received, failed, pending, delivered)
	}
	if failed != 2*2*events/40 {
		t.Errorf("%d failed messages, want %d", failed, 2*2*events/40)
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if len(lr.overlap) > 0 {
		t.Errorf("two attempts at once of %v", lr.overlap)
	}
	if n, err := e.svc.Pending(context.Background(), e.ws); err != nil || n != 0 {
		t.Errorf("Pending() = %d, %v; want 0", n, err)
	}
}

// TestFailedAttemptLogged checks that every failed attempt is logged once,
// with its endpoint, status code and error, and that the secret never is.
func TestFailedAttemptLogged(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	e := newTestEnvLogger(t, false, nil, logger)
	rc := newReceiver(t, statusSequence(http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusNotFound))
	sub := e.subscribe(t, rc.srv.URL, func(in *webhooks.NewSubscription) { in.Secret = "hush-do-not-log-me" })
	e.publish(t, e.event(tasks.EventTaskCreated, "tsk_1", 1))
	e.waitStatus(t, sub.ID, 1, webhooks.StatusFailed)

	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "webhook attempt failed" {
			lines = append(lines, rec)
		}
	}
	want := []float64{503, 503, 404}
	if len(lines) != len(want) {
		t.Fatalf("%d failed-attempt lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, rec := range lines {
		if rec["webhook_id"] != sub.ID || rec["status"] != want[i] || rec["err"] == nil || rec["err"] == "" {
			t.Errorf("line %d = %v; want webhook_id %s, status %v and an error", i, rec, sub.ID, want[i])
		}
	}
	if strings.Contains(buf.String(), "hush-do-not-log-me") {
		t.Errorf("the secret is in the log:\n%s", buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the service's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
