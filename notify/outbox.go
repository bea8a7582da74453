package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// The Cliq outbox log (SPEC 7.4, GET /api/v1/notifications): one record per
// (event, destination), created pending and updated with the outcome of
// every attempt to post it. Pending records also wait in a queue per
// destination, so that posts held back by the rate limit leave together as
// one digest; a flush takes the whole queue at once as a batch. This is the
// notifier's own bookkeeping (SPEC 1), kept beside the workspace's keys
// under its hash tag, with the key names it had in package tasks.

// Outbox keeps the Cliq outbox log and the destinations' queues in Redis.
type Outbox struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// NewOutbox returns the outbox log on rdb; now is the clock.
func NewOutbox(rdb redis.UniversalClient, now func() time.Time) *Outbox {
	return &Outbox{rdb: rdb, now: now}
}

// clock is now in UTC at the millisecond, as records store it.
func (s *Outbox) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// outboxKeys builds the outbox's keys of one workspace.
type outboxKeys struct{ p string }

func keysOf(ws tasks.WorkspaceID) outboxKeys { return outboxKeys{p: tasks.KeyPrefix(ws)} }

// NotificationRetention is how long the outbox log keeps a notification.
const NotificationRetention = 30 * 24 * time.Hour

// MaxBatch is the most notifications one flush takes from a destination's
// queue; the rest wait for the next flush.
const MaxBatch = 500

// NotificationStatus is where a notification stands.
type NotificationStatus string

// The statuses of a notification. Pending is the only one that changes.
const (
	NotificationPending NotificationStatus = "pending"
	NotificationSent    NotificationStatus = "sent"
	NotificationFailed  NotificationStatus = "failed"
	// NotificationDryRun means no Cliq credentials were configured: the
	// notification was recorded, not sent.
	NotificationDryRun NotificationStatus = "dry_run"
)

// Valid reports whether s is a known status.
func (s NotificationStatus) Valid() bool {
	switch s {
	case NotificationPending, NotificationSent, NotificationFailed, NotificationDryRun:
		return true
	}
	return false
}

// DestinationKind says how a notification reaches Cliq.
type DestinationKind string

// The kinds of destination.
const (
	// DestinationChannel is a channel, by unique name, posted to as the bot.
	DestinationChannel DestinationKind = "channel"
	// DestinationUser is a direct message through the bot to a Cliq user id.
	DestinationUser DestinationKind = "user"
	// DestinationChat is a chat, by chat id.
	DestinationChat DestinationKind = "chat"
)

// Destination is where a notification is posted.
type Destination struct {
	Kind DestinationKind `json:"kind"`
	Name string          `json:"name"`
}

// String gives the destination as "kind:name", for logs and keys.
func (d Destination) String() string { return string(d.Kind) + ":" + d.Name }

