package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/pipeline"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestService builds the whole service on the package's redis-server, as
// serve does, and serves its handler from an httptest server.
func newTestService(t testing.TB, mutate func(*config)) (*service, *httptest.Server) {
	t.Helper()
	t.Setenv("TASKER_REDIS_URL", "redis://"+redistest.Addr(t))
	// Each service's keys reach workspaces of its own on the shared server.
	ws := fmt.Sprint("ws", time.Now().UnixNano())
	t.Setenv("TASKER_API_KEYS", "test-key@"+ws+",other-key@other"+ws)
	t.Setenv("TASKER_CLIQ_SECRET", "test-secret")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
		if err := cfg.validate(); err != nil { // parse the changed settings again
			t.Fatal(err)
		}
	}
	svc, err := build(context.Background(), cfg, quiet, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if err := svc.start(ctx, &wg); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.handler)
	t.Cleanup(func() {
		srv.Close()
		if svc.workers != nil {
			svc.workers.Shutdown()
		}
		cancel()
		wg.Wait()
		svc.close()
	})
	return svc, srv
}

func do(t testing.TB, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestServiceEndToEnd(t *testing.T) {
	_, srv := newTestService(t, nil)
	code, task := do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Ship it","tags":["release"]}`)
	if code != http.StatusCreated || task["number"] == nil {
		t.Fatalf("create = %d %v", code, task)
	}
	if code, _ := do(t, "GET", srv.URL+"/api/v1/tasks/1", "other-key", ""); code != http.StatusNotFound {
		t.Errorf("other workspace's key sees the task: %d", code)
	}
	if code, _ := do(t, "GET", srv.URL+"/api/tasks/1", "test-key", ""); code != http.StatusOK {
		t.Errorf("unversioned synonym = %d", code)
	}
	if code, _ := do(t, "GET", srv.URL+"/api/v1/tasks", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no key = %d", code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := do(t, "GET", srv.URL+path, "", ""); code != http.StatusOK {
			t.Errorf("%s = %d", path, code)
		}
	}
	// Every answer carries a request id, errors name it in their body too,
	// on the API and on the Cliq routes alike.
	for _, path := range []string{"/healthz", "/api/v1/tasks", "/cliq/commands/task", "/console/"} {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader("{}"))
		req.Header.Set("X-Request-Id", "trace-"+strings.ReplaceAll(path, "/", "."))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-Id"); got != req.Header.Get("X-Request-Id") {
			t.Errorf("%s: X-Request-Id %q, want the caller's", path, got)
		}
		if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") &&
			!strings.Contains(string(body), `"request_id":"`+req.Header.Get("X-Request-Id")+`"`) {
			t.Errorf("%s: error %s does not name the request id", path, body)
		}
	}
}

