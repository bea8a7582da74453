package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// Background work follows the workspaces that have some, not every
// workspace. A workspace enters the active set (webhookActiveKey) before
// anything that can give it work is written: messages created or
// requeued, a subscription created, changed or deleted, and an event the
// dispatcher hands the fan-out (Wants), whose notice may be lost with its
// process. The sweep visits
// only the set's members, and drops a member once it has no pending
// message and has not been marked for idleAfter. An idle workspace
// therefore costs nothing; the sweep's one read of the set is shared by
// all.
//
// The same set keeps /metrics' totals exact. Each workspace's pending
// messages (whPending, kept by the delivery scripts) and disabled
// endpoints are reported to webhookStatsKey as absolute values, so a report
// repeated or lost to a crash does no harm: the sweep reports every active
// workspace each pass, and a workspace only leaves the set after a report
// made once it went idle. The totals are moved by the difference from the
// workspace's last report, and recomputed from the reports every
// recomputeEvery sweeps, which heals anything else that moved them.

// webhookActiveKey is a ZSET of workspace ids scored by when (Redis' clock,
// Unix ms) something last marked them as having work. It lives outside the
// workspaces' hash tags.
const webhookActiveKey = "tasker:wh:active"

// webhookStatsKey is a HASH of totals over every workspace, so that a
// /metrics scrape reads one key whatever the number of workspaces:
// "pending" messages and "disabled" endpoints; per workspace its last
// report, "p:" and "d:" + its id (absent when zero); "v" the format ("2";
// before it, the totals were moved after each script and drifted when a
// process died in between), and "full" while every workspace still has to
// be marked active once after the upgrade.
const webhookStatsKey = "tasker:wh:stats"

// markEvery is how long a process trusts its last mark of a workspace; it
// must stay well under idleAfter, so that a write made without marking
// again cannot find its workspace dropped.
const markEvery = 10 * time.Second

// idleAfter is how long a workspace with nothing pending stays in the
// active set after its last mark.
const idleAfter = 2 * time.Minute

// recomputeEvery is how many sweeps go between recomputations of the
// totals from the workspaces' reports.
const recomputeEvery = 20

// markActive puts ws in the active set, unless this process did so less
// than markEvery ago. Callers mark before the write that gives ws work.
func (s *store) markActive(ctx context.Context, ws tasks.WorkspaceID) error {
	if at, ok := s.marked.Load(ws); ok && time.Since(at.(time.Time)) < markEvery {
		return nil
	}
	at := time.Now()
	if err := markScript.Run(ctx, s.rdb, []string{webhookActiveKey}, string(ws)).Err(); err != nil && !isNil(err) {
		return fmt.Errorf("webhooks: mark workspace active: %w", err)
	}
	s.marked.Store(ws, at)
	return nil
}

// markScript scores a workspace in the active set with Redis' clock.
// KEYS[1] the active set
// ARGV[1] workspace id
var markScript = redis.NewScript(redisNow + `
redis.call("ZADD", KEYS[1], now, ARGV[1])
return 1
`)

// activeWorkspaces returns the active set's members with their scores.
func (s *store) activeWorkspaces(ctx context.Context) ([]redis.Z, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, webhookActiveKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: active workspaces: %w", err)
	}
	return zs, nil
}

// dropIdle removes ws from the active set if its score is still the one
// read (nobody marked it since) and older than idleAfter by Redis' clock.
func (s *store) dropIdle(ctx context.Context, ws tasks.WorkspaceID, score float64) error {
	err := dropIdleScript.Run(ctx, s.rdb, []string{webhookActiveKey}, string(ws), int64(score), idleAfter.Milliseconds()).Err()
	if err != nil && !isNil(err) {
		return fmt.Errorf("webhooks: drop idle workspace: %w", err)
	}
	return nil
}

// dropIdleScript removes an unmarked, idle workspace from the active set.
// KEYS[1] the active set
// ARGV[1] workspace id
// ARGV[2] its score as read
// ARGV[3] idleAfter (ms)
// Returns 1 when removed.
var dropIdleScript = redis.NewScript(redisNow + `
local score = redis.call("ZSCORE", KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) or tonumber(score) > now - tonumber(ARGV[3]) then return 0 end
redis.call("ZREM", KEYS[1], ARGV[1])
return 1
`)

// reportStats records ws's pending messages and disabled endpoints in the
// totals, as absolute values.
func (s *store) reportStats(ctx context.Context, ws tasks.WorkspaceID, pending, disabled int64) error {
	err := reportScript.Run(ctx, s.rdb, []string{webhookStatsKey}, string(ws), pending, disabled).Err()
	if err != nil && !isNil(err) {
		return fmt.Errorf("webhooks: report webhook totals: %w", err)
	}
	return nil
}

