package webhooks_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// BenchmarkDelivery measures end-to-end delivery throughput: events fanned
// out to one subscription, each message a job that takes its lease, sends
// to a loopback receiver answering 200, and logs the attempt, on a worker
// of 20 goroutines against the package's redis-server.
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
