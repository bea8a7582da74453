package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// store keeps the package's state in Redis beside the domain's, under each
// workspace's hash tag (tasks.KeyPrefix), so every script of one workspace
// runs on one Cluster slot. It reads the event stream and the workspace
// list through tasks, which owns them.
type store struct {
	rdb   redis.UniversalClient
	tasks *tasks.Store
	now   func() time.Time
	// marked holds, per workspace, when this process last put it in the
	// active set (markActive).
	marked sync.Map
}

// clock returns the time stored in records, in ms precision.
func (s *store) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// maxRetries bounds the optimistic retries of a subscription update.
const maxRetries = 8

// Storage of outgoing webhooks (SPEC 8): subscriptions, the messages sent to
// them (one per event and subscription) with every attempt, the per-message
// lease that keeps attempts of one message from overlapping, and the
// per-task queues of subscriptions that asked for "ordering":"task". The
// rules (which status follows which outcome, when to disable) are decided
// by the delivery code (deliver.go); this file makes each decision one
// atomic script call.
//
// A message's state moves only inside scripts:
//
//	pending --attempt--> delivered | failed      (or stays pending, seq+1)
//	failed/delivered --requeue--> pending        (redeliver, recover)
//
// seq numbers the message's attempts. The lanes rely on the lease alone;
// the scripts keep seq up to date for a replica of the version before,
// whose delivery jobs carry the seq they were queued for, during a
// rolling upgrade.

// scriptResult is a webhook script's answer (its first element when it
// answers a list). Every script documents which it returns.
type scriptResult string

// The answers of the webhook scripts.
const (
	resOK       scriptResult = "ok"       // done as asked
	resFull     scriptResult = "full"     // the subscription limit is reached
	resExists   scriptResult = "exists"   // the id is taken
	resGone     scriptResult = "gone"     // the subscription or message no longer exists
	resStale    scriptResult = "stale"    // changed since read: read again
	resFenced   scriptResult = "fenced"   // the fan-out lock belongs to another
	resDup      scriptResult = "dup"      // the (subscription, event) pair has its message
	resRun      scriptResult = "run"      // queue the message's attempt now
	resWait     scriptResult = "wait"     // an earlier message of its task goes first
	resBusy     scriptResult = "busy"     // an attempt holds the lease
	resLost     scriptResult = "lost"     // the caller's lease had expired
	resRetry    scriptResult = "retry"    // the message waits for its next attempt
	resHeld     scriptResult = "held"     // the lease is still live
	resNone     scriptResult = "none"     // nothing left to do
	resRequeued scriptResult = "requeued" // a new attempt is queued
)

// Retention is how long messages, their attempts and the failed
// index are kept.
const Retention = 30 * 24 * time.Hour

// webhookOutcomeWindow is how many finished messages delivery_success_rate
// looks back over.
const webhookOutcomeWindow = 100

// subRecord is an outgoing webhook endpoint. The JSON form is its
// stored configuration; the state fields after it are kept apart, so the
// delivery path can change them in a script without rewriting JSON.
type subRecord struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"` // event types, or "*" for all
	Secret string   `json:"secret"`
	// OldSecret keeps signing beside Secret until OldSecretUntil, after a
	// rotation, so receivers can switch keys without losing messages.
	OldSecret      string    `json:"old_secret,omitempty"`
	OldSecretUntil time.Time `json:"old_secret_until,omitzero"`
	Description    string    `json:"description"`
	Ordering       string    `json:"ordering"` // "none" or "task"
	CreatedBy      string    `json:"created_by,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`

	// Enabled is false once the owner or the delivery path disabled it.
	Enabled bool `json:"-"`
	// DisabledReason says why the delivery path disabled it; "" otherwise.
	DisabledReason string `json:"-"`
	// DisabledAt is the id of the newest entry of the workspace's event
	// stream when it was disabled, "" while it is enabled. Events up to it
	// were written while it was enabled: they get their messages however
	// late the fan-out reads them, and the messages wait for it to be
	// enabled again. Events after it get none.
	DisabledAt string `json:"-"`
	// LastTriggered is the time of the last attempt to it, nil before any.
	LastTriggered *time.Time `json:"-"`
	// SuccessRate is the share of its last finished non-test messages that
	// were delivered, nil before any finished.
	SuccessRate *float64 `json:"-"`
	// ConsecutiveFailures counts non-test messages failed for good since the
	// last delivered one.
	ConsecutiveFailures int `json:"-"`
}

