package notify_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/cliq/cliqtest"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/pipeline"
	"github.com/taskerhq/tasker/tasks"
)

// overdue is task.overdue for a task of Mia's numbered n.
func (e *testEnv) overdue(n int64) tasks.Event {
	due := time.Now().Add(-time.Minute)
	task := tasks.Task{ID: fmt.Sprint("tsk_", n), Number: n, Title: fmt.Sprint("Task ", n),
		Status: tasks.StatusOpen, Priority: tasks.PriorityMedium, Assignee: &e.mia.ID, DueAt: &due}
	return taskEvent(fmt.Sprint("evt_overdue_", n), tasks.EventTaskOverdue, task, tasks.Actor{}, time.Now())
}

func (e *testEnv) mustHandle(t *testing.T, ev tasks.Event) {
	t.Helper()
	if err := e.n.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// TestTokenCacheSharedByReplicas: two replicas' token sources on the same
// Redis mint one access token between them.
func TestTokenCacheSharedByReplicas(t *testing.T) {
	rdb := isolatedRedis(t)
	fake := cliqtest.NewServer(t)
	fake.AddChannel("general")
	var clients []*cliq.Client
	for range 2 {
		store := tasks.NewStore(rdb, time.Now)
		ts := cliq.NewTokenSource(nil, fake.OAuthConfig(), store.TokenCache(cliqtest.ClientID), time.Now)
		c, err := cliq.NewClient(&http.Client{Transport: &cliq.Transport{Source: ts}}, fake.URL)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := clients[i%2].PostToChannel(context.Background(), "general", "taskerbot", cliq.Text("hi")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := fake.Grants(); n != 1 {
		t.Errorf("%d tokens minted, want 1", n)
	}
}

// TestTokenRefreshedMidRun: Cliq refuses the token between two posts; the
// second is made with a fresh token and counts as one attempt.
func TestTokenRefreshedMidRun(t *testing.T) {
	e := newTestEnv(t, options{cfg: notify.Config{Spacing: -1}})
	e.startWorkers(t, notify.RetryDelay(nil))
	e.mustHandle(t, e.overdue(1))
	waitFor(t, "the first post", func() bool { return e.allSettled(t, 1) })
	e.fake.ExpireTokens()
	e.mustHandle(t, e.overdue(2))
	waitFor(t, "the second post", func() bool { return e.allSettled(t, 2) })
	for _, r := range e.records(t) {
		if r.Status != notify.NotificationSent || r.Attempts != 1 || r.Error != nil {
			t.Errorf("record %+v; want sent in 1 attempt", r)
		}
	}
	if n := e.fake.Grants(); n != 2 {
		t.Errorf("%d tokens minted, want 2", n)
	}
	calls := e.fake.Calls()
	if len(calls) != 3 || calls[1].Status != http.StatusUnauthorized || calls[2].Status/100 != 2 {
		t.Errorf("calls = %+v; want a post, a refused post and its retry", calls)
	}
}

// TestRateLimitedRetriedAfterRetryAfter: a 429 is recorded, every replica
// holds off, and the post is retried once Retry-After has passed.
func TestRateLimitedRetriedAfterRetryAfter(t *testing.T) {
	e := newTestEnv(t, options{cfg: notify.Config{Spacing: -1}})
	e.fake.RateLimitNext(1, time.Second)
	e.startWorkers(t, notify.RetryDelay(nil))
	e.mustHandle(t, e.overdue(1))
	waitFor(t, "the retried post", func() bool { return e.allSettled(t, 1) })
	r := e.records(t)[0]
	if r.Status != notify.NotificationSent || r.Attempts != 2 || r.Error != nil {
		t.Errorf("record %+v; want sent after 2 attempts", r)
	}
	at := e.calls.times()
	if len(at) != 2 {
		t.Fatalf("%d calls, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < time.Second {
		t.Errorf("retried after %v, before Retry-After's 1s", gap)
	}
	if got := e.metric(t, "tasker_cliq_api_calls_total", "outcome", "rate_limited"); got != 1 {
		t.Errorf("rate_limited calls = %v, want 1", got)
	}
	if got := e.metric(t, "tasker_cliq_api_calls_total", "outcome", "sent"); got != 1 {
		t.Errorf("sent calls = %v, want 1", got)
	}
}

// TestRetryDelay: retries wait as long as Retry-After says, else the
// backoff. The test's RetryDelayFunc moves the store's clock by the delay
// asked for and retries at once, so no test time passes.
func TestRetryDelay(t *testing.T) {
	clock := cliqtest.NewClock(time.Now())
	e := newTestEnv(t, options{now: clock.Now, cfg: notify.Config{Spacing: -1, MaxAttempts: 5}})
	e.fake.ServerErrorNext(1)
	e.fake.RateLimitNext(1, 42*time.Second)
	var mu sync.Mutex
	var delays []time.Duration
	delay := notify.RetryDelay(nil)
	e.startWorkers(t, func(n int, err error, job *asynq.Task) time.Duration {
		d := delay(n, err, job)
		mu.Lock()
		delays = append(delays, d)
		mu.Unlock()
		clock.Advance(d)
		return fastRetries(n, err, job)
	})
	e.mustHandle(t, e.overdue(1))
	waitFor(t, "the post", func() bool { return e.allSettled(t, 1) })
	mu.Lock()
	defer mu.Unlock()
	if len(delays) != 2 || delays[0] < 8*time.Second || delays[0] > 12*time.Second || delays[1] != 42*time.Second {
		t.Errorf("retry delays = %v; want the first backoff of about 10s, then Retry-After's 42s", delays)
	}
	if r := e.records(t)[0]; r.Status != notify.NotificationSent || r.Attempts != 3 {
		t.Errorf("record %+v; want sent after 3 attempts", r)
	}
	other := asynq.NewTask("event:webhooks", nil)
	if d := notify.RetryDelay(func(int, error, *asynq.Task) time.Duration { return time.Hour })(0, errors.New("x"), other); d != time.Hour {
		t.Errorf("delay of another job type = %v, want next's", d)
	}
}

// TestServerErrorsThenFailed: 5xx are retried until MaxAttempts calls were
// made; then the notification fails with the last error.
func TestServerErrorsThenFailed(t *testing.T) {
	e := newTestEnv(t, options{cfg: notify.Config{Spacing: -1, MaxAttempts: 3}})
	e.fake.ServerErrorNext(3)
	e.startWorkers(t, fastRetries)
	e.mustHandle(t, e.overdue(1))
	waitFor(t, "the notification to fail", func() bool { return e.allSettled(t, 1) })
	r := e.records(t)[0]
	if r.Status != notify.NotificationFailed || r.Attempts != 3 || r.Error == nil || !strings.Contains(*r.Error, "500") {
		t.Errorf("record %+v; want failed after 3 attempts with the 500", r)
	}
	if n := len(e.fake.Calls()); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
	if got := e.metric(t, "tasker_cliq_api_calls_total", "outcome", "transient_error"); got != 3 {
		t.Errorf("transient_error calls = %v, want 3", got)
	}
	if got := e.metric(t, "tasker_notifications_total", "status", "failed"); got != 1 {
		t.Errorf("failed notifications = %v, want 1", got)
	}
}

// TestPermanentErrorFailsAtOnce: a channel that does not exist is not retried.
func TestPermanentErrorFailsAtOnce(t *testing.T) {
	e := newTestEnv(t, options{cfg: notify.Config{Spacing: -1}})
	e.startWorkers(t, fastRetries)
	if err := e.n.PostToChannel(context.Background(), e.ws, "nosuchchannel", cliq.Text("hello"), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the notification to fail", func() bool { return e.allSettled(t, 1) })
	r := e.records(t)[0]
	if r.Status != notify.NotificationFailed || r.Attempts != 1 || r.Error == nil || !strings.Contains(*r.Error, "channel_not_found") {
		t.Errorf("record %+v; want failed after 1 attempt", r)
	}
	if got := e.metric(t, "tasker_cliq_api_calls_total", "outcome", "permanent_error"); got != 1 {
		t.Errorf("permanent_error calls = %v, want 1", got)
	}
}

// TestKilledWorkerMidPost: a worker stopped while Cliq hangs on its post
// gives the job back; the next worker makes the post, and the record
// counts both attempts.
func TestKilledWorkerMidPost(t *testing.T) {
	e := newTestEnv(t, options{cfg: notify.Config{Spacing: -1}})
	e.fake.HangNext(1)
	first := e.startWorkers(t, fastRetries)
	e.mustHandle(t, e.overdue(1))
	waitFor(t, "the hanging post", func() bool { return len(e.fake.Calls()) == 1 })
	first.Shutdown()
	if r := e.records(t)[0]; r.Status != notify.NotificationPending {
		t.Fatalf("record after the kill = %+v; want pending", r)
	}
	e.startWorkers(t, fastRetries)
	waitFor(t, "the post", func() bool { return e.allSettled(t, 1) })
	r := e.records(t)[0]
	if r.Status != notify.NotificationSent || r.Attempts != 2 || r.Error != nil {
		t.Errorf("record %+v; want sent, 2 attempts", r)
	}
	if msgs := e.fake.Messages(); len(msgs) != 1 {
		t.Errorf("%d messages delivered, want 1", len(msgs))
	}
}

// TestPostToChannelOnce: a hook redelivered with the same key posts once.
func TestPostToChannelOnce(t *testing.T) {
	e := newTestEnv(t, options{cfg: notify.Config{Spacing: -1}})
	e.startWorkers(t, fastRetries)
	msg := cliq.Message{Text: "Mia opened !12", Card: &cliq.Card{Title: "GitLab: merge request !12", Theme: cliq.ThemeModernInline}}
	for range 2 {
		if err := e.n.PostToChannel(context.Background(), e.ws, "ops", msg, "gitlab:abc"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the post", func() bool { return e.allSettled(t, 1) })
	r := e.records(t)[0]
	if r.EventID != nil || r.Destination != (notify.Destination{Kind: notify.DestinationChannel, Name: "ops"}) || r.Status != notify.NotificationSent {
		t.Errorf("record %+v", r)
	}
	calls := e.fake.Calls()
	if len(calls) != 1 || calls[0].Path != "/api/v2/channelsbyname/ops/message" || calls[0].Query.Get("bot_unique_name") != "taskerbot" {
		t.Errorf("calls = %+v; want one channel post as the bot", calls)
	}
	if err := e.n.PostToChannel(context.Background(), e.ws, "not a channel", msg, ""); err == nil {
		t.Error("a bad channel name was accepted")
	}
}

// TestEndToEnd drives real writes through the pipeline: assigning Mia a
// task posts to the subscribed channel and DMs Mia through the bot.
func TestEndToEnd(t *testing.T) {
	e := newTestEnv(t, options{cfg: notify.Config{Channel: "general", Spacing: -1}})
	ctx := context.Background()
	if _, err := e.store.SubscribeChannel(ctx, e.ws, tasks.Actor{}, "devtasks", "", []tasks.EventType{tasks.EventTaskAssigned}); err != nil {
		t.Fatal(err)
	}
	targets := []pipeline.Target{e.n}
	e.startWorkers(t, notify.RetryDelay(nil), targets...)
	d := pipeline.NewDispatcher(slog.New(slog.DiscardHandler), e.store, e.queue, targets, prometheus.NewRegistry(), pipeline.Options{Consumer: "d1", Poll: 20 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	lars := tasks.Actor{UserID: e.lars.ID, CliqUserID: larsCliq}
	task, _, err := e.store.CreateTask(ctx, e.ws, lars, tasks.NewTask{Title: "Review PR"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateTask(ctx, e.ws, lars, task.ID, tasks.TaskPatch{Assignee: tasks.Some(e.mia.ID)}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three posts", func() bool { return e.allSettled(t, 3) })
	byPath := map[string]cliqtest.Call{}
	for _, c := range e.fake.Calls() {
		byPath[c.Path] = c
	}
	if c, ok := byPath["/api/v2/channelsbyname/general/message"]; !ok || !strings.HasPrefix(c.Body["card"].(map[string]any)["title"].(string), "New task: #1") {
		t.Errorf("no created card in general: %+v", byPath)
	}
	if c, ok := byPath["/api/v2/channelsbyname/devtasks/message"]; !ok || c.Body["text"] != "Lars assigned a task to Mia" {
		t.Errorf("no assigned card in devtasks: %+v", c)
	}
	if c, ok := byPath["/api/v2/bots/taskerbot/message"]; !ok || c.Body["userids"] != miaCliq || c.Body["text"] != "Lars assigned you a task" {
		t.Errorf("no direct message to Mia: %+v", c)
	}
	if got := e.metric(t, "tasker_notifications_total", "status", "sent"); got != 3 {
		t.Errorf("sent notifications = %v, want 3", got)
	}
	if logs := e.logs.String(); strings.Contains(logs, "1000.") || strings.Contains(logs, cliqtest.ClientSecret) {
		t.Errorf("a credential reached the log:\n%s", logs)
	}
}
