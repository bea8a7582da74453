package tasks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Storage of outgoing webhooks (SPEC 8): subscriptions, the messages sent to
// them (one per event and subscription) with every attempt, the per-message
// lease that keeps attempts of one message from overlapping, and the
// per-task queues of subscriptions that asked for "ordering":"task". The
// rules (which status follows which outcome, when to disable) are decided by
// package webhooks; this file makes each decision one atomic script call.
//
// A message's state moves only inside scripts:
//
//	pending --attempt--> delivered | failed      (or stays pending, seq+1)
//	failed/delivered --requeue--> pending        (redeliver, recover)
//
// seq numbers the message's queued attempts; a delivery job carries the seq
// it was queued for, so a job that is no longer current (its message moved
// on while it waited, or a crashed worker's job recovered late) is told so
// and does nothing.

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
	resReleased scriptResult = "released" // the lease is given up
	resParked   scriptResult = "parked"   // the message waits for its endpoint to be enabled
	resEnabled  scriptResult = "enabled"  // not parked: the endpoint is enabled
	resDone     scriptResult = "done"     // the message is final or gone
	resSwitch   scriptResult = "switch"   // an earlier message of its task heads the queue
)

// WebhookRetention is how long messages, their attempts and the failed
// index are kept.
const WebhookRetention = 30 * 24 * time.Hour

// webhookOutcomeWindow is how many finished messages delivery_success_rate
// looks back over.
const webhookOutcomeWindow = 100

// WebhookSubscription is an outgoing webhook endpoint. The JSON form is its
// stored configuration; the state fields after it are kept apart, so the
// delivery path can change them in a script without rewriting JSON.
type WebhookSubscription struct {
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
	// LastTriggered is the time of the last attempt to it, nil before any.
	LastTriggered *time.Time `json:"-"`
	// SuccessRate is the share of its last finished non-test messages that
	// were delivered, nil before any finished.
	SuccessRate *float64 `json:"-"`
	// ConsecutiveFailures counts non-test messages failed for good since the
	// last delivered one.
	ConsecutiveFailures int `json:"-"`
}

// WebhookStatus is where a message stands.
type WebhookStatus string

// The statuses of a webhook message.
const (
	WebhookPending   WebhookStatus = "pending"
	WebhookDelivered WebhookStatus = "delivered"
	WebhookFailed    WebhookStatus = "failed"
)

// WebhookAttempt is one logged delivery attempt; its JSON is the wire form
// of an entry of "attempts" in GET /api/v1/webhooks/{id}/deliveries.
type WebhookAttempt struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"` // null when no response arrived
	DurationMS *int64    `json:"duration_ms"` // null for an attempt not made yet
	Error      *string   `json:"error"`
	Response   *string   `json:"response"` // first 1 KiB; null without a response
	// Pending marks the queued attempt a pending message waits for.
	Pending bool `json:"pending,omitempty"`
}

// WebhookMessage is one event for one subscription, with its attempts.
type WebhookMessage struct {
	ID             string    `json:"id"`
	SubscriptionID string    `json:"subscription_id"`
	EventID        string    `json:"event_id"`
	EventType      EventType `json:"event_type"`
	Test           bool      `json:"test,omitempty"`
	// Body is the exact JSON sent, signed byte for byte on every attempt.
	Body string `json:"body"`
	// OrderKey is the task id whose messages to this subscription go one at
	// a time; "" for an unordered message. OrderScore places it in that
	// queue (the task version).
	OrderKey   string    `json:"order_key,omitempty"`
	OrderScore int64     `json:"order_score,omitempty"`
	CreatedAt  time.Time `json:"created_at"`

	// The state, kept beside the document.
	Status WebhookStatus `json:"-"`
	// Seq is the number of the attempt queued or made last.
	Seq int64 `json:"-"`
	// Round counts the attempts since it was (re)queued: the index into the
	// retry schedule.
	Round int `json:"-"`
	// NextAt is when the queued attempt is due; NextDeliveryID its id.
	NextAt         time.Time `json:"-"`
	NextDeliveryID string    `json:"-"`
	// Attempts are the attempts made, oldest first.
	Attempts []WebhookAttempt `json:"-"`
}

// member is the message's entry in its ordering queue: members of equal
// score sort by event id, which follows event order within a write.
func (m WebhookMessage) member() string {
	if m.OrderKey == "" {
		return ""
	}
	return m.EventID + " " + m.ID
}

// webhookStatsKey is a HASH of totals over every workspace, so that a
// /metrics scrape reads one key whatever the number of workspaces and
// subscriptions: "pending" messages and "disabled" endpoints. It lives
// outside the workspaces' hash tags, so it cannot join their scripts: each
// change is applied right after the script that made it, and a process
// dying between the two leaves the gauge off by that change.
const webhookStatsKey = "tasker:wh:stats"

// bumpWebhookStats applies changes to the totals. An error is dropped:
// the gauge drifts by one change, the delivery itself is done.
func (s *Store) bumpWebhookStats(ctx context.Context, pending, disabled int64) {
	if pending == 0 && disabled == 0 {
		return
	}
	pipe := s.rdb.Pipeline()
	if pending != 0 {
		pipe.HIncrBy(ctx, webhookStatsKey, "pending", pending)
	}
	if disabled != 0 {
		pipe.HIncrBy(ctx, webhookStatsKey, "disabled", disabled)
	}
	_, _ = pipe.Exec(context.WithoutCancel(ctx))
}

// WebhookTotals returns the pending messages and disabled endpoints of
// every workspace, in one read.
func (s *Store) WebhookTotals(ctx context.Context) (pending, disabled int64, err error) {
	vals, err := s.rdb.HMGet(ctx, webhookStatsKey, "pending", "disabled").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("tasks: webhook totals: %w", err)
	}
	n := func(v any) int64 {
		str, _ := v.(string)
		return mustInt(str)
	}
	return n(vals[0]), n(vals[1]), nil
}

// whSubs is a HASH: subscription id → WebhookSubscription JSON.
func (k keys) whSubs() string { return k.p + "wh:subs" }

// whState is a HASH of a subscription's state: en ("1" enabled, "0" not),
// dr (disabled reason), lt (last attempt, Unix ms), cf (consecutive failed
// messages).
func (k keys) whState(sub string) string { return k.p + "wh:st:" + sub }

// whOutcomes is a LIST of "1" (delivered) and "0" (failed) for the last
// finished non-test messages of a subscription, newest first.
func (k keys) whOutcomes(sub string) string { return k.p + "wh:oc:" + sub }

// whMsg is a HASH with a TTL of WebhookRetention: d the message document
// JSON; s status, q seq, r round, t next attempt (Unix ms), nd next
// delivery id, n attempts made.
func (k keys) whMsg(id string) string { return k.p + "wh:m:" + id }

// whAttempts is a LIST with a TTL of WebhookRetention: WebhookAttempt JSON,
// oldest first.
func (k keys) whAttempts(id string) string { return k.p + "wh:a:" + id }

// whLease is a STRING "token|deadline" (deadline in Unix ms) with the same
// TTL: the worker making an attempt of the message, and until when. Until
// the deadline nobody else may start one. Scripts compare the deadline with
// the caller's clock instead of trusting the TTL, because the embedded
// backend does not expire keys on its own.
func (k keys) whLease(id string) string { return k.p + "wh:l:" + id }