// Status is where a message stands.
type Status string

// The statuses of a webhook message.
const (
	StatusPending   Status = "pending"
	StatusDelivered Status = "delivered"
	StatusFailed    Status = "failed"
)

// AttemptLog is one logged delivery attempt; its JSON is the wire form
// of an entry of "attempts" in GET /api/v1/webhooks/{id}/deliveries.
type AttemptLog struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"` // null when no response arrived
	DurationMS *int64    `json:"duration_ms"` // null for an attempt not made yet
	Error      *string   `json:"error"`
	Response   *string   `json:"response"` // first 1 KiB; null without a response
	// Pending marks the queued attempt a pending message waits for.
	Pending bool `json:"pending,omitempty"`
}

// message is one event for one subscription, with its attempts.
type message struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	EventID        string          `json:"event_id"`
	EventType      tasks.EventType `json:"event_type"`
	Test           bool            `json:"test,omitempty"`
	// Body is the exact JSON sent, signed byte for byte on every attempt.
	Body string `json:"body"`
	// OrderKey is the task id whose messages to this subscription go one at
	// a time; "" for an unordered message. OrderScore places it in that
	// queue (the task version).
	OrderKey   string    `json:"order_key,omitempty"`
	OrderScore int64     `json:"order_score,omitempty"`
	CreatedAt  time.Time `json:"created_at"`

	// The state, kept beside the document.
	Status Status `json:"-"`
	// Seq is the number of the attempt queued or made last.
	Seq int64 `json:"-"`
	// Round counts the attempts since it was (re)queued: the index into the
	// retry schedule.
	Round int `json:"-"`
	// NextAt is when the queued attempt is due; NextDeliveryID its id.
	NextAt         time.Time `json:"-"`
	NextDeliveryID string    `json:"-"`
	// Attempts are the attempts made, oldest first.
	Attempts []AttemptLog `json:"-"`
}

// member is the message's entry in its ordering queue: members of equal
// score sort by event id, which follows event order within a write.
func (m message) member() string {
	if m.OrderKey == "" {
		return ""
	}
	return m.EventID + " " + m.ID
}

// fanoutGroup is the consumer group on a workspace's event stream through
// which the fan-out reads events, in order.
const fanoutGroup = "webhooks"

// redisNow is the Lua prelude that reads Redis' own clock in Unix ms:
// leases compare deadlines with it, never with a replica's clock.
const redisNow = `local tm = redis.call("TIME")
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
`

// createSub stores a new subscription, enabled as sub.Enabled says,
// unless the workspace already has limit of them (0: no limit) or one with
// its id. It assigns a "wh_" id when sub.ID is empty. Errors: *ConflictError.
func (s *store) createSub(ctx context.Context, ws tasks.WorkspaceID, sub subRecord, limit int) (subRecord, error) {
	if err := s.tasks.RegisterWorkspace(ctx, ws); err != nil {
		return subRecord{}, err
	}
	now := s.clock()
	if sub.ID == "" {
		sub.ID = tasks.NewID("wh_", now)
	}
	sub.CreatedAt, sub.UpdatedAt = now, now
	if err := s.markActive(ctx, ws); err != nil {
		return subRecord{}, err
	}
	k := keysFor(ws)
	res, err := createWebhookScript.Run(ctx, s.rdb, []string{k.whSubs(), k.whState(sub.ID), k.whSubsVersion()},
		sub.ID, mustJSON(sub), limit, boolFlag(sub.Enabled)).Text()
	if err != nil {
		return subRecord{}, fmt.Errorf("webhooks: create webhook: %w", err)
	}
	switch scriptResult(res) {
	case resFull:
		return subRecord{}, conflict(fmt.Sprintf("the workspace already has %d webhook subscriptions", limit))
	case resExists:
		return subRecord{}, conflict("a webhook subscription with that id exists")
	}
	// The fan-out reads the event stream through its own group; made now,
	// at the stream's end, it starts with the events after this one.
	if err := s.tasks.EnsureGroupFrom(ctx, ws, fanoutGroup, "$"); err != nil {
		return subRecord{}, fmt.Errorf("webhooks: create webhook: %w", err)
	}
	sub.DisabledReason = ""
	return sub, nil
}

