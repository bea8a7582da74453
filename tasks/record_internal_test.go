package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
)

func fullTask() Task {
	at := time.Date(2026, 12, 6, 12, 0, 0, 123e6, time.UTC)
	later := at.Add(90 * time.Minute)
	due, snooze := at.Add(48*time.Hour).Truncate(time.Second), at.Add(24*time.Hour).Truncate(time.Second)
	s := func(v string) *string { return &v }
	remind := 0
	return Task{
		ID: "tsk_01JEXAMPLE0000000000000000", Number: 42, Workspace: "acme", Title: "Ship it",
		Description: "with notes\nand lines", Status: StatusCompleted, Priority: PriorityUrgent,
		Type: "bug", Category: "ops", Tags: []string{"a", "b"}, Assignee: s("usr_1"), CreatedBy: "usr_2",
		CompletedBy: s("usr_1"), DueAt: &due, SnoozedUntil: &snooze, RemindBefore: &remind,
		ExternalID: s("ext-1"), SourceURL: s("https://example.com/x"),
		Recurrence: &Recurrence{Rule: "FREQ=DAILY", Timezone: "Europe/Paris", Text: "every day"},
		SeriesID:   s("tsk_01JSERIES"), CreatedAt: at, UpdatedAt: later, CompletedAt: &later, Version: 7,
	}
}

// TestRecordRoundTrip: every field survives the compact form, and what is
// left out comes back as its default.
func TestRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 5e6, time.UTC)
	for name, in := range map[string]Task{
		"Full": fullTask(),
		"Bare": {ID: "tsk_01JBARE", Number: 3, Workspace: "acme", Title: "x", Status: StatusOpen,
			Priority: PriorityMedium, Tags: []string{}, CreatedAt: at, UpdatedAt: at, Version: 1},
	} {
		t.Run(name, func(t *testing.T) {
			raw := encodeTask(&in)
			got, err := decodeTask(raw, in.Workspace, in.Number)
			if err != nil || !reflect.DeepEqual(got, in) {
				t.Fatalf("decodeTask(%s) = %+v, %v; want %+v", raw, got, err, in)
			}
			wire, _ := json.Marshal(in)
			if len(raw) >= len(wire) {
				t.Errorf("record is %d bytes, wire form %d", len(raw), len(wire))
			}
		})
	}
	bare := encodeTask(&Task{ID: "tsk_01JBARE", Title: "x", Status: StatusOpen, Priority: PriorityMedium, CreatedAt: at, UpdatedAt: at, Version: 1})
	if want := `{"i":"01JBARE","t":"x","c":1796558400005,"v":1}`; bare != want {
		t.Errorf("encodeTask(bare) = %s, want %s", bare, want)
	}
}

// TestLegacyRecordsStillRead: a task stored in the wire form, as every
// record was before the compact one, is read, listed, changed (and then
// stored compact) and deleted like any other.
func TestLegacyRecordsStillRead(t *testing.T) {
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			s := NewStore(redistest.ClientFor(t, b), time.Now)
			ws := WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
			old := fullTask()
			old.Workspace, old.Status, old.CompletedAt, old.CompletedBy = ws, StatusOpen, nil, nil
			if err := s.BulkLoad(ctx, ws, []Task{old}); err != nil {
				t.Fatal(err)
			}
			old.Number = 1
			k := keysFor(ws)
			// As the store wrote it before: the whole wire form.
			if err := s.rdb.Set(ctx, k.task(1), mustJSON(old), 0).Err(); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetTask(ctx, ws, old.ID)
			if err != nil || !reflect.DeepEqual(got, old) {
				t.Fatalf("GetTask = %+v, %v; want %+v", got, err, old)
			}
			page, _, err := s.ListTasks(ctx, ws, TaskFilter{Tag: "a", Status: StatusOpen}, "", 10)
			if err != nil || len(page) != 1 || !reflect.DeepEqual(page[0], old) {
				t.Fatalf("ListTasks = %+v, %v; want the legacy task", page, err)
			}
			done, err := s.CompleteTask(ctx, ws, Actor{UserID: "usr_1"}, "1")
			if err != nil || done.Status != StatusCompleted || done.Version != old.Version+1 {
				t.Fatalf("CompleteTask = %+v, %v", done, err)
			}
			raw, _ := s.rdb.Get(ctx, k.task(1)).Result()
			if strings.HasPrefix(raw, `{"id"`) {
				t.Errorf("rewritten record is still in the wire form: %s", raw)
			}
			again, err := s.GetTask(ctx, ws, "1")
			if err != nil || !reflect.DeepEqual(again, done) {
				t.Fatalf("GetTask after rewrite = %+v, %v; want %+v", again, err, done)
			}
			if err := s.DeleteTask(ctx, ws, Actor{}, "1"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
