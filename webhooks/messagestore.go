package webhooks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// The messages: recorded once per (subscription, event) in event order,
// read one by one or as a subscription's delivery log.

// newMessage is a message to queue for a subscription.
type newMessage struct {
	SubscriptionID string
	EventID        string
	EventType      tasks.EventType
	Test           bool
	Body           string
	// OrderKey and OrderScore place an ordered subscription's message in
	// its task's queue; OrderKey "" means unordered.
	OrderKey   string
	OrderScore int64
	// DeliveryID is the X-Tasker-Delivery id of the first attempt.
	DeliveryID string
}

// queued says what the caller must do about a message just queued
// or requeued: when Runnable, make sure it is due at NextAt.
type queued struct {
	Message  message
	Created  bool // false when the (subscription, event) pair had its message already
	Runnable bool // false while an ordered message waits for its turn
}

// errFenced is returned by createMessages when the caller's fan-out
// lock has passed to another replica: it must stop, and the new holder
// carries on from the events not yet acknowledged.
var errFenced = errors.New("webhooks: webhook fan-out lock lost")

// createMessage records a pending message once per (subscription,
// event) and, for an ordered subscription, adds it to its task's queue.
// It is for messages outside the event stream (test events).
func (s *store) createMessage(ctx context.Context, ws tasks.WorkspaceID, in newMessage) (queued, error) {
	qs, err := s.createMessages(ctx, ws, []newMessage{in}, "")
	if err != nil {
		return queued{}, err
	}
	return qs[0], nil
}

// createMessages is createMessage for several messages at
// once (a batch of events' fan-out), in one script call per up to
// maxBatch of them; each is still recorded atomically on its own, in the
// order of ins. fence is
// the caller's fan-out lock token: when another replica holds the lock
// nothing more is created and the error is errFenced. "" skips the check.
// The answers follow ins.
func (s *store) createMessages(ctx context.Context, ws tasks.WorkspaceID, ins []newMessage, fence string) ([]queued, error) {
	if err := s.tasks.RegisterWorkspace(ctx, ws); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, nil
	}
	if err := s.markActive(ctx, ws); err != nil {
		return nil, err
	}
	now := s.clock()
	k := keysFor(ws)
	trim := "(msg_" + idFloor(now.Add(-Retention))
	ms := make([]message, len(ins))
	keys := make([][]string, len(ins))
	args := make([][]any, len(ins))
	for i, in := range ins {
		m := message{
			ID: tasks.NewID("msg_", now), SubscriptionID: in.SubscriptionID, EventID: in.EventID, EventType: in.EventType,
			Test: in.Test, Body: in.Body, OrderKey: in.OrderKey, OrderScore: in.OrderScore, CreatedAt: now,
		}
		ms[i] = m
		keys[i] = []string{k.whMsgKey(m.SubscriptionID, m.EventID), k.whMsg(m.ID), k.whMsgs(m.SubscriptionID), k.whPending(),
			k.whFIFO(m.SubscriptionID, m.OrderKey), k.whQueues(), k.whFanLock(), k.whDue()}
		args[i] = []any{m.ID, mustJSON(m), in.DeliveryID, now.UnixMilli(), ttlSeconds(Retention), trim,
			m.OrderScore, m.member(), queueMember(m.SubscriptionID, m.OrderKey), fence, m.SubscriptionID, m.OrderKey, boolFlag(m.Test)}
	}
	answers, err := runBatch(ctx, s.rdb, createMessageScript, keys, args)
	if err != nil {
		return nil, fmt.Errorf("webhooks: queue webhook messages: %w", err)
	}
	out := make([]queued, len(ins))
	for i, res := range answers {
		if len(res) != 2 {
			return nil, fmt.Errorf("webhooks: queue webhook message: unexpected answer %q", res)
		}
		switch scriptResult(res[0]) {
		case resFenced:
			return nil, errFenced
		case resDup:
			if out[i], err = s.runnable(ctx, ws, res[1]); err != nil && !errors.Is(err, tasks.ErrNotFound) {
				return nil, err
			}
			continue
		}
		m := ms[i]
		m.Status, m.Seq, m.NextAt, m.NextDeliveryID = StatusPending, 1, now, ins[i].DeliveryID
		out[i] = queued{Message: m, Created: true, Runnable: scriptResult(res[0]) == resRun}
	}
	return out, nil
}

