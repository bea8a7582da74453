package tasks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestParseRulePhrases covers every phrase of SPEC 6.5 with the RRULE and
// the words it is stored and shown as.
func TestParseRulePhrases(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	for _, tc := range []struct{ in, rrule, text string }{
		{"every day", "FREQ=DAILY", "every day"},
		{"every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"},
		{"every weekday at 9:30", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30", "every weekday at 09:30"},
		{"every week", "FREQ=WEEKLY", "every week"},
		{"every month", "FREQ=MONTHLY", "every month"},
		{"every year", "FREQ=YEARLY", "every year"},
		{"every 3 days", "FREQ=DAILY;INTERVAL=3", "every 3 days"},
		{"every 2 weeks", "FREQ=WEEKLY;INTERVAL=2", "every other week"},
		{"every 6 months", "FREQ=MONTHLY;INTERVAL=6", "every 6 months"},
		{"every 10 years", "FREQ=YEARLY;INTERVAL=10", "every 10 years"},
		{"every other day", "FREQ=DAILY;INTERVAL=2", "every other day"},
		{"every other week", "FREQ=WEEKLY;INTERVAL=2", "every other week"},
		{"every other month", "FREQ=MONTHLY;INTERVAL=2", "every other month"},
		{"every other monday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "every other Mon"},
		{"Every Mon, Wed and Fri", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "every Mon, Wed and Fri"},
		{"every friday, monday and wednesday at 9:30am", "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30", "every Mon, Wed and Fri at 09:30"},
		{"every tuesday", "FREQ=WEEKLY;BYDAY=TU", "every Tue"},
		{"every 2nd tuesday", "FREQ=MONTHLY;BYDAY=2TU", "every 2nd Tue"},
		{"every last friday", "FREQ=MONTHLY;BYDAY=-1FR", "every last Fri"},
		{"every first monday at 10am", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0", "every 1st Mon at 10:00"},
		{"every month on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15", "every month on the 15th"},
		{"every month on the 31st", "FREQ=MONTHLY;BYMONTHDAY=31", "every month on the 31st"},
		{"every month on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1", "every month on the last day"},
		{"every year on mar 5", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=5", "every year on Mar 5"},
		{"every year on feb 29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "every year on Feb 29"},
		{"every year on 5 march at 8pm", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=5;BYHOUR=20;BYMINUTE=0", "every year on Mar 5 at 20:00"},
		{"every day at 17:00 until 2026-12-31", "FREQ=DAILY;BYHOUR=17;BYMINUTE=0;UNTIL=20261231T225959Z", "every day at 17:00 until 2026-12-31"},
		{"every day until 2026-07-01 at noon", "FREQ=DAILY;BYHOUR=12;BYMINUTE=0;UNTIL=20260701T215959Z", "every day at 12:00 until 2026-07-01"},
		{"every week, 5 times", "FREQ=WEEKLY;COUNT=5", "every week, 5 times"},
		{"every 2 weeks on mon and thu", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "every other week on Mon and Thu"},
		{"every 3 months on the last day", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1", "every 3 months on the last day"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseRule(tc.in, berlin)
			if err != nil {
				t.Fatalf("ParseRule(%q) = %v", tc.in, err)
			}
			if got := r.String(); got != tc.rrule {
				t.Errorf("ParseRule(%q).String() = %q, want %q", tc.in, got, tc.rrule)
			}
			if got := r.Text(berlin); got != tc.text {
				t.Errorf("ParseRule(%q).Text() = %q, want %q", tc.in, got, tc.text)
			}
			back, err := ParseRRULE(tc.rrule)
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Errorf("ParseRRULE(%q) = %+v, %v; want %+v", tc.rrule, back, err, r)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, tc := range []struct{ in, part string }{
		{"FREQ=HOURLY", "FREQ"},
		{"FREQ=DAILY;BYSETPOS=1", "BYSETPOS"},
		{"FREQ=DAILY;WKST=SU", "WKST"},
		{"FREQ=WEEKLY;BYMONTHDAY=3", "BYMONTHDAY"},
		{"FREQ=WEEKLY;BYDAY=2MO", "BYDAY"},
		{"FREQ=MONTHLY;BYDAY=XX", "BYDAY"},
		{"FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"},
		{"FREQ=MONTHLY;BYMONTHDAY=-2", "BYMONTHDAY"},
		{"FREQ=DAILY;COUNT=3;UNTIL=20261231", "COUNT"},
		{"FREQ=DAILY;UNTIL=tomorrow", "UNTIL"},
		{"FREQ=DAILY;INTERVAL=0", "INTERVAL"},
		{"FREQ=DAILY;FREQ=WEEKLY", "FREQ"},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY"},
		{"FREQ=DAILY;BYMINUTE=5", "BYMINUTE"},
		{"INTERVAL=2", "FREQ"},
		{"every fortnight", `"fortnight"`},
		{"every day at 25:00", "at"},
		{"every day until someday", "until"},
		{"every day at 9 at 10", "at"},
		{"sometimes", ""},
		{"every", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseRule(tc.in, time.UTC)
			var re *RuleError
			if !errors.As(err, &re) || re.Part != tc.part {
				t.Errorf("ParseRule(%q) = %v, want a RuleError about %q", tc.in, err, tc.part)
			}
		})
	}
}

// TestRuleTextFallsBackToRRULE: a rule the words cannot say is shown as its
// RRULE, which still parses back.
func TestRuleTextFallsBackToRRULE(t *testing.T) {
	for _, in := range []string{"FREQ=DAILY;BYMONTH=1,7", "FREQ=MONTHLY;BYDAY=1MO,3MO", "FREQ=MONTHLY;BYMONTHDAY=1,15", "FREQ=DAILY;UNTIL=20261231T120000Z"} {
		r, err := ParseRRULE(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Text(time.UTC); got != in {
			t.Errorf("Text() = %q, want %q", got, in)
		}
	}
}

func FuzzParseRule(f *testing.F) {
	for _, seed := range []string{
		"every day", "every weekday at 9:30", "every other monday", "every 2nd tuesday",
		"every month on the last day until 2026-12-31", "every year on mar 5, 3 times",
		"FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
	} {
		f.Add(seed)
	}
	loc := mustZone(f, "America/New_York")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRule(in, loc)
		if err != nil {
			return
		}
		for _, out := range []string{r.String(), r.Text(loc)} {
			back, err := ParseRule(out, loc)
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("ParseRule(%q) = %+v; printed %q reads back as %+v, %v", in, r, out, back, err)
			}
		}
		if strings.ContainsAny(r.Text(loc), "\n\r") {
			t.Fatalf("Text of %q has a line break", in)
		}
	})
}
