// Package scheduler runs the sweep of SPEC 9: task reminders, overdue
// alerts and daily digests, written as events to the tasks outbox. It only
// writes events; the pipeline notifies.
//
// Each tick sweeps only the workspaces due, found in a set of when each
// workspace is next due (tasks.Store.ClaimDue). Watch keeps that set: at
// start and then slowly, spread out, it reads every workspace (the repair,
// which covers writes made while no scheduler ran and notices lost), and in
// between it rereads the workspaces that write notices name, at most once
// a second each. Idle workspaces cost one read per repair.
//
// Every replica may run a scheduler. Each (task, instant, alert) and each
// (user, local date) digest is claimed and emitted in one atomic Redis step
// by the store, so replicas sweeping at once, on skewed clocks, or after a
// restart never send one twice; there is no lock around the sweep.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/taskerhq/tasker/tasks"
)

// Defaults of the options, those of SPEC 3.
const (
	DefaultSpec       = "@every 1m"
	DefaultDigestTime = "09:00"
	DefaultBatch      = 1000
	DefaultRepair     = time.Hour
)

// lease is how long a tick holds a workspace it sweeps; a scheduler dying
// meanwhile delays that workspace's alerts by at most this.
const lease = 2 * time.Minute

// refreshEvery is how often Watch rereads the workspaces that notices named.
const refreshEvery = time.Second

// Option configures a Scheduler.
type Option func(*options)

type options struct {
	spec       string
	loc        *time.Location
	digestTime string
	now        func() time.Time
	batch      int
	repair     time.Duration
}

// WithSpec sets the robfig/cron spec of the sweep (TASKER_SCHEDULER_SPEC),
// DefaultSpec when not given.
func WithSpec(spec string) Option { return func(o *options) { o.spec = spec } }

// WithLocation sets the deployment's timezone (TASKER_TIMEZONE): cron reads
// the spec in it, and users without a timezone get their digest in it.
// UTC when not given.
func WithLocation(loc *time.Location) Option { return func(o *options) { o.loc = loc } }

// WithDigestTime sets the local "HH:MM" of each user's daily digest
// (TASKER_DIGEST_TIME), DefaultDigestTime when not given; "" disables digests.
func WithDigestTime(hhmm string) Option { return func(o *options) { o.digestTime = hhmm } }

// WithClock sets the clock, time.Now when not given.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithBatch sets how many entries of each kind one claim round takes,
// DefaultBatch when not given.
func WithBatch(n int) Option { return func(o *options) { o.batch = n } }

// WithRepair sets how long one pass of Watch's repair over every workspace
// takes, spread evenly, DefaultRepair when not given.
func WithRepair(d time.Duration) Option { return func(o *options) { o.repair = d } }

// Scheduler sweeps the workspaces due on a cron schedule.
type Scheduler struct {
	logger   *slog.Logger
	store    *tasks.Store
	now      func() time.Time
	loc      *time.Location
	batch    int
	digest   *tasks.DigestClock // nil: digests disabled
	schedule cron.Schedule
	cron     *cron.Cron
	repair   time.Duration
	// refreshed, when set by a test, hears the workspaces of each refresh.
	refreshed func([]tasks.WorkspaceID)

	sweeps   *prometheus.CounterVec
	duration prometheus.Histogram
	emitted  *prometheus.CounterVec
	lateness *prometheus.HistogramVec
}

// New returns a scheduler writing to store; reg receives its metrics. The
// reminder lead is the store's (tasks.Store.SetReminderLead), because it is
// applied when tasks are written. A bad spec or digest time is an error.
func New(logger *slog.Logger, store *tasks.Store, reg prometheus.Registerer, opts ...Option) (*Scheduler, error) {
	o := options{spec: DefaultSpec, loc: time.UTC, digestTime: DefaultDigestTime, now: time.Now, batch: DefaultBatch, repair: DefaultRepair}
	for _, opt := range opts {
		opt(&o)
	}
	schedule, err := cron.ParseStandard(o.spec)
	if err != nil {
		return nil, fmt.Errorf("scheduler: spec %q: %w", o.spec, err)
	}
	s := &Scheduler{
		logger: logger, store: store, now: o.now, loc: o.loc, batch: max(o.batch, 1), schedule: schedule,
		repair: max(o.repair, refreshEvery),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_scheduler_sweeps_total",
			Help: "Scheduler sweeps, by result (ok or error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tasker_scheduler_sweep_duration_seconds",
			Help:    "How long one sweep took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		emitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_scheduler_events_total",
			Help: "Events the scheduler emitted, by kind (reminder, overdue, digest).",
		}, []string{"kind"}),
		lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tasker_scheduler_lateness_seconds",
			Help:    "Time from when an event fell due to when it was in the outbox, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 14),
		}, []string{"kind"}),
	}
	if o.digestTime != "" {
		c, err := tasks.ParseDigestClock(o.digestTime)
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		s.digest = &c
	}
	for _, c := range []prometheus.Collector{s.sweeps, s.duration, s.emitted, s.lateness} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("scheduler: register metrics: %w", err)
		}
	}
	cl := cronLogger{logger}
	s.cron = cron.New(cron.WithLocation(o.loc), cron.WithLogger(cl),
		// Overlap gains nothing (claims are atomic either way) and would pile
		// up sweeps when one runs long.
		cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)))
	return s, nil
}

