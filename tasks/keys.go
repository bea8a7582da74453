package tasks

import "strconv"

// keys builds every Redis key of one workspace. The workspace sits in a hash
// tag so all of a workspace's keys share a Cluster slot and one Lua script
// can write them together.
type keys struct {
	ws WorkspaceID
	p  string
}

func keysFor(ws WorkspaceID) keys { return keys{ws: ws, p: "tasker:{" + string(ws) + "}:"} }

// workspacesKey is a SET of every workspace that has been written to, so
// the dispatcher and the scheduler find workspaces without scanning keys.
const workspacesKey = "tasker:workspaces"

// eventsChannel is a pub/sub channel on which writers announce the
// workspace of new events, so the dispatcher wakes at once instead of polling.
const eventsChannel = "tasker:events"

// seq is a STRING counter: the last task number handed out.
func (k keys) seq() string { return k.p + "seq" }

// task is a STRING: the task's record (record.go), keyed by its number.
func (k keys) task(n int64) string { return k.p + "t:" + strconv.FormatInt(n, 10) }

// taskIDs is a HASH: task id → number.
func (k keys) taskIDs() string { return k.p + "tid" }

// externalIDs is a HASH: external id → number, for idempotent upserts.
func (k keys) externalIDs() string { return k.p + "tx" }

// The list indexes of task numbers (index.go, bucket.go): every task, the
// open ones, by status, assignee, tag and search word. Those that may hold
// most tasks put denseWidth numbers in a bucket, the others sparseWidth.
func (k keys) idxAll() index               { return index{k, "all", denseWidth} }
func (k keys) idxOpen() index              { return index{k, "open", denseWidth} }
func (k keys) idxStatus(s Status) index    { return index{k, "s:" + string(s), denseWidth} }
func (k keys) idxAssignee(id string) index { return index{k, "a:" + id, sparseWidth} }
func (k keys) idxTag(tag string) index     { return index{k, "g:" + tag, sparseWidth} }
func (k keys) idxWord(w string) index      { return index{k, "w:" + w, denseWidth} }

// bucket is a ZSET: the index's task numbers n with n/width = b, scored by
// the number. At most 128 members, so Redis keeps it a listpack.
func (x index) bucket(b int64) string {
	return x.k.p + "b:" + strconv.FormatInt(b, 10) + ":" + x.name
}

// dir is a STRING bitmap: bit b is set while bucket b has members, so a
// scan skips empty buckets without reading them.
func (x index) dir() string { return x.k.p + "d:" + x.name }

// legacy is the ZSET of task numbers, scored by the number, that held the
// whole index before buckets. Workspaces written before keep reading it
// beside the buckets; writes that move a task out of an index remove it.
func (x index) legacy() string { return x.k.p + "i:" + x.name }

// successors is a HASH: task number → number of the occurrence its
// completion created (SPEC 6.5). Checked and written in the completing
// write, so a double click, or a completion after a reopen, creates no
// second next occurrence.
func (k keys) successors() string { return k.p + "next" }

// idxOpenDue is a ZSET of the open tasks with a due date, task numbers
// scored by due time (Unix seconds), so an overdue list never wades
// through completed ones; idxClosedDue is the same for the others. A due
// range of every status merges the two.
func (k keys) idxOpenDue() string   { return k.p + "i:odue" }
func (k keys) idxClosedDue() string { return k.p + "i:cdue" }

// idxDue is the ZSET of every task with a due date, scored by due time,
// that idxOpenDue and idxClosedDue replaced. Workspaces written before
// keep reading it; a write that moves a task's due entry removes it there.
func (k keys) idxDue() string { return k.p + "i:due" }

// openDueBuilt marks a workspace whose idxOpenDue was filled from its tasks
// (those written before the index existed have no entries of their own).
func (k keys) openDueBuilt() string { return k.p + "i:odue:built" }

// idem is a STRING with a 24 h TTL: the request hash and first answer of an
// idempotent create.
func (k keys) idem(key string) string { return k.p + "idem:" + key }

// user is a STRING: the user's JSON.
func (k keys) user(id string) string { return k.p + "u:" + id }

// users is a ZSET of user ids, all scored 0 so ZREVRANGEBYLEX pages them
// newest first (ids are time-ordered).
func (k keys) users() string { return k.p + "users" }

// userEmails and userCliq are HASHes: email / Cliq user id → user id. They
// keep both unique within the workspace.
func (k keys) userEmails() string { return k.p + "ue" }
func (k keys) userCliq() string   { return k.p + "uc" }

// comments is a ZSET of "comment id|json" members, all scored 0, paged newest
// first with ZREVRANGEBYLEX.
func (k keys) comments(n int64) string { return k.p + "c:" + strconv.FormatInt(n, 10) }

// channels is a HASH: channel unique name → ChannelSubscription JSON.
func (k keys) channels() string { return k.p + "chsub" }

// schedAlert is the scheduler's ZSET of open tasks with a due date: task
// numbers scored by the instant (Unix seconds) of their next alert. That is
// first the task.reminder (due_at − lead), then the task.overdue (due_at),
// each held until snoozed_until when that is later. Kept by memberships on
// every task write, which arm the reminder's instant; the script call that
// emits a reminder moves the entry to the overdue instant, and the one that
// emits task.overdue removes it, so each (task, instant) fires once and a
// new instant re-arms. One entry per task instead of one per alert halves
// what the scheduler costs in memory.
func (k keys) schedAlert() string { return k.p + "sched:alert" }

// schedRemind and schedOverdue are the two sets schedAlert replaced, one per
// alert. Workspaces written before hold entries there until FireDue moves
// them into schedAlert as they fall due, or a write re-arms their task.
func (k keys) schedRemind() string  { return k.p + "sched:remind" }
func (k keys) schedOverdue() string { return k.p + "sched:overdue" }

// schedAssignee is a ZSET of the open tasks with a due date assigned to the
// user, task numbers scored by due_at (Unix seconds): a daily digest reads
// only the tasks it lists.
func (k keys) schedAssignee(userID string) string { return k.p + "sched:a:" + userID }

// schedDigest is a ZSET of linked user ids scored by the instant (Unix
// seconds) of their next daily digest. The scheduler adds linked users and
// moves each to its next local day when it sends.
func (k keys) schedDigest() string { return k.p + "sched:digest" }

// digestSent is a STRING with a TTL of a few days: the user's digest for
// that local date (YYYY-MM-DD) was claimed, so it is sent once per local day.
func (k keys) digestSent(userID, date string) string { return k.p + "sched:ds:" + userID + ":" + date }

// events is the STREAM outbox: field "c" holds the event's stored form
// (eventRecord), "e" the wire JSON of entries written before it. Trimmed to 30
// days on every write, it is also the event log.
func (k keys) events() string { return k.p + "events" }
