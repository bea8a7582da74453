package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// How a message travels. The fan-out reads the workspace's event stream
// in order, through its own consumer group and under a per-workspace lock
// (fanout.go), and turns each event into one message per matching
// subscription that was enabled when the event was written (a message of
// an endpoint disabled since is parked until it is enabled again); a
// message that may run is made due at once in the same script. Messages
// are therefore created in event order, which is what lets a task's
// messages to an ordered subscription go strictly one after another. The
// delivery lanes (engine.go) lease due messages in batches, send them and
// record the outcomes.
//
// An attempt starts by taking the message's lease in Redis (Timeout +
// LeaseGrace long, on Redis' clock) and ends by logging the attempt and
// releasing it in one script call, so two attempts of one message never
// overlap. A lane that dies mid-attempt leaves its lease to expire; Run
// sweeps expired leases every ReapInterval, logs the lost attempt as
// interrupted and makes the message due at once. With the defaults (10s
// timeout, 20s grace, 15s sweep) another lane retries within about 45s,
// well inside SPEC.md's 2 minutes.

// Queue is the asynq queue delivery jobs went to before the lanes; the
// worker server keeps serving it so jobs queued by an older version are
// not stranded.
const Queue = "webhooks"

// JobType is the asynq task type of those delivery jobs.
const JobType = "webhook:deliver"

// job is the part of a delivery job's payload still read: which message.
// The attempt's seq it also carried is left out, since the lanes lease the
// message's current attempt whatever it is.
type job struct {
	Workspace tasks.WorkspaceID `json:"ws"`
	Message   string            `json:"msg"`
}

// Register adds the handler of delivery jobs queued by an older version
// to the workers' mux: each makes its message due for the lanes.
func (s *Service) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(JobType, s.handleJob)
}

// handleJob turns an older version's delivery job into a due message.
func (s *Service) handleJob(ctx context.Context, t *asynq.Task) error {
	var j job
	if err := json.Unmarshal(t.Payload(), &j); err != nil {
		return fmt.Errorf("webhooks: decode job: %w: %w", err, asynq.SkipRetry)
	}
	s.markDue(j.Workspace)
	if err := s.ensure(ctx, j.Workspace, j.Message); err != nil && !errors.Is(err, tasks.ErrNotFound) {
		return err
	}
	return nil
}

// schedule makes message m due after delay and wakes the lanes.
func (s *Service) schedule(ctx context.Context, ws tasks.WorkspaceID, m message, delay time.Duration) error {
	if err := s.store.schedule(ctx, ws, m.ID, delay); err != nil {
		return err
	}
	// Marked after the write: a lane that found nothing before it cannot
	// then put the workspace to sleep.
	s.markDue(ws)
	s.wake()
	return nil
}

// ensure makes the current attempt of message id due (at its time) if it
// may run: pending and, when ordered, at the head of its task's queue.
func (s *Service) ensure(ctx context.Context, ws tasks.WorkspaceID, id string) error {
	q, err := s.store.runnable(ctx, ws, id)
	if err != nil || !q.Runnable {
		return err
	}
	return s.schedule(ctx, ws, q.Message, q.Message.NextAt.Sub(s.cfg.Now()))
}

// lease is how long an attempt may hold its message.
func (s *Service) lease() time.Duration { return s.cfg.Timeout + s.cfg.LeaseGrace }

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
// pipeline.Follower: the dispatcher notifies it of new events instead of
// queueing a job per event, and Handle serves event jobs queued before.
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := time.Now()
	if until, ok := t.s.wanted.Load(ev.Workspace); ok && now.Before(until.(time.Time)) {
		t.s.keepActive(ctx, ev.Workspace)
		return true
	}
	has, err := t.s.store.hasSubs(ctx, ev.Workspace)
	if err != nil {
		return true // let the job decide, with retries, rather than lose the event
	}
	if has {
		t.s.markWanted(ev.Workspace)
		t.s.keepActive(ctx, ev.Workspace)
	}
	return has
}

// keepActive puts ws in the active set (at most once per markEvery per
// process) before the dispatcher acknowledges an event it wants: a notice
// lost with its process then leaves the event to the sweep, which runs
// the fan-out of every workspace in the set. A failure is logged only:
// the notice and the next event still carry the event on.
func (s *Service) keepActive(ctx context.Context, ws tasks.WorkspaceID) {
	if err := s.store.markActive(ctx, ws); err != nil {
		s.logger.WarnContext(ctx, "webhook workspace not marked active", "workspace", ws, "err", err)
	}
}

// markWanted records that ws has a subscription.
func (s *Service) markWanted(ws tasks.WorkspaceID) {
	s.wanted.Store(ws, time.Now().Add(wantedFor))
	s.markDue(ws)
}

// Handle makes sure ev, and every event of its workspace before it, has
// its messages: it runs the workspace's fan-out (Fanout), which reads the
// event stream in order. Running it again for the same event creates
// nothing new; an event job that fails leaves its event to the next
// job's pass or the sweep, in its place in the order.
func (t *Target) Handle(ctx context.Context, ev tasks.Event) error {
	return t.s.Fanout(ctx, ev.Workspace)
}

