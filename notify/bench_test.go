package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/cliq/cliqtest"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
)

// Shape of BenchmarkReplicas.
const (
	benchReplicas = 3
	benchUsers    = 1000 // linked users, one DM destination each
	benchFeeders  = 16   // goroutines calling Handle
	benchWorkers  = 10   // asynq concurrency per replica, as cmd/tasker serves
)

// liftedRate is a ceiling the benchmark never reaches.
var liftedRate = notify.Rate{N: 1_000_000, Per: time.Second}

// postLog records every Cliq API call as it is answered: when, how, and
// the body that was sent, to be read after the run.
type postLog struct {
	mu   sync.Mutex
	done []sentPost
}

type sentPost struct {
	at     time.Time
	status int
	body   []byte
}

func (l *postLog) posts() []sentPost {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.done)
}

// recording passes calls on to base and writes them to log.
type recording struct {
	base http.RoundTripper
	log  *postLog
}

func (rt *recording) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Path, "/api/") || r.GetBody == nil {
		return rt.base.RoundTrip(r)
	}
	rc, err := r.GetBody()
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(rc)
	resp, err := rt.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	at := time.Now()
	rt.log.mu.Lock()
	rt.log.done = append(rt.log.done, sentPost{at: at, status: resp.StatusCode, body: body})
	rt.log.mu.Unlock()
	return resp, nil
}

// benchReplica is one Tasker replica's notifier: its own Cliq client and
// token source (sharing the token cache in Redis), queue client, metrics
// and asynq worker server.
type benchReplica struct {
	n   *notify.Notifier
	reg *prometheus.Registry
	srv *asynq.Server
}

// counts is how many notifications the replica recorded as sent, and as failed.
func (r *benchReplica) counts(b *testing.B) (sent, failed float64) {
	mfs, err := r.reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tasker_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch m.GetLabel()[0].GetValue() {
			case string(notify.NotificationSent):
				sent = m.GetCounter().GetValue()
			case string(notify.NotificationFailed):
				failed = m.GetCounter().GetValue()
			}
		}
	}
	return sent, failed
}

// benchRate is TASKER_BENCH_RATE, events per second fed open loop; 0 feeds
// as fast as the feeders go. The default is the target, 2,000/s.
func benchRate(b *testing.B) float64 {
	s := os.Getenv("TASKER_BENCH_RATE")
	if s == "" {
		return 2000
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r < 0 {
		b.Fatalf("TASKER_BENCH_RATE=%q: want events per second, 0 for as fast as possible", s)
	}
	return r
}

// benchCheck is TASKER_BENCH_CHECK, the workers' asynq TaskCheckInterval:
// how long an idle processor sleeps before polling its queues again. The
// default, 0, leaves asynq's own (1 s, jittered to 0.5–1.5 s), as
// cmd/tasker does.
func benchCheck(b *testing.B) time.Duration {
	s := os.Getenv("TASKER_BENCH_CHECK")
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		b.Fatalf("TASKER_BENCH_CHECK=%q: want a duration such as 10ms", s)
	}
	return d
}

var taskNumber = regexp.MustCompile(`#(\d+)`)