// TestAPIRecurrenceInDeploymentZone: a rule sent without
// recurrence_timezone is read in TASKER_TIMEZONE, not in UTC.
func TestAPIRecurrenceInDeploymentZone(t *testing.T) {
	t.Setenv("TASKER_TIMEZONE", "Europe/Berlin")
	_, srv := newTestService(t, nil)
	code, task := do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Stand-up","recurrence":"every weekday at 9:30"}`)
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, task)
	}
	rec, _ := task["recurrence"].(map[string]any)
	if rec["timezone"] != "Europe/Berlin" {
		t.Errorf("recurrence = %v, want it in Europe/Berlin", task["recurrence"])
	}
	due, err := time.Parse(time.RFC3339, fmt.Sprint(task["due_at"]))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if local := due.In(berlin); err != nil || local.Hour() != 9 || local.Minute() != 30 {
		t.Errorf("due_at = %v, want 09:30 in Berlin", task["due_at"])
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"TASKER_CLIQ_DC":               "mars",
		"TASKER_REMINDER_LEAD":         "soon",
		"TASKER_PUBLIC_URL":            "ftp://x",
		"TASKER_TENANCY":               "many",
		"TASKER_ROLES":                 "api,cook",
		"TASKER_MAX_BODY":              "lots",
		"TASKER_DIGEST_TIME":           "25:00",
		"TASKER_TIMEZONE":              "Mars/Base",
		"TASKER_LOG_FORMAT":            "xml",
		"TASKER_LOG_LEVEL":             "loud",
		"TASKER_CLIQ_PUBLIC_KEY":       "not pem",
		"TASKER_SCHEDULER_SPEC":        "every so often",
		"TASKER_CLIQ_FUNCTION_OWNER":   "not an email",
		"TASKER_WEBHOOK_DISABLE_AFTER": "many",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			_, err := loadConfig()
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("loadConfig with %s=%q = %v, want an error naming it", name, value, err)
			}
			// Say what a good value looks like, not a Go type name.
			if strings.Contains(err.Error(), "main.") || strings.Contains(err.Error(), "time.Duration") {
				t.Errorf("error %q names a Go type", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	t.Run("SecretNotEchoed", func(t *testing.T) {
		t.Setenv("TASKER_WEBHOOK_DISABLE_AFTER", "0")
		t.Setenv("TASKER_GITHUB_SECRET", "s3cr3t-value")
		_, err := loadConfig()
		if err == nil || strings.Contains(err.Error(), "s3cr3t-value") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != ":8080" || cfg.CliqAPIURL != "https://cliq.zoho.com" || cfg.MaxBody != 1<<20 || cfg.ReminderLead != time.Hour {
			t.Errorf("defaults = %+v", cfg)
		}
		// Cards are limited to 20 a minute per user with a 10-minute lock-out
		// (REFERENCE 4.5): the default stays below.
		if cfg.CliqRate != "18/min" {
			t.Errorf("TASKER_CLIQ_RATE default = %q, want 18/min", cfg.CliqRate)
		}
	})
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Setenv("TASKER_REDIS_URL", "redis://"+redistest.Addr(t))
	t.Setenv("TASKER_ADDR", "127.0.0.1:0")
	t.Setenv("TASKER_API_KEYS", "k")
	t.Setenv("TASKER_CLIQ_SECRET", "s")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- serve(ctx, cfg, logger, io.Discard) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		up := strings.Contains(logs.String(), "listening")
		mu.Unlock()
		if up || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// BenchmarkCreateTask measures POST /api/v1/tasks through the whole handler
// stack against the package's redis-server.
func BenchmarkCreateTask(b *testing.B) {
	_, srv := newTestService(b, func(c *config) { c.Roles = "api" })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			body := fmt.Sprintf(`{"title":"Review release notes %d","description":"Check the links","tags":["ops"],"due_at":"2030-01-01T17:00:00Z"}`, i)
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tasks", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer test-key")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// TestCliqCommandReachesTheOutbox plays the whole path of a chat command: a
// signed /task add creates the task, the dispatcher hands its event to the
// Cliq notifier, and in dry run the default channel's post is in the outbox log.
func TestCliqCommandReachesTheOutbox(t *testing.T) {
	// Org tenancy gives the test a workspace of its own on the shared server.
	org := fmt.Sprint(time.Now().UnixNano())
	_, srv := newTestService(t, func(c *config) {
		c.CliqChannel, c.Tenancy, c.APIKeys = "devtasks", "org", "org-key@"+org
	})
	body := `{"handler":"command","component":"task","arguments":"add Water plants due:tomorrow !high",
		"user":{"id":"600100","first_name":"Priya","email":"priya@example.com","timezone":"Europe/Berlin","organization_id":"` + org + `"},
		"chat":{"id":"CT_1","type":"channel","channel_unique_name":"devtasks"}}`
	ts := time.Now().Unix()
	req, _ := http.NewRequest("POST", srv.URL+"/cliq/commands/task", strings.NewReader(body))
	req.Header.Set("X-Tasker-Timestamp", fmt.Sprint(ts))
	req.Header.Set("X-Tasker-Signature", cliq.Sign("test-secret", ts, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(reply), "Water plants") {
		t.Fatalf("command = %d %s", resp.StatusCode, reply)
	}
	code, task := do(t, "GET", srv.URL+"/api/v1/tasks/1", "org-key", "")
	if code != http.StatusOK || task["priority"] != "high" || task["due_at"] == nil {
		t.Fatalf("task = %d %v", code, task)
	}
	var n map[string]any
	waitUntil(t, "a notification to be recorded", func() bool {
		_, page := do(t, "GET", srv.URL+"/api/v1/notifications", "org-key", "")
		list, _ := page["notifications"].([]any)
		if len(list) == 0 {
			return false
		}
		n = list[0].(map[string]any)
		return true
	})
	dest, _ := n["destination"].(map[string]any)
	if n["status"] != "dry_run" || dest["kind"] != "channel" || dest["name"] != "devtasks" {
		t.Fatalf("notification = %v", n)
	}
}

// TestDisabledWebhookAlertsItsOwner follows a failing endpoint from its
// first failure to the owner's Cliq DM, and the DM's Re-enable button.
func TestDisabledWebhookAlertsItsOwner(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // fails the message at once
	}))
	defer receiver.Close()
	org := fmt.Sprint(time.Now().UnixNano())
	_, srv := newTestService(t, func(c *config) {
		c.Tenancy, c.APIKeys = "org", "org-key@"+org
		c.WebhookAllowPrivate, c.WebhookDisableAfter = true, 1
	})
	code, user := do(t, "POST", srv.URL+"/api/v1/users", "org-key", `{"name":"Ann","email":"ann@example.com","cliq_user_id":"600200"}`)
	if code != http.StatusCreated {
		t.Fatalf("create user = %d %v", code, user)
	}
	code, hook := do(t, "POST", srv.URL+"/api/v1/webhooks", "org-key",
		fmt.Sprintf(`{"url":%q,"events":["*"],"created_by":%q}`, receiver.URL+"/hook", user["id"]))
	if code != http.StatusCreated {
		t.Fatalf("create webhook = %d %v", code, hook)
	}
	id := hook["id"].(string)
	if code, _ := do(t, "POST", srv.URL+"/api/v1/tasks", "org-key", `{"title":"Trigger"}`); code != http.StatusCreated {
		t.Fatalf("create task = %d", code)
	}
	waitUntil(t, "the endpoint to be disabled and its owner told", func() bool {
		_, got := do(t, "GET", srv.URL+"/api/v1/webhooks/"+id, "org-key", "")
		if got["status"] != "disabled" {
			return false
		}
		_, page := do(t, "GET", srv.URL+"/api/v1/notifications", "org-key", "")
		list, _ := page["notifications"].([]any)
		for _, n := range list {
			dest, _ := n.(map[string]any)["destination"].(map[string]any)
			if dest["kind"] == "user" && dest["name"] == "600200" {
				return true
			}
		}
		return false
	})

	body := `{"handler":"button","arguments":{"key":"wh_enable:` + id + `"},
		"user":{"id":"600200","first_name":"Ann","email":"ann@example.com","organization_id":"` + org + `"}}`
	ts := time.Now().Unix()
	req, _ := http.NewRequest("POST", srv.URL+"/cliq/functions/taskaction", strings.NewReader(body))
	req.Header.Set("X-Tasker-Timestamp", fmt.Sprint(ts))
	req.Header.Set("X-Tasker-Signature", cliq.Sign("test-secret", ts, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(reply), "enabled again") {
		t.Fatalf("Re-enable = %d %s", resp.StatusCode, reply)
	}
	if _, got := do(t, "GET", srv.URL+"/api/v1/webhooks/"+id, "org-key", ""); got["status"] != "active" {
		t.Errorf("after Re-enable: %v", got)
	}
}

// waitUntil polls cond; the deadline only bounds a broken test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRolesDecideWhatRuns: a worker-only replica serves the operations
// endpoints but not the API, and runs the dispatcher and job workers; an
// api-only replica runs neither.
func TestRolesDecideWhatRuns(t *testing.T) {
	svc, srv := newTestService(t, func(c *config) { c.Roles = "worker" })
	if code, _ := do(t, "GET", srv.URL+"/api/v1/tasks", "test-key", ""); code != http.StatusNotFound {
		t.Errorf("worker replica serves the API: %d", code)
	}
	if code, _ := do(t, "GET", srv.URL+"/healthz", "", ""); code != http.StatusOK {
		t.Errorf("worker replica /healthz = %d", code)
	}
	if svc.workers == nil || svc.disp == nil || svc.sched != nil {
		t.Errorf("worker replica: workers %v, dispatcher %v, scheduler %v", svc.workers != nil, svc.disp != nil, svc.sched != nil)
	}
	api, _ := newTestService(t, func(c *config) { c.Roles = "api" })
	if api.workers != nil || api.disp != nil || api.sched != nil {
		t.Error("api replica runs background roles")
	}
}

// TestEveryCommandAnswersHelp: -h and --help print the command's usage and
// succeed, and do nothing else — with a configuration that would stop the
// service, serve must not even read it.
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Setenv("TASKER_CLIQ_DC", "mars")
	for _, cmd := range []string{"serve", "sim", "listen", "deluge", "install", "uninstall", "doctor", "version"} {
		for _, flag := range []string{"-h", "--help"} {
			var out, errOut bytes.Buffer
			if err := run(t.Context(), []string{"tasker", cmd, flag}, &out, &errOut); err != nil {
				t.Errorf("tasker %s %s = %v, want success", cmd, flag, err)
			}
			if usage := out.String() + errOut.String(); !strings.Contains(usage, "tasker "+cmd) || !strings.HasPrefix(usage, "usage: ") {
				t.Errorf("tasker %s %s printed %q, want its usage", cmd, flag, usage)
			}
		}
	}
	if err := run(t.Context(), []string{"tasker", "serve", "--port", "1"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unexpected argument") {
		t.Errorf("serve with an unknown flag = %v, want it refused", err)
	}
}

// TestLogsStayStructured: durations read as durations, and go-redis'
// own complaints arrive as structured lines, not raw text, in JSON logs.
func TestLogsStayStructured(t *testing.T) {
	var buf bytes.Buffer
	logger := newLogger(&buf, slog.LevelInfo, "json")
	logger.Info("waited", "took", 1500*time.Millisecond)
	redisLogger{logger}.Printf(t.Context(), "redis: %s", "connection pool: timeout")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var waited, pool map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &waited) != nil || json.Unmarshal([]byte(lines[1]), &pool) != nil {
		t.Fatalf("log = %q, want two JSON lines", buf.String())
	}
	if waited["took"] != "1.5s" {
		t.Errorf("duration logged as %v, want 1.5s", waited["took"])
	}
	if pool["msg"] != "redis: connection pool: timeout" || pool["component"] != "redis" || pool["level"] != "WARN" {
		t.Errorf("redis line = %v", pool)
	}
}