// createMessageScript records a message once and queues it; batchScript
// runs it over many, with these keys and arguments per item. The fence and
// the trim of a subscription's messages are done once per call.
// KEYS[1] the (subscription, event) key
// KEYS[2] the message
// KEYS[3] the subscription's messages
// KEYS[4] the pending counter
// KEYS[5] the task queue (unused for an unordered message)
// KEYS[6] the index of ordered queues
// KEYS[7] the fan-out lock
// KEYS[8] the due set (scored on Redis' clock)
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
// ARGV[11] subscription id
// ARGV[12] task id of an ordered message ("" unordered)
// ARGV[13] "1" for a test message
// Returns {"fenced", ""}, {"dup", existing id}, {"run", id} (its first
// attempt is due now) or {"wait", id} (an earlier message of its task is
// ahead).
var createMessageScript = batchScript(perItem(`
if ARGV[10] ~= "" then
  if memo.fence == nil then memo.fence = redis.call("GET", KEYS[7]) end
  if memo.fence ~= ARGV[10] then return {"fenced", ""} end
end
local existing = redis.call("GET", KEYS[1])
if existing then return {"dup", existing} end
redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[5])
redis.call("HSET", KEYS[2], "d", ARGV[2], "s", "pending", "q", 1, "r", 0, "t", ARGV[4], "nd", ARGV[3], "n", 0,
  "sub", ARGV[11], "ok", ARGV[12], "om", ARGV[8], "os", ARGV[7], "tst", ARGV[13])
redis.call("EXPIRE", KEYS[2], ARGV[5])
if not memo[KEYS[3]] then
  redis.call("ZREMRANGEBYLEX", KEYS[3], "-", ARGV[6])
  memo[KEYS[3]] = true
end
redis.call("ZADD", KEYS[3], 0, ARGV[1])
redis.call("INCR", KEYS[4])
if ARGV[8] == "" then
  redis.call("ZADD", KEYS[8], now, ARGV[1])
  return {"run", ARGV[1]}
end
redis.call("ZADD", KEYS[5], ARGV[7], ARGV[8])
redis.call("EXPIRE", KEYS[5], ARGV[5])
redis.call("SADD", KEYS[6], ARGV[9])
if redis.call("ZRANGE", KEYS[5], 0, 0)[1] == ARGV[8] then
  redis.call("ZADD", KEYS[8], now, ARGV[1])
  return {"run", ARGV[1]}
end
return {"wait", ARGV[1]}
`))

// runnable reads a message and whether its current attempt
// may run now: it is pending and, when ordered, it heads its task's queue
// (the attempt itself still waits while another message of the task is
// in flight). Errors:
// tasks.ErrNotFound.
func (s *store) runnable(ctx context.Context, ws tasks.WorkspaceID, id string) (queued, error) {
	m, err := s.getMessage(ctx, ws, id)
	if err != nil {
		return queued{}, err
	}
	q := queued{Message: m, Runnable: m.Status == StatusPending}
	if q.Runnable && m.OrderKey != "" {
		head, err := s.rdb.ZRange(ctx, keysFor(ws).whFIFO(m.SubscriptionID, m.OrderKey), 0, 0).Result()
		if err != nil {
			return queued{}, fmt.Errorf("webhooks: webhook queue: %w", err)
		}
		// A pending message missing from its queue (the queue expired) may
		// run: the lease script puts it back.
		q.Runnable = len(head) == 0 || head[0] == m.member()
	}
	return q, nil
}

