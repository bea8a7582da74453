package bot

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTaskAddSigned sends signed "/task add" commands through the
// whole stack: a loopback HTTP server, the verifier (HMAC and the replay
// check in Redis), decoding, the caller's lookup and the task's creation in
// a real redis-server, and the card. It reports commands per second and
// the 99th percentile latency seen by the clients.
//
//	go test -run '^$' -bench TaskAddSigned -benchtime 20000x ./bot/
func BenchmarkTaskAddSigned(b *testing.B) {
	tb := newTestBot(b, nil)
	srv := httptest.NewServer(tb.handler)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var (
		n         atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
	)
	// Warm up: the first call creates the user. Bodies are built and
	// signed before the clock starts, so the figures are the server's.
	tb.command(b, "link", nil)
	bodies := make([][]byte, b.N)
	headers := make([]http.Header, b.N)
	for i := range bodies {
		bodies[i] = tb.body(b, map[string]any{
			"handler": "command", "component": "task", "user": priyaUser(), "chat": dmChat(),
			"arguments": fmt.Sprintf("add Benchmark task %d due:tomorrow 5pm !high #bench", i),
		})
		headers[i] = tb.sign(bodies[i])
	}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			i := n.Add(1) - 1
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/cliq/commands/task", bytes.NewReader(bodies[i]))
			req.Header = headers[i]
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			local = append(local, time.Since(t0))
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	p99 := latencies[len(latencies)*99/100]
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
}
