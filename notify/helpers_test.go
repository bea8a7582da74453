package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/cliq/cliqtest"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/pipeline"
	"github.com/taskerhq/tasker/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// The notifier is a pipeline target.
var _ pipeline.Target = (*notify.Notifier)(nil)

var nextDB atomic.Int32

// isolatedRedis returns a client of its own database on the package's
// redis-server. asynq queues are named globally, so tests that run workers
// cannot share a database: another test's workers would take their jobs.
func isolatedRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	db := int(nextDB.Add(1)%15) + 1
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t), DB: db})
	// The database was last used by a test that has ended; clear what it left.
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// syncBuffer is a log sink safe for the workers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// callLog records when each Cliq API call was made, by the test's clock,
// and passes it on.
type callLog struct {
	base http.RoundTripper
	now  func() time.Time
	mu   sync.Mutex
	at   []time.Time
}

func (c *callLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		c.mu.Lock()
		c.at = append(c.at, c.now())
		c.mu.Unlock()
	}
	return c.base.RoundTrip(r)
}

func (c *callLog) times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.at...)
}

// options shape a test environment; zero values take the defaults.
type options struct {
	dryRun bool
	now    func() time.Time // default time.Now
	rate   notify.Rate      // default 45/min
	cfg    notify.Config
}

// testEnv is a notifier wired to a real Redis and the fake Cliq.
type testEnv struct {
	rdb    redis.UniversalClient
	store  *tasks.Store
	outbox *notify.Outbox
	ws     tasks.WorkspaceID
	fake   *cliqtest.Server
	calls  *callLog
	queue  *asynq.Client
	n      *notify.Notifier
	reg    *prometheus.Registry
	logs   *syncBuffer
	mia    tasks.User // linked, in Berlin
	lars   tasks.User // linked, no timezone
	ned    tasks.User // not linked
}

const (
	miaCliq  = "60087654321"
	larsCliq = "60011111111"
)

func newTestEnv(t *testing.T, o options) *testEnv {
	t.Helper()
	if o.now == nil {
		o.now = time.Now
	}
	if o.rate.N == 0 {
		o.rate = notify.Rate{N: 45, Per: time.Minute}
	}
	if o.cfg.Bot == "" {
		o.cfg.Bot = "taskerbot"
	}
	e := &testEnv{rdb: isolatedRedis(t), ws: tasks.DefaultWorkspace, fake: cliqtest.NewServer(t), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	e.store = tasks.NewStore(e.rdb, o.now)
	e.outbox = notify.NewOutbox(e.rdb, o.now)
	e.fake.AddChannel("general", "devtasks", "ops")
	var client *cliq.Client
	if !o.dryRun {
		e.calls = &callLog{base: http.DefaultTransport, now: o.now}
		ts := cliq.NewTokenSource(nil, e.fake.OAuthConfig(), e.store.TokenCache("test"), time.Now)
		var err error
		client, err = cliq.NewClient(&http.Client{Transport: &cliq.Transport{Source: ts, Base: e.calls}}, e.fake.URL)
		if err != nil {
			t.Fatal(err)
		}
	}
	e.queue = asynq.NewClientFromRedisClient(e.rdb)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.n = notify.New(logger, e.store, e.outbox, client, e.queue, notify.NewRateLimiter(e.rdb, o.now, "cliq", o.rate), e.reg, o.now, o.cfg)
	e.mia = e.mustUser(t, "Mia", "mia@example.com", "Europe/Berlin", miaCliq)
	e.lars = e.mustUser(t, "Lars", "lars@example.com", "", larsCliq)
	e.ned = e.mustUser(t, "Ned", "ned@example.com", "", "")
	return e
}

func (e *testEnv) mustUser(t *testing.T, name, email, tz, cliqID string) tasks.User {
	t.Helper()
	in := tasks.NewUser{Name: name, Email: email, Timezone: tz}
	if cliqID != "" {
		in.CliqUserID = &cliqID
	}
	u, err := e.store.CreateUser(context.Background(), e.ws, tasks.Actor{}, in)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// fastRetries retries flush jobs after a few milliseconds instead of their
// real delays, for tests that are about what happens, not when.
func fastRetries(int, error, *asynq.Task) time.Duration { return 5 * time.Millisecond }

// startWorkers runs asynq workers for the notifier's flushes (and the
// pipeline's event jobs, for targets) until stopped or the test ends.
func (e *testEnv) startWorkers(t *testing.T, retry asynq.RetryDelayFunc, targets ...pipeline.Target) *asynq.Server {
	t.Helper()
	srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{
		Queues:      map[string]int{notify.Queue: 1, pipeline.Queue: 1},
		Concurrency: 8, Logger: nopLogger{}, RetryDelayFunc: retry,
		TaskCheckInterval: 10 * time.Millisecond, DelayedTaskCheckInterval: 50 * time.Millisecond,
		ShutdownTimeout: 200 * time.Millisecond,
	})
	mux := asynq.NewServeMux()
	e.n.Register(mux)
	pipeline.Register(mux, targets)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(srv.Shutdown) })
	return srv
}

type nopLogger struct{}

func (nopLogger) Debug(...any) {}
func (nopLogger) Info(...any)  {}
func (nopLogger) Warn(...any)  {}
func (nopLogger) Error(...any) {}
func (nopLogger) Fatal(...any) {}

// waitFor polls cond until it holds. The deadline only bounds a broken
// test; no timing decision rests on it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// records returns every notification of the workspace, newest first.
func (e *testEnv) records(t *testing.T) []notify.Notification {
	t.Helper()
	var out []notify.Notification
	cursor := ""
	for {
		page, next, err := e.outbox.ListNotifications(context.Background(), e.ws, cursor, tasks.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// allSettled reports whether every notification left pending.
func (e *testEnv) allSettled(t *testing.T, want int) bool {
	t.Helper()
	recs := e.records(t)
	if len(recs) != want {
		return false
	}
	for _, r := range recs {
		if r.Status == notify.NotificationPending {
			return false
		}
	}
	return true
}

// metric reads a counter of the registry; 0 when absent.
func (e *testEnv) metric(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// taskEvent is an event of typ about task, caused by actor.
func taskEvent(id string, typ tasks.EventType, task tasks.Task, actor tasks.Actor, at time.Time) tasks.Event {
	return tasks.Event{ID: id, Type: typ, Timestamp: at, Workspace: tasks.DefaultWorkspace,
		Data: tasks.EventData{Task: &task, Actor: actor}}
}
