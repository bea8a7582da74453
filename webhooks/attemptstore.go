package webhooks

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// The attempts of messages: the lease, the ordered queues' turns, the
// outcome, parking while disabled, requeueing and the reaping of leases
// whose worker died.

// parked returns up to count ids of the subscription's
// parked messages, oldest first.
func (s *store) parked(ctx context.Context, ws tasks.WorkspaceID, subID string, count int) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, keysFor(ws).whParked(subID), 0, int64(count)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: parked webhook messages: %w", err)
	}
	return ids, nil
}

// unpark removes ids from the subscription's parked set,
// once their attempts are queued again.
func (s *store) unpark(ctx context.Context, ws tasks.WorkspaceID, subID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	if err := s.rdb.ZRem(ctx, keysFor(ws).whParked(subID), members...).Err(); err != nil {
		return fmt.Errorf("webhooks: unpark webhook messages: %w", err)
	}
	return nil
}

// attemptResult is what an attempt means for its message, decided by the
// caller from the retry rules.
type attemptResult struct {
	// Status is StatusPending to retry at NextAt, or the final status.
	Status         Status
	NextAt         time.Time
	NextDeliveryID string
	// Attempt is the attempt to log; nil when none was made (the
	// subscription was deleted meanwhile).
	Attempt *AttemptLog
	// Disable disables the subscription now with this reason (410 Gone).
	Disable string
	// DisableAfter disables it when a failure makes this many consecutive
	// failed messages (0: never); the reason is DisableAfterReason.
	DisableAfter       int
	DisableAfterReason string
	// Count makes the outcome count toward the success rate and the
	// failure streak; test messages and failures not caused by the endpoint
	// do not count.
	Count bool
}

// finishAnswer is what finishMany did with one outcome.
type finishAnswer struct {
	// Lost is true when the lease had expired and another worker took the
	// message over: the attempt was logged, nothing else changed.
	Lost bool
	// Disabled is true when this attempt disabled the subscription.
	Disabled bool
}

