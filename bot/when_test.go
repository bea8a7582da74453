package bot

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// mustLoad returns the named location or fails the test.
func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// mustTime parses an RFC 3339 time; offsets in the tables make every DST
// case explicit.
func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time.Parse(%q): %v", s, err)
	}
	return tm
}

// 2026 facts the tables rely on: 25 March is a Wednesday. Berlin springs
// forward on 29 March and falls back on 25 October, New York on 8 March and
// 1 November, Auckland falls back on 5 April and springs forward on
// 27 September; all are Sundays, all at 02:00 or 03:00 local time.
func TestParseWhen(t *testing.T) {
	const (
		berlinWed = "2026-03-25T10:00:00+01:00"
		berlin    = "Europe/Berlin"
		newYork   = "America/New_York"
		kolkata   = "Asia/Kolkata"
		auckland  = "Pacific/Auckland"
	)
	tests := []struct {
		tz, now, in, want string
	}{
		// Dates alone are 17:00.
		{berlin, berlinWed, "today", "2026-03-25T17:00:00+01:00"},
		{berlin, berlinWed, "TODAY", "2026-03-25T17:00:00+01:00"},
		{berlin, berlinWed, "tomorrow", "2026-03-26T17:00:00+01:00"},
		{berlin, berlinWed, "Tomorrow", "2026-03-26T17:00:00+01:00"},
		{berlin, "2026-03-25T18:00:00+01:00", "today", "2026-03-25T17:00:00+01:00"}, // today stays today, even when past
		// Weekdays: the next one, today while still ahead.
		{berlin, berlinWed, "friday", "2026-03-27T17:00:00+01:00"},
		{berlin, berlinWed, "fri", "2026-03-27T17:00:00+01:00"},
		{berlin, berlinWed, "FRIDAY", "2026-03-27T17:00:00+01:00"},
		{berlin, berlinWed, "on friday", "2026-03-27T17:00:00+01:00"},
		{berlin, berlinWed, "this friday", "2026-03-27T17:00:00+01:00"},
		{berlin, berlinWed, "wednesday", "2026-03-25T17:00:00+01:00"},
		{berlin, berlinWed, "wed 9am", "2026-04-01T09:00:00+02:00"},
		{berlin, berlinWed, "tuesday", "2026-03-31T17:00:00+02:00"},
		{berlin, berlinWed, "sun", "2026-03-29T17:00:00+02:00"},
		// next X is in next week; next week is next Monday.
		{berlin, berlinWed, "next monday", "2026-03-30T17:00:00+02:00"},
		{berlin, berlinWed, "next monday 10am", "2026-03-30T10:00:00+02:00"},
		{berlin, berlinWed, "next wednesday", "2026-04-01T17:00:00+02:00"},
		{berlin, berlinWed, "next friday", "2026-04-03T17:00:00+02:00"},
		{berlin, berlinWed, "next sunday", "2026-04-05T17:00:00+02:00"},
		{berlin, berlinWed, "next week", "2026-03-30T17:00:00+02:00"},
		{berlin, berlinWed, "nextweek", "2026-03-30T17:00:00+02:00"},
		{berlin, "2026-03-30T08:00:00+02:00", "next monday", "2026-04-06T17:00:00+02:00"},
		{berlin, "2026-03-29T08:00:00+02:00", "next monday", "2026-03-30T17:00:00+02:00"},
		// Relative: hours and minutes are exact, days are dates.
		{berlin, berlinWed, "in 3h", "2026-03-25T13:00:00+01:00"},
		{berlin, berlinWed, "in 3 hours", "2026-03-25T13:00:00+01:00"},
		{berlin, berlinWed, "in 30 min", "2026-03-25T10:30:00+01:00"},
		{berlin, berlinWed, "in 1h30m", "2026-03-25T11:30:00+01:00"},
		{berlin, berlinWed, "in 1h 30m", "2026-03-25T11:30:00+01:00"},
		{berlin, berlinWed, "in an hour", "2026-03-25T11:00:00+01:00"},
		{berlin, berlinWed, "in 2 days", "2026-03-27T17:00:00+01:00"},
		{berlin, berlinWed, "in 2 days 9am", "2026-03-27T09:00:00+01:00"},
		{berlin, berlinWed, "in a week", "2026-04-01T17:00:00+02:00"},
		{berlin, berlinWed, "in 1 month", "2026-04-25T17:00:00+02:00"},
		{berlin, "2026-01-31T10:00:00+01:00", "in 1 month", "2026-02-28T17:00:00+01:00"},
		// Times alone: today, or tomorrow when passed.
		{berlin, berlinWed, "5pm", "2026-03-25T17:00:00+01:00"},
		{berlin, berlinWed, "5 pm", "2026-03-25T17:00:00+01:00"},
		{berlin, berlinWed, "5:30pm", "2026-03-25T17:30:00+01:00"},
		{berlin, berlinWed, "17:30", "2026-03-25T17:30:00+01:00"},
		{berlin, berlinWed, "at 17:30", "2026-03-25T17:30:00+01:00"},
		{berlin, berlinWed, "noon", "2026-03-25T12:00:00+01:00"},
		{berlin, berlinWed, "at noon", "2026-03-25T12:00:00+01:00"},
		{berlin, berlinWed, "9am", "2026-03-26T09:00:00+01:00"},
		{berlin, berlinWed, "9:30", "2026-03-26T09:30:00+01:00"},
		{berlin, berlinWed, "10:00", "2026-03-26T10:00:00+01:00"}, // now is not ahead of now
		{berlin, berlinWed, "12am", "2026-03-26T00:00:00+01:00"},
		{berlin, berlinWed, "12pm", "2026-03-25T12:00:00+01:00"},
		// Dates and times combined, in either order.
		{berlin, berlinWed, "tomorrow 5pm", "2026-03-26T17:00:00+01:00"},
		{berlin, berlinWed, "5pm tomorrow", "2026-03-26T17:00:00+01:00"},
		{berlin, berlinWed, "tomorrow at 9:15 am", "2026-03-26T09:15:00+01:00"},
		{berlin, berlinWed, "friday 9:30", "2026-03-27T09:30:00+01:00"},
		{berlin, berlinWed, "fri, 9:30", "2026-03-27T09:30:00+01:00"},
		// Calendar dates.
		{berlin, berlinWed, "2026-12-01", "2026-12-01T17:00:00+01:00"},
		{berlin, berlinWed, "2026-12-01 17:30", "2026-12-01T17:30:00+01:00"},
		{berlin, berlinWed, "2026-12-01T17:30", "2026-12-01T17:30:00+01:00"},
		{berlin, berlinWed, "2025-12-01", "2025-12-01T17:00:00+01:00"}, // a year makes a past date possible
		{berlin, berlinWed, "dec 1", "2026-12-01T17:00:00+01:00"},
		{berlin, berlinWed, "1st December", "2026-12-01T17:00:00+01:00"},
		{berlin, berlinWed, "on dec 1st, 2027 at 5 pm", "2027-12-01T17:00:00+01:00"},
		{berlin, berlinWed, "march 25", "2026-03-25T17:00:00+01:00"},
		{berlin, berlinWed, "march 24", "2027-03-24T17:00:00+01:00"},
		{berlin, berlinWed, "feb 29", "2028-02-29T17:00:00+01:00"},
		// Berlin springs forward: wall-clock times stay, durations are exact.
		{berlin, "2026-03-28T12:00:00+01:00", "tomorrow 9am", "2026-03-29T09:00:00+02:00"},
		{berlin, "2026-03-28T12:00:00+01:00", "in 24h", "2026-03-29T13:00:00+02:00"},
		{berlin, "2026-03-28T12:00:00+01:00", "in 1 day 12:00", "2026-03-29T12:00:00+02:00"},
		{berlin, "2026-03-29T01:30:00+01:00", "4am", "2026-03-29T04:00:00+02:00"},
		// 02:30 does not exist; Go 1.26 moves it forward here (see when.go).
		{berlin, "2026-03-28T12:00:00+01:00", "tomorrow 2:30", "2026-03-29T03:30:00+02:00"},
		// Berlin falls back; 02:30 happens twice and Go 1.26 takes the second.
		{berlin, "2026-10-24T12:00:00+02:00", "tomorrow 9am", "2026-10-25T09:00:00+01:00"},
		{berlin, "2026-10-24T12:00:00+02:00", "in 24h", "2026-10-25T11:00:00+01:00"},
		{berlin, "2026-10-24T12:00:00+02:00", "tomorrow 2:30", "2026-10-25T02:30:00+01:00"},
		// New York springs forward; Go 1.26 moves the missing 02:30 back.
		{newYork, "2026-03-07T20:00:00-05:00", "tomorrow", "2026-03-08T17:00:00-04:00"},
		{newYork, "2026-03-07T20:00:00-05:00", "9am", "2026-03-08T09:00:00-04:00"},
		{newYork, "2026-03-07T20:00:00-05:00", "sunday", "2026-03-08T17:00:00-04:00"},
		{newYork, "2026-03-07T20:00:00-05:00", "tomorrow 2:30am", "2026-03-08T01:30:00-05:00"},
		// New York falls back; the ambiguous 01:30 is the first (EDT).
		{newYork, "2026-10-31T20:00:00-04:00", "tomorrow", "2026-11-01T17:00:00-05:00"},
		{newYork, "2026-10-31T20:00:00-04:00", "in 2 days", "2026-11-02T17:00:00-05:00"},
		{newYork, "2026-10-31T20:00:00-04:00", "tomorrow 1:30am", "2026-11-01T01:30:00-04:00"},
		{newYork, "2026-10-31T20:00:00-04:00", "in 6h", "2026-11-01T01:00:00-05:00"},
		// Kolkata: a half-hour offset, late in the evening.
		{kolkata, "2026-03-25T23:50:00+05:30", "tomorrow", "2026-03-26T17:00:00+05:30"},
		{kolkata, "2026-03-25T23:50:00+05:30", "11:30pm", "2026-03-26T23:30:00+05:30"},
		{kolkata, "2026-03-25T23:50:00+05:30", "in 30 min", "2026-03-26T00:20:00+05:30"},
		{kolkata, "2026-03-25T23:50:00+05:30", "friday 9:30am", "2026-03-27T09:30:00+05:30"},
		// Auckland is a day ahead of UTC: "tomorrow" follows its calendar.
		{auckland, "2026-03-25T20:00:00Z", "today", "2026-03-26T17:00:00+13:00"},
		{auckland, "2026-03-25T20:00:00Z", "tomorrow", "2026-03-27T17:00:00+13:00"},
		{auckland, "2026-03-25T20:00:00Z", "thursday", "2026-03-26T17:00:00+13:00"},
		// Auckland falls back in April and springs forward in September.
		{auckland, "2026-04-04T23:30:00+13:00", "tomorrow 9am", "2026-04-05T09:00:00+12:00"},
		{auckland, "2026-04-04T23:30:00+13:00", "sunday", "2026-04-05T17:00:00+12:00"},
		{auckland, "2026-09-26T12:00:00+12:00", "tomorrow 2:30am", "2026-09-27T03:30:00+13:00"},
		{auckland, "2026-09-26T12:00:00+12:00", "tomorrow 9am", "2026-09-27T09:00:00+13:00"},
	}
	for _, tt := range tests {
		t.Run(tt.tz+"/"+tt.in, func(t *testing.T) {
			loc := mustLoad(t, tt.tz)
			now := mustTime(t, tt.now)
			got, err := ParseWhen(tt.in, now, loc)
			if err != nil {
				t.Fatalf("ParseWhen(%q, %s, %s) error: %v", tt.in, tt.now, tt.tz, err)
			}
			want := mustTime(t, tt.want)
			if !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("ParseWhen(%q, %s, %s) = %s (%s), want %s", tt.in, tt.now, tt.tz, got, got.In(loc), want.UTC())
			}
		})
	}
}

