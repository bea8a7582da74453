package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
)

var (
	devChannel = notify.Destination{Kind: notify.DestinationChannel, Name: "devtasks"}
	someUser   = notify.Destination{Kind: notify.DestinationUser, Name: "60012345678"}
)

// forEachBackend runs fn on every Redis topology, in a fresh workspace.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID)) {
	t.Helper()
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			fn(t, notify.NewOutbox(redistest.ClientFor(t, b), time.Now), newOutboxWorkspace())
		})
	}
}

func newOutboxWorkspace() tasks.WorkspaceID {
	return tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
}

func mustQueue(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID, in notify.NewNotification, flushID string) (notify.Notification, bool, string) {
	t.Helper()
	if in.Message == nil {
		in.Message = json.RawMessage(`{"text":"hi"}`)
	}
	n, created, flush, err := s.QueueNotification(context.Background(), ws, in, flushID)
	if err != nil {
		t.Fatalf("QueueNotification(%+v) = %v", in, err)
	}
	return n, created, flush
}

func TestQueueNotificationIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID) {
		in := notify.NewNotification{EventID: "evt_1", Key: "evt_1|channel:devtasks", Destination: devChannel,
			Summary: notify.NotificationSummary{Type: tasks.EventTaskCreated, TaskNumber: 7, Title: "Buy milk", TaskOpen: true}}
		first, created, flush := mustQueue(t, s, ws, in, "fl_a")
		if !created || flush != "fl_a" || first.Status != notify.NotificationPending || *first.EventID != "evt_1" {
			t.Fatalf("first = %+v, %v, %q", first, created, flush)
		}
		again, created, flush := mustQueue(t, s, ws, in, "fl_b")
		if created || flush != "fl_a" || again.ID != first.ID {
			t.Fatalf("replay = %+v, %v, %q; want the first record and flush fl_a", again, created, flush)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("replayed record differs (-first +again):\n%s", diff)
		}
		list, next, err := s.ListNotifications(context.Background(), ws, "", 10)
		if err != nil || len(list) != 1 || next != "" {
			t.Fatalf("ListNotifications = %d records, %q, %v; want 1", len(list), next, err)
		}
		if list[0].Summary != in.Summary {
			t.Errorf("summary = %+v, want %+v", list[0].Summary, in.Summary)
		}
	})
}

func TestQueueNotificationInvalid(t *testing.T) {
	s := notify.NewOutbox(nil, time.Now)
	for _, d := range []notify.Destination{{Kind: "email", Name: "a"}, {Kind: notify.DestinationChannel}, {Kind: notify.DestinationUser, Name: "a b"}} {
		_, _, _, err := s.QueueNotification(context.Background(), "default", notify.NewNotification{Destination: d}, "fl")
		if _, ok := errors.AsType[*tasks.ValidationError](err); !ok {
			t.Errorf("QueueNotification to %+v = %v, want a validation error", d, err)
		}
	}
}

// TestFlushLifecycle walks a destination's queue through a deferred flush,
// a claim, a failed attempt, a success and a late report of an attempt that
// was cut off.
func TestFlushLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID) {
		ctx := context.Background()
		var ids []string
		for i := range 3 {
			n, _, flush := mustQueue(t, s, ws, notify.NewNotification{Key: fmt.Sprint(i), Destination: someUser}, fmt.Sprint("fl_", i))
			if flush != "fl_0" {
				t.Fatalf("flush of notification %d = %q, want fl_0 (the first stays in charge)", i, flush)
			}
			ids = append(ids, n.ID)
		}
		step := func(got notify.FlushStep, err error) notify.FlushStep {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := step(s.ClaimNotifications(ctx, ws, someUser, "fl_x", "fl_y")); got.State != notify.FlushStale || got.Next != "fl_0" {
			t.Fatalf("claim by a flush not in charge = %+v", got)
		}
		if got := step(s.DeferNotifications(ctx, ws, someUser, "fl_0", "fl_1")); got.State != notify.FlushDeferred || got.Next != "fl_1" {
			t.Fatalf("defer = %+v", got)
		}
		if got := step(s.ClaimNotifications(ctx, ws, someUser, "fl_0", "fl_z")); got.State != notify.FlushStale || got.Next != "fl_1" {
			t.Fatalf("claim by the deferred flush = %+v", got)
		}
		batch := step(s.ClaimNotifications(ctx, ws, someUser, "fl_1", "fl_2"))
		if batch.State != notify.FlushBatch || batch.Next != "" || !slices.Equal(batch.IDs, ids) {
			t.Fatalf("claim = %+v, want batch %v", batch, ids)
		}
		// A new notification starts a new flush; the batch stays with fl_1.
		late, _, flush := mustQueue(t, s, ws, notify.NewNotification{Key: "late", Destination: someUser}, "fl_3")
		if flush != "fl_3" {
			t.Fatalf("flush after the claim = %q, want fl_3", flush)
		}
		if got := step(s.ClaimNotifications(ctx, ws, someUser, "fl_1", "fl_4")); !slices.Equal(got.IDs, ids) {
			t.Fatalf("retried claim = %+v, want the same batch", got)
		}

		most, err := s.RecordAttempt(ctx, ws, "fl_1", ids, notify.NotificationPending, "cliq: api answered 500", true)
		if err != nil || most != 1 {
			t.Fatalf("RecordAttempt(pending) = %d, %v", most, err)
		}
		n, _ := s.GetNotification(ctx, ws, ids[0])
		if n.Status != notify.NotificationPending || n.Attempts != 1 || n.Error == nil || *n.Error != "cliq: api answered 500" {
			t.Fatalf("after a failed attempt: %+v", n)
		}
		if most, err = s.RecordAttempt(ctx, ws, "fl_1", ids, notify.NotificationSent, "", true); err != nil || most != 2 {
			t.Fatalf("RecordAttempt(sent) = %d, %v", most, err)
		}
		// An attempt that was cut off reports late: counted, but it changes nothing else.
		if _, err = s.RecordAttempt(ctx, ws, "fl_1", ids, notify.NotificationPending, "context canceled", true); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			n, _ := s.GetNotification(ctx, ws, id)
			if n.Status != notify.NotificationSent || n.Attempts != 3 || n.Error != nil {
				t.Errorf("after success and a late report: %+v", n)
			}
		}
		// The batch is released, so a repeat of fl_1 finds nothing to do.
		if got := step(s.ClaimNotifications(ctx, ws, someUser, "fl_1", "fl_5")); got.State != notify.FlushStale || got.Next != "fl_3" {
			t.Fatalf("claim after the batch was sent = %+v", got)
		}
		if got := step(s.ClaimNotifications(ctx, ws, someUser, "fl_3", "fl_6")); !slices.Equal(got.IDs, []string{late.ID}) {
			t.Fatalf("claim of the late notification = %+v", got)
		}
		if _, err := s.RecordAttempt(ctx, ws, "fl_3", []string{late.ID}, notify.NotificationFailed, "cliq: api answered 400", false); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.GetNotification(ctx, ws, late.ID); n.Status != notify.NotificationFailed || n.Attempts != 0 || *n.Error != "cliq: api answered 400" {
			t.Errorf("failed without a call: %+v", n)
		}
	})
}