// finishScript logs an attempt and moves its message on; batchScript runs
// it over a lane's whole batch in one call, with these keys and arguments
// per item. The attempt is a field of the message's hash ("a:" and its
// number), which keeps one key per message; messages written before keep
// their older attempts in a list (whAttempts), read beside them.
// KEYS[1] the message
// KEYS[2] its lease
// KEYS[3] the leases by deadline
// KEYS[4] the subscription's state
// KEYS[5] the subscription's outcomes
// KEYS[6] the subscription's failed index
// KEYS[7] the pending counter
// KEYS[8] the subscriptions
// KEYS[9] the task queue
// KEYS[10] the task queue's in-flight member
// KEYS[11] the index of ordered queues
// KEYS[12] the due set
// KEYS[13] the workspace's event stream
// KEYS[14] the subscriptions' version, bumped when it disables one
// ARGV[1] message id
// ARGV[2] lease token
// ARGV[3] attempt JSON ("" when none was made)
// ARGV[4] status: pending (retry), delivered or failed
// ARGV[5] next attempt at (Unix ms)
// ARGV[6] next delivery id
// ARGV[7] now (Unix ms)
// ARGV[8] "1" when the outcome counts
// ARGV[9] disable after this many consecutive failures (0: never)
// ARGV[10] disable reason now ("" none)
// ARGV[11] disable-after reason
// ARGV[12] subscription id
// ARGV[13] TTL (s)
// ARGV[14] message created (Unix ms), its failed-index score
// ARGV[15] task queue member ("" unordered)
// ARGV[16] outcome window
// ARGV[17] index member of the task queue
// ARGV[18] failed-index trim bound (Unix ms): older entries go
// ARGV[19] delay of the retry (ms): it is due then on Redis' clock
// A retry is put in the due set at its time, and the next head of an
// ordered message's queue is made due now. Disabling records the newest
// event written before it (see subRecord.DisabledAt). A delivered message
// need not leave the failed index: requeue took it out.
// Returns {"lost"}, {"retry"} or {status, disabled flag}.
var finishScript = batchScript(perItem(`
local lease = redis.call("GET", KEYS[2])
local held = lease and string.match(lease, "^[^|]*") == ARGV[2]
local live = redis.call("HEXISTS", KEYS[8], ARGV[12]) == 1
local counted = held and live and ARGV[8] == "1" and ARGV[4] ~= "pending"
if ARGV[3] ~= "" then
  local n = redis.call("HINCRBY", KEYS[1], "n", 1)
  redis.call("HSET", KEYS[1], "a:" .. n, ARGV[3])
  -- a counted delivery sets it below, with the failure streak
  if live and not (counted and ARGV[4] == "delivered") then redis.call("HSET", KEYS[4], "lt", ARGV[7]) end
end
if not held then return {"lost"} end
redis.call("DEL", KEYS[2])
redis.call("ZREM", KEYS[3], ARGV[1])
` + clearInFlight("KEYS[10]", "ARGV[15]") + `
if ARGV[4] == "pending" then
  redis.call("HINCRBY", KEYS[1], "q", 1)
  redis.call("HINCRBY", KEYS[1], "r", 1)
  redis.call("HSET", KEYS[1], "t", ARGV[5], "nd", ARGV[6])
  redis.call("ZADD", KEYS[12], now + tonumber(ARGV[19]), ARGV[1])
  return {"retry"}
end
redis.call("HSET", KEYS[1], "s", ARGV[4])
redis.call("DECR", KEYS[7])
if ARGV[4] == "failed" then
  redis.call("ZREMRANGEBYSCORE", KEYS[6], "-inf", "(" .. ARGV[18])
  redis.call("ZADD", KEYS[6], ARGV[14], ARGV[1])
  redis.call("EXPIRE", KEYS[6], ARGV[13])
end
local disabled = "0"
if counted then
  redis.call("LPUSH", KEYS[5], ARGV[4] == "delivered" and "1" or "0")
  redis.call("LTRIM", KEYS[5], 0, tonumber(ARGV[16]) - 1)
  local reason = ARGV[10]
  if ARGV[4] == "delivered" then
    if ARGV[3] ~= "" then
      redis.call("HSET", KEYS[4], "cf", 0, "lt", ARGV[7])
    else
      redis.call("HSET", KEYS[4], "cf", 0)
    end
  else
    local cf = redis.call("HINCRBY", KEYS[4], "cf", 1)
    local after = tonumber(ARGV[9])
    if reason == "" and after > 0 and cf >= after then reason = ARGV[11] end
  end
  if reason ~= "" and redis.call("HGET", KEYS[4], "en") == "1" then
    local newest = redis.call("XREVRANGE", KEYS[13], "+", "-", "COUNT", 1)[1]
    redis.call("HSET", KEYS[4], "en", "0", "dr", reason, "ds", newest and newest[1] or "0-0")
    redis.call("INCR", KEYS[14])
    disabled = "1"
  end
end
local nextMember = ""
if ARGV[15] ~= "" then
  redis.call("ZREM", KEYS[9], ARGV[15])
  nextMember = redis.call("ZRANGE", KEYS[9], 0, 0)[1] or ""
  if nextMember == "" then
    redis.call("SREM", KEYS[11], ARGV[17])
  else
    redis.call("ZADD", KEYS[12], "NX", now, string.match(nextMember, " (.*)$"))
  end
end
return {ARGV[4], disabled}
`))

// requeue queues a new attempt of a message now, with a fresh
// retry round: redeliver and recover. An ordered message rejoins its task's
// queue in its version's place. Its expiry starts again. Errors:
// tasks.ErrNotFound, *ConflictError while an attempt is in flight.
func (s *store) requeue(ctx context.Context, ws tasks.WorkspaceID, subID, id, deliveryID string) (queued, error) {
	k := keysFor(ws)
	m, err := s.getMessage(ctx, ws, id)
	if err != nil {
		return queued{}, err
	}
	if m.SubscriptionID != subID {
		return queued{}, tasks.ErrNotFound
	}
	if err := s.markActive(ctx, ws); err != nil {
		return queued{}, err
	}
	now := s.clock()
	res, err := requeueScript.Run(ctx, s.rdb,
		[]string{k.whMsg(id), k.whLease(id), k.whFailed(subID), k.whPending(), k.whFIFO(subID, m.OrderKey), k.whQueues(),
			k.whAttempts(id), k.whMsgKey(subID, m.EventID), k.whMsgs(subID), k.whParked(subID), k.whDue()},
		now.UnixMilli(), deliveryID, m.OrderScore, m.member(), ttlSeconds(Retention), id,
		queueMember(subID, m.OrderKey)).StringSlice()
	if err != nil {
		return queued{}, fmt.Errorf("webhooks: requeue webhook message: %w", err)
	}
	switch scriptResult(res[0]) {
	case resGone:
		return queued{}, tasks.ErrNotFound
	case resBusy:
		return queued{}, conflict("an attempt of this message is in flight; try again when it ends")
	}
	m, err = s.getMessage(ctx, ws, id)
	if err != nil {
		return queued{}, err
	}
	return queued{Message: m, Created: true, Runnable: scriptResult(res[0]) == resRun}, nil
}