// whLeases is a ZSET of message ids scored by their lease's deadline (Unix
// ms), so a sweep finds attempts whose worker died.
func (k keys) whLeases() string { return k.p + "wh:leases" }

// whMsgs is a ZSET of a subscription's message ids, all scored 0, paged
// newest first with ZREVRANGEBYLEX (ids are time-ordered).
func (k keys) whMsgs(sub string) string { return k.p + "wh:ms:" + sub }

// whMsgKey is a STRING with a TTL of WebhookRetention: the id of the message
// made for (subscription, event), so an event becomes one message however
// often its fan-out runs.
func (k keys) whMsgKey(sub, eventID string) string { return k.p + "wh:mk:" + sub + ":" + eventID }

// whFailed is a ZSET of a subscription's failed message ids scored by
// their creation (Unix ms), for recover.
func (k keys) whFailed(sub string) string { return k.p + "wh:f:" + sub }

// whFIFO is a ZSET: the waiting messages of one task to an ordered
// subscription, members "eventID msgID" scored by task version.
func (k keys) whFIFO(sub, orderKey string) string { return k.p + "wh:q:" + sub + ":" + orderKey }

// whFIFOCur is a STRING "member|deadline" (Unix ms, Redis' clock): the
// whFIFO member holding a lease, so no other message of the task starts
// before it ends even if an earlier one joins the queue meanwhile. Only
// the head of whFIFO (lowest version) may start.
func (k keys) whFIFOCur(sub, orderKey string) string { return k.p + "wh:qc:" + sub + ":" + orderKey }

// whPending is a STRING counter of the workspace's pending messages.
func (k keys) whPending() string { return k.p + "wh:pending" }

// whQueues is a SET of the workspace's non-empty ordered queues, members
// "subscription id task id" (tab-separated), so a sweep finds every queue
// whose head might be stranded without scanning keys.
func (k keys) whQueues() string { return k.p + "wh:queues" }

// whParked is a ZSET of a subscription's pending messages whose attempt
// found it disabled, scored by when (Unix ms): enabling it sends them.
func (k keys) whParked(sub string) string { return k.p + "wh:pk:" + sub }

// whFanLock is a STRING with a short TTL: the token of the replica turning
// the workspace's events into messages. Only its holder may create
// messages, which keeps them in event order.
func (k keys) whFanLock() string { return k.p + "wh:fan" }

// whFanAgain is a STRING flag set when a fan-out found the lock held: the
// holder runs one more pass before it lets go, so no event waits for the
// next one.
func (k keys) whFanAgain() string { return k.p + "wh:fan:again" }

// queueMember is the whQueues member of an ordered queue.
func queueMember(sub, orderKey string) string { return sub + "\t" + orderKey }

// EventStreamKey is the key of the workspace's event stream (the outbox),
// for tests that append events as a write would.
func EventStreamKey(ws WorkspaceID) string { return keysFor(ws).events() }

// WebhookFanoutGroup is the consumer group on a workspace's event stream
// through which the webhooks fan-out reads events, in order.
const WebhookFanoutGroup = "webhooks"

// redisNow is the Lua prelude that reads Redis' own clock in Unix ms:
// leases compare deadlines with it, never with a replica's clock.
const redisNow = `local tm = redis.call("TIME")
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
`

// CreateWebhook stores a new subscription, enabled as sub.Enabled says,
// unless the workspace already has limit of them (0: no limit) or one with
// its id. It assigns a "wh_" id when sub.ID is empty. Errors: *ConflictError.
func (s *Store) CreateWebhook(ctx context.Context, ws WorkspaceID, sub WebhookSubscription, limit int) (WebhookSubscription, error) {
	if err := s.register(ctx, ws); err != nil {
		return WebhookSubscription{}, err
	}
	now := s.clock()
	if sub.ID == "" {
		sub.ID = newID("wh_", now)
	}
	sub.CreatedAt, sub.UpdatedAt = now, now
	k := keysFor(ws)
	res, err := createWebhookScript.Run(ctx, s.rdb, []string{k.whSubs(), k.whState(sub.ID)},
		sub.ID, mustJSON(sub), limit, boolFlag(sub.Enabled)).Text()
	if err != nil {
		return WebhookSubscription{}, fmt.Errorf("tasks: create webhook: %w", err)
	}
	switch scriptResult(res) {
	case resFull:
		return WebhookSubscription{}, conflict(fmt.Sprintf("the workspace already has %d webhook subscriptions", limit))
	case resExists:
		return WebhookSubscription{}, conflict("a webhook subscription with that id exists")
	}
	// The fan-out reads the event stream through its own group; made now,
	// at the stream's end, it starts with the events after this one.
	err = s.rdb.XGroupCreateMkStream(ctx, k.events(), WebhookFanoutGroup, "$").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return WebhookSubscription{}, fmt.Errorf("tasks: create webhook: %w", err)
	}
	if !sub.Enabled {
		s.bumpWebhookStats(ctx, 0, 1)
	}
	sub.DisabledReason = ""
	return sub, nil
}

// LockWebhookFanout takes the workspace's fan-out lock for ttl under
// token. When another replica holds it, it leaves word for the holder to
// make one more pass, and returns false.
func (s *Store) LockWebhookFanout(ctx context.Context, ws WorkspaceID, token string, ttl time.Duration) (bool, error) {
	k := keysFor(ws)
	res, err := fanLockScript.Run(ctx, s.rdb, []string{k.whFanLock(), k.whFanAgain()}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("tasks: lock webhook fan-out: %w", err)
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

// UnlockWebhookFanout lets go of token's fan-out lock, unless another
// fan-out asked for one more pass meanwhile: then it keeps the lock for
// ttl more and returns true, and the caller makes that pass.
func (s *Store) UnlockWebhookFanout(ctx context.Context, ws WorkspaceID, token string, ttl time.Duration) (bool, error) {
	k := keysFor(ws)
	res, err := fanUnlockScript.Run(ctx, s.rdb, []string{k.whFanLock(), k.whFanAgain()}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("tasks: unlock webhook fan-out: %w", err)
	}
	return res == 1, nil
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
// KEYS: subscriptions, state. ARGV: id, JSON, limit (0: none), enabled flag.
// Returns "ok", "full" or "exists".
var createWebhookScript = redis.NewScript(`
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 1 then return "exists" end
local limit = tonumber(ARGV[3])
if limit > 0 and redis.call("HLEN", KEYS[1]) >= limit then return "full" end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("DEL", KEYS[2])
redis.call("HSET", KEYS[2], "en", ARGV[4], "cf", 0)
return "ok"
`)

// GetWebhook returns the subscription with its state. Errors: ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, ws WorkspaceID, id string) (WebhookSubscription, error) {
	k := keysFor(ws)
	raw, err := s.rdb.HGet(ctx, k.whSubs(), id).Result()
	if isNil(err) {
		return WebhookSubscription{}, ErrNotFound
	}
	if err != nil {
		return WebhookSubscription{}, fmt.Errorf("tasks: get webhook: %w", err)
	}
	subs, err := s.webhooksWithState(ctx, k, []string{raw})
	if err != nil {
		return WebhookSubscription{}, err
	}
	return subs[0], nil
}

// ListWebhooks returns the workspace's subscriptions, newest first. There
// are few (a limit applies), so they come in one call.
func (s *Store) ListWebhooks(ctx context.Context, ws WorkspaceID) ([]WebhookSubscription, error) {
	k := keysFor(ws)
	all, err := s.rdb.HVals(ctx, k.whSubs()).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: list webhooks: %w", err)
	}
	subs, err := s.webhooksWithState(ctx, k, all)
	if err != nil {
		return nil, err
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID > subs[j].ID })
	return subs, nil
}

