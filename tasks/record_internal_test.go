package tasks

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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
	// A creation time that the id's ULID already holds is left out; one
	// that differs (ids made in a busy millisecond) is kept.
	for _, idAt := range []time.Time{at, at.Add(3 * time.Millisecond)} {
		made := Task{ID: "tsk_" + ulid(uint64(idAt.UnixMilli()), 7, 42), Number: 9, Workspace: "acme", Title: "x",
			Status: StatusOpen, Priority: PriorityMedium, Tags: []string{}, CreatedAt: at, UpdatedAt: at, Version: 1}
		raw := encodeTask(&made)
		if got, err := decodeTask(raw, "acme", 9); err != nil || !reflect.DeepEqual(got, made) || strings.Contains(raw, `"c":`) != !idAt.Equal(at) {
			t.Errorf("decodeTask(%s) = %+v, %v; want %+v", raw, got, err, made)
		}
	}
	bare := encodeTask(&Task{ID: "tsk_01JBARE", Title: "x", Status: StatusOpen, Priority: PriorityMedium, CreatedAt: at, UpdatedAt: at, Version: 1})
	if want := `{"i":"01JBARE","t":"x","c":1796558400005}`; bare != want {
		t.Errorf("encodeTask(bare) = %s, want %s", bare, want)
	}
}

// TestLegacyRecordsStillRead: a task stored in the wire form, as every
// record was before the compact one, is read, listed, changed (and then
// stored compact) and deleted like any other.
func TestLegacyRecordsStillRead(t *testing.T) {
	onEveryTopology(t, time.Now, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
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

// TestEventRecordRoundTrip: an event survives its stored form.
func TestEventRecordRoundTrip(t *testing.T) {
	task := fullTask()
	at := task.CreatedAt
	for name, ev := range map[string]Event{
		"Task": {ID: "evt_01JA", Type: EventTaskUpdated, Timestamp: at, Workspace: "acme",
			Data: EventData{Task: &task, Actor: Actor{UserID: "usr_1", Via: ViaAPI},
				Changes: map[string]Change{"title": {From: "a", To: "b"}}}},
		"Comment": {ID: "evt_01JB", Type: EventCommentCreated, Timestamp: at, Workspace: "acme",
			Data: EventData{Task: &task, Comment: &Comment{ID: "cmt_1", TaskID: task.ID, TaskNumber: 42, Text: "hi", Author: "usr_1", CreatedAt: at}}},
		"ULID": {ID: "evt_" + ulid(uint64(at.UnixMilli()), 1, 2), Type: EventTaskOverdue, Timestamp: at, Workspace: "acme",
			Data: EventData{Task: &task, Actor: Actor{UserID: task.CreatedBy, CliqUserID: "c1", Via: "x"}}},
		"Unknown type": {ID: "evt_01JD", Type: "task.future", Timestamp: at, Workspace: "acme", Data: EventData{Task: &task}},
		"User": {ID: "evt_01JC", Type: EventUserLinked, Timestamp: at, Workspace: "acme", Test: true,
			Data: EventData{User: &User{ID: "usr_1", Workspace: "acme", Name: "Ann", CreatedAt: at, UpdatedAt: at}}},
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := encodeEvent(&ev, false)
			if err != nil {
				t.Fatal(err)
			}
			got, same, err := decodeEvent(raw, "acme")
			if err != nil || same || !reflect.DeepEqual(got, ev) {
				t.Fatalf("decodeEvent(%s) = %+v, %v; want %+v", raw, got, err, ev)
			}
			wire, _ := json.Marshal(ev)
			if len(raw) >= len(wire) {
				t.Errorf("stored event is %d bytes, wire form %d", len(raw), len(wire))
			}
		})
	}
}

// TestEventCodes: every event type has its own stored code.
func TestEventCodes(t *testing.T) {
	for _, typ := range append(EventTypes, EventDailyDigest) {
		if c, ok := eventCodes[typ]; !ok || eventTypes[c] != typ {
			t.Errorf("event type %s has code %q, which reads back as %q", typ, c, eventTypes[c])
		}
	}
	if len(eventTypes) != len(eventCodes) {
		t.Errorf("%d codes for %d types: a code is used twice", len(eventTypes), len(eventCodes))
	}
}

