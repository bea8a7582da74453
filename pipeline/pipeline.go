// Package pipeline carries events from the outbox to their targets. The
// dispatcher reads the event streams of the workspaces that have work (a
// write's notice names them) through a consumer group, and turns each
// (event, target) pair into one asynq job with a deterministic id; workers
// run the jobs. A crashed dispatcher's unacknowledged entries are claimed by
// another, and the job ids make the re-enqueue a no-op, so an event reaches
// each target once. A slow sweep over every workspace catches what notices
// missed.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/tasks"
)

// Target receives events: Cliq notifications, outgoing webhooks.
type Target interface {
	// Name identifies the target in job ids and metrics; it must never change.
	Name() string
	// Wants reports whether ev concerns the target at all, so that events it
	// ignores cost no job.
	Wants(ev tasks.Event) bool
	// Handle acts on ev in a worker. An error retries the job with asynq's
	// backoff; wrap it with asynq.SkipRetry when retrying cannot help.
	Handle(ctx context.Context, ev tasks.Event) error
}

// Follower is a Target that reads the outbox stream itself, in order, with
// its own consumer group (outgoing webhooks). The dispatcher queues no job
// per event for it: it tells it, without waiting, which workspace has new
// events it wants. A notice may be lost (the process stops); the follower
// must also look on its own now and then.
type Follower interface {
	Target
	Notify(ws tasks.WorkspaceID)
}

// Queue is the asynq queue event jobs go to.
const Queue = "events"

// group is the consumer group of every dispatcher replica.
const group = "dispatch"

// jobRetention keeps finished jobs long enough that a dispatcher re-enqueuing
// an event it could not acknowledge hits the job id and adds nothing.
const jobRetention = 48 * time.Hour

// jobType is the asynq task type of target's jobs.
func jobType(target string) string { return "event:" + target }

// Options tunes a Dispatcher; zero values take the defaults.
type Options struct {
	// Consumer names this dispatcher in the consumer group; unique per process.
	Consumer string
	// ClaimIdle is how long an entry read by another consumer may stay
	// unacknowledged before this one takes it over (default 30s).
	ClaimIdle time.Duration
	// Poll is how often the active workspaces are read without a wake-up
	// notice (default 1s).
	Poll time.Duration
	// ActiveFor is how long a workspace stays active, polled every Poll and
	// reclaimed every ClaimIdle/2, after its last notice or event (default
	// 2×ClaimIdle, so a crashed replica's entries of a busy workspace are
	// taken over before it goes quiet).
	ActiveFor time.Duration
	// Sweep is how long one full pass over every workspace takes, spread
	// evenly over Poll ticks: the safety net for lost notices and for
	// entries a dead replica left pending (default 30m). Each workspace
	// costs an XAUTOCLAIM and an XREADGROUP per pass: 11 calls a second for
	// 10,000 workspaces.
	Sweep time.Duration
	// Batch is how many entries one read takes (default 100).
	Batch int
	// ConsumerIdle is how long another consumer with nothing pending may
	// stay silent before Reclaim removes it from the group: processes of
	// earlier deploys (default 1h). Reclaim looks at most once per
	// ConsumerIdle per workspace.
	ConsumerIdle time.Duration
}

// Dispatcher fans events out to targets as jobs. Its cost grows with the
// workspaces that have work, not with all of them: write notices wake it
// for their workspace, which it then polls while active; the rest are only
// visited by the slow full sweep.
type Dispatcher struct {
	logger  *slog.Logger
	store   *tasks.Store
	client  *asynq.Client
	targets []Target
	opt     Options
	now     func() time.Time
	groups  map[tasks.WorkspaceID]bool
	// pruned is when Reclaim last removed dead consumers, per workspace.
	pruned map[tasks.WorkspaceID]time.Time

	// The fields below belong to Run's goroutine.
	// active maps the workspaces polled every Poll to when work was last seen.
	active    map[tasks.WorkspaceID]time.Time
	lastClaim time.Time
	// sweepLeft is what the current full sweep has still to visit, step
	// workspaces a tick; the next one starts at nextSweep.
	sweepLeft []tasks.WorkspaceID
	sweepStep int
	nextSweep time.Time

	// woken collects the workspaces of notices until Run takes them;
	// signal tells Run there are some. A set, so no notice is dropped
	// however many arrive while Run is busy.
	mu     sync.Mutex
	woken  map[tasks.WorkspaceID]bool
	signal chan struct{}

	dispatched *prometheus.CounterVec
}

