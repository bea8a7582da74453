package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/taskerhq/tasker/tasks"
)

// How a message travels. The fan-out reads the workspace's event stream
// in order, through its own consumer group and under a per-workspace lock
// (fanout.go), turns each event into one message per matching enabled
// subscription and queues one asynq job for its first attempt. Messages
// are therefore created in event order, which is what lets a task's
// messages to an ordered subscription go strictly one after another. Each attempt is its own job, with the id
// "whd:<message>:<seq>", so it is queued once; a retry is a new job
// scheduled after the retry schedule's delay (asynq's own retry delays do
// not follow the schedule, and must not: asynq only retries jobs that fail,
// and a failed delivery is a successful job).
//
// An attempt starts by taking the message's lease in Redis (Timeout +
// LeaseGrace long) and ends by logging the attempt and releasing it in one
// script call, so two attempts of one message never overlap even if a job
// ran twice. A worker that dies mid-attempt leaves its lease to expire; Run
// sweeps expired leases every ReapInterval, logs the lost attempt as
// interrupted and queues the next one at once. With the defaults (10s
// timeout, 20s grace, 15s sweep) another worker retries within about 45s,
// well inside SPEC.md's 2 minutes, without waiting for asynq's own
// recovery of the dead worker's job (which comes a minute or two later,
// finds its attempt superseded and does nothing).

// Queue is the asynq queue of delivery jobs; the worker server must list
// it in asynq.Config.Queues.
const Queue = "webhooks"

// JobType is the asynq task type of delivery jobs.
const JobType = "webhook:deliver"

// jobRetries bounds asynq's retries of a delivery job that errored (Redis
// unreachable); a failed delivery is not an error.
const jobRetries = 10

// job is a delivery job's payload: one attempt, seq, of a message.
type job struct {
	Workspace    tasks.WorkspaceID `json:"ws"`
	Subscription string            `json:"sub"`
	Message      string            `json:"msg"`
	Seq          int64             `json:"seq"`
	OrderKey     string            `json:"ord,omitempty"`
}

// Register adds the delivery job's handler to the workers' mux.
func (s *Service) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(JobType, s.handleJob)
}