func TestClaimLeavesOverflowToTheNextFlush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID) {
		for i := range notify.MaxBatch + 2 {
			mustQueue(t, s, ws, notify.NewNotification{Destination: devChannel}, "fl_"+fmt.Sprint(i))
		}
		got, err := s.ClaimNotifications(context.Background(), ws, devChannel, "fl_0", "fl_next")
		if err != nil || len(got.IDs) != notify.MaxBatch || got.Next != "fl_next" {
			t.Fatalf("claim = %d ids, next %q, %v", len(got.IDs), got.Next, err)
		}
		got, err = s.ClaimNotifications(context.Background(), ws, devChannel, "fl_next", "fl_after")
		if err != nil || len(got.IDs) != 2 || got.Next != "" {
			t.Fatalf("second claim = %d ids, next %q, %v", len(got.IDs), got.Next, err)
		}
	})
}

func TestDryRunNotificationIsNotQueued(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID) {
		n, created, flush := mustQueue(t, s, ws, notify.NewNotification{Destination: devChannel, DryRun: true}, "fl_a")
		if !created || flush != "" || n.Status != notify.NotificationDryRun {
			t.Fatalf("dry run = %+v, %v, %q", n, created, flush)
		}
		if got, _ := s.ClaimNotifications(context.Background(), ws, devChannel, "fl_a", "fl_b"); got.State != notify.FlushStale || got.Next != "" {
			t.Errorf("claim after a dry run = %+v, want nothing queued", got)
		}
	})
}

func TestListNotifications(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID) {
		var want []string
		for i := range 5 {
			n, _, _ := mustQueue(t, s, ws, notify.NewNotification{EventID: fmt.Sprint("evt_", i), Destination: devChannel}, "fl")
			want = append([]string{n.ID}, want...)
		}
		var got []string
		cursor := ""
		for range 10 {
			page, next, err := s.ListNotifications(context.Background(), ws, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range page {
				got = append(got, n.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages = %v, want newest first %v", got, want)
		}
		if _, _, err := s.ListNotifications(context.Background(), ws, "(bad", 2); err == nil {
			t.Error("a malformed cursor was accepted")
		}
		empty, next, err := s.ListNotifications(context.Background(), newOutboxWorkspace(), "", 2)
		if err != nil || empty == nil || len(empty) != 0 || next != "" {
			t.Errorf("empty log = %#v, %q, %v", empty, next, err)
		}
	})
}

// TestNotificationJSON pins the wire form of GET /api/v1/notifications.
func TestNotificationJSON(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *notify.Outbox, ws tasks.WorkspaceID) {
		n, _, _ := mustQueue(t, s, ws, notify.NewNotification{Destination: someUser, Message: json.RawMessage(`{"text":"Due soon"}`),
			Summary: notify.NotificationSummary{Title: "not on the wire"}}, "fl")
		var m map[string]any
		b, _ := json.Marshal(n)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "id")
		delete(m, "created_at")
		delete(m, "updated_at")
		want := map[string]any{
			"event_id":    nil,
			"destination": map[string]any{"kind": "user", "name": "60012345678"},
			"message":     map[string]any{"text": "Due soon"},
			"status":      "pending",
			"attempts":    float64(0),
			"error":       nil,
		}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("JSON (-want +got):\n%s", diff)
		}
	})
}