// NewDispatcher returns a dispatcher enqueuing through client. reg receives
// its metrics.
func NewDispatcher(logger *slog.Logger, store *tasks.Store, client *asynq.Client, targets []Target, reg prometheus.Registerer, opt Options) *Dispatcher {
	if opt.ClaimIdle == 0 {
		opt.ClaimIdle = 30 * time.Second
	}
	if opt.Poll == 0 {
		opt.Poll = time.Second
	}
	if opt.ActiveFor == 0 {
		opt.ActiveFor = 2 * opt.ClaimIdle
	}
	if opt.Sweep == 0 {
		opt.Sweep = 30 * time.Minute
	}
	if opt.Batch == 0 {
		opt.Batch = 100
	}
	if opt.ConsumerIdle == 0 {
		opt.ConsumerIdle = time.Hour
	}
	d := &Dispatcher{
		logger: logger, store: store, client: client, targets: targets, opt: opt, now: time.Now,
		groups: make(map[tasks.WorkspaceID]bool), pruned: make(map[tasks.WorkspaceID]time.Time),
		active: make(map[tasks.WorkspaceID]time.Time),
		woken:  make(map[tasks.WorkspaceID]bool), signal: make(chan struct{}, 1),
		dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_events_dispatched_total",
			Help: "Event jobs enqueued, by target.",
		}, []string{"target"}),
	}
	reg.MustRegister(d.dispatched)
	return d
}

// Run dispatches until ctx ends. It sweeps every workspace at start (events
// written while no dispatcher ran), then reacts to write notices at once,
// polls the active workspaces every Options.Poll and spreads a full sweep
// over every Options.Sweep.
func (d *Dispatcher) Run(ctx context.Context) error {
	subscribed, resync := d.store.FollowEvents(ctx, d.wake, func(err error) {
		d.logger.Warn("event notices unavailable; sweeping until they return", "err", err)
	})
	// Sweep once notices flow, so no write falls between the two.
	select {
	case <-subscribed:
	case <-ctx.Done():
		return nil
	}
	tick := time.NewTicker(d.opt.Poll)
	defer tick.Stop()
	d.startSweep(ctx, d.now(), true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-resync:
			// Notices published while the subscription was down are
			// lost: after a reconnect, visit every workspace at once.
			d.startSweep(ctx, d.now(), true)
		case <-d.signal:
			d.takeWoken(ctx, d.now())
		case <-tick.C:
			d.tick(ctx, d.now())
		}
	}
}

// wake records a notice for Run.
func (d *Dispatcher) wake(ws tasks.WorkspaceID) {
	d.mu.Lock()
	d.woken[ws] = true
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default: // Run has a signal pending and takes the whole set
	}
}

// takeWoken dispatches the workspaces of the notices since the last call
// and makes them active.
func (d *Dispatcher) takeWoken(ctx context.Context, now time.Time) {
	d.mu.Lock()
	woken := d.woken
	d.woken = make(map[tasks.WorkspaceID]bool)
	d.mu.Unlock()
	for ws := range woken {
		d.active[ws] = now
		d.dispatch(ctx, ws)
	}
}