// Start runs the sweep on the schedule until Stop. ctx is the context of
// every sweep; call Start once.
func (s *Scheduler) Start(ctx context.Context) {
	s.cron.Schedule(s.schedule, cron.FuncJob(func() { s.run(ctx) }))
	s.cron.Start()
}

// Stop stops scheduling sweeps; the returned context is done when a running
// sweep has finished.
func (s *Scheduler) Stop() context.Context { return s.cron.Stop() }

// run is the cron job: one sweep of the workspaces due, its failure logged
// once here.
func (s *Scheduler) run(ctx context.Context) {
	res, err := s.SweepDue(ctx, s.now())
	switch {
	case err != nil && ctx.Err() == nil:
		s.logger.ErrorContext(ctx, "scheduler sweep failed", "err", err)
	case res.Reminders+res.Overdue+res.Digests > 0:
		s.logger.InfoContext(ctx, "scheduler sweep", "reminders", res.Reminders,
			"overdue", res.Overdue, "digests", res.Digests, "max_lateness", res.MaxLateness)
	}
}

// Result is what one sweep did.
type Result struct {
	Workspaces int
	// Reminders, Overdue and Digests count the events emitted.
	Reminders, Overdue, Digests int
	// Dropped counts entries claimed without an event: those of tasks that
	// no longer exist, are no longer open or have no due date.
	Dropped int
	// MaxLateness is the longest time from when an emitted event fell due to
	// when it was in the outbox.
	MaxLateness time.Duration
}

// Sweep emits everything due at now in every workspace: a Repair, so that
// every workspace's next due instant is recorded, then SweepDue. The cron
// job runs SweepDue alone, kept right by Watch; Sweep is for a caller that
// cannot count on a running Watch. It is safe to run concurrently and
// repeatedly, on any replica.
func (s *Scheduler) Sweep(ctx context.Context, now time.Time) (Result, error) {
	if err := s.Repair(ctx); err != nil {
		return Result{}, fmt.Errorf("scheduler: repair: %w", err)
	}
	return s.SweepDue(ctx, now)
}

func (s *Scheduler) sweepWorkspace(ctx context.Context, ws tasks.WorkspaceID, now, start time.Time, res *Result) error {
	// An event is in the outbox when its batch returns: at now plus the
	// time the sweep has taken so far.
	emittedAt := func() time.Time { return now.Add(s.now().Sub(start)) }
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return err
		}
		var fired []tasks.Fired
		var err error
		fired, more, err = s.store.FireDue(ctx, ws, now, s.batch)
		if err != nil {
			return err
		}
		at := emittedAt()
		for _, f := range fired {
			switch {
			case f.Event == "":
				res.Dropped++
			case f.Alert == tasks.AlertReminder:
				res.Reminders++
				s.observe(res, "reminder", at.Sub(f.At))
			default:
				res.Overdue++
				s.observe(res, "overdue", at.Sub(f.At))
			}
		}
	}
	if s.digest == nil {
		return nil
	}
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return err
		}
		var sent []tasks.SentDigest
		var err error
		sent, more, err = s.store.FireDigests(ctx, ws, now, *s.digest, s.loc, s.batch)
		if err != nil {
			return err
		}
		at := emittedAt()
		for _, d := range sent {
			if d.Event != "" {
				res.Digests++
				s.observe(res, "digest", at.Sub(d.At))
			}
		}
	}
	return nil
}

func (s *Scheduler) observe(res *Result, kind string, late time.Duration) {
	late = max(late, 0)
	s.emitted.WithLabelValues(kind).Inc()
	s.lateness.WithLabelValues(kind).Observe(late.Seconds())
	res.MaxLateness = max(res.MaxLateness, late)
}

// cronLogger passes cron's own messages (skipped runs, recovered panics) to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron "+msg, kv...) }

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron "+msg, append(kv, "err", err)...)
}
