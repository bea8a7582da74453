package notify_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/taskerhq/tasker/cliq/cliqtest"
	"github.com/taskerhq/tasker/notify"
)

// simulation runs the workers on a simulated clock: it moves the clock and
// starts the flushes that were deferred, instead of waiting for them.
type simulation struct {
	t     *testing.T
	e     *testEnv
	clock *cliqtest.Clock
	insp  *asynq.Inspector
}

// idle reports whether the workers have nothing to do before the clock moves.
func (s *simulation) idle() bool {
	info, err := s.insp.GetQueueInfo(notify.Queue)
	if err != nil {
		return true // the queue does not exist yet
	}
	return info.Pending == 0 && info.Active == 0
}

// tick lets the workers finish, advances the clock by d and starts every
// deferred flush; a flush started early finds the limiter closed and
// defers again, so starting them all is safe.
func (s *simulation) tick(d time.Duration) {
	s.t.Helper()
	waitFor(s.t, "the workers to finish", s.idle)
	s.clock.Advance(d)
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){s.insp.ListScheduledTasks, s.insp.ListRetryTasks} {
		infos, err := list(notify.Queue, asynq.PageSize(1000))
		if err != nil {
			s.t.Fatal(err)
		}
		for _, info := range infos {
			// The task may have just run and gone; that is fine.
			_ = s.insp.RunTask(notify.Queue, info.ID)
		}
	}
	waitFor(s.t, "the workers to finish", s.idle)
}

var digestText = regexp.MustCompile(`^(\d+) tasks became overdue$`)

// TestBurstOfOverdueAlerts: 500 overdue alerts for one user, each also for
// the default channel. Spread over eight minutes while Cliq allows 10 posts
// a minute, no minute ever sees more than 10 calls and alerts that queue up
// leave together as digests; all at once (a sweep after downtime), each
// destination gets the first alert and one digest of the rest. Either way
// every alert is delivered, inside a digest or alone.
func TestBurstOfOverdueAlerts(t *testing.T) {
	const alerts = 500
	for _, c := range []struct {
		name      string
		perMinute int
		spacing   time.Duration
		perTick   int64 // alerts between two 5-second ticks
		maxPosts  int
	}{
		{"Spread", 10, -1, 5, alerts / 5},
		{"AllAtOnce", 45, notify.DefaultSpacing, alerts, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := cliqtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			e := newTestEnv(t, options{now: clock.Now, rate: notify.Rate{N: c.perMinute, Per: time.Minute},
				cfg: notify.Config{Channel: "general", Spacing: c.spacing}})
			e.startWorkers(t, notify.RetryDelay(nil))
			sim := &simulation{t: t, e: e, clock: clock, insp: asynq.NewInspectorFromRedisClient(e.rdb)}
			for n := int64(1); n <= alerts; n++ {
				e.mustHandle(t, e.overdue(n))
				if n%c.perTick == 0 {
					sim.tick(5 * time.Second)
				}
			}
			for i := 0; !e.allSettled(t, 2*alerts); i++ {
				if i == 100 {
					t.Fatal("notifications still pending after 500 simulated seconds")
				}
				sim.tick(5 * time.Second)
			}
			checkBurst(t, e, alerts, c.perMinute, c.maxPosts)
		})
	}
}

// checkBurst checks that every alert was sent, that no minute saw more
// than perMinute calls, and that both destinations got all alerts in at
// most maxPosts posts.
func checkBurst(t *testing.T, e *testEnv, alerts, perMinute, maxPosts int) {
	t.Helper()
	for _, r := range e.records(t) {
		if r.Status != notify.NotificationSent {
			t.Fatalf("record %+v; want sent", r)
		}
	}
	at := e.calls.times()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	busiest := 0 // the most calls in any minute
	for i := range at {
		j := i
		for j < len(at) && at[j].Sub(at[i]) < time.Minute {
			j++
		}
		busiest = max(busiest, j-i)
		if j-i > perMinute {
			t.Fatalf("%d calls in the minute from %v, limit %d", j-i, at[i].Format(time.TimeOnly), perMinute)
		}
	}
	delivered := map[string]int{}
	digests := 0
	for _, c := range e.fake.Calls() {
		if c.Status/100 != 2 {
			t.Errorf("call %s answered %d", c.Path, c.Status)
			continue
		}
		text, _ := c.Body["text"].(string)
		title, _ := c.Body["card"].(map[string]any)["title"].(string)
		switch m := digestText.FindStringSubmatch(text); {
		case m != nil:
			k, _ := strconv.Atoi(m[1])
			delivered[c.Path] += k
			digests++
		case strings.HasPrefix(title, "Overdue: #"):
			delivered[c.Path]++
		default:
			t.Errorf("unexpected post %q / %q", text, title)
		}
	}
	for _, path := range []string{"/api/v2/channelsbyname/general/message", "/api/v2/bots/taskerbot/message"} {
		if delivered[path] != alerts {
			t.Errorf("%s delivered %d alerts, want %d", path, delivered[path], alerts)
		}
	}
	if len(at) > maxPosts || digests == 0 {
		t.Errorf("%d posts (%d digests) for %d alerts to 2 destinations; want at most %d", len(at), digests, 2*alerts, maxPosts)
	}
	t.Logf("%d alerts to 2 destinations in %d posts (%d digests) over %v, at most %d in any minute (limit %d)",
		2*alerts, len(at), digests, at[len(at)-1].Sub(at[0]), busiest, perMinute)
}
