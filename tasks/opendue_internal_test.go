package tasks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestOverdueBehindManyCompleted: with more completed tasks due in the past
// than one list request reads, the open overdue task still comes first. The
// due index held completed tasks too and the scan gave up after maxScan
// records, answering an empty page.
func TestOverdueBehindManyCompleted(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	onEveryTopology(t, func() time.Time { return now }, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		// The open task is due last, behind every completed one.
		seed := make([]Task, maxScan+500)
		for i := range seed {
			due := now.Add(-time.Duration(len(seed)-i+1) * time.Minute)
			seed[i] = Task{ID: NewTaskID(now), Title: fmt.Sprint("done ", i), Status: StatusCompleted,
				Priority: PriorityMedium, DueAt: &due, CreatedAt: now, UpdatedAt: now, Version: 1}
		}
		due := now.Add(-time.Minute)
		seed[len(seed)-1].Status, seed[len(seed)-1].Title, seed[len(seed)-1].DueAt = StatusOpen, "still open", &due
		if err := s.BulkLoad(ctx, ws, seed); err != nil {
			t.Fatal(err)
		}
		check := func(when string) {
			t.Helper()
			got, next, err := s.ListTasks(ctx, ws, TaskFilter{Status: StatusOpen, DueBefore: &now}, "", 10)
			if err != nil || len(got) != 1 || got[0].Title != "still open" || next != "" {
				t.Fatalf("%s: overdue list = %d tasks, next %q, %v; want the open one alone", when, len(got), next, err)
			}
		}
		check("indexed on write")

		// A workspace written before the open-due index existed, when
		// every task with a due date was in idxDue alone, gets it built
		// on its first due list.
		k := keysFor(ws)
		if err := s.rdb.ZUnionStore(ctx, k.idxDue(), &redis.ZStore{Keys: []string{k.idxOpenDue(), k.idxClosedDue()}}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.Del(ctx, k.idxOpenDue(), k.idxClosedDue(), k.openDueBuilt()).Err(); err != nil {
			t.Fatal(err)
		}
		s = NewStore(s.rdb, s.now) // a process started after the upgrade
		check("built from the tasks")
		if n, _ := s.rdb.ZCard(ctx, k.idxOpenDue()).Result(); n != 1 {
			t.Errorf("open-due index has %d entries, want 1", n)
		}
	})
}

// TestOpenDueBuiltWhileTasksMove: writes that move tasks out of the
// legacy due index while the open-due index is being built from it leave
// no other open task out. Read upwards by rank, the entries after a moved
// one shifted down and the one at the next batch's first rank was skipped.
func TestOpenDueBuiltWhileTasksMove(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	onEveryTopology(t, func() time.Time { return now }, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		seed := make([]Task, 600) // more than one batch of the build
		for i := range seed {
			due := now.Add(-time.Duration(len(seed)-i) * time.Minute) // task 1 due first
			seed[i] = Task{ID: NewTaskID(now), Title: fmt.Sprint("open ", i), Status: StatusOpen,
				Priority: PriorityMedium, DueAt: &due, CreatedAt: now, UpdatedAt: now, Version: 1}
		}
		if err := s.BulkLoad(ctx, ws, seed); err != nil {
			t.Fatal(err)
		}
		// Written before the open-due index existed (as in the test above).
		k := keysFor(ws)
		if err := s.rdb.ZUnionStore(ctx, k.idxDue(), &redis.ZStore{Keys: []string{k.idxOpenDue(), k.idxClosedDue()}}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.Del(ctx, k.idxOpenDue(), k.idxClosedDue(), k.openDueBuilt()).Err(); err != nil {
			t.Fatal(err)
		}
		s = NewStore(s.rdb, s.now)
		// Right after the build's first read of the legacy index, the
		// first task it read and the first one due are completed: one
		// read already, the other maybe not.
		completed := map[string]bool{}
		s.rdb.AddHook(afterRange{key: k.idxDue(), then: func(read []redis.Z) {
			for _, ref := range []string{read[0].Member.(string), "1"} {
				if completed[ref] {
					continue
				}
				completed[ref] = true
				if _, err := s.CompleteTask(ctx, ws, Actor{}, ref); err != nil {
					t.Error(err)
				}
			}
		}})
		if err := s.buildOpenDue(ctx, k); err != nil {
			t.Fatal(err)
		}
		want := int64(len(seed) - len(completed))
		if n, err := s.rdb.ZCard(ctx, k.idxOpenDue()).Result(); err != nil || n != want {
			t.Errorf("open-due index has %d entries (%v), want %d", n, err, want)
		}
	})
}

// afterRange is a client hook that calls then once, with the entries read,
// after the first ZRANGE of key that returns some.
type afterRange struct {
	key  string
	then func(read []redis.Z)
}

func (h afterRange) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h afterRange) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	fired := false
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		zs, ok := cmd.(*redis.ZSliceCmd)
		if args := cmd.Args(); !fired && ok && len(args) > 1 && args[0] == "zrange" && args[1] == h.key && len(zs.Val()) > 0 {
			fired = true
			h.then(zs.Val())
		}
		return err
	}
}

func (h afterRange) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