// enqueue queues attempt m.Seq of m to run after delay. A job already
// queued under its id is left as it is.
func (s *Service) enqueue(ctx context.Context, ws tasks.WorkspaceID, m message, delay time.Duration) error {
	payload, err := json.Marshal(job{Workspace: ws, Subscription: m.SubscriptionID, Message: m.ID, Seq: m.Seq, OrderKey: m.OrderKey})
	if err != nil {
		return fmt.Errorf("webhooks: encode job: %w", err)
	}
	opts := []asynq.Option{
		asynq.Queue(s.cfg.Queue), asynq.TaskID(fmt.Sprintf("whd:%s:%d", m.ID, m.Seq)),
		asynq.MaxRetry(jobRetries), asynq.Timeout(s.lease() + 5*time.Second),
	}
	if delay > 0 {
		// asynq schedules in whole Unix seconds and runs a job once its
		// second has begun: rounding up keeps a Retry-After from being
		// cut short by up to a second.
		at := time.Now().Add(delay)
		if t := at.Truncate(time.Second); t.Before(at) {
			at = t.Add(time.Second)
		}
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err = s.queue.EnqueueContext(ctx, asynq.NewTask(JobType, payload), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("webhooks: enqueue %s: %w", m.ID, err)
	}
	return nil
}

// ensure queues the current attempt of message id if it may run.
func (s *Service) ensure(ctx context.Context, ws tasks.WorkspaceID, id string) error {
	q, err := s.store.runnable(ctx, ws, id)
	if err != nil || !q.Runnable {
		return err
	}
	return s.enqueue(ctx, ws, q.Message, q.Message.NextAt.Sub(s.cfg.Now()))
}

// lease is how long an attempt may hold its message.
func (s *Service) lease() time.Duration { return s.cfg.Timeout + s.cfg.LeaseGrace }

// handleJob runs one delivery job. It returns an error only when Redis
// failed, so that asynq retries the job.
func (s *Service) handleJob(ctx context.Context, t *asynq.Task) error {
	var j job
	if err := json.Unmarshal(t.Payload(), &j); err != nil {
		return fmt.Errorf("webhooks: decode job: %w: %w", err, asynq.SkipRetry)
	}
	token := rand.Text()
	b, err := s.store.beginAttempt(ctx, j.Workspace, j.Subscription, j.OrderKey, j.Message, j.Seq, token, s.lease())
	if err != nil {
		return err
	}
	switch b.Action {
	case actRun:
		return s.attempt(ctx, j.Workspace, b, token)
	case actStale:
		// A later attempt is current; its job may have been lost between
		// the write that made it current and its enqueue.
		return s.ensure(ctx, j.Workspace, j.Message)
	case actSwitch:
		// An earlier message of the task heads the queue: it goes first.
		return s.ensure(ctx, j.Workspace, b.Next)
	case actDone:
		// A job finishing an ordered message may have died before queueing
		// the next one of the task.
		if b.Next != "" {
			return s.ensure(ctx, j.Workspace, b.Next)
		}
	}
	return nil // WebhookWait: the end of the one in flight queues the next; WebhookBusy: the lease holder owns it
}

// attempt makes the attempt b granted and records its outcome.
func (s *Service) attempt(ctx context.Context, ws tasks.WorkspaceID, b beginAnswer, token string) error {
	m := b.Message
	if b.Subscription == nil {
		// Deleted meanwhile: nothing is sent. The message fails without
		// counting against anyone, and its task's queue moves on.
		f, err := s.store.finishAttempt(ctx, ws, m, token, attemptResult{Status: StatusFailed})
		if err != nil {
			return err
		}
		if !f.Lost {
			s.metrics.messages.WithLabelValues(string(StatusFailed)).Inc()
		}
		if f.Next != "" {
			return s.ensure(ctx, ws, f.Next)
		}
		return nil
	}
	if !b.Subscription.Enabled && !m.Test {
		// Disabled meanwhile: the message waits, parked, until the endpoint
		// is enabled (Update then queues it), and so does the rest of its
		// task's queue behind it.
		parked, err := s.store.park(ctx, ws, m, token)
		if err != nil || parked {
			return err
		}
		b.Subscription.Enabled = true // enabled again since: send after all
	}
	sub := *b.Subscription
	a := Send(ctx, s.client, Request{
		URL: sub.URL, MessageID: m.EventID, EventType: string(m.EventType), Body: []byte(m.Body),
		Secrets: s.secrets(sub), DeliveryID: m.NextDeliveryID, Now: s.cfg.Now,
	})
	if a.StatusCode == nil && ctx.Err() != nil {
		// The worker is shutting down: this was no fair attempt. Give the
		// message back untouched; asynq requeues the job.
		_ = s.store.releaseLease(context.WithoutCancel(ctx), ws, m, token)
		return ctx.Err()
	}
	ctx = context.WithoutCancel(ctx) // the attempt was made: record it whatever happens now
	s.metrics.attempts.WithLabelValues(a.Outcome.String()).Inc()
	s.metrics.latency.Observe(float64(a.DurationMS) / 1000)
	if a.Outcome != Success {
		code := 0
		if a.StatusCode != nil {
			code = *a.StatusCode
		}
		s.logger.WarnContext(ctx, "webhook attempt failed", "workspace", ws, "webhook_id", sub.ID, "message_id", m.ID,
			"status", code, "outcome", a.Outcome.String(), "err", a.Error)
	}

	r := attemptResult{Attempt: logged(a), Count: !m.Test, Status: StatusFailed}
	if !m.Test {
		r.DisableAfter = s.cfg.DisableAfter
		r.DisableAfterReason = fmt.Sprintf("%d consecutive messages failed", s.cfg.DisableAfter)
	}
	var delay time.Duration
	switch a.Outcome {
	case Success:
		r.Status = StatusDelivered
	case Retry:
		if d, ok := NextDelay(s.cfg.Schedule, m.Round+1, a.RetryAfter, s.cfg.Random); ok {
			delay = d
			r.Status, r.NextAt, r.NextDeliveryID = StatusPending, s.cfg.Now().Add(d), NewDeliveryID()
		}
	case Disable:
		if !m.Test {
			r.Disable = "the endpoint answered 410 Gone"
		}
	}
	f, err := s.store.finishAttempt(ctx, ws, m, token, r)
	if err != nil {
		return err
	}
	if f.Lost {
		return nil // the reaper took the message over; its attempt is queued
	}
	if r.Status == StatusPending {
		m.Seq++
		return s.enqueue(ctx, ws, m, delay)
	}
	s.metrics.messages.WithLabelValues(string(r.Status)).Inc()
	if f.Next != "" {
		if err := s.ensure(ctx, ws, f.Next); err != nil {
			return err
		}
	}
	if f.Disabled {
		s.disabled(ctx, ws, sub.ID)
	}
	return nil
}

// disabled reports an endpoint the delivery path just disabled.
func (s *Service) disabled(ctx context.Context, ws tasks.WorkspaceID, id string) {
	s.metrics.disabled.Inc()
	sub, err := s.store.getSub(ctx, ws, id)
	if err != nil {
		s.logger.ErrorContext(ctx, "webhook endpoint disabled; alert not sent", "workspace", ws, "webhook_id", id, "err", err)
		return
	}
	v := view(sub)
	s.logger.WarnContext(ctx, "webhook endpoint disabled", "workspace", ws, "webhook", v, "reason", sub.DisabledReason)
	if s.cfg.OnDisabled != nil {
		s.cfg.OnDisabled(ctx, ws, v)
	}
}

// logged turns an attempt into its delivery-log entry.
func logged(a Attempt) *AttemptLog {
	d := a.DurationMS
	la := &AttemptLog{ID: a.ID, At: a.At.UTC(), StatusCode: a.StatusCode, DurationMS: &d}
	if a.Error != "" {
		e := a.Error
		la.Error = &e
	}
	if a.StatusCode != nil {
		resp := a.Response
		la.Response = &resp
	}
	return la
}

// Target is the pipeline target of outgoing webhooks: it turns each event
// into messages for the workspace's matching subscriptions. It satisfies
// pipeline.Target.
type Target struct{ s *Service }

// Target returns the service's pipeline target.
func (s *Service) Target() *Target { return &Target{s: s} }

// Name identifies the target in job ids and metrics.
func (t *Target) Name() string { return "webhooks" }

// wantedFor is how long a workspace found to have subscriptions is assumed
// to keep them before Wants asks Redis again. A stale "yes" costs only a
// job that finds nothing to do; a "no" is never cached, so a new
// subscription gets the very next event.
const wantedFor = 5 * time.Second

// Wants reports whether the event's workspace has subscriptions. Test
// events never come through the pipeline.
func (t *Target) Wants(ev tasks.Event) bool {
	// Internal events (the daily digest) are for chat, not for subscribers.
	if ev.Test || ev.Type.Internal() {
		return false
	}
	now := time.Now()
	if until, ok := t.s.wanted.Load(ev.Workspace); ok && now.Before(until.(time.Time)) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	has, err := t.s.store.hasSubs(ctx, ev.Workspace)
	if err != nil {
		return true // let the job decide, with retries, rather than lose the event
	}
	if has {
		t.s.wanted.Store(ev.Workspace, now.Add(wantedFor))
	}
	return has
}

// markWanted records that ws has a subscription.
func (s *Service) markWanted(ws tasks.WorkspaceID) {
	s.wanted.Store(ws, time.Now().Add(wantedFor))
}

// Handle makes sure ev, and every event of its workspace before it, has
// its messages: it runs the workspace's fan-out (Fanout), which reads the
// event stream in order. Running it again for the same event creates
// nothing new; an event job that fails leaves its event to the next
// job's pass or the sweep, in its place in the order.
func (t *Target) Handle(ctx context.Context, ev tasks.Event) error {
	return t.s.Fanout(ctx, ev.Workspace)
}

// enqueueParallel bounds how many first attempts of one batch's fan-out
// are queued at once.
const enqueueParallel = 8

// queueMessages records messages (in one round trip, in order, fenced by
// the fan-out lock token; "" for none) and queues the attempt of each that
// may run now, several at a time.
func (s *Service) queueMessages(ctx context.Context, ws tasks.WorkspaceID, ins []newMessage, fence string) error {
	qs, err := s.store.createMessages(ctx, ws, ins, fence)
	if err != nil {
		return err
	}
	var runnable []int
	for i, q := range qs {
		if q.Runnable {
			runnable = append(runnable, i)
		}
	}
	enqueue := func(i int) error {
		q := qs[i]
		delay := q.Message.NextAt.Sub(s.cfg.Now())
		if q.Created {
			delay = 0
		}
		return s.enqueue(ctx, ws, q.Message, delay)
	}
	if len(runnable) <= 1 {
		for _, i := range runnable {
			if err := enqueue(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(runnable))
	next := make(chan int, len(runnable))
	for j := range runnable {
		next <- j
	}
	close(next)
	var wg sync.WaitGroup
	for range min(enqueueParallel, len(runnable)) {
		wg.Go(func() {
			for j := range next {
				errs[j] = enqueue(runnable[j])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Run sweeps, every ReapInterval until ctx ends: it requeues attempts
// whose worker died (their lease expired), runs the fan-out of every
// workspace with subscriptions (events a lost job or a crashed replica
// left), restarts every ordered queue whose head has no job, and sends
// what enabled endpoints have parked. cmd runs it on every worker
// replica; sweeps racing each other are harmless.
func (s *Service) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.ReapInterval)
	defer tick.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "webhook sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Sweep makes one pass of Run's sweep over every workspace.
func (s *Service) Sweep(ctx context.Context) error {
	wss, err := s.workspaces(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, ws := range wss {
		if err := s.reapWorkspace(ctx, ws); err != nil {
			errs = append(errs, err)
			continue
		}
		has, err := s.store.hasSubs(ctx, ws)
		if err != nil || !has {
			errs = append(errs, err)
			continue
		}
		if err := s.Fanout(ctx, ws); err != nil {
			errs = append(errs, err)
		}
		if err := s.restart(ctx, ws); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Reap requeues every message whose attempt's lease has expired, in every
// workspace, logging the lost attempt as interrupted.
func (s *Service) Reap(ctx context.Context) error {
	wss, err := s.workspaces(ctx)
	if err != nil {
		return err
	}
	for _, ws := range wss {
		if err := s.reapWorkspace(ctx, ws); err != nil {
			return err
		}
	}
	return nil
}

// workspaces returns the workspaces the sweep covers.
func (s *Service) workspaces(ctx context.Context) ([]tasks.WorkspaceID, error) {
	if s.cfg.Workspaces != nil {
		return s.cfg.Workspaces, nil
	}
	return s.tasks.Workspaces(ctx)
}

func (s *Service) reapWorkspace(ctx context.Context, ws tasks.WorkspaceID) error {
	for {
		ids, err := s.store.expiredLeases(ctx, ws, 100)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.reap(ctx, ws, id); err != nil {
				return err
			}
		}
		if len(ids) < 100 {
			return nil
		}
	}
}

func (s *Service) reap(ctx context.Context, ws tasks.WorkspaceID, id string) error {
	m, err := s.store.getMessage(ctx, ws, id)
	if errors.Is(err, tasks.ErrNotFound) {
		m = message{ID: id} // expired: the script only drops the lease entry
	} else if err != nil {
		return err
	}
	msg := "attempt interrupted: the worker stopped before it finished"
	lost := AttemptLog{ID: m.NextDeliveryID, At: s.cfg.Now().UTC(), Error: &msg}
	m, requeued, err := s.store.reapLease(ctx, ws, m, lost, NewDeliveryID())
	if err != nil || !requeued {
		return err
	}
	s.metrics.attempts.WithLabelValues("interrupted").Inc()
	s.logger.WarnContext(ctx, "webhook attempt interrupted; retrying", "workspace", ws, "message_id", id)
	return s.enqueue(ctx, ws, m, 0)
}

// restart queues the job of every ordered queue's head that may run (its
// job id makes this a no-op where the job exists), and the parked messages
// of enabled endpoints, so that no queue stalls whatever was lost.
func (s *Service) restart(ctx context.Context, ws tasks.WorkspaceID) error {
	subs, err := s.store.listSubs(ctx, ws)
	if err != nil {
		return err
	}
	enabled := make(map[string]bool, len(subs))
	for _, sub := range subs {
		enabled[sub.ID] = sub.Enabled
		if sub.Enabled {
			if err := s.unpark(ctx, ws, sub.ID); err != nil {
				return err
			}
		}
	}
	heads, err := s.store.queueHeads(ctx, ws)
	if err != nil {
		return err
	}
	for id, sub := range heads {
		if on, ok := enabled[sub]; ok && !on {
			continue // parked until enabled; a deleted one's messages fail through
		}
		if err := s.ensure(ctx, ws, id); err != nil && !errors.Is(err, tasks.ErrNotFound) {
			return err
		}
	}
	return nil
}

// unpark queues the attempts of the messages subscription id parked while
// it was disabled.
func (s *Service) unpark(ctx context.Context, ws tasks.WorkspaceID, id string) error {
	for {
		ids, err := s.store.parked(ctx, ws, id, recoverBatch)
		if err != nil {
			return err
		}
		for _, msgID := range ids {
			if err := s.ensure(ctx, ws, msgID); err != nil && !errors.Is(err, tasks.ErrNotFound) {
				return err
			}
		}
		if err := s.store.unpark(ctx, ws, id, ids...); err != nil {
			return err
		}
		if len(ids) < recoverBatch {
			return nil
		}
	}
}