// message returns a message with its attempts. Errors: tasks.ErrNotFound.
func (s *store) getMessage(ctx context.Context, ws tasks.WorkspaceID, id string) (message, error) {
	ms, err := s.messages(ctx, keysFor(ws), []string{id})
	if err != nil {
		return message{}, err
	}
	if len(ms) == 0 {
		return message{}, tasks.ErrNotFound
	}
	return ms[0], nil
}

// messages reads messages and their attempts in one pipeline,
// leaving out those that expired.
func (s *store) messages(ctx context.Context, k keys, ids []string) ([]message, error) {
	pipe := s.rdb.Pipeline()
	read := queueMessageReads(ctx, pipe, k, ids)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("webhooks: read webhook messages: %w", err)
	}
	return read()
}

// queueMessageReads queues on pipe the reads of messages ids; the
// function it returns decodes them once the pipeline has run.
func queueMessageReads(ctx context.Context, pipe redis.Pipeliner, k keys, ids []string) func() ([]message, error) {
	hashes := make([]*redis.MapStringStringCmd, len(ids))
	attempts := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		hashes[i] = pipe.HGetAll(ctx, k.whMsg(id))
		attempts[i] = pipe.LRange(ctx, k.whAttempts(id), 0, -1)
	}
	return func() ([]message, error) { return decodeMessages(ids, hashes, attempts) }
}

// decodeMessages decodes the replies of queueMessageReads,
// leaving out messages that expired.
func decodeMessages(ids []string, hashes []*redis.MapStringStringCmd, attempts []*redis.StringSliceCmd) ([]message, error) {
	out := make([]message, 0, len(ids))
	for i := range ids {
		h := hashes[i].Val()
		if h["d"] == "" {
			continue
		}
		var m message
		if err := decodeJSON(h["d"], &m); err != nil {
			return nil, fmt.Errorf("webhooks: decode webhook message: %w", err)
		}
		m.Status = Status(h["s"])
		m.Seq, m.Round = mustInt(h["q"]), int(mustInt(h["r"]))
		m.NextAt, m.NextDeliveryID = time.UnixMilli(mustInt(h["t"])).UTC(), h["nd"]
		// Attempts logged before they moved into the hash are in their
		// list, the hash's are numbered; a replica of the older version
		// may still append to the list during an upgrade, so the two are
		// merged by time.
		raws := attempts[i].Val()
		for n := int64(1); n <= mustInt(h["n"]); n++ {
			if raw, ok := h["a:"+strconv.FormatInt(n, 10)]; ok {
				raws = append(raws, raw)
			}
		}
		for _, raw := range raws {
			var a AttemptLog
			if err := decodeJSON(raw, &a); err != nil {
				return nil, fmt.Errorf("webhooks: decode webhook attempt: %w", err)
			}
			m.Attempts = append(m.Attempts, a)
		}
		slices.SortStableFunc(m.Attempts, func(a, b AttemptLog) int { return a.At.Compare(b.At) })
		out = append(out, m)
	}
	return out, nil
}

// maxStatusScan bounds how many messages one page of a status-filtered
// delivery log looks at; a page may then come back short, with a cursor to
// read on from.
const maxStatusScan = 1000

// listMessages pages a subscription's messages newest first, only those
// with the given status unless status is "". cursor is "" or a next cursor
// it returned; the next cursor is "" on the last page. A filtered page
// looks at most at maxStatusScan messages, so it may hold fewer than limit
// and still have a next cursor. Errors: *ValidationError for a bad cursor.
func (s *store) listMessages(ctx context.Context, ws tasks.WorkspaceID, subID string, status Status, cursor string, limit int) ([]message, string, error) {
	limit = tasks.ClampLimit(limit)
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
			return nil, fmt.Errorf("webhooks: list webhook messages: %w", err)
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
		ms, err := s.messages(ctx, k, ids)
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
			return nil, "", fmt.Errorf("webhooks: list webhook messages: %w", err)
		}
		for i, id := range ids {
			scanned++
			next = cursorAt(id)
			if Status(sts[i].Val()) == status {
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
	ms, err := s.messages(ctx, k, match)
	return ms, next, err
}