func TestParseWhenNilLocationIsUTC(t *testing.T) {
	now := mustTime(t, "2026-03-25T10:00:00Z")
	got, err := ParseWhen("tomorrow", now, nil)
	if want := mustTime(t, "2026-03-26T17:00:00Z"); err != nil || !got.Equal(want) {
		t.Errorf("ParseWhen(tomorrow, nil) = %s, %v, want %s", got, err, want)
	}
}

func TestParseWhenErrors(t *testing.T) {
	tests := []struct {
		in, wantReason, wantExample string
	}{
		{"", "there is no date or time", "tomorrow 5pm"},
		{"   ", "there is no date or time", "tomorrow 5pm"},
		{"frday", `"frday" is not a day or time I know`, "friday"},
		{"tomorow 5pm", `"tomorow" is not a day or time I know`, "tomorrow 5pm"},
		{"next fryday", `after "next" I expected a weekday`, "next friday"},
		{"next", `after "next" I expected a weekday`, "tomorrow 5pm"},
		{"someday", `"someday" is not a day or time I know`, "tomorrow 5pm"},
		{"25:00", `"25:00" is not a time of day`, "tomorrow 5pm"},
		{"13pm", `"13pm" is not a time of day`, "tomorrow 5pm"},
		{"0am", `"0am" is not a time of day`, "tomorrow 5pm"},
		{"5:60", `"5:60" is not a time of day`, "tomorrow 5pm"},
		{"5:3", `"5:3" is not a time of day`, "tomorrow 5pm"},
		{"friday 5", `"5" needs am or pm`, "friday 5pm"},
		{"2026-02-30", `"2026-02-30" is not a date in the calendar`, "tomorrow 5pm"},
		{"2026-12-01t25:00", "is not a date in the calendar", "tomorrow 5pm"},
		{"feb 30", "February has no day 30", "tomorrow 5pm"},
		{"dec", `after "dec" I expected a day of the month`, "tomorrow 5pm"},
		{"tomorrow friday", `"friday" is a second date`, "tomorrow 5pm"},
		{"5pm 6pm", `"6pm" is a second time`, "tomorrow 5pm"},
		{"in 3h 5pm", `"5pm" cannot be combined with an exact time`, "tomorrow 5pm"},
		{"tomorrow in 3h", `"in 3h" cannot be combined with a date or time`, "tomorrow 5pm"},
		{"in", `"in" needs a length of time`, "tomorrow 5pm"},
		{"in 3 hourss", `"hourss" is not a unit of time`, "in 3 hours"},
		{"in 3hourss", `"3hourss" is not a length of time`, "in 3hours"},
		{"in 0 min", "must be more than zero", "tomorrow 5pm"},
		{"in 11 years", `"years" is not a unit of time`, "tomorrow 5pm"},
		{"in 99999999 days", "more than ten years", "tomorrow 5pm"},
		{"in 4000 days", "more than ten years", "tomorrow 5pm"},
		{"in 2 days 3h", "cannot be combined with other units", "tomorrow 5pm"},
		{"at", `after "at" I expected a time`, "tomorrow 5pm"},
		{"at friday", `after "at" I expected a time`, "tomorrow 5pm"},
		{"on", `after "on" I expected a day`, "tomorrow 5pm"},
		{"12/01", `"12/01" is not a day or time I know`, "tomorrow 5pm"},
	}
	now := mustTime(t, "2026-03-25T10:00:00+01:00")
	loc := mustLoad(t, "Europe/Berlin")
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseWhen(tt.in, now, loc)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseWhen(%q) = %s, %v, want a *SyntaxError", tt.in, got, err)
			}
			if !strings.Contains(se.Reason, tt.wantReason) || se.Example != tt.wantExample {
				t.Errorf("ParseWhen(%q) error = reason %q, example %q; want reason containing %q, example %q",
					tt.in, se.Reason, se.Example, tt.wantReason, tt.wantExample)
			}
			if _, err := ParseWhen(se.Example, now, loc); err != nil {
				t.Errorf("ParseWhen(%q) suggests %q, which fails: %v", tt.in, se.Example, err)
			}
		})
	}
}