// HasWebhooks reports whether the workspace has any subscription.
func (s *Store) HasWebhooks(ctx context.Context, ws WorkspaceID) (bool, error) {
	n, err := s.rdb.HLen(ctx, keysFor(ws).whSubs()).Result()
	if err != nil {
		return false, fmt.Errorf("tasks: count webhooks: %w", err)
	}
	return n > 0, nil
}

// webhooksWithState decodes stored subscriptions and reads their state in
// one pipeline.
func (s *Store) webhooksWithState(ctx context.Context, k keys, raws []string) ([]WebhookSubscription, error) {
	subs := make([]WebhookSubscription, len(raws))
	for i, raw := range raws {
		if err := decode(raw, &subs[i]); err != nil {
			return nil, fmt.Errorf("tasks: decode webhook: %w", err)
		}
	}
	if len(subs) == 0 {
		return subs, nil
	}
	pipe := s.rdb.Pipeline()
	read := queueWebhookState(ctx, pipe, k, subs)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("tasks: webhook state: %w", err)
	}
	read()
	return subs, nil
}

// queueWebhookState queues on pipe the reads of subs' state; the function
// it returns fills the state in once the pipeline has run.
func queueWebhookState(ctx context.Context, pipe redis.Pipeliner, k keys, subs []WebhookSubscription) func() {
	states := make([]*redis.MapStringStringCmd, len(subs))
	outcomes := make([]*redis.StringSliceCmd, len(subs))
	for i, sub := range subs {
		states[i] = pipe.HGetAll(ctx, k.whState(sub.ID))
		outcomes[i] = pipe.LRange(ctx, k.whOutcomes(sub.ID), 0, -1)
	}
	return func() { fillWebhookState(subs, states, outcomes) }
}

