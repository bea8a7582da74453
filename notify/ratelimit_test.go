package notify_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/notify"
)

func TestParseRate(t *testing.T) {
	ok := []struct {
		in   string
		want notify.Rate
	}{
		{"45/min", notify.Rate{N: 45, Per: time.Minute}},
		{" 1/s ", notify.Rate{N: 1, Per: time.Second}},
		{"600/h", notify.Rate{N: 600, Per: time.Hour}},
		{"10/Minute", notify.Rate{N: 10, Per: time.Minute}},
		{"3 / sec", notify.Rate{N: 3, Per: time.Second}},
	}
	for _, c := range ok {
		got, err := notify.ParseRate(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRate(%q) = %+v, %v, want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "45", "45/", "/min", "0/min", "-1/min", "x/min", "45/day", "4.5/min"} {
		if got, err := notify.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %+v, want an error", in, got)
		}
	}
	if s := (notify.Rate{N: 45, Per: time.Minute}).String(); s != "45/min" {
		t.Errorf("String() = %q, want 45/min", s)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, seed := range []string{"45/min", "1/s", "600/h", "", "/", "9999999999999999999/min"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := notify.ParseRate(in)
		if err != nil {
			return
		}
		again, err := notify.ParseRate(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: got %+v, %v; want %+v", in, again, err, r)
		}
	})
}

// rateClock is a settable clock; tests move it instead of sleeping.
type rateClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rateClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *rateClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLimiterName() string { return fmt.Sprintf("test-%x", rand.Uint64()) }

func mustTake(t *testing.T, l *notify.RateLimiter, key string, gap, want time.Duration) {
	t.Helper()
	got, err := l.Take(context.Background(), key, gap)
	if err != nil || got != want {
		t.Fatalf("Take(%q, %v) = %v, %v; want %v", key, gap, got, err, want)
	}
}

func TestRateLimiterSlidingWindow(t *testing.T) {
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			clock := &rateClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
			rdb := redistest.ClientFor(t, b)
			name := newLimiterName()
			// Two replicas: separate stores on the same Redis share the limiter.
			a := notify.NewRateLimiter(rdb, clock.Now, name, notify.Rate{N: 3, Per: time.Minute})
			other := notify.NewRateLimiter(rdb, clock.Now, name, notify.Rate{N: 3, Per: time.Minute})
			mustTake(t, a, "", 0, 0)
			clock.Advance(20 * time.Second)
			mustTake(t, other, "", 0, 0)
			mustTake(t, a, "", 0, 0)
			mustTake(t, other, "", 0, 40*time.Second)
			clock.Advance(39 * time.Second)
			mustTake(t, a, "", 0, time.Second)
			clock.Advance(time.Second)
			mustTake(t, a, "", 0, 0)
			// The two calls at 0:20 still fill the window until 1:20.
			mustTake(t, other, "", 0, 20*time.Second)
		})
	}
}

func TestRateLimiterGapAndPause(t *testing.T) {
	clock := &rateClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	l := notify.NewRateLimiter(redistest.Client(t), clock.Now, newLimiterName(), notify.Rate{N: 100, Per: time.Minute})
	mustTake(t, l, "user:1", 10*time.Second, 0)
	mustTake(t, l, "user:1", 10*time.Second, 10*time.Second)
	mustTake(t, l, "user:2", 10*time.Second, 0)
	clock.Advance(10 * time.Second)
	mustTake(t, l, "user:1", 10*time.Second, 0)

	if err := l.Pause(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.Pause(context.Background(), 5*time.Second); err != nil { // shorter: the longer stays
		t.Fatal(err)
	}
	mustTake(t, l, "user:3", 0, 30*time.Second)
	clock.Advance(30 * time.Second)
	mustTake(t, l, "user:3", 0, 0)
}

// TestRateLimiterConcurrent has many callers race for few slots: exactly
// the rate's N win.
func TestRateLimiterConcurrent(t *testing.T) {
	clock := &rateClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	rdb := redistest.Client(t)
	name := newLimiterName()
	var won atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := notify.NewRateLimiter(rdb, clock.Now, name, notify.Rate{N: 10, Per: time.Minute})
			wait, err := l.Take(context.Background(), "", 0)
			if err != nil {
				t.Error(err)
			}
			if wait == 0 {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 10 {
		t.Errorf("%d callers got a slot, want 10", won.Load())
	}
}