// requeueScript makes a message pending with a new current attempt, and
// gives it, its attempts and its (subscription, event) key their full
// retention again.
// KEYS[1] the message
// KEYS[2] its lease
// KEYS[3] the subscription's failed index
// KEYS[4] the pending counter
// KEYS[5] the task queue
// KEYS[6] the index of ordered queues
// KEYS[7] its attempts
// KEYS[8] the (subscription, event) key
// KEYS[9] the subscription's messages
// KEYS[10] the subscription's parked messages
// KEYS[11] the due set
// ARGV[1] now (Unix ms)
// ARGV[2] delivery id of the new attempt
// ARGV[3] queue score
// ARGV[4] queue member ("" unordered)
// ARGV[5] TTL (s)
// ARGV[6] message id
// ARGV[7] index member of the task queue
// Returns {"gone"}, {"busy"}, or {"run" (its attempt is due now, made so
// here so that no crash between two calls strands it) or "wait" (an
// earlier message of its task is ahead), "1" when it was final}.
var requeueScript = redis.NewScript(redisNow + `
if redis.call("EXISTS", KEYS[1]) == 0 then return {"gone"} end
local lease = redis.call("GET", KEYS[2])
if lease and tonumber(string.match(lease, "|(%d+)$")) > now then return {"busy"} end
local was = "0"
if redis.call("HGET", KEYS[1], "s") ~= "pending" then
  redis.call("INCR", KEYS[4])
  was = "1"
end
redis.call("ZREM", KEYS[3], ARGV[6])
redis.call("ZREM", KEYS[10], ARGV[6])
redis.call("HINCRBY", KEYS[1], "q", 1)
redis.call("HSET", KEYS[1], "s", "pending", "r", 0, "t", ARGV[1], "nd", ARGV[2])
redis.call("EXPIRE", KEYS[1], ARGV[5])
redis.call("EXPIRE", KEYS[7], ARGV[5])
redis.call("EXPIRE", KEYS[8], ARGV[5])
redis.call("ZADD", KEYS[9], 0, ARGV[6])
if ARGV[4] ~= "" then
  redis.call("ZADD", KEYS[5], ARGV[3], ARGV[4])
  redis.call("EXPIRE", KEYS[5], ARGV[5])
  redis.call("SADD", KEYS[6], ARGV[7])
  if redis.call("ZRANGE", KEYS[5], 0, 0)[1] ~= ARGV[4] then return {"wait", was} end
end
redis.call("ZADD", KEYS[11], now, ARGV[6])
return {"run", was}
`)