// fillWebhookState sets subs' state from the replies of queueWebhookState.
func fillWebhookState(subs []WebhookSubscription, states []*redis.MapStringStringCmd, outcomes []*redis.StringSliceCmd) {
	for i := range subs {
		st := states[i].Val()
		subs[i].Enabled = st["en"] == "1"
		subs[i].DisabledReason = st["dr"]
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

// UpdateWebhook applies change to the subscription and stores it, retrying
// when a concurrent write got there first. change may set Enabled: enabling
// clears the disabled reason and the failure count. Errors: ErrNotFound,
// whatever change returns, *ConflictError when the key stays too hot.
func (s *Store) UpdateWebhook(ctx context.Context, ws WorkspaceID, id string, change func(*WebhookSubscription) error) (WebhookSubscription, error) {
	k := keysFor(ws)
	for range maxRetries {
		raw, err := s.rdb.HGet(ctx, k.whSubs(), id).Result()
		if isNil(err) {
			return WebhookSubscription{}, ErrNotFound
		}
		if err != nil {
			return WebhookSubscription{}, fmt.Errorf("tasks: update webhook: %w", err)
		}
		cur, err := s.webhooksWithState(ctx, k, []string{raw})
		if err != nil {
			return WebhookSubscription{}, err
		}
		sub := cur[0]
		wasEnabled := sub.Enabled
		if err := change(&sub); err != nil {
			return WebhookSubscription{}, err
		}
		sub.ID, sub.UpdatedAt = id, s.clock()
		enable := ""
		if sub.Enabled != wasEnabled {
			enable = boolFlag(sub.Enabled)
		}
		res, err := updateWebhookScript.Run(ctx, s.rdb, []string{k.whSubs(), k.whState(id)},
			id, raw, mustJSON(sub), enable).StringSlice()
		if err != nil {
			return WebhookSubscription{}, fmt.Errorf("tasks: update webhook: %w", err)
		}
		switch scriptResult(res[0]) {
		case resGone:
			return WebhookSubscription{}, ErrNotFound
		case resOK:
			s.bumpWebhookStats(ctx, 0, mustInt(res[1]))
			return s.GetWebhook(ctx, ws, id)
		}
	}
	return WebhookSubscription{}, conflict("the webhook subscription is being changed concurrently; try again")
}

// updateWebhookScript replaces a subscription if it is unchanged since read.
// KEYS[1] the subscriptions
// KEYS[2] its state
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
local was = redis.call("HGET", KEYS[2], "en")
if ARGV[4] == "1" then
  redis.call("HSET", KEYS[2], "en", "1", "cf", 0)
  redis.call("HDEL", KEYS[2], "dr")
  if was == "0" then return {"ok", "-1"} end
elseif ARGV[4] == "0" then
  redis.call("HSET", KEYS[2], "en", "0")
  if was ~= "0" then return {"ok", "1"} end
end
return {"ok", "0"}
`)

// DeleteWebhook removes the subscription and its indexes. Its messages
// expire with their TTL; queued attempts find it gone and stop. Errors:
// ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, ws WorkspaceID, id string) error {
	k := keysFor(ws)
	var del *redis.IntCmd
	var en *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		en = p.HGet(ctx, k.whState(id), "en")
		del = p.HDel(ctx, k.whSubs(), id)
		p.Del(ctx, k.whState(id), k.whOutcomes(id), k.whMsgs(id), k.whFailed(id), k.whParked(id))
		return nil
	})
	if err != nil && !isNil(err) {
		return fmt.Errorf("tasks: delete webhook: %w", err)
	}
	if del.Val() == 0 {
		return ErrNotFound
	}
	if en.Val() == "0" {
		s.bumpWebhookStats(ctx, 0, -1)
	}
	return nil
}

// NewWebhookMessage is a message to queue for a subscription.
type NewWebhookMessage struct {
	SubscriptionID string
	EventID        string
	EventType      EventType
	Test           bool
	Body           string
	// OrderKey and OrderScore place an ordered subscription's message in
	// its task's queue; OrderKey "" means unordered.
	OrderKey   string
	OrderScore int64
	// DeliveryID is the X-Tasker-Delivery id of the first attempt.
	DeliveryID string
}

// WebhookQueued says what the caller must do about a message just queued
// or requeued: when Runnable, make sure a delivery job for (ID, Seq) is
// queued to run at NextAt.
type WebhookQueued struct {
	Message  WebhookMessage
	Created  bool // false when the (subscription, event) pair had its message already
	Runnable bool // false while an ordered message waits for its turn
}

// ErrFenced is returned by CreateWebhookMessages when the caller's fan-out
// lock has passed to another replica: it must stop, and the new holder
// carries on from the events not yet acknowledged.
var ErrFenced = errors.New("tasks: webhook fan-out lock lost")

// CreateWebhookMessage records a pending message once per (subscription,
// event) and, for an ordered subscription, adds it to its task's queue.
// It is for messages outside the event stream (test events).
func (s *Store) CreateWebhookMessage(ctx context.Context, ws WorkspaceID, in NewWebhookMessage) (WebhookQueued, error) {
	qs, err := s.CreateWebhookMessages(ctx, ws, []NewWebhookMessage{in}, "")
	if err != nil {
		return WebhookQueued{}, err
	}
	return qs[0], nil
}

// CreateWebhookMessages is CreateWebhookMessage for several messages at
// once (a batch of events' fan-out), in one round trip; each is still
// recorded by its own atomic script call, in the order of ins. fence is
// the caller's fan-out lock token: when another replica holds the lock
// nothing more is created and the error is ErrFenced. "" skips the check.
// The answers follow ins.
func (s *Store) CreateWebhookMessages(ctx context.Context, ws WorkspaceID, ins []NewWebhookMessage, fence string) ([]WebhookQueued, error) {
	if err := s.register(ctx, ws); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, nil
	}
	now := s.clock()
	k := keysFor(ws)
	trim := "(msg_" + ulid(uint64(now.Add(-WebhookRetention).UnixMilli()), 0, 0)
	ms := make([]WebhookMessage, len(ins))
	keys := make([][]string, len(ins))
	args := make([][]any, len(ins))
	for i, in := range ins {
		m := WebhookMessage{
			ID: newID("msg_", now), SubscriptionID: in.SubscriptionID, EventID: in.EventID, EventType: in.EventType,
			Test: in.Test, Body: in.Body, OrderKey: in.OrderKey, OrderScore: in.OrderScore, CreatedAt: now,
		}
		ms[i] = m
		keys[i] = []string{k.whMsgKey(m.SubscriptionID, m.EventID), k.whMsg(m.ID), k.whMsgs(m.SubscriptionID), k.whPending(),
			k.whFIFO(m.SubscriptionID, m.OrderKey), k.whQueues(), k.whFanLock()}
		args[i] = []any{m.ID, mustJSON(m), in.DeliveryID, now.UnixMilli(), ttlSeconds(WebhookRetention), trim,
			m.OrderScore, m.member(), queueMember(m.SubscriptionID, m.OrderKey), fence}
	}
	cmds := make([]*redis.Cmd, len(ins))
	if len(ins) == 1 {
		cmds[0] = createMessageScript.Run(ctx, s.rdb, keys[0], args[0]...)
	} else {
		pipe := s.rdb.Pipeline()
		for i := range ins {
			cmds[i] = createMessageScript.EvalSha(ctx, pipe, keys[i], args[i]...)
		}
		_, _ = pipe.Exec(ctx) // errors are read per command below
		if err := cmds[0].Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			// Not loaded yet (a fresh or flushed Redis): every call of the
			// pipeline failed alike. Run loads it; then the rest, in order.
			for i := range ins {
				cmds[i] = createMessageScript.Run(ctx, s.rdb, keys[i], args[i]...)
			}
		}
	}
	out := make([]WebhookQueued, len(ins))
	created := int64(0)
	defer func() { s.bumpWebhookStats(ctx, created, 0) }()
	for i, cmd := range cmds {
		res, err := cmd.StringSlice()
		if err != nil {
			return nil, fmt.Errorf("tasks: queue webhook message: %w", err)
		}
		if len(res) != 2 {
			return nil, fmt.Errorf("tasks: queue webhook message: unexpected answer %q", res)
		}
		switch scriptResult(res[0]) {
		case resFenced:
			return nil, ErrFenced
		case resDup:
			if out[i], err = s.RunnableWebhookMessage(ctx, ws, res[1]); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			continue
		}
		created++
		m := ms[i]
		m.Status, m.Seq, m.NextAt, m.NextDeliveryID = WebhookPending, 1, now, ins[i].DeliveryID
		out[i] = WebhookQueued{Message: m, Created: true, Runnable: scriptResult(res[0]) == resRun}
	}
	return out, nil
}

// createMessageScript records a message once and queues it.
// KEYS[1] the (subscription, event) key
// KEYS[2] the message
// KEYS[3] the subscription's messages
// KEYS[4] the pending counter
// KEYS[5] the task queue (unused for an unordered message)
// KEYS[6] the index of ordered queues
// KEYS[7] the fan-out lock
// ARGV[1] message id
// ARGV[2] document JSON
// ARGV[3] delivery id of the first attempt
// ARGV[4] now (Unix ms)
// ARGV[5] TTL (s)
// ARGV[6] trim bound of the subscription's messages (ids older than 30 days)
// ARGV[7] queue score (task version)
// ARGV[8] queue member ("" for an unordered message)
// ARGV[9] index member of the task queue
// ARGV[10] fan-out lock token ("" skips the check)
// Returns {"fenced", ""}, {"dup", existing id}, {"run", id} (queue its
// first attempt) or {"wait", id} (an earlier message of its task is ahead).
var createMessageScript = redis.NewScript(`
if ARGV[10] ~= "" and redis.call("GET", KEYS[7]) ~= ARGV[10] then return {"fenced", ""} end
local existing = redis.call("GET", KEYS[1])
if existing then return {"dup", existing} end
redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[5])
redis.call("HSET", KEYS[2], "d", ARGV[2], "s", "pending", "q", 1, "r", 0, "t", ARGV[4], "nd", ARGV[3], "n", 0)
redis.call("EXPIRE", KEYS[2], ARGV[5])
redis.call("ZREMRANGEBYLEX", KEYS[3], "-", ARGV[6])
redis.call("ZADD", KEYS[3], 0, ARGV[1])
redis.call("INCR", KEYS[4])
if ARGV[8] == "" then return {"run", ARGV[1]} end
redis.call("ZADD", KEYS[5], ARGV[7], ARGV[8])
redis.call("EXPIRE", KEYS[5], ARGV[5])
redis.call("SADD", KEYS[6], ARGV[9])
if redis.call("ZRANGE", KEYS[5], 0, 0)[1] == ARGV[8] then return {"run", ARGV[1]} end
return {"wait", ARGV[1]}
`)

// RunnableWebhookMessage reads a message and whether its current attempt
// may run now: it is pending and, when ordered, it heads its task's queue
// (the attempt itself still waits while another message of the task is
// in flight). Errors:
// ErrNotFound.
func (s *Store) RunnableWebhookMessage(ctx context.Context, ws WorkspaceID, id string) (WebhookQueued, error) {
	m, err := s.WebhookMessage(ctx, ws, id)
	if err != nil {
		return WebhookQueued{}, err
	}
	q := WebhookQueued{Message: m, Runnable: m.Status == WebhookPending}
	if q.Runnable && m.OrderKey != "" {
		head, err := s.rdb.ZRange(ctx, keysFor(ws).whFIFO(m.SubscriptionID, m.OrderKey), 0, 0).Result()
		if err != nil {
			return WebhookQueued{}, fmt.Errorf("tasks: webhook queue: %w", err)
		}
		// A pending message missing from its queue (the queue expired) may
		// run: the begin script puts it back.
		q.Runnable = len(head) == 0 || head[0] == m.member()
	}
	return q, nil
}

// WebhookMessage returns a message with its attempts. Errors: ErrNotFound.
func (s *Store) WebhookMessage(ctx context.Context, ws WorkspaceID, id string) (WebhookMessage, error) {
	ms, err := s.webhookMessages(ctx, keysFor(ws), []string{id})
	if err != nil {
		return WebhookMessage{}, err
	}
	if len(ms) == 0 {
		return WebhookMessage{}, ErrNotFound
	}
	return ms[0], nil
}

// webhookMessages reads messages and their attempts in one pipeline,
// leaving out those that expired.
func (s *Store) webhookMessages(ctx context.Context, k keys, ids []string) ([]WebhookMessage, error) {
	pipe := s.rdb.Pipeline()
	read := queueWebhookMessages(ctx, pipe, k, ids)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("tasks: read webhook messages: %w", err)
	}
	return read()
}

// queueWebhookMessages queues on pipe the reads of messages ids; the
// function it returns decodes them once the pipeline has run.
func queueWebhookMessages(ctx context.Context, pipe redis.Pipeliner, k keys, ids []string) func() ([]WebhookMessage, error) {
	hashes := make([]*redis.MapStringStringCmd, len(ids))
	attempts := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		hashes[i] = pipe.HGetAll(ctx, k.whMsg(id))
		attempts[i] = pipe.LRange(ctx, k.whAttempts(id), 0, -1)
	}
	return func() ([]WebhookMessage, error) { return decodeWebhookMessages(ids, hashes, attempts) }
}

// decodeWebhookMessages decodes the replies of queueWebhookMessages,
// leaving out messages that expired.
func decodeWebhookMessages(ids []string, hashes []*redis.MapStringStringCmd, attempts []*redis.StringSliceCmd) ([]WebhookMessage, error) {
	out := make([]WebhookMessage, 0, len(ids))
	for i := range ids {
		h := hashes[i].Val()
		if h["d"] == "" {
			continue
		}
		var m WebhookMessage
		if err := decode(h["d"], &m); err != nil {
			return nil, fmt.Errorf("tasks: decode webhook message: %w", err)
		}
		m.Status = WebhookStatus(h["s"])
		m.Seq, m.Round = mustInt(h["q"]), int(mustInt(h["r"]))
		m.NextAt, m.NextDeliveryID = time.UnixMilli(mustInt(h["t"])).UTC(), h["nd"]
		for _, raw := range attempts[i].Val() {
			var a WebhookAttempt
			if err := decode(raw, &a); err != nil {
				return nil, fmt.Errorf("tasks: decode webhook attempt: %w", err)
			}
			m.Attempts = append(m.Attempts, a)
		}
		out = append(out, m)
	}
	return out, nil
}

// maxStatusScan bounds how many messages one page of a status-filtered
// delivery log looks at; a page may then come back short, with a cursor to
// read on from.
const maxStatusScan = 1000

// WebhookMessages pages a subscription's messages newest first, only those
// with the given status unless status is "". cursor is "" or a next cursor
// it returned; the next cursor is "" on the last page. A filtered page
// looks at most at maxStatusScan messages, so it may hold fewer than limit
// and still have a next cursor. Errors: *ValidationError for a bad cursor.
func (s *Store) WebhookMessages(ctx context.Context, ws WorkspaceID, subID string, status WebhookStatus, cursor string, limit int) ([]WebhookMessage, string, error) {
	limit = clampLimit(limit)
	upper := "+"
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(b), "m:msg_") {
			return nil, "", invalid(map[string]string{"cursor": "invalid"})
		}
		upper = "(" + string(b[2:])
	}
	k := keysFor(ws)
	page := func(upper string, n int) ([]string, error) {
		ids, err := s.rdb.ZRevRangeByLex(ctx, k.whMsgs(subID), &redis.ZRangeBy{Max: upper, Min: "-", Count: int64(n)}).Result()
		if err != nil {
			return nil, fmt.Errorf("tasks: list webhook messages: %w", err)
		}
		return ids, nil
	}
	cursorAt := func(id string) string { return base64.RawURLEncoding.EncodeToString([]byte("m:" + id)) }
	if status == "" {
		ids, err := page(upper, limit+1)
		if err != nil {
			return nil, "", err
		}
		next := ""
		if len(ids) > limit {
			ids = ids[:limit]
			next = cursorAt(ids[limit-1])
		}
		ms, err := s.webhookMessages(ctx, k, ids)
		return ms, next, err
	}
	var match []string
	next, scanned := "", 0
	for len(match) < limit {
		if scanned >= maxStatusScan {
			break // next is where the scan stopped
		}
		n := min(max(2*limit, 50), maxStatusScan-scanned)
		ids, err := page(upper, n)
		if err != nil {
			return nil, "", err
		}
		pipe := s.rdb.Pipeline()
		sts := make([]*redis.StringCmd, len(ids))
		for i, id := range ids {
			sts[i] = pipe.HGet(ctx, k.whMsg(id), "s")
		}
		if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
			return nil, "", fmt.Errorf("tasks: list webhook messages: %w", err)
		}
		for i, id := range ids {
			scanned++
			next = cursorAt(id)
			if WebhookStatus(sts[i].Val()) == status {
				match = append(match, id)
				if len(match) == limit {
					break
				}
			}
		}
		if len(ids) < n && len(match) < limit {
			next = "" // the log is read to its end
			break
		}
		upper = "(" + ids[len(ids)-1]
	}
	ms, err := s.webhookMessages(ctx, k, match)
	return ms, next, err
}

// WebhookAction is what BeginWebhookAttempt decided about a delivery job.
type WebhookAction string

// The answers of BeginWebhookAttempt.
const (
	// WebhookRun: the caller holds the lease and makes the attempt.
	WebhookRun = WebhookAction(resRun)
	// WebhookDone: the message is final or gone; for an ordered message,
	// Next is the head of its task's queue, whose job may need queueing.
	WebhookDone = WebhookAction(resDone)
	// WebhookStale: a later attempt (seq) is current; make sure its job is
	// queued.
	WebhookStale = WebhookAction(resStale)
	// WebhookWait: another message of the task is in flight; its end
	// queues the next.
	WebhookWait = WebhookAction(resWait)
	// WebhookSwitch: an earlier message of the task heads the queue;
	// queue Next's job instead.
	WebhookSwitch = WebhookAction(resSwitch)
	// WebhookBusy: another worker holds the lease of this message.
	WebhookBusy = WebhookAction(resBusy)
)

// WebhookBegin is what BeginWebhookAttempt decided.
type WebhookBegin struct {
	Action  WebhookAction
	Message WebhookMessage
	// Subscription is the message's subscription when Action is WebhookRun;
	// nil when it was deleted.
	Subscription *WebhookSubscription
	// Next is the message id to queue after WebhookSwitch, or after
	// WebhookDone the head of an ordered message's task queue.
	Next string
}

// BeginWebhookAttempt takes the lease of message id for the attempt queued
// as seq, for leaseTTL on Redis' clock, when that attempt is still due and,
// for an ordered message, it heads its task's queue and no other message
// of the task is in flight. token identifies the taker to
// FinishWebhookAttempt.
func (s *Store) BeginWebhookAttempt(ctx context.Context, ws WorkspaceID, subID, orderKey, id string, seq int64, token string, leaseTTL time.Duration) (WebhookBegin, error) {
	k := keysFor(ws)
	res, err := beginScript.Run(ctx, s.rdb,
		[]string{k.whMsg(id), k.whLease(id), k.whLeases(), k.whSubs(), k.whFIFOCur(subID, orderKey), k.whFIFO(subID, orderKey), k.whQueues()},
		id, seq, token, leaseTTL.Milliseconds(), subID, ttlSeconds(WebhookRetention), queueMember(subID, orderKey)).StringSlice()
	if err != nil {
		return WebhookBegin{}, fmt.Errorf("tasks: begin webhook attempt: %w", err)
	}
	b := WebhookBegin{Action: WebhookAction(res[0])}
	switch b.Action {
	case WebhookSwitch:
		_, b.Next, _ = strings.Cut(res[1], " ")
	case WebhookRun:
		// The message and its subscription's state come in one round trip.
		var subs []WebhookSubscription
		if res[1] != "" {
			subs = make([]WebhookSubscription, 1)
			if err := decode(res[1], &subs[0]); err != nil {
				_ = s.ReleaseWebhookLease(ctx, ws, WebhookMessage{ID: id, SubscriptionID: subID, OrderKey: orderKey}, token)
				return WebhookBegin{}, fmt.Errorf("tasks: decode webhook: %w", err)
			}
		}
		pipe := s.rdb.Pipeline()
		readMsg := queueWebhookMessages(ctx, pipe, k, []string{id})
		readSub := queueWebhookState(ctx, pipe, k, subs)
		_, err := pipe.Exec(ctx)
		var ms []WebhookMessage
		if err == nil {
			ms, err = readMsg()
		}
		if err != nil || len(ms) == 0 {
			_ = s.ReleaseWebhookLease(ctx, ws, WebhookMessage{ID: id, SubscriptionID: subID, OrderKey: orderKey}, token)
			if err == nil {
				err = ErrNotFound
			}
			return WebhookBegin{}, fmt.Errorf("tasks: begin webhook attempt: %w", err)
		}
		b.Message = ms[0]
		if len(subs) > 0 {
			readSub()
			b.Subscription = &subs[0]
		}
	case WebhookStale, WebhookDone, WebhookWait:
		if len(res) > 2 {
			_, b.Next, _ = strings.Cut(res[2], " ")
		}
		if len(res) > 1 {
			ms, err := s.webhookMessages(ctx, k, []string{id})
			if err != nil {
				return WebhookBegin{}, err
			}
			if len(ms) > 0 {
				b.Message = ms[0]
			}
		}
	}
	return b, nil
}

// beginScript decides whether an attempt may start and takes the lease.
// An ordered message runs only at the head of its task's queue (lowest
// version first) and only while no other message of the task holds a
// lease; the queue's current key records the one in flight.
// KEYS[1] the message
// KEYS[2] its lease
// KEYS[3] the leases by deadline
// KEYS[4] the subscriptions
// KEYS[5] the task queue's in-flight member ("member|deadline ms")
// KEYS[6] the task queue
// KEYS[7] the index of ordered queues
// ARGV[1] message id
// ARGV[2] seq of the attempt the job was queued for
// ARGV[3] lease token
// ARGV[4] lease (ms)
// ARGV[5] subscription id
// ARGV[6] TTL (s)
// ARGV[7] index member of the task queue
// Returns {"done"} (gone), {"done", "m", head of an ordered message's
// queue or ""}, {"stale", "m"}, {"wait", "m"}, {"busy"}, {"switch", head
// member} or {"run", subscription JSON or ""}.
var beginScript = redis.NewScript(redisNow + `
local h = redis.call("HMGET", KEYS[1], "s", "q", "d")
if not h[1] then return {"done"} end
local doc = cjson.decode(h[3])
local ordered = doc.order_key and doc.order_key ~= ""
if h[1] ~= "pending" then
  if ordered then
    return {"done", "m", redis.call("ZRANGE", KEYS[6], 0, 0)[1] or ""}
  end
  return {"done", "m"}
end
if tonumber(h[2]) ~= tonumber(ARGV[2]) then return {"stale", "m"} end
local lease = redis.call("GET", KEYS[2])
if lease and tonumber(string.match(lease, "|(%d+)$")) > now then return {"busy"} end
local deadline = now + tonumber(ARGV[4])
if ordered then
  local mine = doc.event_id .. " " .. ARGV[1]
  local head = redis.call("ZRANGE", KEYS[6], 0, 0)[1]
  if not head then
    -- the queue expired under a pending message: put it back
    redis.call("ZADD", KEYS[6], doc.order_score or 0, mine)
    redis.call("EXPIRE", KEYS[6], ARGV[6])
    redis.call("SADD", KEYS[7], ARGV[7])
    head = redis.call("ZRANGE", KEYS[6], 0, 0)[1]
  end
  if head ~= mine then return {"switch", head} end
  local cur = redis.call("GET", KEYS[5])
  if cur then
    local who, till = string.match(cur, "^(.*)|(%d+)$")
    if who ~= mine and tonumber(till) > now then return {"wait", "m"} end
  end
  redis.call("SET", KEYS[5], mine .. "|" .. deadline, "EX", ARGV[6])
end
redis.call("SET", KEYS[2], ARGV[3] .. "|" .. deadline, "PX", ARGV[4])
redis.call("ZADD", KEYS[3], deadline, ARGV[1])
return {"run", redis.call("HGET", KEYS[4], ARGV[5]) or ""}
`)

// ReleaseWebhookLease gives up the lease token holds of m without
// recording anything, so the same attempt can run again (a worker shutting
// down).
func (s *Store) ReleaseWebhookLease(ctx context.Context, ws WorkspaceID, m WebhookMessage, token string) error {
	_, err := s.releaseWebhookLease(ctx, ws, m, token, false)
	return err
}

// ParkWebhookMessage releases token's lease of m, whose subscription was
// found disabled, and parks the message in the subscription's parked set
// until it is enabled. It returns false, keeping the lease, when the
// subscription is enabled by now: the caller makes the attempt after all.
func (s *Store) ParkWebhookMessage(ctx context.Context, ws WorkspaceID, m WebhookMessage, token string) (bool, error) {
	return s.releaseWebhookLease(ctx, ws, m, token, true)
}

func (s *Store) releaseWebhookLease(ctx context.Context, ws WorkspaceID, m WebhookMessage, token string, park bool) (bool, error) {
	k := keysFor(ws)
	res, err := releaseScript.Run(ctx, s.rdb,
		[]string{k.whLease(m.ID), k.whLeases(), k.whFIFOCur(m.SubscriptionID, m.OrderKey), k.whState(m.SubscriptionID), k.whParked(m.SubscriptionID)},
		m.ID, token, boolFlag(park), s.clock().UnixMilli()).Text()
	if err != nil && !isNil(err) {
		return false, fmt.Errorf("tasks: release webhook lease: %w", err)
	}
	return scriptResult(res) == resParked, nil
}

// releaseScript drops a lease held by ARGV[2]; asked to park, it does so
// only while the subscription is disabled, and otherwise keeps the lease.
// KEYS[1] the lease
// KEYS[2] the leases by deadline
// KEYS[3] the task queue's in-flight member
// KEYS[4] the subscription's state
// KEYS[5] the subscription's parked messages
// ARGV[1] message id
// ARGV[2] token
// ARGV[3] "1" to park
// ARGV[4] now (Unix ms), the parked score
// Returns "lost" (not held), "released", "parked" or "enabled" (not
// parked, lease kept).
var releaseScript = redis.NewScript(`
local lease = redis.call("GET", KEYS[1])
if not lease or string.match(lease, "^[^|]*") ~= ARGV[2] then return "lost" end
if ARGV[3] == "1" and redis.call("HGET", KEYS[4], "en") ~= "0" then return "enabled" end
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[1])
local cur = redis.call("GET", KEYS[3])
if cur and string.match(cur, " ([^ |]*)|") == ARGV[1] then redis.call("DEL", KEYS[3]) end
if ARGV[3] == "1" then
  redis.call("ZADD", KEYS[5], ARGV[4], ARGV[1])
  return "parked"