// shutdownRig is a built service whose handler has a route that waits,
// with a job type that waits, for the shutdown tests.
type shutdownRig struct {
	svc      *service
	addr     string
	rdb      *redis.Client
	stopping chan struct{} // closed once the shutdown began (workers stopped)
	reqIn    chan struct{} // the slow request arrived
	jobIn    chan string   // a slow job started, by id
	release  chan struct{} // lets slow requests and jobs finish
	done     chan error    // run's result
	cancel   context.CancelFunc
}

// newShutdownRig builds the service with timeout as TASKER_SHUTDOWN_TIMEOUT
// and runs it. jobWait is what a slow job waits for.
func newShutdownRig(t *testing.T, timeout time.Duration, jobWait func(ctx context.Context, release <-chan struct{}) error) *shutdownRig {
	t.Helper()
	t.Setenv("TASKER_REDIS_URL", "redis://"+redistest.Addr(t))
	t.Setenv("TASKER_API_KEYS", "k")
	t.Setenv("TASKER_CLIQ_SECRET", "s")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ShutdownTimeout = timeout
	r := &shutdownRig{
		stopping: make(chan struct{}), reqIn: make(chan struct{}), jobIn: make(chan string, 4),
		release: make(chan struct{}), done: make(chan error, 1),
		rdb: redis.NewClient(&redis.Options{Addr: redistest.Addr(t)}),
	}
	t.Cleanup(func() { r.rdb.Close() })
	logger := slog.New(slog.NewTextHandler(&lineWatch{want: "shutting down", seen: r.stopping}, nil))
	svc, err := build(context.Background(), cfg, logger, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	inner := svc.handler
	svc.handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/slow" {
			inner.ServeHTTP(w, req)
			return
		}
		close(r.reqIn)
		<-r.release
		io.WriteString(w, "finished")
	})
	svc.mux.HandleFunc("test:slow", func(ctx context.Context, job *asynq.Task) error {
		r.jobIn <- string(job.Payload())
		return jobWait(ctx, r.release)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.done <- svc.run(ctx, ln, timeout)
		svc.close()
	}()
	return r
}

