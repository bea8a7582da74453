package tasks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// listAll pages through f with limit and returns the numbers listed.
func listAll(t *testing.T, s *Store, ws WorkspaceID, f TaskFilter, limit int) []int64 {
	t.Helper()
	var out []int64
	cursor := ""
	for range 10000 {
		page, next, err := s.ListTasks(context.Background(), ws, f, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range page {
			out = append(out, task.Number)
		}
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("ListTasks never reached the last page")
	return nil
}

func descending(nums []int64, keep func(n int64) bool) []int64 {
	var out []int64
	for _, n := range slices.Backward(nums) {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// TestListAcrossBuckets: lists page through many buckets, dense and
// sparse, skip empty ones, and stay right as buckets empty, and while some
// of an index is still in its legacy set.
func TestListAcrossBuckets(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	onEveryTopology(t, func() time.Time { return now }, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		rare := func(n int64) bool { return n == 3 || n == 700 || n == 1400 || n == 1401 }
		even := func(n int64) bool { return n%2 == 0 }
		const total = 1500
		seed := make([]Task, total)
		var nums []int64
		for i := range seed {
			n := int64(i + 1)
			nums = append(nums, n)
			seed[i] = Task{ID: NewTaskID(now), Title: fmt.Sprint("task ", n), Status: StatusOpen,
				Priority: PriorityMedium, Tags: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
			if rare(n) {
				seed[i].Tags = append(seed[i].Tags, "rare")
			}
			if even(n) {
				seed[i].Tags = append(seed[i].Tags, "even")
			}
		}
		if err := s.BulkLoad(ctx, ws, seed); err != nil {
			t.Fatal(err)
		}
		check := func(when string, f TaskFilter, limit int, want []int64) {
			t.Helper()
			if got := listAll(t, s, ws, f, limit); !slices.Equal(got, want) {
				t.Errorf("%s: %+v by %d lists %d tasks %v…, want %d %v…", when, f, limit, len(got), head(got), len(want), head(want))
			}
		}
		all := func(int64) bool { return true }
		check("seeded", TaskFilter{}, 50, descending(nums, all))
		check("seeded", TaskFilter{}, 200, descending(nums, all))
		check("seeded", TaskFilter{Tag: "rare"}, 1, descending(nums, rare))
		check("seeded", TaskFilter{Tag: "even"}, 37, descending(nums, even))
		check("seeded", TaskFilter{Tag: "rare", Status: StatusOpen}, 2, descending(nums, rare))
		check("seeded", TaskFilter{Tag: "even", Query: "task"}, 50, descending(nums, even))

		// Empty the buckets 0 of the sparse and 1–4 of the dense indexes.
		for n := int64(1); n <= 640; n++ {
			if err := s.DeleteTask(ctx, ws, Actor{}, fmt.Sprint(n)); err != nil {
				t.Fatal(err)
			}
		}
		k := keysFor(ws)
		for _, bit := range []struct {
			ix index
			b  int64
		}{{k.idxAll(), 0}, {k.idxAll(), 4}, {k.idxTag("rare"), 0}} {
			if s.rdb.GetBit(ctx, bit.ix.dir(), bit.b).Val() != 0 {
				t.Errorf("directory bit %d of %s still set with its bucket empty", bit.b, bit.ix.name)
			}
		}
		left := func(n int64) bool { return n > 640 }
		check("emptied", TaskFilter{}, 50, descending(nums, left))
		check("emptied", TaskFilter{Tag: "rare"}, 1, descending(nums, func(n int64) bool { return left(n) && rare(n) }))

		// As written before buckets: the even tag in its legacy set only.
		ix := k.idxTag("even")
		var legacy []redis.Z
		for n := int64(641); n <= total; n++ {
			if even(n) {
				legacy = append(legacy, redis.Z{Score: float64(n), Member: n})
			}
		}
		s.rdb.ZAdd(ctx, ix.legacy(), legacy...)
		for bk := int64(0); bk <= total/ix.width; bk++ {
			s.rdb.Del(ctx, ix.bucket(bk))
		}
		s.rdb.Del(ctx, ix.dir())
		evenLeft := func(n int64) bool { return left(n) && even(n) }
		check("legacy", TaskFilter{Tag: "even"}, 50, descending(nums, evenLeft))
		check("legacy", TaskFilter{Tag: "rare", Status: StatusOpen}, 1, descending(nums, func(n int64) bool { return left(n) && rare(n) }))
		// A task leaving the index leaves the legacy set; one joining it
		// goes to a bucket; one in both is listed once.
		if _, err := s.UpdateTask(ctx, ws, Actor{}, "1400", TaskPatch{Tags: Some([]string{"rare"})}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateTask(ctx, ws, Actor{}, "1401", TaskPatch{Tags: Some([]string{"rare", "even"})}, nil); err != nil {
			t.Fatal(err)
		}
		s.rdb.ZAdd(ctx, ix.bucket(1000/ix.width), redis.Z{Score: 1000, Member: 1000})
		s.rdb.SetBit(ctx, ix.dir(), 1000/ix.width, 1)
		moved := func(n int64) bool { return n != 1400 && (evenLeft(n) || n == 1401) }
		check("moved", TaskFilter{Tag: "even"}, 50, descending(nums, moved))
		check("moved", TaskFilter{Tag: "even"}, 7, descending(nums, moved))
		check("moved", TaskFilter{Tag: "even", Status: StatusOpen}, 50, descending(nums, moved))
		check("moved", TaskFilter{Tag: "rare", Query: "task"}, 1, descending(nums, func(n int64) bool { return left(n) && rare(n) }))
	})
}

func head(nums []int64) []int64 { return nums[:min(len(nums), 5)] }

// TestDueRangeAcrossIndexes: a due range of every status merges the open
// and closed due indexes and the legacy one of all, in Redis' order (due
// time, then member bytes), each task once, page by page.
func TestDueRangeAcrossIndexes(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	onEveryTopology(t, func() time.Time { return now }, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		const total = 60
		seed := make([]Task, total)
		for i := range seed {
			due := now.Add(time.Duration(i%7) * time.Hour) // many ties
			seed[i] = Task{ID: NewTaskID(now), Title: fmt.Sprint("t", i), Status: []Status{StatusOpen, StatusCompleted, StatusInProgress, StatusCancelled}[i%4],
				Priority: PriorityMedium, Tags: []string{}, DueAt: &due, CreatedAt: now, UpdatedAt: now, Version: 1}
		}
		if err := s.BulkLoad(ctx, ws, seed); err != nil {
			t.Fatal(err)
		}
		k := keysFor(ws)
		// As written before: tasks 1–20 in the legacy index alone, 21–30
		// in both.
		for n := int64(1); n <= 30; n++ {
			task := seed[n-1]
			s.rdb.ZAdd(ctx, k.idxDue(), redis.Z{Score: float64(task.DueAt.Unix()), Member: n})
			if n <= 20 {
				s.rdb.ZRem(ctx, k.idxOpenDue(), n)
				s.rdb.ZRem(ctx, k.idxClosedDue(), n)
			}
		}
		s.rdb.Set(ctx, k.openDueBuilt(), "1", 0)
		// Moving a legacy task's due date takes it out of the legacy index.
		later := now.Add(3*time.Hour + time.Minute)
		if _, err := s.UpdateTask(ctx, ws, Actor{}, "5", TaskPatch{DueAt: Some(later)}, nil); err != nil {
			t.Fatal(err)
		}
		seed[4].DueAt = &later
		if _, err := s.rdb.ZScore(ctx, k.idxDue(), "5").Result(); err != redis.Nil {
			t.Errorf("moved task still in the legacy due index: %v", err)
		}
		before, after := now.Add(5*time.Hour), now.Add(-time.Minute)
		type entry struct {
			due    int64
			member string
		}
		var want []entry
		for i, task := range seed {
			if task.DueAt.Before(before) && task.DueAt.After(after) {
				want = append(want, entry{task.DueAt.Unix(), fmt.Sprint(i + 1)})
			}
		}
		slices.SortFunc(want, func(a, b entry) int {
			if a.due != b.due {
				return int(a.due - b.due)
			}
			return strings.Compare(a.member, b.member)
		})
		var wantNums []int64
		for _, e := range want {
			wantNums = append(wantNums, mustInt(e.member))
		}
		for _, limit := range []int{1, 2, 7, 50} {
			got := listAll(t, s, ws, TaskFilter{DueBefore: &before, DueAfter: &after}, limit)
			if !slices.Equal(got, wantNums) {
				t.Errorf("due range by %d = %v, want %v", limit, got, wantNums)
			}
		}
		var closed []int64
		for _, n := range wantNums {
			if !seed[n-1].Status.IsOpen() {
				closed = append(closed, n)
			}
		}
		got := listAll(t, s, ws, TaskFilter{Status: StatusCompleted, DueBefore: &before}, 3)
		var completed []int64
		for _, n := range closed {
			if seed[n-1].Status == StatusCompleted {
				completed = append(completed, n)
			}
		}
		if !slices.Equal(got, completed) {
			t.Errorf("completed due range = %v, want %v", got, completed)
		}
	})
}
