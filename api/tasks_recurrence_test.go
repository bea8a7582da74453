package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// TestRecurringTaskAPI: a rule in words or as an RRULE, read in
// recurrence_timezone; complete answers the completed task and the next
// occurrence exists; skip moves due_at; null ends the series.
func TestRecurringTaskAPI(t *testing.T) {
	e := newTestEnv(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	created := e.createTask(t, `{"title":"Stand-up","recurrence":"every weekday at 9:30","recurrence_timezone":"Europe/Berlin"}`)
	if created.Recurrence == nil || created.Recurrence.Rule != "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30" ||
		created.Recurrence.Timezone != "Europe/Berlin" || created.Recurrence.Text != "every weekday at 09:30" ||
		created.SeriesID == nil || *created.SeriesID != created.ID {
		t.Fatalf("created = %+v %+v", created, created.Recurrence)
	}
	if local := created.DueAt.In(berlin); local.Hour() != 9 || local.Minute() != 30 || local.Weekday() == time.Saturday || local.Weekday() == time.Sunday {
		t.Errorf("due_at = %v, want a weekday 09:30 Berlin", local)
	}
	w := e.mustDo(t, call{method: "GET", path: "/api/v1/tasks/" + created.ID}, http.StatusOK)
	for _, part := range []string{`"recurrence":{"rule":"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30","timezone":"Europe/Berlin","text":"every weekday at 09:30"}`, `"series_id":"` + created.ID + `"`} {
		if !strings.Contains(w.Body.String(), part) {
			t.Errorf("GET = %s, want %s", w.Body, part)
		}
	}

	w = e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + created.ID + "/skip"}, http.StatusOK)
	skipped := mustDecode[tasks.Task](t, w.Body.Bytes())
	if !skipped.DueAt.After(*created.DueAt) || skipped.DueAt.In(berlin).Hour() != 9 {
		t.Errorf("skip moved due_at from %v to %v", created.DueAt, skipped.DueAt)
	}

	e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + created.ID + "/complete"}, http.StatusOK)
	e.mustDo(t, call{method: "POST", path: "/api/v1/tasks/" + created.ID + "/complete"}, http.StatusOK)
	w = e.mustDo(t, call{method: "GET", path: "/api/v1/tasks?status=open"}, http.StatusOK)
	open := mustPage[tasks.Task](t, w, "tasks").Items
	if len(open) != 1 || *open[0].SeriesID != created.ID || !open[0].DueAt.After(*skipped.DueAt) {
		t.Fatalf("open after two completes = %+v, want one next occurrence", open)
	}

	next := open[0]
	w = e.mustDo(t, call{method: "PATCH", path: "/api/v1/tasks/" + next.ID, body: `{"recurrence":null}`}, http.StatusOK)
	if ended := mustDecode[tasks.Task](t, w.Body.Bytes()); ended.Recurrence != nil || ended.SeriesID == nil {
		t.Errorf("ended = %+v", ended)
	}
	w = e.mustDo(t, call{method: "PATCH", path: "/api/v1/tasks/" + next.ID, body: `{"due_at":null,"recurrence":"FREQ=MONTHLY;BYDAY=-1FR","recurrence_timezone":"America/New_York"}`}, http.StatusOK)
	if again := mustDecode[tasks.Task](t, w.Body.Bytes()); again.Recurrence == nil || again.Recurrence.Text != "every last Fri at 17:00" {
		t.Errorf("patched rule = %+v", again.Recurrence)
	}
	mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks/" + e.createTask(t, `{"title":"once"}`).ID + "/skip"}), http.StatusBadRequest, "invalid_argument")
}

func TestRecurrenceValidation(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		name, body, field, part string
	}{
		{"UnsupportedPart", `{"title":"x","recurrence":"FREQ=DAILY;BYSETPOS=2"}`, "recurrence", "BYSETPOS"},
		{"HourlyFreq", `{"title":"x","recurrence":"FREQ=HOURLY"}`, "recurrence", "FREQ"},
		{"OrdinalWeekly", `{"title":"x","recurrence":"FREQ=WEEKLY;BYDAY=2TU"}`, "recurrence", "BYDAY"},
		{"BadUntil", `{"title":"x","recurrence":"FREQ=DAILY;UNTIL=soon"}`, "recurrence", "UNTIL"},
		{"CountAndUntil", `{"title":"x","recurrence":"FREQ=DAILY;COUNT=2;UNTIL=20991231"}`, "recurrence", "COUNT"},
		{"UnknownWord", `{"title":"x","recurrence":"every fortnight"}`, "recurrence", "fortnight"},
		{"BadTime", `{"title":"x","recurrence":"every day at 25:00"}`, "recurrence", "at"},
		{"BadZone", `{"title":"x","recurrence":"every day","recurrence_timezone":"Nowhere/Town"}`, "recurrence_timezone", "IANA"},
		{"ZoneAlone", `{"title":"x","recurrence_timezone":"UTC"}`, "recurrence_timezone", "recurrence"},
		{"RuleNotString", `{"title":"x","recurrence":{"rule":"FREQ=DAILY"}}`, "recurrence", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks", body: tc.body}), http.StatusBadRequest, "invalid_argument")
			if msg := got.Error.Fields[tc.field]; msg == "" || !strings.Contains(msg, tc.part) {
				t.Errorf("fields = %v, want %s naming %q", got.Error.Fields, tc.field, tc.part)
			}
		})
	}
	task := e.createTask(t, `{"title":"x"}`)
	got := mustError(t, e.do(t, call{method: "PATCH", path: "/api/v1/tasks/" + task.ID, body: `{"recurrence":"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}`}), http.StatusBadRequest, "invalid_argument")
	if !strings.Contains(got.Error.Fields["recurrence"], "BYMONTHDAY") {
		t.Errorf("PATCH fields = %v, want recurrence naming BYMONTHDAY", got.Error.Fields)
	}
}