// BenchmarkReplicas feeds b.N task.overdue events, each for one of 1,000
// linked users in turn, to three replicas' notifiers (Handle, as the
// pipeline's event jobs call it) and waits until every DM reached the fake
// Cliq. The rate ceiling is lifted and there is no spacing, so each event
// is normally its own post. Events are fed open loop at TASKER_BENCH_RATE;
// an event's latency runs from its scheduled time to the answer of the post
// that carried it. Run with -benchtime Nx (one run of N events).
//
// It reports posts/s and events/s (from the first event's time to the last
// post), fed/s (how fast the feeders kept up), p50-ms, p99-ms and max-ms,
// and grants: the access tokens the fake minted for all three replicas.
func BenchmarkReplicas(b *testing.B) {
	rate := benchRate(b)
	ctx := context.Background()
	rdb := isolatedRedis(b)
	fake := cliqtest.NewServer(b)
	setup := tasks.NewStore(rdb, time.Now)
	users := make([]string, benchUsers)
	for i := range users {
		cliqID := fmt.Sprint(61000000000 + i)
		u, err := setup.CreateUser(ctx, tasks.DefaultWorkspace, tasks.Actor{},
			tasks.NewUser{Name: fmt.Sprint("User ", i), Email: fmt.Sprintf("u%d@example.com", i), CliqUserID: &cliqID})
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u.ID
	}

	calls := &postLog{}
	var replicas []*benchReplica
	for range benchReplicas {
		store := tasks.NewStore(rdb, time.Now)
		ts := cliq.NewTokenSource(nil, fake.OAuthConfig(), store.TokenCache(cliqtest.ClientID), time.Now)
		// Each replica has its own connection pool, as its own process would.
		base := http.DefaultTransport.(*http.Transport).Clone()
		client, err := cliq.NewClient(&http.Client{Timeout: 30 * time.Second,
			Transport: &cliq.Transport{Source: ts, Base: &recording{base: base, log: calls}}}, fake.URL)
		if err != nil {
			b.Fatal(err)
		}
		r := &benchReplica{reg: prometheus.NewRegistry()}
		r.n = notify.New(slog.New(slog.DiscardHandler), store, notify.NewOutbox(rdb, time.Now), client, asynq.NewClientFromRedisClient(rdb),
			notify.NewRateLimiter(rdb, time.Now, "cliq", liftedRate), r.reg, time.Now, notify.Config{Bot: "taskerbot", Spacing: -1})
		r.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
			Concurrency: benchWorkers, Queues: map[string]int{notify.Queue: 1}, TaskCheckInterval: benchCheck(b),
			RetryDelayFunc: notify.RetryDelay(nil), Logger: nopLogger{}, ShutdownTimeout: time.Second,
		})
		mux := asynq.NewServeMux()
		r.n.Register(mux)
		if err := r.srv.Start(mux); err != nil {
			b.Fatal(err)
		}
		defer r.srv.Shutdown()
		replicas = append(replicas, r)
	}

	// Events are numbered from 1 as their tasks; due[i] is event i+1's time.
	due := make([]time.Time, b.N)
	var next atomic.Int64
	var feedErr atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchFeeders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				at := time.Now()
				if rate > 0 {
					at = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					time.Sleep(time.Until(at))
				}
				due[i] = at
				if err := replicas[i%benchReplicas].n.Handle(ctx, overdueFor(int64(i+1), users[i%benchUsers], at)); err != nil {
					feedErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := feedErr.Load(); err != nil {
		b.Fatal(*err)
	}
	fed := time.Since(start)
	deadline := time.Now().Add(time.Minute + time.Duration(b.N)*time.Millisecond)
	for {
		var sent, failed float64
		for _, r := range replicas {
			s, f := r.counts(b)
			sent, failed = sent+s, failed+f
		}
		if failed > 0 {
			b.Fatalf("%v notifications failed", failed)
		}
		if int(sent) >= b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%v of %d notifications sent before the deadline", sent, b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()

	posts := calls.posts()
	var last time.Time
	lat := make([]time.Duration, 0, b.N)
	seen := make([]bool, b.N)
	ok := 0
	for _, p := range posts {
		if p.status/100 != 2 {
			continue
		}
		ok++
		if p.at.After(last) {
			last = p.at
		}
		for _, m := range taskNumber.FindAllSubmatch(p.body, -1) {
			n, _ := strconv.Atoi(string(m[1]))
			if n < 1 || n > b.N || seen[n-1] {
				continue
			}
			seen[n-1] = true
			lat = append(lat, p.at.Sub(due[n-1]))
		}
	}
	if len(lat) != b.N {
		b.Errorf("%d of %d events found in the posts", len(lat), b.N)
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
	}
	grants := fake.Grants()
	elapsed := last.Sub(start)
	b.ReportMetric(float64(ok)/elapsed.Seconds(), "posts/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/fed.Seconds(), "fed/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(grants), "grants")
	b.ReportMetric(float64(grants)*10000/float64(ok), "grants/10k-posts")
	b.ReportMetric(float64(ok), "posts")
	b.ReportMetric(float64(len(posts)-ok), "failed-calls")
}

// overdueFor is task.overdue for task number n assigned to user, at.
func overdueFor(n int64, user string, at time.Time) tasks.Event {
	due := at.Add(-time.Minute)
	task := tasks.Task{ID: fmt.Sprint("tsk_", n), Number: n, Title: fmt.Sprint("Task ", n),
		Status: tasks.StatusOpen, Priority: tasks.PriorityMedium, Assignee: &user, DueAt: &due}
	return taskEvent(fmt.Sprint("evt_bench_", n), tasks.EventTaskOverdue, task, tasks.Actor{}, at)
}