// enqueue queues a slow job with id, kept an hour once done.
func (r *shutdownRig) enqueue(t *testing.T, id string) {
	t.Helper()
	client := asynq.NewClientFromRedisClient(r.rdb)
	if _, err := client.Enqueue(asynq.NewTask("test:slow", []byte(id)), asynq.Queue(pipeline.Queue), asynq.TaskID(id), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = asynq.NewInspectorFromRedisClient(r.rdb).DeleteTask(pipeline.Queue, id) })
}

// state is where the job id stands in the queue.
func (r *shutdownRig) state(t *testing.T, id string) asynq.TaskState {
	t.Helper()
	info, err := asynq.NewInspectorFromRedisClient(r.rdb).GetTaskInfo(pipeline.Queue, id)
	if err != nil {
		t.Fatalf("GetTaskInfo(%s) = %v", id, err)
	}
	return info.State
}

// slowRequest sends GET /slow and returns its answer on a channel.
func (r *shutdownRig) slowRequest() <-chan string {
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + r.addr + "/slow")
		if err != nil {
			answer <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- fmt.Sprint(resp.StatusCode, " ", string(b))
	}()
	return answer
}

// lineWatch closes seen at the first log line containing want.
type lineWatch struct {
	want string
	seen chan struct{}
	once sync.Once
}

