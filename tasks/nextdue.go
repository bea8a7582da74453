package tasks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scheduler sweeps only the workspaces that have something due, found
// in one global sorted set instead of by visiting every workspace. Its
// scores are Unix milliseconds. A score with a half millisecond is a lease:
// a scheduler took the workspace at that score minus the lease and sweeps
// it; the lease's end retries the sweep if that scheduler died.

// dueWorkspacesKey is a ZSET: workspace → the instant (Unix ms) its
// scheduler sets next fall due, or a lease (x.5) while it is being swept.
const dueWorkspacesKey = "tasker:sched:due"

// NextDue returns the earliest instant at which ws has work for the
// scheduler: its first reminder or overdue alert and, with digests, its
// first daily digest, or the Unix epoch when a linked user is not armed
// for digests yet (FireDigests arms them). ok is false when there is none.
func (s *Store) NextDue(ctx context.Context, ws WorkspaceID, digests bool) (at time.Time, ok bool, err error) {
	k := keysFor(ws)
	var first []*redis.ZSliceCmd
	var linked, armed *redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		sets := []string{k.schedAlert(), k.schedRemind(), k.schedOverdue()}
		if digests {
			sets = append(sets, k.schedDigest())
			linked, armed = p.HLen(ctx, k.userCliq()), p.ZCard(ctx, k.schedDigest())
		}
		for _, set := range sets {
			first = append(first, p.ZRangeWithScores(ctx, set, 0, 0))
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("tasks: next due %s: %w", ws, err)
	}
	if digests && linked.Val() != armed.Val() {
		return time.Unix(0, 0).UTC(), true, nil
	}
	for _, c := range first {
		if z := c.Val(); len(z) > 0 {
			t := time.Unix(int64(z[0].Score), 0).UTC()
			if !ok || t.Before(at) {
				at, ok = t, true
			}
		}
	}
	return at, ok, nil
}

// lowerDueScript records when workspaces are next due, never later than
// already recorded, except over a lease, which it replaces: the sweep
// holding the lease read the workspace before this newer instant.
//
//	KEYS[1]  dueWorkspacesKey
//	ARGV     pairs of (instant in Unix ms, workspace)
//	returns  1
var lowerDueScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
  local cur = redis.call('ZSCORE', KEYS[1], ARGV[i + 1])
  if cur and tonumber(cur) % 1 ~= 0 then
    redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
  else
    redis.call('ZADD', KEYS[1], 'LT', ARGV[i], ARGV[i + 1])
  end
end
return 1
`)

// LowerNextDue records that each workspace of due is next due at its
// instant at the latest (from NextDue after a write notice, or a repair).
// An earlier instant already recorded stays: a sweep then finds less than
// it expected, which costs a few reads and loses nothing.
func (s *Store) LowerNextDue(ctx context.Context, due map[WorkspaceID]time.Time) error {
	if len(due) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(due))
	for ws, at := range due {
		args = append(args, at.UnixMilli(), string(ws))
	}
	if err := lowerDueScript.Run(ctx, s.rdb, []string{dueWorkspacesKey}, args...).Err(); err != nil {
		return fmt.Errorf("tasks: lower next due: %w", err)
	}
	return nil
}

// DueClaim is a workspace taken for a sweep by ClaimDue.
type DueClaim struct {
	Workspace WorkspaceID
	lease     float64
}

// claimDueScript takes the workspaces due at a time and moves each to a
// lease, so other schedulers leave them alone while one sweeps.
//
//	KEYS[1]  dueWorkspacesKey
//	ARGV[1]  now, Unix ms
//	ARGV[2]  the lease's end, Unix ms + 0.5
//	ARGV[3]  the most workspaces to take
//	returns  the workspaces taken
var claimDueScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, ws in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], ws)
end
return due
`)

// ClaimDue takes up to limit workspaces due at now for a sweep. Each is
// held for lease: if the sweep does not Reschedule it by then, a later
// ClaimDue takes it again.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]DueClaim, error) {
	until := float64(now.Add(lease).UnixMilli()) + 0.5
	names, err := claimDueScript.Run(ctx, s.rdb, []string{dueWorkspacesKey},
		now.UnixMilli(), strconv.FormatFloat(until, 'f', 1, 64), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("tasks: claim due workspaces: %w", err)
	}
	out := make([]DueClaim, len(names))
	for i, n := range names {
		out[i] = DueClaim{Workspace: WorkspaceID(n), lease: until}
	}
	return out, nil
}

// rescheduleScript ends a lease with the workspace's next instant, or
// removes the workspace when it has none. When a notice or a repair
// replaced the lease meanwhile, it only brings that instant forward.
//
//	KEYS[1]  dueWorkspacesKey
//	ARGV[1]  the workspace
//	ARGV[2]  the lease's score
//	ARGV[3]  the next instant in Unix ms, or "" for none
//	returns  1
var rescheduleScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if cur and tonumber(cur) == tonumber(ARGV[2]) then
  if ARGV[3] == '' then
    redis.call('ZREM', KEYS[1], ARGV[1])
  else
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  end
elseif ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], 'LT', ARGV[3], ARGV[1])
end
return 1
`)

// Reschedule ends c's lease after its sweep: next is the workspace's
// NextDue read after the sweep; ok false means it had none.
func (s *Store) Reschedule(ctx context.Context, c DueClaim, next time.Time, ok bool) error {
	at := ""
	if ok {
		at = strconv.FormatInt(next.UnixMilli(), 10)
	}
	err := rescheduleScript.Run(ctx, s.rdb, []string{dueWorkspacesKey},
		string(c.Workspace), strconv.FormatFloat(c.lease, 'f', 1, 64), at).Err()
	if err != nil {
		return fmt.Errorf("tasks: reschedule %s: %w", c.Workspace, err)
	}
	return nil
}