end
return "released"
`)

// ParkedWebhookMessages returns up to count ids of the subscription's
// parked messages, oldest first.
func (s *Store) ParkedWebhookMessages(ctx context.Context, ws WorkspaceID, subID string, count int) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, keysFor(ws).whParked(subID), 0, int64(count)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: parked webhook messages: %w", err)
	}
	return ids, nil
}

// UnparkWebhookMessages removes ids from the subscription's parked set,
// once their attempts are queued again.
func (s *Store) UnparkWebhookMessages(ctx context.Context, ws WorkspaceID, subID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	if err := s.rdb.ZRem(ctx, keysFor(ws).whParked(subID), members...).Err(); err != nil {
		return fmt.Errorf("tasks: unpark webhook messages: %w", err)
	}
	return nil
}

// WebhookResult is what an attempt means for its message, decided by the
// caller from the retry rules.
type WebhookResult struct {
	// Status is WebhookPending to retry at NextAt, or the final status.
	Status         WebhookStatus
	NextAt         time.Time
	NextDeliveryID string
	// Attempt is the attempt to log; nil when none was made (the
	// subscription was deleted meanwhile).
	Attempt *WebhookAttempt
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

// WebhookFinished is what FinishWebhookAttempt did.
type WebhookFinished struct {
	// Lost is true when the lease had expired and another worker took the
	// message over: the attempt was logged, nothing else changed.
	Lost bool
	// Disabled is true when this attempt disabled the subscription.
	Disabled bool
	// Next is the message heading the task queue after an ordered
	// message went final, "" when none: its job may need queueing.
	Next string
}

// FinishWebhookAttempt logs the attempt made under token's lease of message
// m (as read at its start) and applies r, releasing the lease, all at once.
func (s *Store) FinishWebhookAttempt(ctx context.Context, ws WorkspaceID, m WebhookMessage, token string, r WebhookResult) (WebhookFinished, error) {
	k := keysFor(ws)
	now := s.clock()
	attempt := ""
	if r.Attempt != nil {
		attempt = mustJSON(r.Attempt)
	}
	res, err := finishScript.Run(ctx, s.rdb,
		[]string{k.whMsg(m.ID), k.whAttempts(m.ID), k.whLease(m.ID), k.whLeases(), k.whState(m.SubscriptionID),
			k.whOutcomes(m.SubscriptionID), k.whFailed(m.SubscriptionID), k.whPending(), k.whSubs(),
			k.whFIFO(m.SubscriptionID, m.OrderKey), k.whFIFOCur(m.SubscriptionID, m.OrderKey), k.whQueues()},
		m.ID, token, attempt, string(r.Status), r.NextAt.UnixMilli(), r.NextDeliveryID, now.UnixMilli(),
		boolFlag(r.Count), r.DisableAfter, r.Disable, r.DisableAfterReason, m.SubscriptionID,
		ttlSeconds(WebhookRetention), m.CreatedAt.UnixMilli(), m.member(), webhookOutcomeWindow,
		queueMember(m.SubscriptionID, m.OrderKey), now.Add(-WebhookRetention).UnixMilli()).StringSlice()
	if err != nil {
		return WebhookFinished{}, fmt.Errorf("tasks: finish webhook attempt: %w", err)
	}
	f := WebhookFinished{Lost: scriptResult(res[0]) == resLost}
	if len(res) == 3 {
		f.Disabled = res[1] == "1"
		_, f.Next, _ = strings.Cut(res[2], " ")
		disabled := int64(0)
		if f.Disabled {
			disabled = 1
		}
		s.bumpWebhookStats(ctx, -1, disabled)
	}
	return f, nil
}

// finishScript logs an attempt and moves its message on.
// KEYS[1] the message
// KEYS[2] its attempts
// KEYS[3] its lease
// KEYS[4] the leases by deadline
// KEYS[5] the subscription's state
// KEYS[6] the subscription's outcomes
// KEYS[7] the subscription's failed index
// KEYS[8] the pending counter
// KEYS[9] the subscriptions
// KEYS[10] the task queue
// KEYS[11] the task queue's in-flight member
// KEYS[12] the index of ordered queues
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
// Returns {"lost"}, {"retry"} or {status, disabled flag, next head or ""}.
var finishScript = redis.NewScript(`
local lease = redis.call("GET", KEYS[3])
local held = lease and string.match(lease, "^[^|]*") == ARGV[2]
if ARGV[3] ~= "" then
  redis.call("RPUSH", KEYS[2], ARGV[3])
  redis.call("EXPIRE", KEYS[2], ARGV[13])
  redis.call("HINCRBY", KEYS[1], "n", 1)
  if redis.call("EXISTS", KEYS[5]) == 1 then redis.call("HSET", KEYS[5], "lt", ARGV[7]) end