// lockFanout takes the workspace's fan-out lock for ttl under
// token. When another replica holds it, it leaves word for the holder to
// make one more pass, and returns false.
func (s *store) lockFanout(ctx context.Context, ws tasks.WorkspaceID, token string, ttl time.Duration) (bool, error) {
	return s.runFanLock(ctx, fanLockScript, "lock", ws, token, ttl)
}

// runFanLock runs one of the fan-out lock's scripts, which share their
// keys and arguments and answer 1 for "the caller holds the lock and
// makes a pass".
func (s *store) runFanLock(ctx context.Context, script *redis.Script, op string, ws tasks.WorkspaceID, token string, ttl time.Duration) (bool, error) {
	k := keysFor(ws)
	res, err := script.Run(ctx, s.rdb, []string{k.whFanLock(), k.whFanAgain()}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("webhooks: %s webhook fan-out: %w", op, err)
	}
	return res == 1, nil
}

// fanLockScript takes the fan-out lock, or asks its holder for another pass.
// KEYS[1] the fan-out lock
// KEYS[2] the "again" flag
// ARGV[1] token
// ARGV[2] TTL (ms)
// Returns 1 when taken, 0 when held by another.
var fanLockScript = redis.NewScript(`
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  redis.call("DEL", KEYS[2])
  return 1
end
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
redis.call("SET", KEYS[2], "1", "PX", ARGV[2])
return 0
`)

// unlockFanout lets go of token's fan-out lock, unless another
// fan-out asked for one more pass meanwhile: then it keeps the lock for
// ttl more and returns true, and the caller makes that pass.
func (s *store) unlockFanout(ctx context.Context, ws tasks.WorkspaceID, token string, ttl time.Duration) (bool, error) {
	return s.runFanLock(ctx, fanUnlockScript, "unlock", ws, token, ttl)
}

