package tasks

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxIndexedWords bounds the words of one task kept in the search index, so a
// long description cannot make one write touch thousands of keys.
const maxIndexedWords = 64

// membership is one index entry of a task: in the ZSET key at score, or,
// when ix is set, in bucket key of that list index.
type membership struct {
	key   string
	score int64
	ix    index
}

// listMembership is t's entry in a bucketed list index.
func listMembership(ix index, n int64) membership {
	return membership{key: ix.bucket(n / ix.width), score: n, ix: ix}
}

// memberships lists the index entries t belongs in. lead is the
// deployment's reminder lead, for tasks that do not set their own.
func memberships(k keys, t *Task, lead time.Duration) []membership {
	n := t.Number
	out := []membership{listMembership(k.idxAll(), n)}
	if t.Status.IsOpen() {
		out = append(out, listMembership(k.idxOpen(), n))
	}
	if t.Status != StatusOpen {
		out = append(out, listMembership(k.idxStatus(t.Status), n))
	}
	assignee := "none"
	if t.Assignee != nil {
		assignee = *t.Assignee
	}
	out = append(out, listMembership(k.idxAssignee(assignee), n))
	for _, tag := range t.Tags {
		out = append(out, listMembership(k.idxTag(tag), n))
	}
	for _, w := range words(t.Title+" "+t.Description, maxIndexedWords) {
		out = append(out, listMembership(k.idxWord(w), n))
	}
	switch {
	case t.DueAt != nil && t.Status.IsOpen():
		out = append(out, membership{key: k.idxOpenDue(), score: t.DueAt.Unix()})
	case t.DueAt != nil:
		out = append(out, membership{key: k.idxClosedDue(), score: t.DueAt.Unix()})
	}
	return append(out, scheduleMemberships(k, t, lead)...)
}

// indexOps moves a task's index entries from those of old to those of t;
// either may be nil (create, delete). Both sides are computed with the same
// lead, so an entry moves only when the task's own fields move it.
func indexOps(x *tx, lead time.Duration, old, t *Task) {
	var before, after []membership
	var n int64
	if old != nil {
		before = memberships(x.k, old, lead)
		n = old.Number
	}
	if t != nil {
		after = memberships(x.k, t, lead)
		n = t.Number
	}
	// Boxed once: every op below takes it, and a list bucket scores its
	// members by the number too.
	member := any(strconv.FormatInt(n, 10))
	// A create (no before) needs neither lookup table.
	var stays map[string]bool
	if len(before) > 0 {
		stays = make(map[string]bool, len(after))
		for _, m := range after {
			stays[m.key] = true
		}
	}
	alertMoved, dueMoved := false, false
	isDue := func(key string) bool { return key == x.k.idxOpenDue() || key == x.k.idxClosedDue() }
	for _, m := range before {
		if stays[m.key] {
			continue
		}
		alertMoved = alertMoved || m.key == x.k.schedAlert()
		dueMoved = dueMoved || isDue(m.key)
		if m.ix.name == "" {
			x.op("zrem", m.key, member, "")
			continue
		}
		x.op("bzrem", m.key, member, "")
		x.listIndexed(m)
		// A task written before buckets may still be in the legacy set.
		x.op("zrem", m.ix.legacy(), member, "")
	}
	var had map[membership]bool
	if len(before) > 0 {
		had = make(map[membership]bool, len(before))
		for _, m := range before {
			had[m] = true
		}
	}
	for _, m := range after {
		if had[m] {
			continue
		}
		alertMoved = alertMoved || m.key == x.k.schedAlert()
		dueMoved = dueMoved || isDue(m.key)
		if m.ix.name == "" {
			x.op("zadd", m.key, m.score, member)
			continue
		}
		x.op("bzadd", m.key, member, member)
		x.listIndexed(m)
	}
	if old != nil && dueMoved {
		// Nor in the due index of every task, which the two replaced.
		x.op("zrem", x.k.idxDue(), member, "")
	}
	if old != nil && alertMoved {
		// A task written before schedAlert may still wait in the two sets
		// it replaced, at instants this write has just moved.
		x.op("zrem", x.k.schedRemind(), member, "")
		x.op("zrem", x.k.schedOverdue(), member, "")
	}
}

// listIndexed follows a bzadd or bzrem of m with the op that keeps its
// index's directory bit in step.
func (t *tx) listIndexed(m membership) {
	t.op("bzdir", m.ix.dir(), m.score/m.ix.width, "")
}

// words splits text into distinct lower-case search words of at least two
// letters or digits, at most limit of them, in order of appearance.
func words(text string, limit int) []string {
	var out []string
	seen := make(map[string]bool)
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len([]rune(f)) < 2 || len(f) > 64 || seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, f)
		if len(out) == limit {
			break
		}
	}
	return out
}
