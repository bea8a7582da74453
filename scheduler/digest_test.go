package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/scheduler"
	"github.com/taskerhq/tasker/tasks"
)

// TestDigestsAcrossTimezonesAndDST sweeps every 15 minutes, twice each
// time, from 12 to 30 March 2027: New York moves its clocks on the 14th,
// Berlin on the 28th, Kolkata never.
func TestDigestsAcrossTimezonesAndDST(t *testing.T) {
	forEachBackend(t, func(t *testing.T, _ redis.UniversalClient, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		zones := []string{"America/New_York", "Europe/Berlin", "Asia/Kolkata"}
		users := map[string]tasks.User{}
		for i, zone := range zones {
			u, err := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: zone, Timezone: zone, CliqUserID: ptr("cliq" + string(rune('a'+i)))})
			if err != nil {
				t.Fatal(err)
			}
			users[u.ID] = u
			longAgo := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
			mustCreate(t, s, ws, tasks.NewTask{Title: "Always overdue", Assignee: &u.ID, DueAt: &longAgo})
		}
		// A linked user with nothing due gets no digest; so does a user
		// with tasks who is not linked to Cliq.
		idle, err := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Idle", Timezone: "Europe/Berlin", CliqUserID: ptr("cliqidle")})
		if err != nil {
			t.Fatal(err)
		}
		unlinked, err := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Unlinked"})
		if err != nil {
			t.Fatal(err)
		}
		later := time.Date(2027, 4, 1, 12, 0, 0, 0, time.UTC)
		mustCreate(t, s, ws, tasks.NewTask{Title: "Not yet", Assignee: &idle.ID, DueAt: &later})
		longAgo := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
		mustCreate(t, s, ws, tasks.NewTask{Title: "Unlinked", Assignee: &unlinked.ID, DueAt: &longAgo})
		ny := loadLocation(t, "America/New_York")
		var nyID string
		for id, u := range users {
			if u.Timezone == "America/New_York" {
				nyID = id
			}
		}
		dueNY := time.Date(2027, 3, 20, 17, 0, 0, 0, ny)
		today := mustCreate(t, s, ws, tasks.NewTask{Title: "Due on the 20th", Assignee: &nyID, DueAt: &dueNY})

		sch := newTestScheduler(t, s, scheduler.WithDigestTime("09:00"))
		start := time.Date(2027, 3, 12, 0, 0, 0, 0, time.UTC)
		end := time.Date(2027, 3, 30, 0, 0, 0, 0, time.UTC)
		for now := start; now.Before(end); now = now.Add(15 * time.Minute) {
			mustSweep(t, sch, now)
			mustSweep(t, sch, now)
		}

		got := map[string][]tasks.Event{}
		for _, ev := range events(t, s, ws, tasks.EventDailyDigest) {
			got[ev.Data.User.ID] = append(got[ev.Data.User.ID], ev)
		}
		if n := len(got[idle.ID]) + len(got[unlinked.ID]); n != 0 {
			t.Errorf("users with nothing due or no link got %d digests, want none", n)
		}
		for id, u := range users {
			loc := loadLocation(t, u.Timezone)
			want := digestDates(start, end, loc)
			evs := got[id]
			if len(evs) != len(want) {
				t.Errorf("%s: %d digests, want %d (one per local day)", u.Timezone, len(evs), len(want))
				continue
			}
			for i, ev := range evs {
				local := ev.Timestamp.In(loc)
				d := ev.Data.Digest
				if d.Date != want[i] || local.Format(time.DateOnly) != want[i] || local.Hour() != 9 || local.Minute() >= 15 {
					t.Errorf("%s digest %d: date %s sent at %v local, want %s at 09:00–09:14", u.Timezone, i, d.Date, local, want[i])
				}
				if d.OverdueCount < 1 || len(d.Overdue) != d.OverdueCount || d.Overdue[0].Title != "Always overdue" {
					t.Errorf("%s digest %s: overdue %+v, want the overdue task", u.Timezone, d.Date, d.Overdue)
				}
				if ev.Type.Valid() || !ev.Type.Internal() {
					t.Errorf("digest event type %q must be internal, not a webhook event", ev.Type)
				}
			}
			if id != nyID {
				continue
			}
			for _, ev := range evs {
				d := ev.Data.Digest
				inToday := len(d.DueToday) == 1 && d.DueToday[0].Number == today.Number
				inOverdue := d.OverdueCount == 2
				switch {
				case d.Date < "2027-03-20" && (inToday || inOverdue):
					t.Errorf("NY digest %s lists the task due on the 20th", d.Date)
				case d.Date == "2027-03-20" && (!inToday || d.DueTodayCount != 1):
					t.Errorf("NY digest of the 20th: due today %+v, want the task due at 17:00", d.DueToday)
				case d.Date > "2027-03-20" && !inOverdue:
					t.Errorf("NY digest %s: %d overdue, want the task due on the 20th among them", d.Date, d.OverdueCount)
				}
			}
		}
	})
}

// digestDates lists the local dates whose 09:00 in loc falls in (start, end).
func digestDates(start, end time.Time, loc *time.Location) []string {
	var out []string
	for d := start.In(loc).AddDate(0, 0, -1); d.Before(end); d = d.AddDate(0, 0, 1) {
		at := time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, loc)
		if at.After(start) && at.Before(end) {
			out = append(out, at.Format(time.DateOnly))
		}
	}
	return out
}

func loadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
