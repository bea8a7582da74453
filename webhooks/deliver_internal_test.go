package webhooks

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/taskerhq/tasker/tasks"
)

// TestLegacyJobMakesItsMessageDue: a delivery job an older version queued
// (which kept no due set) makes its message due for the lanes when the
// message may still run, and is done without error when it may not or is
// gone; a payload that cannot be read is not retried.
func TestLegacyJobMakesItsMessageDue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		svc := newQuietService(t, s.rdb, s.tasks, Config{Workspaces: []tasks.WorkspaceID{ws}})
		sub := newTestWebhook(t, s, ws, "none")
		// oldMessage stores a pending message as the older version left
		// it: out of the due set, waiting for its job.
		oldMessage := func(event string) string {
			t.Helper()
			q, err := s.createMessage(ctx, ws, newMessage{SubscriptionID: sub.ID, EventID: event, Body: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.rdb.ZRem(ctx, keysFor(ws).whDue(), q.Message.ID).Err(); err != nil {
				t.Fatal(err)
			}
			return q.Message.ID
		}
		handle := func(payload string) error {
			t.Helper()
			return svc.handleJob(ctx, asynq.NewTask(JobType, []byte(payload)))
		}
		jobFor := func(id string) string { return fmt.Sprintf(`{"ws":%q,"msg":%q,"seq":1}`, ws, id) }

		id := oldMessage("evt_1")
		if b := mustLease(t, s, ws, "lane"); len(b) != 0 {
			t.Fatalf("leaseBatch() before the job = %v, want none", leasedIDs(b))
		}
		if err := handle(jobFor(id)); err != nil {
			t.Fatalf("handleJob() = %v", err)
		}
		b := mustLease(t, s, ws, "lane")
		if fmt.Sprint(leasedIDs(b)) != fmt.Sprint([]string{id}) {
			t.Fatalf("leaseBatch() after the job = %v, want %s", leasedIDs(b), id)
		}
		mustSettle(t, s, ws, "lane", settle{m: b[0].Message, r: attemptResult{Status: StatusDelivered}})
		// A job late for its delivered message, or for one gone, does nothing.
		for _, id := range []string{id, "msg_gone"} {
			if err := handle(jobFor(id)); err != nil {
				t.Fatalf("handleJob(%s) = %v, want nil", id, err)
			}
		}
		if b := mustLease(t, s, ws, "lane"); len(b) != 0 {
			t.Fatalf("leaseBatch() after late jobs = %v, want none", leasedIDs(b))
		}
		if err := handle("{"); !errors.Is(err, asynq.SkipRetry) {
			t.Fatalf("handleJob(unreadable) = %v, want SkipRetry", err)
		}
	})
}
