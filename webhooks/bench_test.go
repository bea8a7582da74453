package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// BenchmarkDelivery measures end-to-end delivery throughput: events fanned
// out to one subscription, whose messages the service's lanes lease in
// batches, send to a loopback receiver answering 200 and settle, against
// the package's redis-server.
func BenchmarkDelivery(b *testing.B) {
	e := newTestEnv(b, false, nil)
	rc := newReceiver(b, func(int, http.ResponseWriter, *http.Request) int { return http.StatusOK })
	e.subscribe(b, rc.srv.URL, nil)
	evs := make([]tasks.Event, b.N)
	for i := range evs {
		evs[i] = e.event(tasks.EventTaskUpdated, "tsk_bench", int64(i+1))
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	const publishers = 8
	for p := range publishers {
		wg.Go(func() {
			for i := p; i < len(evs); i += publishers {
				e.appendEvent(b, evs[i])
				if err := e.svc.Target().Handle(b.Context(), evs[i]); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	waitFor(b, time.Minute, "every message delivered", func() bool {
		_, ok, _ := rc.stats()
		return ok >= b.N
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if total, _, _ := rc.stats(); total != b.N {
		b.Fatalf("receiver got %d requests for %d messages", total, b.N)
	}
}

// fanoutSubs is the number of subscriptions of BenchmarkEventsToDeliveries.
const fanoutSubs = 10

// benchRateEnv sets the events per second BenchmarkEventsToDeliveries
// publishes; "0" publishes as fast as its publishers can.
const benchRateEnv = "TASKER_BENCH_EVENT_RATE"

// ledgerReceiver is a lean loopback endpoint for the throughput benchmark:
// it answers 200 and records each (webhook-id, subscription) pair once,
// with its latency from the event's time.
type ledgerReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	eventAt  map[string]time.Time // event id → event time, set by the publisher
	seen     map[string]bool      // "event id subscription path" delivered
	requests int
	latency  []time.Duration // per unique pair, from event time to receipt
	last     time.Time
}

func newLedgerReceiver(b *testing.B) *ledgerReceiver {
	b.Helper()
	rc := &ledgerReceiver{eventAt: make(map[string]time.Time), seen: make(map[string]bool)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		now := time.Now()
		id := r.Header.Get("webhook-id")
		rc.mu.Lock()
		rc.requests++
		if key := id + " " + r.URL.Path; !rc.seen[key] {
			rc.seen[key] = true
			if at, ok := rc.eventAt[id]; ok {
				rc.latency = append(rc.latency, now.Sub(at))
			}
			rc.last = now
		}
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(rc.srv.Close)
	return rc
}

func (rc *ledgerReceiver) sent(id string, at time.Time) {
	rc.mu.Lock()
	rc.eventAt[id] = at
	rc.mu.Unlock()
}

func (rc *ledgerReceiver) unique() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

// quantile returns the q-quantile of ds, which it sorts.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// BenchmarkEventsToDeliveries measures outgoing webhooks end to end: b.N
// events of one workspace with fanoutSubs subscriptions, all pointing at
// one loopback receiver answering 200, are handed to the pipeline target's
// Handle (standing in for the dispatcher, 8 at a time) after 8
// publishers write them to the stream on an open-loop schedule of
// TASKER_BENCH_EVENT_RATE events/s (default 500, which is 5,000
// deliveries/s). Each event's time is its scheduled time, so a publisher
// falling behind is charged to the latency. The service's lanes deliver. It reports deliveries/s at the receiver (first
// scheduled event to last unique receipt), the p50/p90/p99 from event time
// to receipt, the p99 of one Handle call, and a ledger read at the cut-off
// (every message delivered, or a minute after the last event): events ×
// fanoutSubs must equal the unique (webhook-id, subscription) pairs
// received + messages failed + messages still pending and not yet
// received, so "lost" must be 0; "dups" counts repeated receipts.
func BenchmarkEventsToDeliveries(b *testing.B) {
	rate := 500.0
	if v := os.Getenv(benchRateEnv); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatalf("%s=%q: %v", benchRateEnv, v, err)
		}
		rate = r
	}
	e := newTestEnv(b, false, nil)
	rc := newLedgerReceiver(b)
	subs := make([]webhooks.Subscription, fanoutSubs)
	for i := range subs {
		subs[i] = e.subscribe(b, fmt.Sprintf("%s/s/%d", rc.srv.URL, i), nil)
	}
	evs := make([]tasks.Event, b.N)
	for i := range evs {
		evs[i] = e.event(tasks.EventTaskUpdated, fmt.Sprintf("tsk_%d", i%1000), int64(i+1))
	}
	emitted := b.N * fanoutSubs

	cpu0 := redisCPU(b, e.rdb)
	b.ResetTimer()
	start := time.Now()
	// Publishers write events to the stream, as task writes do; 8
	// goroutines run the fan-out target on them, standing in for the
	// dispatcher.
	jobs := make(chan int, len(evs))
	handled := make([]time.Duration, len(evs)) // each Handle call
	var jwg sync.WaitGroup
	for range 8 {
		jwg.Go(func() {
			for i := range jobs {
				t0 := time.Now()
				if err := e.svc.Target().Handle(b.Context(), evs[i]); err != nil {
					b.Error(err)
				}
				handled[i] = time.Since(t0)
			}
		})
	}
	var wg sync.WaitGroup
	const publishers = 8
	for p := range publishers {
		wg.Go(func() {
			for i := p; i < len(evs); i += publishers {
				at := time.Now()
				if rate > 0 {
					at = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					time.Sleep(time.Until(at))
				}
				evs[i].Timestamp = at.UTC()
				rc.sent(evs[i].ID, at)
				e.appendEvent(b, evs[i])
				jobs <- i
			}
		})
	}
	wg.Wait()
	close(jobs)
	jwg.Wait()
	published := time.Since(start)
	deadline := time.Now().Add(time.Minute)
	for rc.unique() < emitted && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()

	// The ledger, at the cut-off.
	rc.mu.Lock()
	received, requests, last := len(rc.seen), rc.requests, rc.last
	lat := slices.Clone(rc.latency)
	seen := maps.Clone(rc.seen)
	rc.mu.Unlock()
	failed, inflight := 0, 0
	for i, sub := range subs {
		path := fmt.Sprintf("/s/%d", i)
		cursor := ""
		for {
			ds, next, err := e.svc.Deliveries(context.Background(), e.ws, sub.ID, "", cursor, 200)
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range ds {
				switch {
				case seen[d.EventID+" "+path]:
				case d.Status == webhooks.StatusFailed:
					failed++
				case d.Status == webhooks.StatusPending:
					inflight++
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	lost := emitted - received - failed - inflight
	b.ReportMetric(float64(received)/last.Sub(start).Seconds(), "deliveries/s")
	// Redis' own CPU time per delivery: what the design costs Redis, much
	// less sensitive than the rates to what else runs on the machine.
	b.ReportMetric((redisCPU(b, e.rdb)-cpu0)*1e6/float64(max(received, 1)), "redis-cpu-µs/delivery")
	b.ReportMetric(float64(b.N)/published.Seconds(), "events/s")
	b.ReportMetric(float64(quantile(lat, 0.50))/1e6, "p50-ms")
	b.ReportMetric(float64(quantile(lat, 0.90))/1e6, "p90-ms")
	b.ReportMetric(float64(quantile(lat, 0.99))/1e6, "p99-ms")
	b.ReportMetric(float64(quantile(handled, 0.99))/1e6, "handle-p99-ms")
	b.ReportMetric(float64(received), "delivered")
	b.ReportMetric(float64(failed), "failed")
	b.ReportMetric(float64(inflight), "inflight")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(requests-received), "dups")
	if lost != 0 {
		b.Errorf("ledger: %d emitted = %d delivered + %d failed + %d in flight + %d lost", emitted, received, failed, inflight, lost)
	}
}

// BenchmarkFanout50 measures writing one event to the stream and
// Target.Handle fanning it out to
// MaxSubscriptions (50) subscriptions: recording 50 messages and queueing
// their first attempts. No worker runs, so Redis serves only the fan-out.
// It reports the p50 and p99 of one Handle call.
func BenchmarkFanout50(b *testing.B) {
	e := newTestEnv(b, true, nil)
	rc := newLedgerReceiver(b)
	for i := range webhooks.MaxSubscriptions {
		e.subscribe(b, fmt.Sprintf("%s/s/%d", rc.srv.URL, i), nil)
	}
	evs := make([]tasks.Event, b.N)
	for i := range evs {
		evs[i] = e.event(tasks.EventTaskUpdated, fmt.Sprintf("tsk_%d", i%1000), int64(i+1))
	}
	target := e.svc.Target()
	took := make([]time.Duration, b.N)
	b.ResetTimer()
	for i, ev := range evs {
		t0 := time.Now()
		e.appendEvent(b, ev)
		if err := target.Handle(b.Context(), ev); err != nil {
			b.Fatal(err)
		}
		took[i] = time.Since(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(quantile(took, 0.50))/1e6, "p50-ms")
	b.ReportMetric(float64(quantile(took, 0.99))/1e6, "p99-ms")
}

// redisCPU returns the CPU seconds (system and user) redis-server has used.
func redisCPU(b *testing.B, rdb redis.UniversalClient) float64 {
	b.Helper()
	info, err := rdb.Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	total := 0.0
	for _, line := range strings.Split(info, "\n") {
		name, val, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				b.Fatalf("INFO cpu %s: %v", line, err)
			}
			total += f
		}
	}
	return total
}