// tick polls the active workspaces, forgets those quiet for ActiveFor, and
// takes the full sweep one step further.
func (d *Dispatcher) tick(ctx context.Context, now time.Time) {
	claim := now.Sub(d.lastClaim) >= d.opt.ClaimIdle/2
	if claim {
		d.lastClaim = now
	}
	for ws, seen := range d.active {
		if ctx.Err() != nil {
			return
		}
		switch {
		case d.visit(ctx, ws, claim):
			d.active[ws] = now
		case now.Sub(seen) >= d.opt.ActiveFor:
			delete(d.active, ws)
		}
	}
	d.startSweep(ctx, now, false)
	step := min(d.sweepStep, len(d.sweepLeft))
	for _, ws := range d.sweepLeft[:step] {
		if ctx.Err() != nil {
			return
		}
		if d.visit(ctx, ws, true) {
			d.active[ws] = now
		}
	}
	d.sweepLeft = d.sweepLeft[step:]
}

// visit reclaims ws's stale entries when claim is set, then dispatches its
// new ones, and reports whether it found work or failed: either way ws
// should be polled again soon.
func (d *Dispatcher) visit(ctx context.Context, ws tasks.WorkspaceID, claim bool) bool {
	n, ok := 0, true
	if claim {
		n, ok = d.reclaim(ctx, ws)
	}
	m, ok2 := d.dispatch(ctx, ws)
	return n+m > 0 || !ok || !ok2
}

// startSweep begins a full sweep when the last has ended and its time has
// come, or at once when all is set: then the whole sweep runs now instead
// of being spread.
func (d *Dispatcher) startSweep(ctx context.Context, now time.Time, all bool) {
	if !all && (len(d.sweepLeft) > 0 || now.Before(d.nextSweep)) {
		return
	}
	wss, err := d.store.Workspaces(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Error("dispatch sweep failed", "err", err)
		}
		d.nextSweep = now.Add(d.opt.Poll)
		return
	}
	d.nextSweep = now.Add(d.opt.Sweep)
	d.sweepLeft = wss
	if all {
		d.sweepStep = len(wss)
		d.tick(ctx, now)
		// The spread passes follow at once, so the cost is steady from the start.
		d.nextSweep = now
		return
	}
	ticks := max(int(d.opt.Sweep/d.opt.Poll), 1)
	d.sweepStep = (len(wss) + ticks - 1) / ticks
}

// dispatch is Dispatch with its failure logged; ok is false after one.
func (d *Dispatcher) dispatch(ctx context.Context, ws tasks.WorkspaceID) (int, bool) {
	n, err := d.Dispatch(ctx, ws)
	if err != nil && ctx.Err() == nil {
		d.logger.Error("dispatch failed", "workspace", ws, "err", err)
	}
	return n, err == nil
}

// reclaim is Reclaim with its failure logged; ok is false after one.
func (d *Dispatcher) reclaim(ctx context.Context, ws tasks.WorkspaceID) (int, bool) {
	n, err := d.Reclaim(ctx, ws)
	if err != nil && ctx.Err() == nil {
		d.logger.Error("reclaim failed", "workspace", ws, "err", err)
	}
	return n, err == nil
}

// Dispatch enqueues the jobs of every new event of ws and returns how many
// events it handled.
func (d *Dispatcher) Dispatch(ctx context.Context, ws tasks.WorkspaceID) (int, error) {
	if err := d.ensureGroup(ctx, ws); err != nil {
		return 0, err
	}
	total := 0
	for {
		entries, err := d.store.ReadGroup(ctx, ws, group, d.opt.Consumer, d.opt.Batch)
		if d.lostGroup(ws, err) { // recreate it once and read again
			if err = d.ensureGroup(ctx, ws); err == nil {
				entries, err = d.store.ReadGroup(ctx, ws, group, d.opt.Consumer, d.opt.Batch)
			}
		}
		if err != nil {
			return total, err
		}
		if err := d.fanOut(ctx, ws, entries); err != nil {
			return total, err
		}
		total += len(entries)
		if len(entries) < d.opt.Batch {
			return total, nil
		}
	}
}