// Valid reports what is wrong with d, or nil.
func (d Destination) Valid() error {
	switch d.Kind {
	case DestinationChannel, DestinationUser, DestinationChat:
	default:
		return invalidf(map[string]string{"destination.kind": "must be channel, user or chat"})
	}
	if d.Name == "" || len(d.Name) > 200 || strings.IndexFunc(d.Name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0 {
		return invalidf(map[string]string{"destination.name": "must be a Cliq unique name or id"})
	}
	return nil
}

// Notification is one record of the outbox log. Its JSON is the wire form
// of GET /api/v1/notifications.
type Notification struct {
	ID          string             `json:"id"`
	EventID     *string            `json:"event_id"` // null for messages no event caused
	Destination Destination        `json:"destination"`
	Message     json.RawMessage    `json:"message"` // the Cliq message, as posted when alone
	Status      NotificationStatus `json:"status"`
	Attempts    int                `json:"attempts"` // calls to the Cliq API made for it
	Error       *string            `json:"error"`    // the last attempt's error; null once sent
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
	// Summary is how a digest lists the notification. It is kept with the
	// record but is not part of the wire form.
	Summary NotificationSummary `json:"-"`
}

// NotificationSummary is one line of a digest that combines notifications.
type NotificationSummary struct {
	Type       tasks.EventType `json:"type,omitempty"`        // the event's type; "" for other messages
	TaskNumber int64           `json:"task_number,omitempty"` // 0 when not about a task
	Title      string          `json:"title"`
	TaskOpen   bool            `json:"task_open,omitempty"` // the task was open, so it has actions
}

// NewNotification is a notification to record.
type NewNotification struct {
	EventID string // "" for messages no event caused
	// Key makes recording idempotent: a key seen within the retention gives
	// back the notification recorded for it. "" never matches.
	Key         string
	Destination Destination
	Message     json.RawMessage
	Summary     NotificationSummary
	// DryRun records the notification as dry_run instead of queueing it.
	DryRun bool
}

// notificationDoc is the part of a record that never changes.
type notificationDoc struct {
	ID          string              `json:"id"`
	EventID     *string             `json:"event_id"`
	Destination Destination         `json:"destination"`
	Message     json.RawMessage     `json:"message"`
	CreatedAt   time.Time           `json:"created_at"`
	Summary     NotificationSummary `json:"summary"`
}

// ntf is a HASH with a TTL of NotificationRetention: field d holds the
// notificationDoc JSON; s the status, a the attempts, e the last error
// (absent: none), u the update time (RFC 3339).
func (k outboxKeys) ntf(id string) string { return k.p + "ntf:" + id }

// ntfIndex is a ZSET of notification ids, all scored 0, paged newest first
// with ZREVRANGEBYLEX (ids are time-ordered) and trimmed by id.
func (k outboxKeys) ntfIndex() string { return k.p + "ntfs" }

// ntfKey is a STRING with a TTL of NotificationRetention: the id of the
// notification recorded for an idempotency key (its SHA-256, hex).
func (k outboxKeys) ntfKey(hash string) string { return k.p + "ntfk:" + hash }

// ntfQueue is a ZSET of the ids of a destination's pending notifications
// that no flush has taken yet, scored by creation time in milliseconds.
func (k outboxKeys) ntfQueue(d Destination) string { return k.p + "ntfq:" + d.String() }

// ntfFlusher is a STRING: the id of the flush that will take the
// destination's queue. It is set whenever the queue is not empty.
func (k outboxKeys) ntfFlusher(d Destination) string { return k.p + "ntff:" + d.String() }

// ntfBatch is a LIST with a TTL of NotificationRetention: the ids a flush
// took, kept until their outcome is final so a retried flush resends them.
func (k outboxKeys) ntfBatch(flushID string) string { return k.p + "ntfb:" + flushID }

// queueScript records a notification once per idempotency key and, when it
// is pending, queues it for its destination.
//
// KEYS: idempotency key, record, index, destination queue, destination flusher.
// ARGV: id, doc JSON, status, update time, TTL (s), index trim bound,
// queue score, candidate flush id.
// Returns {"new"|"dup", id, the destination's flusher or ""}.
var queueScript = redis.NewScript(`
local existing = redis.call("GET", KEYS[1])
if existing then return {"dup", existing, redis.call("GET", KEYS[5]) or ""} end
redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[5])
redis.call("HSET", KEYS[2], "d", ARGV[2], "s", ARGV[3], "a", 0, "u", ARGV[4])
redis.call("EXPIRE", KEYS[2], ARGV[5])
redis.call("ZREMRANGEBYLEX", KEYS[3], "-", ARGV[6])
redis.call("ZADD", KEYS[3], 0, ARGV[1])
redis.call("EXPIRE", KEYS[3], ARGV[5])
if ARGV[3] ~= "pending" then return {"new", ARGV[1], ""} end
redis.call("ZADD", KEYS[4], ARGV[7], ARGV[1])
local cur = redis.call("GET", KEYS[5])
if not cur then
  redis.call("SET", KEYS[5], ARGV[8])
  cur = ARGV[8]
end
return {"new", ARGV[1], cur}
`)

// QueueNotification records in as pending (or dry_run) and queues it for
// its destination, atomically. flushID is a fresh id for the flush to
// schedule should the destination have none. It returns the notification,
// whether it was recorded now (false: in.Key was seen before), and the
// destination's current flush id, which the caller makes sure is scheduled
// ("" when nothing waits). Errors: *tasks.ValidationError for a bad destination.
func (s *Outbox) QueueNotification(ctx context.Context, ws tasks.WorkspaceID, in NewNotification, flushID string) (Notification, bool, string, error) {
	if err := in.Destination.Valid(); err != nil {
		return Notification{}, false, "", err
	}
	if err := ws.Valid(); err != nil {
		return Notification{}, false, "", err
	}
	now := s.clock()
	doc := notificationDoc{
		ID: tasks.NewID("ntf_", now), Destination: in.Destination, Message: in.Message,
		CreatedAt: now, Summary: in.Summary,
	}
	if in.EventID != "" {
		doc.EventID = &in.EventID
	}
	if len(doc.Message) == 0 {
		doc.Message = json.RawMessage("{}")
	}
	status := NotificationPending
	if in.DryRun {
		status = NotificationDryRun
	}
	idem := in.Key
	if idem == "" {
		idem = doc.ID
	}
	sum := sha256.Sum256([]byte(idem))
	k := keysOf(ws)
	cutoff := now.Add(-NotificationRetention).UnixMilli()
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return Notification{}, false, "", fmt.Errorf("notify: encode notification: %w", err)
	}
	res, err := queueScript.Run(ctx, s.rdb,
		[]string{k.ntfKey(hex.EncodeToString(sum[:])), k.ntf(doc.ID), k.ntfIndex(), k.ntfQueue(in.Destination), k.ntfFlusher(in.Destination)},
		doc.ID, string(docJSON), string(status), now.Format(time.RFC3339Nano), int64(NotificationRetention/time.Second),
		"(ntf_"+idFloor(cutoff), now.UnixMilli(), flushID,
	).StringSlice()
	if err != nil {
		return Notification{}, false, "", fmt.Errorf("notify: queue notification: %w", err)
	}
	if len(res) != 3 {
		return Notification{}, false, "", fmt.Errorf("notify: queue notification: unexpected script answer %q", res)
	}
	if res[0] == "new" {
		return Notification{
			ID: doc.ID, EventID: doc.EventID, Destination: doc.Destination, Message: doc.Message,
			Status: status, CreatedAt: now, UpdatedAt: now, Summary: doc.Summary,
		}, true, res[2], nil
	}
	n, err := s.GetNotification(ctx, ws, res[1])
	if err != nil {
		return Notification{}, false, "", err
	}
	return n, false, res[2], nil
}