func TestParseWhenErrorMessage(t *testing.T) {
	_, err := ParseWhen("frday 5pm", time.Now(), time.UTC)
	want := `I didn't understand "frday 5pm": "frday" is not a day or time I know. Try: friday 5pm`
	if err == nil || err.Error() != want {
		t.Errorf("ParseWhen(frday 5pm) error = %v, want %s", err, want)
	}
}

func TestParseSnooze(t *testing.T) {
	const (
		berlin    = "Europe/Berlin"
		berlinWed = "2026-03-25T10:00:00+01:00"
	)
	tests := []struct {
		tz, now, in, want string
	}{
		{berlin, berlinWed, "60", "2026-03-25T11:00:00+01:00"}, // snooze:N:60
		{berlin, berlinWed, "90", "2026-03-25T11:30:00+01:00"},
		{berlin, berlinWed, "1h", "2026-03-25T11:00:00+01:00"},
		{berlin, berlinWed, "30m", "2026-03-25T10:30:00+01:00"},
		{berlin, berlinWed, "90 min", "2026-03-25T11:30:00+01:00"},
		{berlin, berlinWed, "1h30m", "2026-03-25T11:30:00+01:00"},
		{berlin, berlinWed, "2 days", "2026-03-27T10:00:00+01:00"},
		{berlin, berlinWed, "1 week", "2026-04-01T10:00:00+02:00"}, // same wall-clock time across DST
		{berlin, berlinWed, "1 month", "2026-04-25T10:00:00+02:00"},
		{berlin, berlinWed, "tomorrow", "2026-03-26T09:00:00+01:00"}, // snooze:N:tomorrow
		{berlin, berlinWed, "nextweek", "2026-03-30T09:00:00+02:00"}, // snooze:N:nextweek
		{berlin, berlinWed, "next week", "2026-03-30T09:00:00+02:00"},
		{berlin, berlinWed, "Friday", "2026-03-27T09:00:00+01:00"},
		{berlin, berlinWed, "monday 10am", "2026-03-30T10:00:00+02:00"},
		{berlin, berlinWed, "in 3h", "2026-03-25T13:00:00+01:00"},
		{berlin, "2026-03-30T08:00:00+02:00", "nextweek", "2026-04-06T09:00:00+02:00"}, // on a Monday
		{berlin, "2026-03-28T23:30:00+01:00", "tomorrow", "2026-03-29T09:00:00+02:00"},
		{"America/New_York", "2026-03-07T20:00:00-05:00", "1 day", "2026-03-08T20:00:00-04:00"},
		{"America/New_York", "2026-03-07T20:00:00-05:00", "24h", "2026-03-08T21:00:00-04:00"},
		{"Asia/Kolkata", "2026-03-25T23:50:00+05:30", "tomorrow", "2026-03-26T09:00:00+05:30"},
		{"Pacific/Auckland", "2026-03-25T20:00:00Z", "tomorrow", "2026-03-27T09:00:00+13:00"},
	}
	for _, tt := range tests {
		t.Run(tt.tz+"/"+tt.in, func(t *testing.T) {
			loc := mustLoad(t, tt.tz)
			got, err := ParseSnooze(tt.in, mustTime(t, tt.now), loc)
			if want := mustTime(t, tt.want); err != nil || !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("ParseSnooze(%q, %s, %s) = %s, %v, want %s", tt.in, tt.now, tt.tz, got, err, want.UTC())
			}
		})
	}
}