end
if not held then return {"lost"} end
redis.call("DEL", KEYS[3])
redis.call("ZREM", KEYS[4], ARGV[1])
if ARGV[15] ~= "" then
  local cur = redis.call("GET", KEYS[11])
  if cur and string.sub(cur, 1, #ARGV[15] + 1) == ARGV[15] .. "|" then redis.call("DEL", KEYS[11]) end
end
if ARGV[4] == "pending" then
  redis.call("HINCRBY", KEYS[1], "q", 1)
  redis.call("HINCRBY", KEYS[1], "r", 1)
  redis.call("HSET", KEYS[1], "t", ARGV[5], "nd", ARGV[6])
  return {"retry"}
end
redis.call("HSET", KEYS[1], "s", ARGV[4])
redis.call("DECR", KEYS[8])
redis.call("ZREMRANGEBYSCORE", KEYS[7], "-inf", "(" .. ARGV[18])
if ARGV[4] == "failed" then
  redis.call("ZADD", KEYS[7], ARGV[14], ARGV[1])
  redis.call("EXPIRE", KEYS[7], ARGV[13])
else
  redis.call("ZREM", KEYS[7], ARGV[1])
end
local live = redis.call("HEXISTS", KEYS[9], ARGV[12]) == 1
local disabled = "0"
if live and ARGV[8] == "1" then
  redis.call("LPUSH", KEYS[6], ARGV[4] == "delivered" and "1" or "0")
  redis.call("LTRIM", KEYS[6], 0, tonumber(ARGV[16]) - 1)
  local reason = ARGV[10]
  if ARGV[4] == "delivered" then
    redis.call("HSET", KEYS[5], "cf", 0)
  else
    local cf = redis.call("HINCRBY", KEYS[5], "cf", 1)
    local after = tonumber(ARGV[9])
    if reason == "" and after > 0 and cf >= after then reason = ARGV[11] end
  end
  if reason ~= "" and redis.call("HGET", KEYS[5], "en") == "1" then
    redis.call("HSET", KEYS[5], "en", "0", "dr", reason)
    disabled = "1"
  end
end
local nextMember = ""
if ARGV[15] ~= "" then
  redis.call("ZREM", KEYS[10], ARGV[15])
  nextMember = redis.call("ZRANGE", KEYS[10], 0, 0)[1] or ""
  if nextMember == "" then redis.call("SREM", KEYS[12], ARGV[17]) end
end
return {ARGV[4], disabled, nextMember}
`)

// RequeueWebhookMessage queues a new attempt of a message now, with a fresh
// retry round: redeliver and recover. An ordered message rejoins its task's
// queue in its version's place. Its expiry starts again. Errors:
// ErrNotFound, *ConflictError while an attempt is in flight.
func (s *Store) RequeueWebhookMessage(ctx context.Context, ws WorkspaceID, subID, id, deliveryID string) (WebhookQueued, error) {
	k := keysFor(ws)
	m, err := s.WebhookMessage(ctx, ws, id)
	if err != nil {
		return WebhookQueued{}, err
	}
	if m.SubscriptionID != subID {
		return WebhookQueued{}, ErrNotFound
	}
	now := s.clock()
	res, err := requeueScript.Run(ctx, s.rdb,
		[]string{k.whMsg(id), k.whLease(id), k.whFailed(subID), k.whPending(), k.whFIFO(subID, m.OrderKey), k.whQueues(),
			k.whAttempts(id), k.whMsgKey(subID, m.EventID), k.whMsgs(subID), k.whParked(subID)},
		now.UnixMilli(), deliveryID, m.OrderScore, m.member(), ttlSeconds(WebhookRetention), id,
		queueMember(subID, m.OrderKey)).StringSlice()
	if err != nil {
		return WebhookQueued{}, fmt.Errorf("tasks: requeue webhook message: %w", err)
	}
	if len(res) > 1 && res[1] == "1" {
		s.bumpWebhookStats(ctx, 1, 0)
	}
	switch scriptResult(res[0]) {
	case resGone:
		return WebhookQueued{}, ErrNotFound
	case resBusy:
		return WebhookQueued{}, conflict("an attempt of this message is in flight; try again when it ends")
	}
	m, err = s.WebhookMessage(ctx, ws, id)
	if err != nil {
		return WebhookQueued{}, err
	}
	return WebhookQueued{Message: m, Created: true, Runnable: scriptResult(res[0]) == resRun}, nil
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
// ARGV[1] now (Unix ms)
// ARGV[2] delivery id of the new attempt
// ARGV[3] queue score
// ARGV[4] queue member ("" unordered)
// ARGV[5] TTL (s)
// ARGV[6] message id
// ARGV[7] index member of the task queue
// Returns {"gone"}, {"busy"}, or {"run" (queue its attempt) or "wait"
// (an earlier message of its task is ahead), "1" when it was final}.
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
if ARGV[4] == "" then return {"run", was} end
redis.call("ZADD", KEYS[5], ARGV[3], ARGV[4])
redis.call("EXPIRE", KEYS[5], ARGV[5])
redis.call("SADD", KEYS[6], ARGV[7])
if redis.call("ZRANGE", KEYS[5], 0, 0)[1] == ARGV[4] then return {"run", was} end
return {"wait", was}
`)

