package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// SweepDue is Sweep for the workspaces due at now only: it claims them,
// sweeps each and records when each is next due. Safe to run concurrently
// and repeatedly, on any replica: a claimed workspace is held for one of
// them, and the claims of its entries are atomic besides.
func (s *Scheduler) SweepDue(ctx context.Context, now time.Time) (Result, error) {
	start := s.now()
	var res Result
	var errs []error
	for {
		claims, err := s.store.ClaimDue(ctx, now, lease, s.batch)
		if err != nil {
			errs = append(errs, err)
			break
		}
		for _, c := range claims {
			if err := s.sweepClaimed(ctx, c, now, start, &res); err != nil {
				errs = append(errs, fmt.Errorf("scheduler: workspace %s: %w", c.Workspace, err))
			}
		}
		res.Workspaces += len(claims)
		if len(claims) < s.batch || ctx.Err() != nil {
			break
		}
	}
	err := errors.Join(errs...)
	s.duration.Observe(s.now().Sub(start).Seconds())
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.sweeps.WithLabelValues(result).Inc()
	return res, err
}

// sweepClaimed sweeps one claimed workspace and ends its claim. After a
// failure the claim is left to lapse, so the workspace is retried when its
// lease ends.
func (s *Scheduler) sweepClaimed(ctx context.Context, c tasks.DueClaim, now, start time.Time, res *Result) error {
	if err := s.sweepWorkspace(ctx, c.Workspace, now, start, res); err != nil {
		return err
	}
	next, ok, err := s.store.NextDue(ctx, c.Workspace, s.digest != nil)
	if err != nil {
		return err
	}
	return s.store.Reschedule(ctx, c, next, ok)
}

// Refresh records when each of wss is next due, bringing its sweep
// forward when a write made something due earlier. Watch calls it for the
// workspaces of write notices and for the repair.
func (s *Scheduler) Refresh(ctx context.Context, wss []tasks.WorkspaceID) error {
	due := make(map[tasks.WorkspaceID]time.Time, len(wss))
	var errs []error
	for _, ws := range wss {
		at, ok, err := s.store.NextDue(ctx, ws, s.digest != nil)
		switch {
		case err != nil:
			errs = append(errs, err)
		case ok:
			due[ws] = at
		}
	}
	if err := s.store.LowerNextDue(ctx, due); err != nil {
		errs = append(errs, err)
	}
	if s.refreshed != nil {
		s.refreshed(wss)
	}
	return errors.Join(errs...)
}

// Repair refreshes every workspace at once: what Watch does at start, for
// everything written while no scheduler ran.
func (s *Scheduler) Repair(ctx context.Context) error {
	wss, err := s.store.Workspaces(ctx)
	if err != nil {
		return err
	}
	return s.refreshChunks(ctx, wss)
}

// refreshChunks refreshes wss in chunks of the batch size, so one script
// call never carries every workspace.
func (s *Scheduler) refreshChunks(ctx context.Context, wss []tasks.WorkspaceID) error {
	var errs []error
	for len(wss) > 0 && ctx.Err() == nil {
		n := min(s.batch, len(wss))
		if err := s.Refresh(ctx, wss[:n]); err != nil {
			errs = append(errs, err)
		}
		wss = wss[n:]
	}
	return errors.Join(errs...)
}

// Watch keeps the set of when workspaces are next due until ctx ends: a
// full Repair at start, then every second a refresh of the workspaces that
// write notices named since, and a step of the next repair, spread so one
// pass over every workspace takes the WithRepair duration. Without notices
// (Redis refused the subscription) it goes on repairing and subscribes
// again; after a reconnect, whose gap may have lost notices, it repairs
// every workspace at once. Run it beside
// Start on every replica that runs the scheduler.
func (s *Scheduler) Watch(ctx context.Context) {
	dirty := make(chan tasks.WorkspaceID, 1024)
	subscribed, resync := s.store.FollowEvents(ctx, func(ws tasks.WorkspaceID) {
		select {
		case dirty <- ws:
		case <-ctx.Done():
		}
	}, func(err error) { s.noNotices(ctx, err) })
	select {
	case <-subscribed:
	case <-ctx.Done():
		return
	}
	// Repaired once notices flow, so no write falls between the two.
	s.logFailure(ctx, "scheduler repair failed", s.Repair(ctx))
	tick := time.NewTicker(refreshEvery)
	defer tick.Stop()
	pending := make(map[tasks.WorkspaceID]bool)
	var (
		left []tasks.WorkspaceID
		step int
		next = s.now() // the spread passes follow at once, so the cost is steady from the start
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-resync:
			// Notices published while the subscription was down are
			// lost: after a reconnect, refresh every workspace at once.
			s.logFailure(ctx, "scheduler repair failed", s.Repair(ctx))
		case ws := <-dirty:
			pending[ws] = true
		case <-tick.C:
			if len(pending) > 0 {
				wss := slices.Collect(maps.Keys(pending))
				clear(pending)
				s.logFailure(ctx, "scheduler refresh failed", s.refreshChunks(ctx, wss))
			}
			if now := s.now(); len(left) == 0 && !now.Before(next) {
				wss, err := s.store.Workspaces(ctx)
				if err != nil {
					s.logFailure(ctx, "scheduler repair failed", err)
					continue
				}
				left, next = wss, now.Add(s.repair)
				ticks := max(int(s.repair/refreshEvery), 1)
				step = (len(wss) + ticks - 1) / ticks
			}
			n := min(step, len(left))
			s.logFailure(ctx, "scheduler repair failed", s.refreshChunks(ctx, left[:n]))
			left = left[n:]
		}
	}
}

// logFailure logs err, unless it is nil or ctx has ended: the error is then
// only the stop.
func (s *Scheduler) logFailure(ctx context.Context, msg string, err error) {
	if err != nil && ctx.Err() == nil {
		s.logger.ErrorContext(ctx, msg, "err", err)
	}
}

// noNotices logs that write notices stopped, unless ctx ended.
func (s *Scheduler) noNotices(ctx context.Context, err error) {
	if ctx.Err() == nil {
		s.logger.WarnContext(ctx, "scheduler hears no write notices until they return; new work waits for the repair", "err", err)
	}
}