func TestParseSnoozeErrors(t *testing.T) {
	tests := []struct {
		in, wantReason, wantExample string
	}{
		{"", "there is no date or time", "1h"},
		{"0", "must be more than zero", "1h"},
		{"60 seconds", `"seconds" is not a unit of time`, "1h"},
		{"in 60", `"60" needs a unit`, "in 60min"},
		{"99999999", "more than ten years", "1h"},
		{"2 dayz", `"dayz" is not a unit of time`, "2 days"},
		{"3 weeks later", `I did not expect "later"`, "1h"},
		{"today 9am", "that time has already passed", "tomorrow"},
		{"tomorow", `"tomorow" is not a day or time I know`, "tomorrow"},
	}
	now := mustTime(t, "2026-03-25T10:00:00+01:00")
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSnooze(tt.in, now, mustLoad(t, "Europe/Berlin"))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseSnooze(%q) = %s, %v, want a *SyntaxError", tt.in, got, err)
			}
			if !strings.Contains(se.Reason, tt.wantReason) || se.Example != tt.wantExample {
				t.Errorf("ParseSnooze(%q) error = reason %q, example %q; want reason containing %q, example %q",
					tt.in, se.Reason, se.Example, tt.wantReason, tt.wantExample)
			}
		})
	}
}

// newTestZones returns the timezones the fuzzers pick from: both
// hemispheres, both sides of UTC, and a half-hour offset.
func newTestZones(t testing.TB) []*time.Location {
	t.Helper()
	var zones []*time.Location
	for _, name := range []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"} {
		zones = append(zones, mustLoad(t, name))
	}
	return zones
}

