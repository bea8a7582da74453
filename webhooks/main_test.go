package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// workerEnv, when set, makes the test binary a bare delivery worker on the
// Redis address it names (the crash test starts one and kills it).
const workerEnv = "WEBHOOKS_TEST_WORKER_REDIS"

func TestMain(m *testing.M) {
	if addr := os.Getenv(workerEnv); addr != "" {
		runWorker(addr, os.Getenv("WEBHOOKS_TEST_QUEUE"), tasks.WorkspaceID(os.Getenv("WEBHOOKS_TEST_WS")))
		return
	}
	redistest.Main(m)
}

// testConfig is the service configuration of every engine test: a tiny
// retry schedule, loopback receivers allowed, short leases and sweeps.
func testConfig(queue string) webhooks.Config {
	return webhooks.Config{
		Timeout:      2 * time.Second,
		Schedule:     []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		DisableAfter: 3,
		AllowPrivate: true,
		Queue:        queue,
		LeaseGrace:   500 * time.Millisecond,
		ReapInterval: 100 * time.Millisecond,
	}
}

// runWorker delivers ws's messages until the process is killed.
func runWorker(addr, queue string, ws tasks.WorkspaceID) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	store := tasks.NewStore(rdb, time.Now)
	cfg := testConfig(queue)
	cfg.Workspaces = []tasks.WorkspaceID{ws}
	if n, err := strconv.Atoi(os.Getenv("WEBHOOKS_TEST_DISABLE_AFTER")); err == nil {
		cfg.DisableAfter = n
	}
	svc, err := webhooks.NewService(quietLogger(), rdb, store, prometheus.NewRegistry(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	svc.Run(ctx)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testEnv is a service on the package's redis-server with its own
// workspace and queue, and its lanes and sweep running.
type testEnv struct {
	rdb      redis.UniversalClient
	store    *tasks.Store
	ws       tasks.WorkspaceID
	queue    string
	svc      *webhooks.Service
	reg      *prometheus.Registry
	cfg      webhooks.Config
	disabled chan webhooks.Subscription
}

// newTestEnv builds the environment; change adjusts the configuration.
// The service runs unless noWorker, in which case startWorker starts it.
func newTestEnv(t testing.TB, noWorker bool, change func(*webhooks.Config)) *testEnv {
	t.Helper()
	return newTestEnvLogger(t, noWorker, change, quietLogger())
}

// newTestEnvLogger is newTestEnv with the service logging to logger.
func newTestEnvLogger(t testing.TB, noWorker bool, change func(*webhooks.Config), logger *slog.Logger) *testEnv {
	t.Helper()
	e := &testEnv{
		rdb:      redistest.Client(t),
		ws:       tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64())),
		queue:    fmt.Sprintf("wh-test-%x", rand.Uint64()),
		reg:      prometheus.NewRegistry(),
		disabled: make(chan webhooks.Subscription, 10),
	}
	e.cfg = testConfig(e.queue)
	e.cfg.Workspaces = []tasks.WorkspaceID{e.ws}
	e.cfg.OnDisabled = func(_ context.Context, ws tasks.WorkspaceID, sub webhooks.Subscription) {
		if ws != e.ws {
			t.Errorf("OnDisabled workspace = %q, want %q", ws, e.ws)
		}
		e.disabled <- sub
	}
	if change != nil {
		change(&e.cfg)
	}
	now := e.cfg.Now
	if now == nil {
		now = time.Now
	}
	e.store = tasks.NewStore(e.rdb, now)
	var err error
	e.svc, err = webhooks.NewService(logger, e.rdb, e.store, e.reg, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !noWorker {
		e.startWorker(t)
	}
	return e
}

// startWorker runs the service (lanes, fan-out loop and sweep), as a
// worker replica does, until the test ends.
func (e *testEnv) startWorker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.svc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// step runs one lane step (DeliverDue) on the workspace, for a test that
// drives the lanes itself, and fails unless it handled want messages.
func (e *testEnv) step(t testing.TB, want int) {
	t.Helper()
	if n, err := e.svc.DeliverDue(context.Background(), e.ws); err != nil || n != want {
		t.Fatalf("lane step = %d messages, %v; want %d", n, err, want)
	}
}

// subscribe creates an enabled subscription to every event at url.
func (e *testEnv) subscribe(t testing.TB, url string, change func(*webhooks.NewSubscription)) webhooks.Subscription {
	t.Helper()
	in := webhooks.NewSubscription{URL: url, Events: []string{"*"}}
	if change != nil {
		change(&in)
	}
	sub, err := e.svc.Create(context.Background(), e.ws, in)
	if err != nil {
		t.Fatalf("Create(%s) = %v", url, err)
	}
	return sub
}

var eventSeq atomic.Int64

// event is a task event of e's workspace about task taskID at version.
func (e *testEnv) event(typ tasks.EventType, taskID string, version int64) tasks.Event {
	return tasks.Event{
		ID: fmt.Sprintf("evt_%s_%06d", e.ws, eventSeq.Add(1)), Type: typ, Timestamp: time.Now().UTC(), Workspace: e.ws,
		Data: tasks.EventData{Task: &tasks.Task{ID: taskID, Title: "Write the report", Status: tasks.StatusOpen, Version: version}},
	}
}

// appendEvent writes ev to the workspace's event stream, as a task write
// would.
func (e *testEnv) appendEvent(t testing.TB, ev tasks.Event) {
	t.Helper()
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: tasks.EventStreamKey(e.ws), Values: []any{"e", string(raw)}}).Err(); err != nil {
		t.Fatalf("append %s: %v", ev.ID, err)
	}
}