// FlushState is what a flush found when it came for a destination's queue.
type FlushState string

// The states of FlushStep.
const (
	// FlushBatch: the flush holds a batch to post (IDs; maybe empty).
	FlushBatch FlushState = "batch"
	// FlushDeferred: the queue now belongs to the flush Next, to run later.
	FlushDeferred FlushState = "deferred"
	// FlushStale: another flush (Next, or none) owns the queue; this one has
	// nothing to do.
	FlushStale FlushState = "stale"
)

// FlushStep is the outcome of ClaimNotifications or DeferNotifications.
type FlushStep struct {
	State FlushState
	IDs   []string // the batch, oldest first
	// Next is the flush that now owns the destination's queue, to be
	// scheduled by the caller; "" when nothing waits.
	Next string
}

// flushScript moves a destination's queue into a flush's batch, or hands
// the queue on to a later flush.
//
// KEYS: the flush's batch, destination queue, destination flusher.
// ARGV: flush id, "claim" or "defer", the next flush id, batch TTL (s), max batch.
// Returns {state, next flush or "", ids…}: "batch" when the flush already
// holds a batch (a retry) or has just taken one; "stale" when another flush
// owns the queue; "deferred" when the queue passed to the next flush.
var flushScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then
  local out = {"batch", ""}
  for _, id in ipairs(redis.call("LRANGE", KEYS[1], 0, -1)) do out[#out + 1] = id end
  return out
end
local cur = redis.call("GET", KEYS[3])
if cur ~= ARGV[1] then return {"stale", cur or ""} end
if ARGV[2] == "defer" then
  redis.call("SET", KEYS[3], ARGV[3])
  return {"deferred", ARGV[3]}
end
local ids = redis.call("ZRANGE", KEYS[2], 0, tonumber(ARGV[5]) - 1)
local next = ""
if #ids > 0 then redis.call("ZREM", KEYS[2], unpack(ids)) end
if redis.call("ZCARD", KEYS[2]) > 0 then
  redis.call("SET", KEYS[3], ARGV[3])
  next = ARGV[3]
else
  redis.call("DEL", KEYS[2], KEYS[3])
end
local out = {"batch", next}
if #ids > 0 then
  redis.call("RPUSH", KEYS[1], unpack(ids))
  redis.call("EXPIRE", KEYS[1], ARGV[4])
  for _, id in ipairs(ids) do out[#out + 1] = id end
end
return out
`)

// ClaimNotifications lets flush flushID take dest's queue as its batch, up
// to MaxBatch; next is a fresh id for the flush of what is left over. A
// flush that already holds a batch gets it again.
func (s *Outbox) ClaimNotifications(ctx context.Context, ws tasks.WorkspaceID, dest Destination, flushID, next string) (FlushStep, error) {
	return s.flushStep(ctx, ws, dest, flushID, "claim", next)
}

// DeferNotifications hands dest's queue from flush flushID on to the flush
// next, when flushID may not post yet. A flush that already holds a batch
// keeps it (FlushBatch): it must post that batch itself.
func (s *Outbox) DeferNotifications(ctx context.Context, ws tasks.WorkspaceID, dest Destination, flushID, next string) (FlushStep, error) {
	return s.flushStep(ctx, ws, dest, flushID, "defer", next)
}

func (s *Outbox) flushStep(ctx context.Context, ws tasks.WorkspaceID, dest Destination, flushID, mode, next string) (FlushStep, error) {
	k := keysOf(ws)
	res, err := flushScript.Run(ctx, s.rdb,
		[]string{k.ntfBatch(flushID), k.ntfQueue(dest), k.ntfFlusher(dest)},
		flushID, mode, next, int64(NotificationRetention/time.Second), MaxBatch,
	).StringSlice()
	if err != nil {
		return FlushStep{}, fmt.Errorf("notify: flush notifications: %w", err)
	}
	if len(res) < 2 {
		return FlushStep{}, fmt.Errorf("notify: flush notifications: unexpected script answer %q", res)
	}
	return FlushStep{State: FlushState(res[0]), Next: res[1], IDs: res[2:]}, nil
}

// attemptScript records one attempt's outcome on a batch's notifications.
// A status that is no longer pending never changes, so a late report from
// an interrupted attempt cannot undo a later success.
//
// KEYS: the batch, then each notification record.
// ARGV: new status, error ("" clears it), update time, "1" to count an attempt.
// Returns the most attempts any of the notifications has now.
var attemptScript = redis.NewScript(`
local most = 0
for i = 2, #KEYS do
  if redis.call("EXISTS", KEYS[i]) == 1 then
    local a = tonumber(redis.call("HGET", KEYS[i], "a") or "0")
    if ARGV[4] == "1" then a = redis.call("HINCRBY", KEYS[i], "a", 1) end
    if a > most then most = a end
    if redis.call("HGET", KEYS[i], "s") == "pending" then
      redis.call("HSET", KEYS[i], "s", ARGV[1])
      if ARGV[2] == "" then redis.call("HDEL", KEYS[i], "e") else redis.call("HSET", KEYS[i], "e", ARGV[2]) end
    end
    redis.call("HSET", KEYS[i], "u", ARGV[3])
  end
end
if ARGV[1] ~= "pending" then redis.call("DEL", KEYS[1]) end
return most
`)

// RecordAttempt records the outcome of posting flush flushID's batch ids:
// status is pending after a failure that will be retried, else sent or
// failed, which also releases the batch. errMsg is the attempt's error (""
// for none). counted says whether a call to Cliq was made; a flush given up
// before calling is not an attempt. It returns the most attempts any of the
// notifications has now.
func (s *Outbox) RecordAttempt(ctx context.Context, ws tasks.WorkspaceID, flushID string, ids []string, status NotificationStatus, errMsg string, counted bool) (int, error) {
	if !status.Valid() || status == NotificationDryRun {
		return 0, fmt.Errorf("notify: record attempt: status %q", status)
	}
	k := keysOf(ws)
	keys := make([]string, 0, len(ids)+1)
	keys = append(keys, k.ntfBatch(flushID))
	for _, id := range ids {
		keys = append(keys, k.ntf(id))
	}
	count := "0"
	if counted {
		count = "1"
	}
	most, err := attemptScript.Run(ctx, s.rdb, keys, string(status), errMsg, s.clock().Format(time.RFC3339Nano), count).Int()
	if err != nil {
		return 0, fmt.Errorf("notify: record attempt: %w", err)
	}
	return most, nil
}

// GetNotification returns one notification. Errors: ErrNotFound.
func (s *Outbox) GetNotification(ctx context.Context, ws tasks.WorkspaceID, id string) (Notification, error) {
	ns, err := s.Notifications(ctx, ws, []string{id})
	if err != nil {
		return Notification{}, err
	}
	if len(ns) == 0 {
		return Notification{}, tasks.ErrNotFound
	}
	return ns[0], nil
}

// Notifications returns the notifications with the given ids, in that
// order, leaving out those that do not exist (or expired).
func (s *Outbox) Notifications(ctx context.Context, ws tasks.WorkspaceID, ids []string) ([]Notification, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	k := keysOf(ws)
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, k.ntf(id), "d", "s", "a", "e", "u")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read notifications: %w", err)
	}
	out := make([]Notification, 0, len(ids))
	for _, c := range cmds {
		if n, ok := decodeNotification(c.Val()); ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// decodeNotification assembles a record from the HMGET of its fields.
func decodeNotification(v []any) (Notification, bool) {
	field := func(i int) (string, bool) {
		s, ok := v[i].(string)
		return s, ok
	}
	raw, ok := field(0)
	if !ok {
		return Notification{}, false
	}
	var doc notificationDoc
	if json.Unmarshal([]byte(raw), &doc) != nil {
		return Notification{}, false
	}
	n := Notification{
		ID: doc.ID, EventID: doc.EventID, Destination: doc.Destination, Message: doc.Message,
		CreatedAt: doc.CreatedAt, UpdatedAt: doc.CreatedAt, Summary: doc.Summary,
	}
	status, _ := field(1)
	n.Status = NotificationStatus(status)
	attempts, _ := field(2)
	n.Attempts, _ = strconv.Atoi(attempts)
	if e, ok := field(3); ok {
		n.Error = &e
	}
	if u, ok := field(4); ok {
		if t, err := time.Parse(time.RFC3339Nano, u); err == nil {
			n.UpdatedAt = t
		}
	}
	return n, true
}

// ListNotifications pages through the outbox log, newest first. cursor is
// the previous page's next cursor; next is "" on the last page. The log
// keeps NotificationRetention of notifications.
func (s *Outbox) ListNotifications(ctx context.Context, ws tasks.WorkspaceID, cursor string, limit int) ([]Notification, string, error) {
	switch {
	case limit <= 0:
		limit = tasks.DefaultLimit
	case limit > tasks.MaxLimit:
		limit = tasks.MaxLimit
	}
	upper := "+"
	if cursor != "" {
		if !strings.HasPrefix(cursor, "ntf_") || strings.ContainsAny(cursor, "[(") {
			return nil, "", invalidf(map[string]string{"cursor": "invalid"})
		}
		upper = "(" + cursor
	}
	ids, err := s.rdb.ZRevRangeByLex(ctx, keysOf(ws).ntfIndex(), &redis.ZRangeBy{Max: upper, Min: "-", Count: int64(limit + 1)}).Result()
	if err != nil {
		return nil, "", fmt.Errorf("notify: list notifications: %w", err)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	out, err := s.Notifications(ctx, ws, ids)
	if err != nil {
		return nil, "", err
	}
	if out == nil {
		out = []Notification{}
	}
	return out, next, nil
}

// invalidf returns a *tasks.ValidationError for problems.
func invalidf(problems map[string]string) error {
	return &tasks.ValidationError{Fields: problems}
}

// idFloor is the smallest notification id (after "ntf_") made at the Unix
// millisecond ms: ids are ULIDs, ten base32 digits of time then sixteen of
// randomness, so the index is trimmed by comparing ids as strings.
func idFloor(ms int64) string { return tasks.ULIDFloor(ms) }