// fuzzNow maps any number to an instant between 2000 and 2100.
func fuzzNow(seconds int64) time.Time {
	const century = 100 * 365 * 24 * 3600
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	return base.Add(time.Duration((seconds%century+century)%century) * time.Second)
}

func FuzzParseWhen(f *testing.F) {
	for _, seed := range []string{
		"today", "tomorrow 5pm", "friday", "next monday 10am", "in 3h", "in 2 days 9am",
		"5:30pm", "17:30", "noon", "2026-12-01 17:30", "dec 1st, 2027 at 5 pm", "feb 29",
		"in 1 month", "tomorrow 2:30", "frday", "25:00", "in 0 min", "", "at", "in 1h30m",
	} {
		f.Add(seed, int64(827_000_000), uint8(1))
	}
	zones := newTestZones(f)
	f.Fuzz(func(t *testing.T, in string, seconds int64, zone uint8) {
		loc := zones[int(zone)%len(zones)]
		now := fuzzNow(seconds)
		got, err := ParseWhen(in, now, loc)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Reason == "" {
				t.Fatalf("ParseWhen(%q) error = %#v, want a *SyntaxError with a reason", in, err)
			}
			if _, err := ParseWhen(se.Example, now, loc); err != nil {
				t.Fatalf("ParseWhen(%q) suggests %q, which fails: %v", in, se.Example, err)
			}
			return
		}
		if got.IsZero() || got.Location() != time.UTC {
			t.Fatalf("ParseWhen(%q, %s) = %s, want a non-zero UTC time", in, now, got)
		}
		again, err := ParseWhen(normalizeWhen(in), now, loc)
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseWhen(%q) = %s, but its canonical text %q gives %s, %v", in, got, normalizeWhen(in), again, err)
		}
		w, _ := parseWhen(in)
		switch {
		case w.date == dateYMD:
			// Written with a year: any time from year 1000 to 9999.
		case w.mayBePast(): // today
			if !got.After(now.Add(-25 * time.Hour)) {
				t.Fatalf("ParseWhen(%q, %s) = %s, more than a day before now", in, now, got)
			}
		case !got.After(now):
			t.Fatalf("ParseWhen(%q, %s) = %s, not after now", in, now, got)
		case got.After(now.AddDate(11, 0, 0)):
			t.Fatalf("ParseWhen(%q, %s) = %s, more than ten years ahead", in, now, got)
		}
	})
}

func FuzzParseSnooze(f *testing.F) {
	for _, seed := range []string{"60", "1h", "30m", "2 days", "tomorrow", "nextweek", "friday 9am", "0", "2 dayz"} {
		f.Add(seed, int64(827_000_000), uint8(1))
	}
	zones := newTestZones(f)
	f.Fuzz(func(t *testing.T, in string, seconds int64, zone uint8) {
		loc := zones[int(zone)%len(zones)]
		now := fuzzNow(seconds)
		got, err := ParseSnooze(in, now, loc)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Reason == "" || !validSnooze(se.Example) {
				t.Fatalf("ParseSnooze(%q) error = %#v, want a *SyntaxError with a reason and a valid example", in, err)
			}
			return
		}
		if got.Location() != time.UTC || !got.After(now) {
			t.Fatalf("ParseSnooze(%q, %s) = %s, want a UTC time after now", in, now, got)
		}
		if sp, _ := parseSnooze(in); (sp.when == nil || sp.when.date != dateYMD) && got.After(now.AddDate(11, 0, 0)) {
			t.Fatalf("ParseSnooze(%q, %s) = %s, more than ten years ahead", in, now, got)
		}
	})
}
