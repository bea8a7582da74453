package tasks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Page sizes of lists.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// maxScan bounds how many index entries one list request examines, so a
// filter that matches almost nothing costs a bounded amount; the caller gets
// a short page and a cursor to continue from.
const maxScan = 5000

// TaskFilter selects tasks; zero fields do not filter.
type TaskFilter struct {
	// Status is one status; "open" means every open status (open and in_progress).
	Status Status
	// Assignee is a user id, an email, or "none" for unassigned tasks.
	Assignee string
	Tag      string
	// DueBefore and DueAfter bound due_at (exclusive); tasks without a due
	// date never match either.
	DueBefore *time.Time
	DueAfter  *time.Time
	// CreatedBy is a user id.
	CreatedBy string
	// Query matches tasks whose title or description has every word of it.
	Query string
}

// ListTasks returns up to limit tasks matching f and the cursor of the next
// page ("" on the last page). Tasks come newest first; with a due range
// (DueBefore or DueAfter) they come soonest due first, which is what a
// "due this week" view wants. A page costs O(limit) reads when the filter's
// index is selective: the most selective index drives the scan and the
// remaining conditions are checked on each record, at most maxScan of them.
func (s *Store) ListTasks(ctx context.Context, ws WorkspaceID, f TaskFilter, cursor string, limit int) ([]Task, string, error) {
	k := keysFor(ws)
	limit = ClampLimit(limit)
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", invalid(map[string]string{"status": "must be one of open, in_progress, completed, cancelled"})
	}
	var assigneeID string
	switch a := strings.TrimSpace(f.Assignee); {
	case a == "":
	case a == "none":
		assigneeID = "none"
	default:
		u, err := s.GetUser(ctx, ws, a)
		if errors.Is(err, ErrNotFound) {
			return []Task{}, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		assigneeID = u.ID
	}
	tag := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(f.Tag), "#"))
	query := words(f.Query, maxIndexedWords)
	match := func(t *Task) bool {
		switch {
		case f.Status == StatusOpen && !t.Status.IsOpen(),
			f.Status != "" && f.Status != StatusOpen && t.Status != f.Status,
			assigneeID == "none" && t.Assignee != nil,
			assigneeID != "" && assigneeID != "none" && (t.Assignee == nil || *t.Assignee != assigneeID),
			tag != "" && !slices.Contains(t.Tags, tag),
			f.CreatedBy != "" && t.CreatedBy != f.CreatedBy,
			f.DueBefore != nil && (t.DueAt == nil || !t.DueAt.Before(*f.DueBefore)),
			f.DueAfter != nil && (t.DueAt == nil || !t.DueAt.After(*f.DueAfter)):
			return false
		}
		if len(query) > 0 {
			have := words(t.Title+" "+t.Description, math.MaxInt)
			for _, w := range query {
				if !slices.Contains(have, w) {
					return false
				}
			}
		}
		return true
	}

	var sc scanner
	var others []index // list indexes every match is in, besides the driver
	if f.DueBefore != nil || f.DueAfter != nil {
		// Tasks written before the closed-due index are in the legacy
		// one of all tasks with a due date.
		indexes := []string{k.idxOpenDue(), k.idxClosedDue(), k.idxDue()}
		switch {
		case f.Status.IsOpen():
			indexes = indexes[:1]
		case f.Status != "":
			indexes = indexes[1:]
		}
		if f.Status == "" || f.Status.IsOpen() {
			if err := s.buildOpenDue(ctx, k); err != nil {
				return nil, "", fmt.Errorf("tasks: list tasks: %w", err)
			}
		}
		d, err := s.newDueScan(ctx, indexes, f.DueAfter, f.DueBefore, cursor)
		if err != nil {
			return nil, "", err
		}
		sc = d
	} else {
		var candidates []index
		switch f.Status {
		case "":
		case StatusOpen:
			candidates = append(candidates, k.idxOpen())
		default:
			candidates = append(candidates, k.idxStatus(f.Status))
		}
		if assigneeID != "" {
			candidates = append(candidates, k.idxAssignee(assigneeID))
		}
		if tag != "" {
			candidates = append(candidates, k.idxTag(tag))
		}
		for _, w := range query {
			candidates = append(candidates, k.idxWord(w))
		}
		driver, err := s.smallestIndex(ctx, candidates, k.idxAll())
		if err != nil {
			return nil, "", fmt.Errorf("tasks: list tasks: %w", err)
		}
		for _, c := range candidates {
			if c != driver {
				others = append(others, c)
			}
		}
		below := int64(math.MaxInt64)
		if cursor != "" {
			c, err := decodeCursor(cursor)
			if err != nil || c.due {
				return nil, "", invalid(map[string]string{"cursor": "invalid"})
			}
			below = c.number
		}
		sc = newListScan(driver, below)
	}

	out := make([]Task, 0, limit)
	var outPos []position
	scanned := 0
	batch := int64(limit + 1)
	for {
		entries, err := sc.next(ctx, s.rdb, batch)
		if err != nil {
			return nil, "", fmt.Errorf("tasks: list tasks: %w", err)
		}
		if len(entries) == 0 {
			return out, "", nil
		}
		full := int64(len(entries)) == batch
		// Entries missing from another filter's set cannot match: drop them
		// with one ZMSCORE per set instead of reading their records.
		kept, err := s.inIndexes(ctx, others, entries)
		if err != nil {
			return nil, "", fmt.Errorf("tasks: list tasks: %w", err)
		}
		scanned += len(entries) - len(kept)
		last := entries[len(entries)-1]
		entries = kept
		if len(entries) > 0 {
			taskKeys := make([]string, len(entries))
			for i, e := range entries {
				taskKeys[i] = k.task(e.number)
			}
			vals, err := s.mget(ctx, taskKeys)
			if err != nil {
				return nil, "", fmt.Errorf("tasks: list tasks: %w", err)
			}
			for i, v := range vals {
				scanned++
				t, err := decodeTask(v, ws, entries[i].number)
				if v == "" || err != nil || !match(&t) {
					if scanned >= maxScan {
						return out, entries[i].cursor(), nil
					}
					continue
				}
				if len(out) == limit {
					return out, outPos[limit-1].cursor(), nil
				}
				out = append(out, t)
				outPos = append(outPos, entries[i])
			}
		}
		if scanned >= maxScan && full {
			return out, last.cursor(), nil
		}
		if !full {
			return out, "", nil
		}
		// Sparse matches: read bigger batches so the round trips stay few.
		batch = min(batch*2, 1000)
	}
}