// reportScript replaces a workspace's report and moves the totals by the
// difference.
// KEYS[1] the totals
// ARGV[1] workspace id
// ARGV[2] its pending messages
// ARGV[3] its disabled endpoints
var reportScript = redis.NewScript(`
for i, f in ipairs({"pending", "disabled"}) do
  local field = (i == 1 and "p:" or "d:") .. ARGV[1]
  local new = tonumber(ARGV[i + 1])
  local old = tonumber(redis.call("HGET", KEYS[1], field) or "0")
  if new ~= old then
    redis.call("HINCRBY", KEYS[1], f, new - old)
    if new == 0 then redis.call("HDEL", KEYS[1], field) else redis.call("HSET", KEYS[1], field, new) end
  end
end
return 1
`)

// recomputeTotals sets the totals to the sum of the workspaces' reports.
func (s *store) recomputeTotals(ctx context.Context) error {
	if err := recomputeScript.Run(ctx, s.rdb, []string{webhookStatsKey}).Err(); err != nil && !isNil(err) {
		return fmt.Errorf("webhooks: recompute webhook totals: %w", err)
	}
	return nil
}

// recomputeScript sums the workspaces' reports into the totals.
// KEYS[1] the totals
var recomputeScript = redis.NewScript(`
local all = redis.call("HGETALL", KEYS[1])
local p, d = 0, 0
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 2) == "p:" then p = p + tonumber(all[i + 1]) end
  if string.sub(f, 1, 2) == "d:" then d = d + tonumber(all[i + 1]) end
end
redis.call("HSET", KEYS[1], "pending", p, "disabled", d)
return 1
`)

// totals returns the pending messages and disabled endpoints of
// every workspace, in one read.
func (s *store) totals(ctx context.Context) (pending, disabled int64, err error) {
	vals, err := s.rdb.HMGet(ctx, webhookStatsKey, "pending", "disabled").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("webhooks: webhook totals: %w", err)
	}
	n := func(v any) int64 {
		str, _ := v.(string)
		return mustInt(str)
	}
	return n(vals[0]), n(vals[1]), nil
}

// upgradeStats moves totals kept by a version before the active set to
// this format, once: it starts them from zero and returns true while every
// workspace still has to be marked active (and so swept and reported)
// once; the caller does so, then calls upgraded.
func (s *store) upgradeStats(ctx context.Context) (bool, error) {
	full, err := upgradeScript.Run(ctx, s.rdb, []string{webhookStatsKey}).Int()
	if err != nil {
		return false, fmt.Errorf("webhooks: upgrade webhook totals: %w", err)
	}
	return full == 1, nil
}

// upgradeScript starts the totals afresh in format 2.
// KEYS[1] the totals
// Returns 1 while the workspaces have still to be marked, 0 after.
var upgradeScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], "v") ~= "2" then
  redis.call("DEL", KEYS[1])
  redis.call("HSET", KEYS[1], "v", "2", "full", "1", "pending", 0, "disabled", 0)
end
if redis.call("HEXISTS", KEYS[1], "full") == 1 then return 1 end
return 0
`)

// upgraded records that every workspace was marked after the upgrade.
func (s *store) upgraded(ctx context.Context) error {
	if err := s.rdb.HDel(ctx, webhookStatsKey, "full").Err(); err != nil {
		return fmt.Errorf("webhooks: upgrade webhook totals: %w", err)
	}
	return nil
}

// markAll marks every workspace in wss active, in pipelines, with this
// process' clock: it runs once, after an upgrade.
func (s *store) markAll(ctx context.Context, wss []tasks.WorkspaceID) error {
	now := float64(time.Now().UnixMilli())
	for len(wss) > 0 {
		n := min(len(wss), 1000)
		zs := make([]redis.Z, n)
		for i, ws := range wss[:n] {
			zs[i] = redis.Z{Score: now, Member: string(ws)}
		}
		if err := s.rdb.ZAdd(ctx, webhookActiveKey, zs...).Err(); err != nil {
			return fmt.Errorf("webhooks: mark workspaces active: %w", err)
		}
		wss = wss[n:]
	}
	return nil
}

// disabledCount counts the disabled endpoints among subs.
func disabledCount(subs []subRecord) int64 {
	n := int64(0)
	for _, sub := range subs {
		if !sub.Enabled {
			n++
		}
	}
	return n
}

// workspaceOf reads a workspace id back from the active set.
func workspaceOf(member any) tasks.WorkspaceID {
	str, _ := member.(string)
	return tasks.WorkspaceID(str)
}
