package notify_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
)

// destinations lists where ev's notifications went, as "kind:name", sorted.
func destinations(t *testing.T, e *testEnv, eventID string) []string {
	t.Helper()
	var out []string
	for _, r := range e.records(t) {
		if r.EventID != nil && *r.EventID == eventID {
			out = append(out, r.Destination.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestDestinations(t *testing.T) {
	e := newTestEnv(t, options{dryRun: true, cfg: notify.Config{Channel: "general"}})
	ctx := context.Background()
	if _, err := e.store.SubscribeChannel(ctx, e.ws, tasks.Actor{}, "devtasks", "", []tasks.EventType{tasks.EventTaskAssigned, tasks.EventTaskUpdated}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SubscribeChannel(ctx, e.ws, tasks.Actor{}, "general", "", nil); err != nil { // the default channel, subscribed too
		t.Fatal(err)
	}
	due := time.Now().Add(time.Hour)
	forMia := tasks.Task{ID: "tsk_1", Number: 1, Title: "Review PR", Status: tasks.StatusOpen, Priority: tasks.PriorityMedium, Assignee: &e.mia.ID, DueAt: &due}
	forNed := forMia
	forNed.Assignee = &e.ned.ID
	unassigned := forMia
	unassigned.Assignee = nil
	byLars := tasks.Actor{UserID: e.lars.ID, CliqUserID: larsCliq}
	byMia := tasks.Actor{UserID: e.mia.ID}
	byMiaInCliq := tasks.Actor{CliqUserID: miaCliq}
	cases := []struct {
		name  string
		typ   tasks.EventType
		task  tasks.Task
		actor tasks.Actor
		want  []string
	}{
		{"CreatedGoesToDefaultChannel", tasks.EventTaskCreated, unassigned, byLars, []string{"channel:general"}},
		{"UpdatedOnlyWhereSubscribed", tasks.EventTaskUpdated, forMia, byLars, []string{"channel:devtasks"}},
		{"AssignedToLinkedUser", tasks.EventTaskAssigned, forMia, byLars, []string{"channel:devtasks", "user:" + miaCliq}},
		{"AssignedToSelf", tasks.EventTaskAssigned, forMia, byMia, []string{"channel:devtasks"}},
		{"AssignedToSelfByCliqID", tasks.EventTaskAssigned, forMia, byMiaInCliq, []string{"channel:devtasks"}},
		{"AssignedToUnlinkedUser", tasks.EventTaskAssigned, forNed, byLars, []string{"channel:devtasks"}},
		{"Unassigned", tasks.EventTaskAssigned, unassigned, byLars, []string{"channel:devtasks"}},
		{"ReminderToAssignee", tasks.EventTaskReminder, forMia, tasks.Actor{}, []string{"user:" + miaCliq}},
		{"OverdueToChannelAndAssignee", tasks.EventTaskOverdue, forMia, tasks.Actor{}, []string{"channel:general", "user:" + miaCliq}},
		{"CommentOnTheirTask", tasks.EventCommentCreated, forMia, byLars, []string{"user:" + miaCliq}},
		{"CommentOnOwnTask", tasks.EventCommentCreated, forMia, byMia, nil},
		{"CompletedNoDirectMessage", tasks.EventTaskCompleted, forMia, byLars, []string{"channel:general"}},
		{"DeletedNowhere", tasks.EventTaskDeleted, forMia, byLars, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("evt_%02d", i)
			ev := taskEvent(id, c.typ, c.task, c.actor, time.Now())
			if !e.n.Wants(ev) {
				t.Fatalf("Wants(%s) = false", c.typ)
			}
			for range 2 { // a repeated job records nothing new
				if err := e.n.Handle(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := destinations(t, e, id); !slices.Equal(got, c.want) {
				t.Errorf("destinations = %v, want %v", got, c.want)
			}
		})
	}
	if e.n.Wants(tasks.Event{Type: tasks.EventUserLinked, Data: tasks.EventData{User: &e.mia}}) {
		t.Error("Wants(user.linked) = true")
	}
	test := taskEvent("evt_test", tasks.EventTaskCreated, forMia, byLars, time.Now())
	test.Test = true
	if e.n.Wants(test) {
		t.Error("Wants(a webhook test event) = true")
	}
}

// TestDefaultChannelTenancy: in single tenancy the default channel serves
// only workspace default; a ChannelServes func widens that.
func TestDefaultChannelTenancy(t *testing.T) {
	for _, c := range []struct {
		name   string
		serves func(tasks.WorkspaceID) bool
		want   []string
	}{
		{"Single", nil, nil},
		{"Org", func(tasks.WorkspaceID) bool { return true }, []string{"channel:general"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, options{dryRun: true, cfg: notify.Config{Channel: "general", ChannelServes: c.serves}})
			e.ws = "60009876543"
			ev := taskEvent("evt_org", tasks.EventTaskCreated, tasks.Task{Number: 1, Title: "Hello", Status: tasks.StatusOpen}, tasks.Actor{}, time.Now())
			ev.Workspace = e.ws
			if err := e.n.Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if got := destinations(t, e, ev.ID); !slices.Equal(got, c.want) {
				t.Errorf("destinations = %v, want %v", got, c.want)
			}
		})
	}
}

// TestDryRun: without a Cliq client nothing is queued or sent; the log
// records dry_run and says at Info what would have been posted.
func TestDryRun(t *testing.T) {
	e := newTestEnv(t, options{dryRun: true, cfg: notify.Config{Channel: "general"}})
	ctx := context.Background()
	due := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
	task := tasks.Task{Number: 42, Title: "Review PR", Status: tasks.StatusOpen, Assignee: &e.mia.ID, DueAt: &due}
	if err := e.n.Handle(ctx, taskEvent("evt_1", tasks.EventTaskOverdue, task, tasks.Actor{}, due.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := e.n.PostToChannel(ctx, e.ws, "ops", cliq.Text("Deploy finished"), ""); err != nil {
		t.Fatal(err)
	}
	recs := e.records(t)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for _, r := range recs {
		if r.Status != notify.NotificationDryRun || r.Attempts != 0 {
			t.Errorf("record %s: status %s, attempts %d; want dry_run, 0", r.Destination, r.Status, r.Attempts)
		}
	}
	logs := e.logs.String()
	for _, want := range []string{
		`level=INFO msg="cliq dry run: notification not posted"`,
		"destination_kind=channel destination=general", "destination_kind=user destination=" + miaCliq,
		`title="Overdue: #42 Review PR"`, `destination=ops title="Deploy finished"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	info, err := asynq.NewInspectorFromRedisClient(e.rdb).GetQueueInfo(notify.Queue)
	if err == nil && info.Size > 0 {
		t.Errorf("%d jobs queued in dry run", info.Size)
	}
	if got := e.metric(t, "tasker_notifications_total", "status", "dry_run"); got != 3 {
		t.Errorf("tasker_notifications_total{status=dry_run} = %v, want 3", got)
	}
}

// TestCardsInRecipientTimezone: a direct message shows times in the
// recipient's timezone, a channel post in the default one.
func TestCardsInRecipientTimezone(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	e := newTestEnv(t, options{dryRun: true, cfg: notify.Config{Channel: "general", Location: ny}})
	due := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
	task := tasks.Task{Number: 42, Title: "Review PR", Status: tasks.StatusOpen, Assignee: &e.mia.ID, DueAt: &due}
	if err := e.n.Handle(context.Background(), taskEvent("evt_1", tasks.EventTaskOverdue, task, tasks.Actor{}, due)); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.records(t) {
		want := map[notify.DestinationKind]string{notify.DestinationUser: "17:00 CET", notify.DestinationChannel: "11:00 EST"}[r.Destination.Kind]
		if !strings.Contains(string(r.Message), want) {
			t.Errorf("%s message %s lacks %q", r.Destination, r.Message, want)
		}
	}
}

func TestDailyDigestGoesToItsUser(t *testing.T) {
	e := newTestEnv(t, options{dryRun: true, cfg: notify.Config{Channel: "general"}})
	due := time.Now().Add(time.Hour)
	ev := tasks.Event{ID: "evt_digest", Type: tasks.EventDailyDigest, Timestamp: time.Now(), Workspace: e.ws,
		Data: tasks.EventData{User: &e.mia, Digest: &tasks.Digest{Date: "2026-12-03", Timezone: "Europe/Berlin",
			DueToday: []tasks.Task{{Number: 3, Title: "Pay rent", Status: tasks.StatusOpen, DueAt: &due}}, DueTodayCount: 1}}}
	if !e.n.Wants(ev) {
		t.Fatal("Wants(digest.daily) = false")
	}
	if err := e.n.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got := destinations(t, e, ev.ID); !slices.Equal(got, []string{"user:" + miaCliq}) {
		t.Errorf("destinations = %v", got)
	}
	ev.ID, ev.Data.User = "evt_digest_ned", &e.ned
	if err := e.n.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got := destinations(t, e, ev.ID); got != nil {
		t.Errorf("an unlinked user's digest went to %v", got)
	}
}
