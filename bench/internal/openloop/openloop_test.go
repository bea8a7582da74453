package openloop

import (
	"sync"
	"testing"
	"time"
)

func TestRunSendsEachRequestOnceOnSchedule(t *testing.T) {
	const rate, workers = 1000, 4
	var mu sync.Mutex
	seen := map[int]time.Time{}
	Run(rate, 50*time.Millisecond, workers, func(i int, scheduled time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[i]; dup {
			t.Errorf("request %d sent twice", i)
		}
		seen[i] = scheduled
	})
	if len(seen) != 50 {
		t.Fatalf("sent %d requests, want 50", len(seen))
	}
	for i := range 50 {
		if got, want := seen[i].Sub(seen[0]), time.Duration(i)*time.Millisecond; got != want {
			t.Errorf("request %d scheduled %s after the first, want %s", i, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	sorted := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {50, 5}, {99, 9}, {100, 10}} {
		if got := Percentile(sorted, c.p); got != c.want {
			t.Errorf("Percentile(1..10, %v) = %d, want %d", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("Percentile(nil, 99) = %d, want 0", got)
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "::1": true,
		"10.0.0.1": false, "example.com": false, "": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}
