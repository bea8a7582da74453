// Package openloop holds what Tasker's benchmark commands share: an
// open-loop request schedule, latency percentiles, and the loopback check
// that keeps their load on this machine.
package openloop

import (
	"net"
	"sync"
	"time"
)

// Loopback reports whether host names this machine: "localhost" or a
// loopback IP.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run calls send for rate×duration requests, the i-th scheduled at
// i/rate after the start, from workers goroutines, and returns when all
// have returned. send is given its scheduled time and measures latency
// from it, so a stalled server is charged for the requests that queued
// behind the stall instead of hiding them.
func Run(rate int, duration time.Duration, workers int, send func(i int, scheduled time.Time)) {
	total := int(float64(rate) * duration.Seconds())
	interval := time.Second / time.Duration(rate)
	jobs := make(chan int, total)
	for i := range total {
		jobs <- i
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				scheduled := start.Add(time.Duration(i) * interval)
				time.Sleep(time.Until(scheduled))
				send(i, scheduled)
			}
		})
	}
	wg.Wait()
}

// Percentile returns the p-th percentile (0..100) of sorted, 0 when it is
// empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p/100*float64(len(sorted)-1))]
}