func (l *lineWatch) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(l.want)) {
		l.once.Do(func() { close(l.seen) })
	}
	return len(p), nil
}

// TestShutdownFinishesInFlightWork: when the signal comes with a request
// and a job in flight, the workers take no new job, and both finish;
// a job queued during the shutdown stays queued for the next process.
func TestShutdownFinishesInFlightWork(t *testing.T) {
	r := newShutdownRig(t, 30*time.Second, func(_ context.Context, release <-chan struct{}) error {
		<-release
		return nil
	})
	answer := r.slowRequest()
	<-r.reqIn
	first := fmt.Sprint("shutdown-first-", time.Now().UnixNano())
	r.enqueue(t, first)
	if got := <-r.jobIn; got != first {
		t.Fatalf("job %s started, want %s", got, first)
	}

	r.cancel() // SIGTERM
	<-r.stopping
	second := fmt.Sprint("shutdown-second-", time.Now().UnixNano())
	r.enqueue(t, second)
	close(r.release)

	if err := <-r.done; err != nil {
		t.Fatalf("run = %v", err)
	}
	if got := <-answer; got != "200 finished" {
		t.Errorf("in-flight request answered %q, want 200 finished", got)
	}
	if s := r.state(t, first); s != asynq.TaskStateCompleted {
		t.Errorf("in-flight job is %v, want completed", s)
	}
	select {
	case id := <-r.jobIn:
		t.Errorf("job %s started after the shutdown began", id)
	default:
	}
	if s := r.state(t, second); s != asynq.TaskStatePending {
		t.Errorf("job queued during the shutdown is %v, want pending for the next process", s)
	}
}

// TestShutdownGivesUpOnStuckWork: a request and a job that never finish do
// not hold the process: both drains give up at the one timeout, run
// returns, and the abandoned job goes back to its queue instead of being
// lost.
func TestShutdownGivesUpOnStuckWork(t *testing.T) {
	aborted := make(chan struct{})
	r := newShutdownRig(t, 200*time.Millisecond, func(ctx context.Context, _ <-chan struct{}) error {
		<-ctx.Done() // asynq cancels it when it gives up
		close(aborted)
		return ctx.Err()
	})
	t.Cleanup(func() { close(r.release) })
	r.slowRequest()
	<-r.reqIn
	id := fmt.Sprint("shutdown-stuck-", time.Now().UnixNano())
	r.enqueue(t, id)
	<-r.jobIn

	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("run = %v", err)
	}
	<-aborted
	if s := r.state(t, id); s != asynq.TaskStatePending {
		t.Errorf("abandoned job is %v, want pending again", s)
	}
}