// FailedWebhookMessages returns up to count ids of the subscription's failed
// messages created at or after since (and within WebhookRetention), oldest
// first, skipping offset of them.
func (s *Store) FailedWebhookMessages(ctx context.Context, ws WorkspaceID, subID string, since time.Time, offset, count int) ([]string, error) {
	if floor := s.clock().Add(-WebhookRetention); since.Before(floor) {
		since = floor
	}
	ids, err := s.rdb.ZRangeByScore(ctx, keysFor(ws).whFailed(subID), &redis.ZRangeBy{
		Min: strconv.FormatInt(since.UnixMilli(), 10), Max: "+inf", Offset: int64(offset), Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: failed webhook messages: %w", err)
	}
	return ids, nil
}

// ExpiredWebhookLeases returns up to count ids of messages whose attempt's
// lease ran out by Redis' clock: their worker died or hangs.
func (s *Store) ExpiredWebhookLeases(ctx context.Context, ws WorkspaceID, count int) ([]string, error) {
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: expired webhook leases: %w", err)
	}
	ids, err := s.rdb.ZRangeByScore(ctx, keysFor(ws).whLeases(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: expired webhook leases: %w", err)
	}
	return ids, nil
}

// ReapWebhookLease takes over message m (as read before) whose lease
// expired by Redis' clock: the lost attempt is logged as interrupted and a
// new attempt (seq+1) queued now. It returns the message and true when the
// caller must queue that attempt; false when the lease is still held or
// the message no longer pending.
func (s *Store) ReapWebhookLease(ctx context.Context, ws WorkspaceID, m WebhookMessage, interrupted WebhookAttempt, deliveryID string) (WebhookMessage, bool, error) {
	k := keysFor(ws)
	res, err := reapScript.Run(ctx, s.rdb, []string{k.whMsg(m.ID), k.whLease(m.ID), k.whLeases(), k.whAttempts(m.ID), k.whFIFOCur(m.SubscriptionID, m.OrderKey)},
		m.ID, mustJSON(interrupted), deliveryID, ttlSeconds(WebhookRetention), s.clock().UnixMilli(), m.member()).Text()
	if err != nil {
		return WebhookMessage{}, false, fmt.Errorf("tasks: reap webhook lease: %w", err)
	}
	if scriptResult(res) != resRequeued {
		return WebhookMessage{}, false, nil
	}
	m, err = s.WebhookMessage(ctx, ws, m.ID)
	return m, err == nil, err
}

// reapScript requeues a message whose lease is gone.
// KEYS[1] the message
// KEYS[2] its lease
// KEYS[3] the leases by deadline
// KEYS[4] its attempts
// KEYS[5] the task queue's in-flight member
// ARGV[1] message id
// ARGV[2] the interrupted attempt's JSON
// ARGV[3] delivery id of the new attempt
// ARGV[4] TTL (s)
// ARGV[5] next attempt at (Unix ms): now
// ARGV[6] task queue member ("" unordered)
// Returns "held", "none" or "requeued".
var reapScript = redis.NewScript(redisNow + `
local lease = redis.call("GET", KEYS[2])
if lease and tonumber(string.match(lease, "|(%d+)$")) > now then return "held" end
redis.call("DEL", KEYS[2])
redis.call("ZREM", KEYS[3], ARGV[1])
if ARGV[6] ~= "" then
  local cur = redis.call("GET", KEYS[5])
  if cur and string.sub(cur, 1, #ARGV[6] + 1) == ARGV[6] .. "|" then redis.call("DEL", KEYS[5]) end
end
if redis.call("HGET", KEYS[1], "s") ~= "pending" then return "none" end
redis.call("RPUSH", KEYS[4], ARGV[2])
redis.call("EXPIRE", KEYS[4], ARGV[4])
redis.call("HINCRBY", KEYS[1], "n", 1)
redis.call("HINCRBY", KEYS[1], "q", 1)
redis.call("HSET", KEYS[1], "t", ARGV[5], "nd", ARGV[3])
return "requeued"
`)

// OrderedQueueHeads returns the message ids heading the workspace's
// non-empty ordered queues, with the subscription of each, and drops
// emptied queues from the index: the sweep checks that each has a job.
func (s *Store) OrderedQueueHeads(ctx context.Context, ws WorkspaceID) (map[string]string, error) {
	k := keysFor(ws)
	qs, err := s.rdb.SMembers(ctx, k.whQueues()).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: webhook queues: %w", err)
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
		return nil, fmt.Errorf("tasks: webhook queues: %w", err)
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
			return nil, fmt.Errorf("tasks: webhook queues: %w", err)
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

// WebhookPending returns how many of the workspace's messages are pending.
func (s *Store) WebhookPending(ctx context.Context, ws WorkspaceID) (int64, error) {
	n, err := s.rdb.Get(ctx, keysFor(ws).whPending()).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("tasks: pending webhook messages: %w", err)
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