// publish writes ev to the event stream and runs the fan-out target on
// it, as a task write and the dispatcher would.
func (e *testEnv) publish(t testing.TB, ev tasks.Event) {
	t.Helper()
	e.appendEvent(t, ev)
	e.handle(t, ev)
}

// handle runs the fan-out target on ev, synchronously: the fan-out the
// dispatcher's notice starts (or an older version's event job runs).
func (e *testEnv) handle(t testing.TB, ev tasks.Event) {
	t.Helper()
	if !e.svc.Target().Wants(ev) {
		t.Fatalf("Wants(%s) = false with subscriptions", ev.ID)
	}
	if err := e.svc.Target().Handle(context.Background(), ev); err != nil {
		t.Fatalf("Handle(%s) = %v", ev.ID, err)
	}
}

// deliveries returns subscription id's delivery log, first page.
func (e *testEnv) deliveries(t testing.TB, id string) []webhooks.Delivery {
	t.Helper()
	ds, _, err := e.svc.Deliveries(context.Background(), e.ws, id, "", "", 200)
	if err != nil {
		t.Fatalf("Deliveries(%s) = %v", id, err)
	}
	return ds
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStatus waits until every delivery of subscription id has status
// want, and there are n of them.
func (e *testEnv) waitStatus(t testing.TB, id string, n int, want webhooks.Status) []webhooks.Delivery {
	t.Helper()
	var ds []webhooks.Delivery
	waitFor(t, 15*time.Second, fmt.Sprintf("%d deliveries %s", n, want), func() bool {
		ds = e.deliveries(t, id)
		if len(ds) != n {
			return false
		}
		for _, d := range ds {
			if d.Status != want {
				return false
			}
		}
		return true
	})
	return ds
}

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
	at     time.Time
	status int
}

// receiver is a webhook endpoint on loopback that verifies every request
// with the reference algorithm and the secrets it was told, answers with
// respond (200 when nil), and records what it saw.
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	respond func(n int, w http.ResponseWriter, r *http.Request) int
	now     func() time.Time

	mu       sync.Mutex
	secrets  []string // each must sign webhook-signature; the first signs X-Tasker-Signature
	got      []delivery
	inflight int
	peak     int
	ok       int
}

func newReceiver(t testing.TB, respond func(n int, w http.ResponseWriter, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{t: t, respond: respond, now: time.Now}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// expect sets the secrets the receiver checks signatures with.
func (rc *receiver) expect(secrets ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = secrets
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body, at: time.Now()})
	rc.inflight++
	rc.peak = max(rc.peak, rc.inflight)
	secrets := rc.secrets
	rc.mu.Unlock()

	id, ts, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	for _, s := range secrets {
		if !refVerify(rc.t, s, id, ts, sigs, body) {
			rc.t.Errorf("delivery %d: webhook-signature %q does not verify with secret %d", n, sigs, len(secrets))
		}
	}
	if len(secrets) > 0 && r.Header.Get("X-Tasker-Signature") != refLegacy(rc.t, secrets[0], body) {
		rc.t.Errorf("delivery %d: X-Tasker-Signature is not the newest secret's", n)
	}
	if unix, err := strconv.ParseInt(ts, 10, 64); err != nil || rc.now().Sub(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		rc.t.Errorf("delivery %d: webhook-timestamp %q is not now", n, ts)
	}
	status := http.StatusOK
	if rc.respond != nil {
		status = rc.respond(n, w, r)
	}
	rc.mu.Lock()
	rc.got[n].status = status
	rc.inflight--
	if status >= 200 && status < 300 {
		rc.ok++
	}
	rc.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
	}
}

// requests returns what the receiver got so far.
func (rc *receiver) requests() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// stats returns the number of requests, of 2xx answers, and the most
// requests ever in flight at once.
func (rc *receiver) stats() (total, ok, peak int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got), rc.ok, rc.peak
}

// envelope decodes a delivered body.
func envelope(t testing.TB, body []byte) tasks.Event {
	t.Helper()
	var ev tasks.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("delivered body %q: %v", body, err)
	}
	return ev
}

// statusSequence answers with statuses in turn, then 200.
func statusSequence(statuses ...int) func(int, http.ResponseWriter, *http.Request) int {
	return func(n int, w http.ResponseWriter, r *http.Request) int {
		if n < len(statuses) {
			return statuses[n]
		}
		return http.StatusOK
	}
}

// downUntilUp answers status until up is called, then 200.
func downUntilUp(status int) (respond func(int, http.ResponseWriter, *http.Request) int, up func()) {
	var isUp atomic.Bool
	return func(int, http.ResponseWriter, *http.Request) int {
		if isUp.Load() {
			return http.StatusOK
		}
		return status
	}, func() { isUp.Store(true) }
}
