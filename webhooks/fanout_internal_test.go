package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// TestFanoutBehindDisableKeepsEarlierEvents: the fan-out runs behind the
// event stream, and an endpoint is disabled (by the delivery path, then by
// its owner) between an event's write and its fan-out. The event was
// written while the endpoint was enabled, so it still gets its message,
// held until the endpoint is enabled again; an event written after the
// disable gets none. No lanes run: the test makes every step itself.
func TestFanoutBehindDisableKeepsEarlierEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		svc := newQuietService(t, st.rdb, st.tasks, Config{Workspaces: []tasks.WorkspaceID{ws}})
		sub, err := svc.store.createSub(ctx, ws, subRecord{
			URL: "https://example.com/hook", Events: []string{AllEvents}, Secret: "s", Enabled: true, Ordering: OrderingTask,
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		appendVersion := func(v int64) string {
			t.Helper()
			ev := tasks.Event{
				ID: fmt.Sprintf("evt_%d", v), Type: tasks.EventTaskUpdated, Timestamp: time.Now().UTC(), Workspace: ws,
				Data: tasks.EventData{Task: &tasks.Task{ID: "tsk_1", Version: v}},
			}
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.rdb.XAdd(ctx, &redis.XAddArgs{Stream: tasks.EventStreamKey(ws), Values: []any{"e", string(raw)}}).Err(); err != nil {
				t.Fatal(err)
			}
			return ev.ID
		}
		fanout := func() {
			t.Helper()
			if err := svc.Fanout(ctx, ws); err != nil {
				t.Fatalf("Fanout() = %v", err)
			}
		}
		events := func() []string {
			t.Helper()
			ms, _, err := st.listMessages(ctx, ws, sub.ID, "", "", 50)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]string, len(ms))
			for i, m := range ms {
				out[len(ms)-1-i] = m.EventID // oldest first
			}
			return out
		}
		lease := func() []leased {
			t.Helper()
			batch, _, err := st.leaseBatch(ctx, ws, "lane", 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return batch
		}

		appendVersion(1)
		fanout()
		appendVersion(2) // written while enabled; the fan-out has not read it yet
		batch := lease()
		if len(batch) != 1 || batch[0].Message.EventID != "evt_1" {
			t.Fatalf("leased %+v, want version 1", batch)
		}
		gone := attemptResult{Status: StatusFailed, Count: true, Disable: "the endpoint answered 410 Gone"}
		if f, err := st.finishMany(ctx, ws, "lane", []settle{{m: batch[0].Message, r: gone}}); err != nil || !f[0].Disabled {
			t.Fatalf("finishMany() = %+v, %v; want the endpoint disabled", f, err)
		}
		appendVersion(3) // written while disabled
		fanout()
		if got := events(); len(got) != 2 || got[1] != "evt_2" {
			t.Fatalf("messages of events %v; want evt_1 and evt_2 (written before the disable), not evt_3", got)
		}
		if batch := lease(); len(batch) != 0 {
			t.Fatalf("leased %+v while disabled", batch)
		}

		if _, err := svc.Enable(ctx, ws, sub.ID); err != nil {
			t.Fatal(err)
		}
		if batch := lease(); len(batch) != 1 || batch[0].Message.EventID != "evt_2" {
			t.Fatalf("after Enable leased %+v, want version 2", batch)
		}

		appendVersion(4) // written while enabled
		off := false
		if _, err := svc.Update(ctx, ws, sub.ID, SubscriptionPatch{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		appendVersion(5)
		fanout()
		if got := events(); len(got) != 3 || got[2] != "evt_4" {
			t.Fatalf("messages of events %v; want evt_1, evt_2 and evt_4", got)
		}
	})
}

func TestStreamIDAtMost(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"5-0", "5-0", true},
		{"5-0", "5-1", true},
		{"5-2", "5-1", false},
		{"4-9", "5-0", true},
		{"10-0", "9-99", false},
		{"5-0", "0-0", false},
		{"5-0", "", false},
		{"x", "5-0", false},
	}
	for _, tt := range tests {
		if got := streamIDAtMost(tt.a, tt.b); got != tt.want {
			t.Errorf("streamIDAtMost(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