// position is where a task sits in the scan order of a list, and so where
// the next page starts.
type position struct {
	due    bool
	score  int64 // due time in Unix seconds, for due scans
	number int64
}

func (p position) cursor() string {
	if p.due {
		return encodeCursor("d:" + strconv.FormatInt(p.score, 10) + ":" + strconv.FormatInt(p.number, 10))
	}
	return encodeCursor("n:" + strconv.FormatInt(p.number, 10))
}

// scanner walks an index in a list's order, a batch at a time.
type scanner interface {
	next(ctx context.Context, rdb redis.UniversalClient, count int64) ([]position, error)
}

// buildOpenDue fills the open-due index of a workspace whose tasks were
// written before it existed, once: from then on every write keeps it. A
// task that changes meanwhile may leave a stale entry, which costs a read
// but never a wrong answer, since every record is checked against the filter.
func (s *Store) buildOpenDue(ctx context.Context, k keys) error {
	if _, ok := s.openDue.Load(k.p); ok {
		return nil
	}
	built, err := s.rdb.Exists(ctx, k.openDueBuilt()).Result()
	if err != nil {
		return err
	}
	if built == 1 {
		s.openDue.Store(k.p, struct{}{})
		return nil
	}
	// From the top rank down: writes meanwhile only remove tasks from
	// idxDue, which shifts the ranks above them, all read already. Read
	// upwards, the rank after a removal would be skipped.
	n, err := s.rdb.ZCard(ctx, k.idxDue()).Result()
	if err != nil {
		return err
	}
	const batch = 500
	for end := n - 1; end >= 0; end -= batch {
		zs, err := s.rdb.ZRangeWithScores(ctx, k.idxDue(), max(end-batch+1, 0), end).Result()
		if err != nil {
			return err
		}
		taskKeys := make([]string, len(zs))
		for i, z := range zs {
			taskKeys[i] = k.task(mustInt(z.Member.(string)))
		}
		vals, err := s.mget(ctx, taskKeys)
		if err != nil {
			return err
		}
		var open []redis.Z
		for i, v := range vals {
			t, err := decodeTask(v, k.ws, mustInt(zs[i].Member.(string)))
			if v != "" && err == nil && t.Status.IsOpen() {
				open = append(open, zs[i])
			}
		}
		if len(open) > 0 {
			if err := s.rdb.ZAdd(ctx, k.idxOpenDue(), open...).Err(); err != nil {
				return err
			}
		}
	}
	if err := s.rdb.Set(ctx, k.openDueBuilt(), "1", 0).Err(); err != nil {
		return err
	}
	s.openDue.Store(k.p, struct{}{})
	return nil
}

// dueScan walks due indexes from the soonest, by rank, because many tasks
// may share one due time and a score bound alone cannot step past them.
// With several indexes (open and closed tasks, and the legacy one of all)
// it merges them in Redis' order, by score and then member bytes, and
// lists a task found in more than one once.
type dueScan struct {
	keys  []string
	ranks []int64 // rank of the next entry of each index
	limit int64   // exclusive upper score bound, or math.MaxInt64
}

