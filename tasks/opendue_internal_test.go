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