// TestLegacyEventsStillRead: entries of the outbox written in the wire form
// are read beside new ones, by the log and by consumer groups.
func TestLegacyEventsStillRead(t *testing.T) {
	onEveryTopology(t, time.Now, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		task := fullTask()
		task.Workspace = ws
		old := Event{ID: "evt_01JOLD", Type: EventTaskCreated, Timestamp: task.CreatedAt, Workspace: ws,
			Data: EventData{Task: &task, Actor: Actor{Via: ViaAPI}}}
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: keysFor(ws).events(), Values: []any{"e", mustJSON(old)}}).Err(); err != nil {
			t.Fatal(err)
		}
		created, _, err := s.CreateTask(ctx, ws, Actor{Via: ViaAPI}, NewTask{Title: "new"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := s.EventsAfter(ctx, ws, "", 10)
		if err != nil || len(evs) != 2 {
			t.Fatalf("EventsAfter = %d events, %v; want 2", len(evs), err)
		}
		if !reflect.DeepEqual(evs[0].Event, old) {
			t.Errorf("legacy event = %+v, want %+v", evs[0].Event, old)
		}
		if got := evs[1].Event; got.Type != EventTaskCreated || got.Workspace != ws || !reflect.DeepEqual(*got.Data.Task, created) {
			t.Errorf("new event = %+v, want task.created of %+v", got, created)
		}
		if err := s.EnsureGroup(ctx, ws, "g"); err != nil {
			t.Fatal(err)
		}
		read, err := s.ReadGroup(ctx, ws, "g", "c1", 10)
		if err != nil || len(read) != 2 || read[0].Event.ID != old.ID {
			t.Errorf("ReadGroup = %+v, %v; want both events, the legacy one first", read, err)
		}
	})
}

// TestEventsShareTheirWritesTask: task.assigned emitted with task.created
// is stored without the task, and every reader gets it back, whether the
// entry before is in the same batch or not.
func TestEventsShareTheirWritesTask(t *testing.T) {
	onEveryTopology(t, time.Now, func(t *testing.T, s *Store, ws WorkspaceID) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, ws, Actor{}, NewUser{Name: "Ann", Email: "ann@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureGroup(ctx, ws, "g"); err != nil {
			t.Fatal(err)
		}
		task, _, err := s.CreateTask(ctx, ws, Actor{UserID: u.ID}, NewTask{Title: "shared", Assignee: &u.ID}, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs := s.rdb.XRange(ctx, keysFor(ws).events(), "-", "+").Val()
		if len(msgs) != 2 || strings.Contains(msgs[1].Values["c"].(string), `"t":{`) {
			t.Fatalf("stream = %v; want task.created, then task.assigned without its task", msgs)
		}
		check := func(how string, evs []StreamEvent, err error) {
			t.Helper()
			var got []Task
			for _, e := range evs {
				if e.Event.Data.Task != nil {
					got = append(got, *e.Event.Data.Task)
				}
			}
			if err != nil || len(got) != 2 || !reflect.DeepEqual(got[0], task) || !reflect.DeepEqual(got[1], task) {
				t.Errorf("%s: tasks %+v, %v; want the created task twice", how, got, err)
			}
		}
		after, err := s.EventsAfter(ctx, ws, "", 10)
		check("EventsAfter", after, err)
		one, err := s.EventsAfter(ctx, ws, msgs[0].ID, 1) // the entry before is not read
		check("EventsAfter one at a time", append(after[0:1:1], one...), err)
		var read []StreamEvent
		for range 2 {
			evs, err := s.ReadGroup(ctx, ws, "g", "c1", 1)
			if err != nil {
				t.Fatal(err)
			}
			read = append(read, evs...)
		}
		check("ReadGroup one at a time", read, nil)
		claimed, err := s.ClaimStale(ctx, ws, "g", "c2", 0, 10)
		check("ClaimStale", claimed, err)
		listed, _, err := s.ListEvents(ctx, ws, EventFilter{Type: EventTaskAssigned}, "", 10)
		if err != nil || len(listed) != 1 || !reflect.DeepEqual(*listed[0].Data.Task, task) {
			t.Errorf("ListEvents(task.assigned) = %+v, %v; want it with its task", listed, err)
		}
	})
}