func (s *Store) newDueScan(ctx context.Context, indexes []string, after, before *time.Time, cursor string) (*dueScan, error) {
	d := &dueScan{keys: indexes, ranks: make([]int64, len(indexes)), limit: math.MaxInt64}
	if before != nil {
		d.limit = before.Unix()
	}
	var err error
	switch {
	case cursor != "":
		c, cerr := decodeCursor(cursor)
		if cerr != nil || !c.due {
			return nil, invalid(map[string]string{"cursor": "invalid"})
		}
		err = s.ranksAfter(ctx, d, c.score, c.number)
	case after != nil:
		cmds := make([]*redis.IntCmd, len(indexes))
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, key := range indexes {
				cmds[i] = p.ZCount(ctx, key, "-inf", strconv.FormatInt(after.Unix(), 10))
			}
			return nil
		})
		for i, c := range cmds {
			d.ranks[i] = c.Val()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tasks: list tasks: %w", err)
	}
	return d, nil
}

// ranksAfter sets each index's rank just past member number at score,
// found even when that member has since left the index.
func (s *Store) ranksAfter(ctx context.Context, d *dueScan, score, number int64) error {
	sc := strconv.FormatInt(score, 10)
	below := make([]*redis.IntCmd, len(d.keys))
	ties := make([]*redis.StringSliceCmd, len(d.keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range d.keys {
			below[i] = p.ZCount(ctx, key, "-inf", "("+sc)
			ties[i] = p.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: sc, Max: sc})
		}
		return nil
	})
	if err != nil {
		return err
	}
	member := strconv.FormatInt(number, 10)
	for i := range d.keys {
		d.ranks[i] = below[i].Val()
		for _, t := range ties[i].Val() {
			if t <= member { // Redis orders equal scores by member bytes
				d.ranks[i]++
			}
		}
	}
	return nil
}

func (d *dueScan) next(ctx context.Context, rdb redis.UniversalClient, count int64) ([]position, error) {
	heads := make([][]redis.Z, len(d.keys))
	more := make([]bool, len(d.keys)) // the index may hold entries past its head
	for i := range more {
		more[i] = true
	}
	out := make([]position, 0, count)
	for int64(len(out)) < count {
		// Refill the indexes whose batch is used up but may go on.
		var refill []int
		for i, h := range heads {
			if len(h) == 0 && more[i] {
				refill = append(refill, i)
			}
		}
		if len(refill) > 0 {
			cmds := make([]*redis.ZSliceCmd, len(refill))
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for j, i := range refill {
					cmds[j] = p.ZRangeWithScores(ctx, d.keys[i], d.ranks[i], d.ranks[i]+count-1)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			for j, i := range refill {
				heads[i], more[i] = cmds[j].Val(), int64(len(cmds[j].Val())) == count
			}
		}
		best := -1
		for i, h := range heads {
			if len(h) > 0 && (best < 0 || zLess(h[0], heads[best][0])) {
				best = i
			}
		}
		if best < 0 || int64(heads[best][0].Score) >= d.limit {
			break
		}
		z := heads[best][0]
		for i, h := range heads { // the same entry in other indexes
			if len(h) > 0 && h[0].Score == z.Score && h[0].Member == z.Member {
				heads[i] = h[1:]
				d.ranks[i]++
			}
		}
		m, _ := z.Member.(string)
		out = append(out, position{due: true, score: int64(z.Score), number: mustInt(m)})
	}
	return out, nil
}

// zLess orders entries as Redis does: by score, then member bytes.
func zLess(a, b redis.Z) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	am, _ := a.Member.(string)
	bm, _ := b.Member.(string)
	return am < bm
}

// mget reads keys of one workspace in one round trip; a missing key reads as "".
func (s *Store) mget(ctx context.Context, keys []string) ([]string, error) {
	if len(keys) == 0 { // MGET takes one key at least
		return nil, nil
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[i] = str
		}
	}
	return out, nil
}

func decode(raw string, v any) error { return json.Unmarshal([]byte(raw), v) }

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// ClampLimit brings a page size into 1..MaxLimit, DefaultLimit for none.
func ClampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Cursors are opaque to clients: the position, base64-encoded, so no one
// builds them by hand and depends on the format.
func encodeCursor(pos string) string { return base64.RawURLEncoding.EncodeToString([]byte(pos)) }

func decodeCursor(c string) (position, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return position{}, invalid(map[string]string{"cursor": "invalid"})
	}
	parts := strings.Split(string(b), ":")
	nums := make([]int64, 0, 2)
	for _, p := range parts[1:] {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return position{}, invalid(map[string]string{"cursor": "invalid"})
		}
		nums = append(nums, n)
	}
	switch {
	case parts[0] == "n" && len(nums) == 1 && nums[0] > 0:
		return position{number: nums[0]}, nil
	case parts[0] == "d" && len(nums) == 2 && nums[1] > 0:
		return position{due: true, score: nums[0], number: nums[1]}, nil
	}
	return position{}, invalid(map[string]string{"cursor": "invalid"})
}