// fanUnlockScript releases the fan-out lock or keeps it for another pass.
// KEYS[1] the fan-out lock
// KEYS[2] the "again" flag
// ARGV[1] token
// ARGV[2] TTL (ms)
// Returns 1 to make another pass (lock kept), 0 when released or lost.
var fanUnlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call("DEL", KEYS[2]) == 1 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
redis.call("DEL", KEYS[1])
return 0
`)

// createWebhookScript adds a subscription within the limit.
// KEYS[1] the subscriptions
// KEYS[2] its state
// KEYS[3] the subscriptions' version
// ARGV[1] subscription id
// ARGV[2] its JSON
// ARGV[3] the limit (0: none)
// ARGV[4] "1" enabled, "0" not
// Returns "ok", "full" or "exists".
var createWebhookScript = redis.NewScript(`
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 1 then return "exists" end
local limit = tonumber(ARGV[3])
if limit > 0 and redis.call("HLEN", KEYS[1]) >= limit then return "full" end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("DEL", KEYS[2])
redis.call("HSET", KEYS[2], "en", ARGV[4], "cf", 0)
redis.call("INCR", KEYS[3])
return "ok"
`)

// getSub returns the subscription with its state. Errors: tasks.ErrNotFound.
func (s *store) getSub(ctx context.Context, ws tasks.WorkspaceID, id string) (subRecord, error) {
	k := keysFor(ws)
	raw, err := s.rdb.HGet(ctx, k.whSubs(), id).Result()
	if isNil(err) {
		return subRecord{}, tasks.ErrNotFound
	}
	if err != nil {
		return subRecord{}, fmt.Errorf("webhooks: get webhook: %w", err)
	}
	subs, err := s.withState(ctx, k, []string{raw})
	if err != nil {
		return subRecord{}, err
	}
	return subs[0], nil
}

// listSubs returns the workspace's subscriptions, newest first. There
// are few (a limit applies), so they come in one call.
func (s *store) listSubs(ctx context.Context, ws tasks.WorkspaceID) ([]subRecord, error) {
	k := keysFor(ws)
	all, err := s.rdb.HVals(ctx, k.whSubs()).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: list webhooks: %w", err)
	}
	subs, err := s.withState(ctx, k, all)
	if err != nil {
		return nil, err
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID > subs[j].ID })
	return subs, nil
}

// subsVersion returns the workspace's subscriptions' version
// (whSubsVersion); 0 before any change.
func (s *store) subsVersion(ctx context.Context, ws tasks.WorkspaceID) (int64, error) {
	v, err := s.rdb.Get(ctx, keysFor(ws).whSubsVersion()).Int64()
	if err != nil && !isNil(err) {
		return 0, fmt.Errorf("webhooks: webhooks version: %w", err)
	}
	return v, nil
}

// hasSubs reports whether the workspace has any subscription.
func (s *store) hasSubs(ctx context.Context, ws tasks.WorkspaceID) (bool, error) {
	n, err := s.rdb.HLen(ctx, keysFor(ws).whSubs()).Result()
	if err != nil {
		return false, fmt.Errorf("webhooks: count webhooks: %w", err)
	}
	return n > 0, nil
}

// withState decodes stored subscriptions and reads their state in
// one pipeline.
func (s *store) withState(ctx context.Context, k keys, raws []string) ([]subRecord, error) {
	subs := make([]subRecord, len(raws))
	for i, raw := range raws {
		if err := decodeJSON(raw, &subs[i]); err != nil {
			return nil, fmt.Errorf("webhooks: decode webhook: %w", err)
		}
	}
	if len(subs) == 0 {
		return subs, nil
	}
	pipe := s.rdb.Pipeline()
	read := queueStateReads(ctx, pipe, k, subs)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("webhooks: webhook state: %w", err)
	}
	read()
	return subs, nil
}

// queueStateReads queues on pipe the reads of subs' state; the function
// it returns fills the state in once the pipeline has run.
func queueStateReads(ctx context.Context, pipe redis.Pipeliner, k keys, subs []subRecord) func() {
	states := make([]*redis.MapStringStringCmd, len(subs))
	outcomes := make([]*redis.StringSliceCmd, len(subs))
	for i, sub := range subs {
		states[i] = pipe.HGetAll(ctx, k.whState(sub.ID))
		outcomes[i] = pipe.LRange(ctx, k.whOutcomes(sub.ID), 0, -1)
	}
	return func() { fillState(subs, states, outcomes) }
}

// fillState sets subs' state from the replies of queueStateReads.
func fillState(subs []subRecord, states []*redis.MapStringStringCmd, outcomes []*redis.StringSliceCmd) {
	for i := range subs {
		st := states[i].Val()
		subs[i].Enabled = st["en"] == "1"
		subs[i].DisabledReason = st["dr"]
		subs[i].DisabledAt = st["ds"]
		subs[i].ConsecutiveFailures = int(mustInt(st["cf"]))
		if lt := mustInt(st["lt"]); lt > 0 {
			t := time.UnixMilli(lt).UTC()
			subs[i].LastTriggered = &t
		}
		if oc := outcomes[i].Val(); len(oc) > 0 {
			ok := 0
			for _, o := range oc {
				if o == "1" {
					ok++
				}
			}
			rate := float64(ok) / float64(len(oc))
			subs[i].SuccessRate = &rate
		}
	}
}

// updateSub applies change to the subscription and stores it, retrying
// when a concurrent write got there first. change may set Enabled: enabling
// clears the disabled reason and the failure count. Errors: tasks.ErrNotFound,
// whatever change returns, *ConflictError when the key stays too hot.
func (s *store) updateSub(ctx context.Context, ws tasks.WorkspaceID, id string, change func(*subRecord) error) (subRecord, error) {
	k := keysFor(ws)
	for range maxRetries {
		raw, err := s.rdb.HGet(ctx, k.whSubs(), id).Result()
		if isNil(err) {
			return subRecord{}, tasks.ErrNotFound
		}
		if err != nil {
			return subRecord{}, fmt.Errorf("webhooks: update webhook: %w", err)
		}
		cur, err := s.withState(ctx, k, []string{raw})
		if err != nil {
			return subRecord{}, err
		}
		sub := cur[0]
		wasEnabled := sub.Enabled
		if err := change(&sub); err != nil {
			return subRecord{}, err
		}
		sub.ID, sub.UpdatedAt = id, s.clock()
		if err := s.markActive(ctx, ws); err != nil {
			return subRecord{}, err
		}
		enable := ""
		if sub.Enabled != wasEnabled {
			enable = boolFlag(sub.Enabled)
		}
		res, err := updateWebhookScript.Run(ctx, s.rdb, []string{k.whSubs(), k.whState(id), tasks.EventStreamKey(ws), k.whSubsVersion()},
			id, raw, mustJSON(sub), enable).StringSlice()
		if err != nil {
			return subRecord{}, fmt.Errorf("webhooks: update webhook: %w", err)
		}
		switch scriptResult(res[0]) {
		case resGone:
			return subRecord{}, tasks.ErrNotFound
		case resOK:
			return s.getSub(ctx, ws, id)
		}
	}
	return subRecord{}, conflict("the webhook subscription is being changed concurrently; try again")
}

// updateWebhookScript replaces a subscription if it is unchanged since read.
// Disabling records the newest event written before it (see
// subRecord.DisabledAt); enabling forgets it.
// KEYS[1] the subscriptions
// KEYS[2] its state
// KEYS[3] the workspace's event stream
// KEYS[4] the subscriptions' version
// ARGV[1] subscription id
// ARGV[2] its JSON as read
// ARGV[3] its new JSON
// ARGV[4] "1" to enable, "0" to disable, "" to leave as it is
// Returns {"gone"}, {"stale"} or {"ok", change of the disabled count}.
var updateWebhookScript = redis.NewScript(`
local cur = redis.call("HGET", KEYS[1], ARGV[1])
if not cur then return {"gone"} end
if cur ~= ARGV[2] then return {"stale"} end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[3])
redis.call("INCR", KEYS[4])
local was = redis.call("HGET", KEYS[2], "en")
if ARGV[4] == "1" then
  redis.call("HSET", KEYS[2], "en", "1", "cf", 0)
  redis.call("HDEL", KEYS[2], "dr", "ds")
  if was == "0" then return {"ok", "-1"} end