// Reclaim takes over entries of ws that other consumers left unacknowledged
// for ClaimIdle, and enqueues them.
func (d *Dispatcher) Reclaim(ctx context.Context, ws tasks.WorkspaceID) (int, error) {
	if err := d.ensureGroup(ctx, ws); err != nil {
		return 0, err
	}
	entries, err := d.store.ClaimStale(ctx, ws, group, d.opt.Consumer, d.opt.ClaimIdle, d.opt.Batch)
	if d.lostGroup(ws, err) {
		return 0, nil // recreated by the next Dispatch; a new group has nothing stale
	}
	if err != nil {
		return 0, err
	}
	if now := d.now(); now.Sub(d.pruned[ws]) >= d.opt.ConsumerIdle {
		if n, err := d.store.DropIdleConsumers(ctx, ws, group, d.opt.Consumer, d.opt.ConsumerIdle); err != nil {
			d.logger.Warn("removing dead consumers failed", "workspace", ws, "err", err)
		} else if n > 0 {
			d.logger.Info("removed dead consumers", "workspace", ws, "count", n)
		}
		d.pruned[ws] = now
	}
	return len(entries), d.fanOut(ctx, ws, entries)
}

// lostGroup reports whether err says the consumer group of ws is gone (the
// stream was deleted, or Redis lost its data), and forgets that the group
// exists, so ensureGroup makes it again instead of failing for good.
func (d *Dispatcher) lostGroup(ws tasks.WorkspaceID, err error) bool {
	if !errors.Is(err, tasks.ErrNoGroup) {
		return false
	}
	delete(d.groups, ws)
	return true
}

func (d *Dispatcher) ensureGroup(ctx context.Context, ws tasks.WorkspaceID) error {
	if d.groups[ws] {
		return nil
	}
	if err := d.store.EnsureGroup(ctx, ws, group); err != nil {
		return err
	}
	d.groups[ws] = true
	return nil
}

// fanOut enqueues the entries' jobs and acknowledges the entries, in one
// call, once all of them are in the queue. After a failure part way, the
// entries stay pending and are enqueued again; the job ids absorb the repeat.
func (d *Dispatcher) fanOut(ctx context.Context, ws tasks.WorkspaceID, entries []tasks.StreamEvent) error {
	ids := make([]string, 0, len(entries))
	notify := make(map[Follower]bool)
	for _, e := range entries {
		for _, t := range d.targets {
			if !t.Wants(e.Event) {
				continue
			}
			if f, ok := t.(Follower); ok {
				notify[f] = true
				continue
			}
			if err := d.enqueue(ctx, t.Name(), e.Event); err != nil {
				return err
			}
		}
		ids = append(ids, e.ID)
	}
	for f := range notify {
		f.Notify(ws)
	}
	return d.store.Ack(ctx, ws, group, ids...)
}

func (d *Dispatcher) enqueue(ctx context.Context, target string, ev tasks.Event) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("pipeline: encode event %s: %w", ev.ID, err)
	}
	_, err = d.client.EnqueueContext(ctx, asynq.NewTask(jobType(target), payload),
		asynq.Queue(Queue), asynq.TaskID(target+":"+ev.ID), asynq.Retention(jobRetention), asynq.MaxRetry(12))
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return nil // enqueued before, by us or a consumer that crashed before its ack
	case err != nil:
		return fmt.Errorf("pipeline: enqueue %s for %s: %w", ev.ID, target, err)
	}
	d.dispatched.WithLabelValues(target).Inc()
	return nil
}

// Register adds a handler for each target's jobs to mux, for the workers.
func Register(mux *asynq.ServeMux, targets []Target) {
	for _, t := range targets {
		mux.HandleFunc(jobType(t.Name()), func(ctx context.Context, job *asynq.Task) error {
			var ev tasks.Event
			if err := json.Unmarshal(job.Payload(), &ev); err != nil {
				return fmt.Errorf("pipeline: decode event: %w: %w", err, asynq.SkipRetry)
			}
			return t.Handle(ctx, ev)
		})
	}
}
