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

// ListTasks returns up to limit tasks matching f, newest first, and the
// cursor of the next page ("" on the last page). A page costs O(limit)
// reads when the filter's index is selective: the most selective index
// drives the scan and the remaining conditions are checked on each record.
func (s *Store) ListTasks(ctx context.Context, ws WorkspaceID, f TaskFilter, cursor string, limit int) ([]Task, string, error) {
	k := keysFor(ws)
	limit = clampLimit(limit)
	max := "+inf"
	if cursor != "" {
		n, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		max = "(" + strconv.FormatInt(n, 10)
	}
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

	candidates := []string{}
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
	driver, err := s.smallest(ctx, candidates, k.idxAll())
	if err != nil {
		return nil, "", err
	}
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

	out := make([]Task, 0, limit)
	scanned := 0
	batch := int64(limit + 1)
	for {
		nums, err := s.rdb.ZRevRangeByScore(ctx, driver, &redis.ZRangeBy{Max: max, Min: "-inf", Count: batch}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("tasks: list tasks: %w", err)
		}
		if len(nums) == 0 {
			return out, "", nil
		}
		taskKeys := make([]string, len(nums))
		for i, n := range nums {
			num, _ := strconv.ParseInt(n, 10, 64)
			taskKeys[i] = k.task(num)
		}
		vals, err := s.mget(ctx, taskKeys)
		if err != nil {
			return nil, "", fmt.Errorf("tasks: list tasks: %w", err)
		}
		for i, v := range vals {
			scanned++
			var t Task
			if v == "" || decode(v, &t) != nil || !match(&t) {
				if scanned >= maxScan {
					return out, encodeCursor(mustInt(nums[i])), nil
				}
				continue
			}
			if len(out) == limit {
				return out, encodeCursor(out[limit-1].Number), nil
			}
			out = append(out, t)
		}
		if int64(len(nums)) < batch {
			return out, "", nil
		}
		max = "(" + nums[len(nums)-1]
		// Sparse matches: read bigger batches so the round trips stay few.
		batch = min(batch*2, 1000)
	}
}

// smallest returns whichever of keys has the fewest members, or fallback
// when keys is empty.
func (s *Store) smallest(ctx context.Context, keys []string, fallback string) (string, error) {
	if len(keys) == 0 {
		return fallback, nil
	}
	if len(keys) == 1 {
		return keys[0], nil
	}
	cmds := make([]*redis.IntCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range keys {
			cmds[i] = p.ZCard(ctx, key)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("tasks: list tasks: %w", err)
	}
	best := 0
	for i, c := range cmds {
		if c.Val() < cmds[best].Val() {
			best = i
		}
	}
	return keys[best], nil
}

// mget reads keys of one workspace in one round trip; a missing key reads as "".
func (s *Store) mget(ctx context.Context, keys []string) ([]string, error) {
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

func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Cursors are opaque to clients: a prefix and the position, base64-encoded,
// so no one builds them by hand and depends on the format.
func encodeCursor(n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + strconv.FormatInt(n, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && strings.HasPrefix(string(b), "n:") {
		if n, err := strconv.ParseInt(string(b[2:]), 10, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, invalid(map[string]string{"cursor": "invalid"})
}