elseif ARGV[4] == "0" and was ~= "0" then
  local newest = redis.call("XREVRANGE", KEYS[3], "+", "-", "COUNT", 1)[1]
  redis.call("HSET", KEYS[2], "en", "0", "ds", newest and newest[1] or "0-0")
  return {"ok", "1"}
end
return {"ok", "0"}
`)

// deleteSub removes the subscription and its indexes. Its messages
// expire with their TTL; queued attempts find it gone and stop. Errors:
// tasks.ErrNotFound.
func (s *store) deleteSub(ctx context.Context, ws tasks.WorkspaceID, id string) error {
	k := keysFor(ws)
	if err := s.markActive(ctx, ws); err != nil {
		return err
	}
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.HDel(ctx, k.whSubs(), id)
		p.Del(ctx, k.whState(id), k.whOutcomes(id), k.whMsgs(id), k.whFailed(id), k.whParked(id))
		p.Incr(ctx, k.whSubsVersion())
		return nil
	})
	if err != nil && !isNil(err) {
		return fmt.Errorf("webhooks: delete webhook: %w", err)
	}
	if del.Val() == 0 {
		return tasks.ErrNotFound
	}
	return nil
}

// pendingCount returns how many of the workspace's messages are pending.
func (s *store) pendingCount(ctx context.Context, ws tasks.WorkspaceID) (int64, error) {
	n, err := s.rdb.Get(ctx, keysFor(ws).whPending()).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("webhooks: pending webhook messages: %w", err)
	}
	return n, nil
}

func boolFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func ttlSeconds(d time.Duration) int64 { return int64(d / time.Second) }

// idFloor returns the smallest ULID body of time t: ids below it (after
// their prefix) were made before t.
func idFloor(t time.Time) string { return tasks.ULIDFloor(t.UnixMilli()) }

func decodeJSON(raw string, v any) error { return json.Unmarshal([]byte(raw), v) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs reach here; failing to encode them is a bug.
		panic(fmt.Sprintf("webhooks: encode %T: %v", v, err))
	}
	return string(b)
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func isNil(err error) bool { return errors.Is(err, redis.Nil) }

func conflict(reason string) error { return &tasks.ConflictError{Reason: reason} }

func invalid(problems map[string]string) error { return &tasks.ValidationError{Fields: problems} }