// failedMessages returns up to count ids of the subscription's failed
// messages created at or after since (and within Retention), oldest
// first, skipping offset of them.
func (s *store) failedMessages(ctx context.Context, ws tasks.WorkspaceID, subID string, since time.Time, offset, count int) ([]string, error) {
	if floor := s.clock().Add(-Retention); since.Before(floor) {
		since = floor
	}
	ids, err := s.rdb.ZRangeByScore(ctx, keysFor(ws).whFailed(subID), &redis.ZRangeBy{
		Min: strconv.FormatInt(since.UnixMilli(), 10), Max: "+inf", Offset: int64(offset), Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: failed webhook messages: %w", err)
	}
	return ids, nil
}

// expiredLeases returns up to count ids of messages whose attempt's
// lease ran out by Redis' clock: their worker died or hangs.
func (s *store) expiredLeases(ctx context.Context, ws tasks.WorkspaceID, count int) ([]string, error) {
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: expired webhook leases: %w", err)
	}
	ids, err := s.rdb.ZRangeByScore(ctx, keysFor(ws).whLeases(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: expired webhook leases: %w", err)
	}
	return ids, nil
}

// reapLease takes over message m (as read before) whose lease
// expired by Redis' clock: the lost attempt is logged as interrupted and a
// new attempt (seq+1) made due now, in the same script, so no crash
// between two calls strands it. It returns true when it requeued it;
// false when the lease is still held or the message no longer pending.
func (s *store) reapLease(ctx context.Context, ws tasks.WorkspaceID, m message, interrupted AttemptLog, deliveryID string) (bool, error) {
	k := keysFor(ws)
	res, err := reapScript.Run(ctx, s.rdb, []string{k.whMsg(m.ID), k.whLease(m.ID), k.whLeases(), k.whFIFOCur(m.SubscriptionID, m.OrderKey), k.whDue()},
		m.ID, mustJSON(interrupted), deliveryID, s.clock().UnixMilli(), m.member()).Text()
	if err != nil {
		return false, fmt.Errorf("webhooks: reap webhook lease: %w", err)
	}
	return scriptResult(res) == resRequeued, nil
}

// clearInFlight returns Lua that deletes the task queue's in-flight
// marker at key when it is member's ("member|deadline"); member is a Lua
// expression, "" for an unordered message. Finishing and reaping both
// release the queue this way.
func clearInFlight(key, member string) string {
	return `if ` + member + ` ~= "" then
  local cur = redis.call("GET", ` + key + `)
  if cur and string.sub(cur, 1, #` + member + ` + 1) == ` + member + ` .. "|" then redis.call("DEL", ` + key + `) end
end`
}

// reapScript requeues a message whose lease is gone, logging the lost
// attempt in the message's hash as finishScript does.
// KEYS[1] the message
// KEYS[2] its lease
// KEYS[3] the leases by deadline
// KEYS[4] the task queue's in-flight member
// KEYS[5] the due set
// ARGV[1] message id
// ARGV[2] the interrupted attempt's JSON
// ARGV[3] delivery id of the new attempt
// ARGV[4] next attempt at (Unix ms): now
// ARGV[5] task queue member ("" unordered)
// Returns "held", "none" or "requeued".
var reapScript = redis.NewScript(redisNow + `
local lease = redis.call("GET", KEYS[2])
if lease and tonumber(string.match(lease, "|(%d+)$")) > now then return "held" end
redis.call("DEL", KEYS[2])
redis.call("ZREM", KEYS[3], ARGV[1])
` + clearInFlight("KEYS[4]", "ARGV[5]") + `
if redis.call("HGET", KEYS[1], "s") ~= "pending" then return "none" end
local n = redis.call("HINCRBY", KEYS[1], "n", 1)
redis.call("HSET", KEYS[1], "a:" .. n, ARGV[2])
redis.call("HINCRBY", KEYS[1], "q", 1)
redis.call("HSET", KEYS[1], "t", ARGV[4], "nd", ARGV[3])
redis.call("ZADD", KEYS[5], now, ARGV[1])
return "requeued"
`)

// queueHeads returns the message ids heading the workspace's
// non-empty ordered queues, with the subscription of each, and drops
// emptied queues from the index: the sweep checks that each has a job.
func (s *store) queueHeads(ctx context.Context, ws tasks.WorkspaceID) (map[string]string, error) {
	k := keysFor(ws)
	qs, err := s.rdb.SMembers(ctx, k.whQueues()).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: webhook queues: %w", err)
	}
	if len(qs) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	heads := make([]*redis.StringSliceCmd, len(qs))
	for i, q := range qs {
		sub, task, _ := strings.Cut(q, "\t")
		heads[i] = pipe.ZRange(ctx, k.whFIFO(sub, task), 0, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("webhooks: webhook queues: %w", err)
	}
	out := make(map[string]string, len(qs))
	for i, q := range qs {
		sub, _, _ := strings.Cut(q, "\t")
		if h := heads[i].Val(); len(h) > 0 {
			_, id, _ := strings.Cut(h[0], " ")
			out[id] = sub
			continue
		}
		// Empty: drop it unless a message joined since.
		if err := dropQueueScript.Run(ctx, s.rdb, []string{k.whQueues(), k.whFIFO(sub, q[len(sub)+1:])}, q).Err(); err != nil && !isNil(err) {
			return nil, fmt.Errorf("webhooks: webhook queues: %w", err)
		}
	}
	return out, nil
}

// dropQueueScript removes an empty queue from the index.
// KEYS[1] the index of ordered queues
// KEYS[2] the task queue
// ARGV[1] its index member
var dropQueueScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[2]) == 0 then redis.call("SREM", KEYS[1], ARGV[1]) end
return 1
`)

// schedule makes message id due after delay, on Redis' clock: its attempt
// is leased by a lane then. A message not runnable then is dropped from the due
// set by the lease script, which makes its task's head due instead.
func (s *store) schedule(ctx context.Context, ws tasks.WorkspaceID, id string, delay time.Duration) error {
	err := scheduleScript.Run(ctx, s.rdb, []string{keysFor(ws).whDue()}, id, max(delay.Milliseconds(), 0)).Err()
	if err != nil && !isNil(err) {
		return fmt.Errorf("webhooks: schedule %s: %w", id, err)
	}
	return nil
}

// scheduleScript makes a message due after a delay on Redis' clock.
// KEYS[1] the due set
// ARGV[1] message id
// ARGV[2] delay (ms)
var scheduleScript = redis.NewScript(redisNow + `
redis.call("ZADD", KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
`)

// leased is one message a lane leased: the message as stored and its
// subscription (nil when deleted).
type leased struct {
	Message      message
	Subscription *subRecord
}

// leaseBatch leases up to n messages of ws whose attempt is due by Redis'
// clock, for leaseTTL under token, and returns them with when the next
// message falls due (zero when none is waiting), so an idle lane knows how
// long it may sleep. It reads the candidates and where each belongs
// (subscription, task queue) first, in two pipelined reads, so that the
// lease script can declare every key it touches; the script checks each
// candidate again, atomically.
func (s *store) leaseBatch(ctx context.Context, ws tasks.WorkspaceID, token string, n int, leaseTTL time.Duration) ([]leased, time.Time, error) {
	k := keysFor(ws)
	due, err := s.rdb.ZRangeByScoreWithScores(ctx, k.whDue(), &redis.ZRangeBy{Min: "-inf", Max: "+inf", Count: int64(n)}).Result()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("webhooks: lease messages: %w", err)
	}
	if len(due) == 0 {
		return nil, time.Time{}, nil
	}
	cands, err := s.candidates(ctx, k, due)
	if err != nil {
		return nil, time.Time{}, err
	}
	keys := [][]string{{k.whDue(), k.whLeases(), k.whSubs(), k.whQueues()}}
	args := []any{n, token, leaseTTL.Milliseconds(), ttlSeconds(Retention), len(cands)}
	for _, c := range cands {
		keys = append(keys, []string{k.whMsg(c.id), k.whLease(c.id), k.whState(c.sub), k.whParked(c.sub),
			k.whFIFO(c.sub, c.orderKey), k.whFIFOCur(c.sub, c.orderKey)})
		args = append(args, c.id, c.sub, c.orderKey, c.member, c.score, boolFlag(c.test), queueMember(c.sub, c.orderKey))
	}
	res, err := leaseBatchScript.Run(ctx, s.rdb, slices.Concat(keys...), args...).Slice()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("webhooks: lease messages: %w", err)
	}
	var next time.Time
	if len(res) > 0 {
		if ms := mustInt(fmt.Sprint(res[0])); ms > 0 {
			next = time.UnixMilli(ms)
		}
	}
	out := make([]leased, 0, len(res)/8)
	subs := make(map[string]*subRecord)
	for i := 1; i+7 < len(res); i += 8 {
		f := make([]string, 8)
		for j := range f {
			f[j], _ = res[i+j].(string)
		}
		var l leased
		if err := decodeJSON(f[1], &l.Message); err != nil {
			return nil, next, fmt.Errorf("webhooks: decode message %s: %w", f[0], err)
		}
		m := &l.Message
		m.Status, m.Seq, m.Round, m.NextDeliveryID = StatusPending, mustInt(f[2]), int(mustInt(f[3])), f[4]
		switch f[6] {
		case "=":
			l.Subscription = subs[f[5]]
		case "":
		default:
			sub := new(subRecord)
			if err := decodeJSON(f[6], sub); err != nil {
				return nil, next, fmt.Errorf("webhooks: decode webhook: %w", err)
			}
			sub.Enabled = f[7] == "1"
			subs[f[5]] = sub
			l.Subscription = sub
		}
		out = append(out, l)
	}
	return out, next, nil
}

// candidate is a message in the due set, with where it belongs.
type candidate struct {
	id, sub, orderKey, member string
	score                     int64
	test                      bool
}

// candidates reads where each due message belongs from its hash, in one
// pipeline; a message stored before the hash held those fields has them
// read from its document. Messages gone (expired) are left to the script,
// which drops them from the due set.
func (s *store) candidates(ctx context.Context, k keys, due []redis.Z) ([]candidate, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(due))
	for i, z := range due {
		cmds[i] = pipe.HMGet(ctx, k.whMsg(z.Member.(string)), "sub", "ok", "om", "os", "tst")
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return nil, fmt.Errorf("webhooks: lease messages: %w", err)
	}
	out := make([]candidate, len(due))
	for i, z := range due {
		v := cmds[i].Val()
		str := func(j int) string {
			if j < len(v) {
				s, _ := v[j].(string)
				return s
			}
			return ""
		}
		out[i] = candidate{id: z.Member.(string), sub: str(0), orderKey: str(1), member: str(2), score: mustInt(str(3)), test: str(4) == "1"}
		if out[i].sub != "" {
			continue
		}
		// Stored before those fields were copied, or gone.
		doc, err := s.rdb.HGet(ctx, k.whMsg(out[i].id), "d").Result()
		if isNil(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("webhooks: lease messages: %w", err)
		}
		var m message
		if err := decodeJSON(doc, &m); err != nil {
			return nil, fmt.Errorf("webhooks: decode message %s: %w", out[i].id, err)
		}
		m.ID = out[i].id
		out[i].sub, out[i].orderKey, out[i].score, out[i].test, out[i].member = m.SubscriptionID, m.OrderKey, m.OrderScore, m.Test, m.member()
	}
	return out, nil
}

// leaseBatchScript takes the leases of due messages. A candidate no longer
// due by Redis' clock is left as it is; one no longer pending, leased by
// another, or not at the head of its task's queue leaves the due set (the
// head is made due in its place); one whose subscription is disabled is
// parked, unless it is a test message.
// KEYS[1] the due set
// KEYS[2] the leases by deadline
// KEYS[3] the subscriptions
// KEYS[4] the index of ordered queues
// then per candidate, 6 keys from KEYS[5]:
//
//	+0 the message
//	+1 its lease
//	+2 its subscription's state
//	+3 its subscription's parked messages
//	+4 its task queue (unused for an unordered message)
//	+5 the task queue's in-flight member (unused likewise)
//
// ARGV[1] how many to lease at most
// ARGV[2] lease token
// ARGV[3] lease (ms)
// ARGV[4] TTL (s)
// ARGV[5] how many candidates
// then per candidate, 7 arguments from ARGV[6]:
//
//	+0 message id
//	+1 subscription id
//	+2 task id of an ordered message ("" unordered)
//	+3 its queue member
//	+4 its queue score (task version)
//	+5 "1" for a test message
//	+6 index member of its task queue
//
// Returns {next due (Unix ms) or 0, then per leased message: id, document
// JSON, seq, round, next delivery id, subscription id, its JSON ("" when
// deleted, "=" when an earlier message of the batch carried it), "1" when
// it is enabled}.
var leaseBatchScript = redis.NewScript(redisNow + `
local deadline = now + tonumber(ARGV[3])
local out = {0}
local seen = {}
local subinfo = {} -- per subscription: its JSON and enabled flag, read once
local leased = 0
for c = 0, tonumber(ARGV[5]) - 1 do
  local K = function(j) return KEYS[5 + c * 6 + j] end
  local A = function(j) return ARGV[6 + c * 7 + j] end
  local id = A(0)
  local due = redis.call("ZSCORE", KEYS[1], id)
  if leased < tonumber(ARGV[1]) and due and tonumber(due) <= now then
    redis.call("ZREM", KEYS[1], id)
    local h = redis.call("HMGET", K(0), "s", "q", "d", "r", "nd")
    local lease = redis.call("GET", K(1))
    if h[1] == "pending" and not (lease and tonumber(string.match(lease, "|(%d+)$")) > now) then
      local sub, ordkey, mine, score, test = A(1), A(2), A(3), A(4), A(5) == "1"
      local info = subinfo[sub]
      if not info then
        info = {redis.call("HGET", KEYS[3], sub), redis.call("HGET", K(2), "en")}
        subinfo[sub] = info
      end
      local subjson, en = info[1], info[2]
      local parked = subjson and en == "0" and not test
      local ok = true
      if ordkey ~= "" then
        local head = redis.call("ZRANGE", K(4), 0, 0)[1]
        if not head then
          redis.call("ZADD", K(4), score, mine)
          redis.call("EXPIRE", K(4), ARGV[4])
          redis.call("SADD", KEYS[4], A(6))
          head = mine
        end
        if head ~= mine then
          redis.call("ZADD", KEYS[1], "NX", now, string.match(head, " (.*)$"))
          ok = false
        else
          local cur = redis.call("GET", K(5))
          if cur then
            local who, till = string.match(cur, "^(.*)|(%d+)$")
            if who ~= mine and tonumber(till) > now then ok = false end
          end
        end
        if ok and not parked then redis.call("SET", K(5), mine .. "|" .. deadline, "EX", ARGV[4]) end
      end
      if ok and parked then
        redis.call("ZADD", K(3), now, id)
        ok = false
      end
      if ok then
        leased = leased + 1
        redis.call("SET", K(1), ARGV[2] .. "|" .. deadline, "PX", ARGV[3])
        redis.call("ZADD", KEYS[2], deadline, id)
        local sj = "="
        if not seen[sub] then
          seen[sub] = true
          sj = subjson or ""
        end
        for _, v in ipairs({id, h[3], h[2], h[4] or "0", h[5] or "", sub, sj, en or "0"}) do
          table.insert(out, v)
        end
      end
    end
  end
end
local nxt = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
if nxt[2] then out[1] = nxt[2] end
return out
`)

// settle is one attempt's outcome to record.
type settle struct {
	m message
	r attemptResult
}

// finishMany records the outcomes of a lane's batch in one script call
// (each outcome atomic on its own) and returns their answers in order.
func (s *store) finishMany(ctx context.Context, ws tasks.WorkspaceID, token string, batch []settle) ([]finishAnswer, error) {
	k := keysFor(ws)
	now := s.clock()
	keys := make([][]string, len(batch))
	args := make([][]any, len(batch))
	for i, b := range batch {
		m, r := b.m, b.r
		attempt := ""
		if r.Attempt != nil {
			attempt = mustJSON(r.Attempt)
		}
		keys[i] = []string{k.whMsg(m.ID), k.whLease(m.ID), k.whLeases(), k.whState(m.SubscriptionID),
			k.whOutcomes(m.SubscriptionID), k.whFailed(m.SubscriptionID), k.whPending(), k.whSubs(),
			k.whFIFO(m.SubscriptionID, m.OrderKey), k.whFIFOCur(m.SubscriptionID, m.OrderKey), k.whQueues(), k.whDue(),
			tasks.EventStreamKey(ws), k.whSubsVersion()}
		args[i] = []any{m.ID, token, attempt, string(r.Status), r.NextAt.UnixMilli(), r.NextDeliveryID, now.UnixMilli(),
			boolFlag(r.Count), r.DisableAfter, r.Disable, r.DisableAfterReason, m.SubscriptionID,
			ttlSeconds(Retention), m.CreatedAt.UnixMilli(), m.member(), webhookOutcomeWindow,
			queueMember(m.SubscriptionID, m.OrderKey), now.Add(-Retention).UnixMilli(), max(r.NextAt.Sub(now).Milliseconds(), 0)}
	}
	answers, err := runBatch(ctx, s.rdb, finishScript, keys, args)
	if err != nil {
		return nil, fmt.Errorf("webhooks: finish webhook attempts: %w", err)
	}
	out := make([]finishAnswer, len(batch))
	for i, res := range answers {
		f := finishAnswer{Lost: scriptResult(res[0]) == resLost}
		if len(res) == 2 {
			f.Disabled = res[1] == "1"
		}
		out[i] = f
	}
	return out, nil
}
