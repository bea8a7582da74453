// Package pipeline carries events from the outbox to their targets. The
// dispatcher reads every workspace's event stream through a consumer group
// and turns each (event, target) pair into one asynq job with a
// deterministic id; workers run the jobs. A crashed dispatcher's unacknowledged
// entries are claimed by another, and the job ids make the re-enqueue a no-op,
// so an event reaches each target once.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
	// Poll is how often streams are read without a wake-up notice (default 1s).
	Poll time.Duration
	// Batch is how many entries one read takes (default 100).
	Batch int
	// ConsumerIdle is how long another consumer with nothing pending may
	// stay silent before Reclaim removes it from the group: processes of
	// earlier deploys (default 1h). Reclaim looks at most once per
	// ConsumerIdle per workspace.
	ConsumerIdle time.Duration
}

// Dispatcher fans events out to targets as jobs.
type Dispatcher struct {
	logger  *slog.Logger
	store   *tasks.Store
	client  *asynq.Client
	targets []Target
	opt     Options
	groups  map[tasks.WorkspaceID]bool
	// pruned is when Reclaim last removed dead consumers, per workspace.
	pruned map[tasks.WorkspaceID]time.Time

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
	if opt.Batch == 0 {
		opt.Batch = 100
	}
	if opt.ConsumerIdle == 0 {
		opt.ConsumerIdle = time.Hour
	}
	d := &Dispatcher{
		logger: logger, store: store, client: client, targets: targets, opt: opt,
		groups: make(map[tasks.WorkspaceID]bool), pruned: make(map[tasks.WorkspaceID]time.Time),
		dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_events_dispatched_total",
			Help: "Event jobs enqueued, by target.",
		}, []string{"target"}),
	}
	reg.MustRegister(d.dispatched)
	return d
}

// Run dispatches until ctx ends. It reacts to write notices at once, polls
// every Options.Poll, and claims stale entries every ClaimIdle/2.
func (d *Dispatcher) Run(ctx context.Context) error {
	wake := make(chan tasks.WorkspaceID, 64)
	go func() {
		err := d.store.WatchEvents(ctx, nil, func(ws tasks.WorkspaceID) {
			select {
			case wake <- ws:
			default: // a wake-up is already pending; the poll covers the rest
			}
		})
		if err != nil && ctx.Err() == nil {
			d.logger.Warn("event notices unavailable; polling only", "err", err)
		}
	}()
	poll := time.NewTicker(d.opt.Poll)
	defer poll.Stop()
	claim := time.NewTicker(d.opt.ClaimIdle / 2)
	defer claim.Stop()
	d.sweep(ctx, true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ws := <-wake:
			if _, err := d.Dispatch(ctx, ws); err != nil && ctx.Err() == nil {
				d.logger.Error("dispatch failed", "workspace", ws, "err", err)
			}
		case <-poll.C:
			d.sweep(ctx, false)
		case <-claim.C:
			d.sweep(ctx, true)
		}
	}
}

func (d *Dispatcher) sweep(ctx context.Context, claim bool) {
	wss, err := d.store.Workspaces(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Error("dispatch failed", "err", err)
		}
		return
	}
	for _, ws := range wss {
		if claim {
			if _, err := d.Reclaim(ctx, ws); err != nil && ctx.Err() == nil {
				d.logger.Error("reclaim failed", "workspace", ws, "err", err)
			}
		}
		if _, err := d.Dispatch(ctx, ws); err != nil && ctx.Err() == nil {
			d.logger.Error("dispatch failed", "workspace", ws, "err", err)
		}
	}
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
	if now := time.Now(); now.Sub(d.pruned[ws]) >= d.opt.ConsumerIdle {
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
