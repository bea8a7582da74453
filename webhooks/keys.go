package webhooks

import "github.com/taskerhq/tasker/tasks"

// keys builds the package's keys of one workspace.
type keys struct{ p string }

func keysFor(ws tasks.WorkspaceID) keys { return keys{p: tasks.KeyPrefix(ws)} }

// The keys of the store, one workspace each; every one sits under the
// workspace's prefix (keysFor).

// whSubs is a HASH: subscription id → subRecord JSON.
func (k keys) whSubs() string { return k.p + "wh:subs" }

// whSubsVersion is a STRING counter bumped by every change of a
// subscription or of whether it is enabled, so a process may keep the
// list in memory and read one key to know it is still current.
func (k keys) whSubsVersion() string { return k.p + "wh:subs:v" }

// whState is a HASH of a subscription's state: en ("1" enabled, "0" not),
// dr (disabled reason), ds (while disabled, the id of the newest event
// stream entry when it was disabled), lt (last attempt, Unix ms), cf
// (consecutive failed messages).
func (k keys) whState(sub string) string { return k.p + "wh:st:" + sub }

// whOutcomes is a LIST of "1" (delivered) and "0" (failed) for the last
// finished non-test messages of a subscription, newest first.
func (k keys) whOutcomes(sub string) string { return k.p + "wh:oc:" + sub }

// whMsg is a HASH with a TTL of Retention: d the message document
// JSON; s status, q seq, r round, t next attempt (Unix ms), nd next
// delivery id, n attempts made, "a:<k>" the k-th attempt's AttemptLog
// JSON (for k logged by this version; older ones are in whAttempts); and, copied from the document so the
// lease script need not decode it, sub (subscription id), ok (task id of
// an ordered message), om (its queue member), os (its score), tst ("1"
// for a test message).
func (k keys) whMsg(id string) string { return k.p + "wh:m:" + id }

// whAttempts is a LIST with a TTL of Retention: AttemptLog JSON,
// oldest first, of attempts logged by older versions, which kept them
// apart from the message. It is read, and its expiry refreshed on
// requeue, but no longer written.
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

// whMsgKey is a STRING with a TTL of Retention: the id of the message
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

// whDue is a ZSET of message ids scored by when their next attempt is due
// (Unix ms): the time-ordered set the delivery lanes lease from, holding
// first attempts (due now) and retries alike.
func (k keys) whDue() string { return k.p + "wh:due" }

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