// queueMessages records messages (in one round trip, in order, fenced by
// the fan-out lock token; "" for none): each that may run is due at once.
// A message the (subscription, event) pair had already is made due again
// if it may run, in case a replica died before it was.
func (s *Service) queueMessages(ctx context.Context, ws tasks.WorkspaceID, ins []newMessage, fence string) error {
	qs, err := s.store.createMessages(ctx, ws, ins, fence)
	if err != nil {
		return err
	}
	s.markDue(ws) // after the write, as in schedule
	var errs []error
	for _, q := range qs {
		if !q.Created && q.Runnable {
			errs = append(errs, s.schedule(ctx, ws, q.Message, q.Message.NextAt.Sub(s.cfg.Now())))
		}
	}
	s.wake()
	return errors.Join(errs...)
}

// Run delivers with Lanes lanes until ctx ends, and sweeps every
// ReapInterval the workspaces that have work (activity.go): it requeues
// attempts whose worker died (their lease expired), runs the fan-out
// (events a lost notice or a crashed replica left), restarts every ordered
// queue whose head is neither due nor leased, sends what enabled endpoints
// have parked, and reports the workspace's totals for /metrics. cmd runs
// it on every worker replica; sweeps racing each other are harmless.
//
// Per idle workspace (in the set, nothing pending) a pass costs about ten
// calls: the lease reap (2), whether it has subscriptions (1), one lease
// attempt by a lane (2), the fan-out (lock, claim, read, unlock: 4), the
// ordered queues (listing the subscriptions: 2, the queue index: 1), the
// pending count and the report (2). It leaves the set idleAfter after its
// last mark, so a workspace idle for longer costs nothing; the pass itself
// reads the set once.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.lanes(ctx) })
	wg.Go(func() { s.fanoutLoop(ctx) })
	defer wg.Wait()
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

// Sweep makes one pass of Run's sweep over the workspaces with work.
func (s *Service) Sweep(ctx context.Context) error {
	if err := s.upgrade(ctx); err != nil {
		return err
	}
	active, err := s.activeSet(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, z := range active {
		if err := s.sweepWorkspace(ctx, workspaceOf(z.Member), z.Score); err != nil {
			errs = append(errs, err)
		}
	}
	if s.sweeps.Add(1)%recomputeEvery == 0 {
		errs = append(errs, s.store.recomputeTotals(ctx))
	}
	return errors.Join(errs...)
}

// sweepWorkspace makes the sweep's pass over ws, whose active-set score
// was read as score, and drops it from the set when it is idle.
func (s *Service) sweepWorkspace(ctx context.Context, ws tasks.WorkspaceID, score float64) error {
	if err := s.reapWorkspace(ctx, ws); err != nil {
		return err
	}
	// Lease at once: messages may be due whoever made them.
	s.markDue(ws)
	s.wake()
	subs, err := s.store.listSubs(ctx, ws)
	if err != nil {
		return err
	}
	if len(subs) > 0 {
		if err := s.Fanout(ctx, ws); err != nil {
			return err
		}
		if err := s.restart(ctx, ws, subs); err != nil {
			return err
		}
	}
	pending, err := s.store.pendingCount(ctx, ws)
	if err != nil {
		return err
	}
	if err := s.store.reportStats(ctx, ws, pending, disabledCount(subs)); err != nil {
		return err
	}
	if pending > 0 {
		return nil
	}
	return s.store.dropIdle(ctx, ws, score)
}

// upgrade, once per process, moves the totals of an older version to this
// format and, the first time, marks every workspace active so the sweep
// finds the work an older version left.
func (s *Service) upgrade(ctx context.Context) error {
	if s.upgradeDone.Load() {
		return nil
	}
	full, err := s.store.upgradeStats(ctx)
	if err != nil {
		return err
	}
	if full {
		wss, err := s.tasks.Workspaces(ctx)
		if err != nil {
			return err
		}
		if err := s.store.markAll(ctx, wss); err != nil {
			return err
		}
		if err := s.store.upgraded(ctx); err != nil {
			return err
		}
	}
	s.upgradeDone.Store(true)
	return nil
}

// Reap requeues every message whose attempt's lease has expired, in every
// workspace with work, logging the lost attempt as interrupted.
func (s *Service) Reap(ctx context.Context) error {
	active, err := s.activeSet(ctx)
	if err != nil {
		return err
	}
	for _, z := range active {
		if err := s.reapWorkspace(ctx, workspaceOf(z.Member)); err != nil {
			return err
		}
	}
	return nil
}

// activeSet returns the active set, only the configured workspaces of it
// when Workspaces is set.
func (s *Service) activeSet(ctx context.Context) ([]redis.Z, error) {
	zs, err := s.store.activeWorkspaces(ctx)
	if err != nil || s.cfg.Workspaces == nil {
		return zs, err
	}
	return slices.DeleteFunc(zs, func(z redis.Z) bool { return !slices.Contains(s.cfg.Workspaces, workspaceOf(z.Member)) }), nil
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
	requeued, err := s.store.reapLease(ctx, ws, m, lost, NewDeliveryID())
	if err != nil || !requeued {
		return err
	}
	s.metrics.attempts.WithLabelValues("interrupted").Inc()
	s.logger.WarnContext(ctx, "webhook attempt interrupted; retrying", "workspace", ws, "webhook_id", m.SubscriptionID,
		"message_id", id, "status", 0, "err", msg)
	s.markDue(ws) // the reap made it due
	s.wake()
	return nil
}

// restart makes due, at its time, every ordered queue's head that may run,
// and the parked messages of enabled endpoints, so that no queue stalls
// whatever was lost.
func (s *Service) restart(ctx context.Context, ws tasks.WorkspaceID, subs []subRecord) error {
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
