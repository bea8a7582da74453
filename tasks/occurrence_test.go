package tasks

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestOccurrencesProperties walks series through 2026–2029 in zones with
// and without daylight saving, in both hemispheres: occurrences strictly
// increase, fall after the reference instant, keep the rule's local time of
// day (except where that time does not exist on the day, where they are
// what time.Date makes of it: an hour later), and fall on the rule's days.
func TestOccurrencesProperties(t *testing.T) {
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"}
	rules := []struct {
		rule string
		day  func(time.Time) bool // the local date is one of the rule's
	}{
		{"every day at 9:30", func(time.Time) bool { return true }},
		{"every day at 2:30", func(time.Time) bool { return true }},
		{"every weekday at 9:30", func(d time.Time) bool { return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday }},
		{"every mon, wed and fri at 8am", func(d time.Time) bool {
			return d.Weekday() == time.Monday || d.Weekday() == time.Wednesday || d.Weekday() == time.Friday
		}},
		{"every other week on sun at 2:30", func(d time.Time) bool { return d.Weekday() == time.Sunday }},
		{"every 2nd tuesday at 9:30", func(d time.Time) bool { return d.Weekday() == time.Tuesday && d.Day() >= 8 && d.Day() <= 14 }},
		{"every last friday at 18:00", func(d time.Time) bool { return d.Weekday() == time.Friday && d.AddDate(0, 0, 7).Month() != d.Month() }},
		{"every month on the 31st at 9:30", func(d time.Time) bool { return d.Day() == 31 }},
		{"every month on the last day at 23:30", func(d time.Time) bool { return d.AddDate(0, 0, 1).Day() == 1 }},
		{"every year on feb 29 at 9:30", func(d time.Time) bool { return d.Month() == time.February && d.Day() == 29 }},
		{"every 3 days at 0:30", func(time.Time) bool { return true }},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, zone := range zones {
		loc := mustZone(t, zone)
		for _, tc := range rules {
			t.Run(zone+"/"+tc.rule, func(t *testing.T) {
				r, err := ParseRule(tc.rule, loc)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
				cur, ok := r.First(start, loc)
				if !ok {
					t.Fatalf("First(%v) found nothing", start)
				}
				offsets := map[int]bool{}
				for n := 0; cur.Before(time.Date(2030, 1, 1, 0, 0, 0, 0, loc)); n++ {
					local := cur.In(loc)
					_, off := local.Zone()
					offsets[off] = true
					if !tc.day(local) {
						t.Fatalf("occurrence %v is not on one of the rule's days", local)
					}
					want := time.Date(local.Year(), local.Month(), local.Day(), r.Hour, r.Minute, 0, 0, loc)
					if !cur.Equal(want) {
						t.Fatalf("occurrence %v, want %v", local, want)
					}
					if local.Hour() != r.Hour || local.Minute() != r.Minute {
						// Only where the time does not exist on that day.
						if want.Hour() == r.Hour && want.Minute() == r.Minute {
							t.Fatalf("occurrence %v is not at %02d:%02d", local, r.Hour, r.Minute)
						}
					}
					// A reference instant after the current occurrence.
					after := cur
					if rng.IntN(3) == 0 {
						after = cur.Add(time.Duration(rng.IntN(40*24)) * time.Hour)
					}
					next, _, ok := r.Next(cur, after, loc)
					if !ok {
						t.Fatalf("Next(%v, %v) ended an endless series", cur, after)
					}
					if !next.After(cur) || !next.After(after) {
						t.Fatalf("Next(%v, %v) = %v, not after both", cur, after, next)
					}
					if after == cur {
						// Strictly increasing, and nothing skipped: the day
						// before next is not an occurrence after cur.
						if prev, _, _ := r.Next(cur, next.Add(-time.Minute), loc); !prev.Equal(next) {
							t.Fatalf("Next skipped %v", prev)
						}
					}
					cur = next
				}
				if zone != "Asia/Kolkata" && r.Freq != Yearly && len(offsets) != 2 {
					t.Errorf("series never crossed a daylight-saving change: offsets %v", offsets)
				}
			})
		}
	}
}

// TestOccurrencesAcrossDST pins single steps over the changes of 2026.
func TestOccurrencesAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		zone, rule, current, want string // local times
	}{
		{"Europe/Berlin", "every day at 9:30", "2026-03-28 09:30", "2026-03-29 09:30"},
		{"Europe/Berlin", "every day at 9:30", "2026-10-24 09:30", "2026-10-25 09:30"},
		{"Europe/Berlin", "every day at 2:30", "2026-03-28 02:30", "2026-03-29 03:30"}, // 02:30 does not exist that day
		{"Europe/Berlin", "every day at 2:30", "2026-03-29 03:30", "2026-03-30 02:30"},
		{"America/New_York", "every weekday at 9:30", "2026-03-06 09:30", "2026-03-09 09:30"},
		{"America/New_York", "every week at 17:00", "2026-10-30 17:00", "2026-11-06 17:00"},
		{"Australia/Sydney", "every day at 9:30", "2026-04-04 09:30", "2026-04-05 09:30"},
		{"Australia/Sydney", "every sun at 2:30", "2026-09-27 02:30", "2026-10-04 03:30"},
		{"Asia/Kolkata", "every month on the last day at 9:30", "2026-01-31 09:30", "2026-02-28 09:30"},
		{"Europe/Berlin", "every month on the 31st at 9:30", "2026-01-31 09:30", "2026-03-31 09:30"},
		{"Europe/Berlin", "every year on feb 29 at 9:30", "2028-02-29 09:30", "2032-02-29 09:30"},
		{"Europe/Berlin", "every month at 9:30", "2026-01-15 09:30", "2026-02-15 09:30"},
	} {
		t.Run(tc.zone+"/"+tc.rule+"/"+tc.current, func(t *testing.T) {
			loc := mustZone(t, tc.zone)
			r, err := ParseRule(tc.rule, loc)
			if err != nil {
				t.Fatal(err)
			}
			cur, _ := time.ParseInLocation("2006-01-02 15:04", tc.current, loc)
			got, _, ok := r.Next(cur, cur, loc)
			if g := got.In(loc).Format("2006-01-02 15:04"); !ok || g != tc.want {
				t.Errorf("Next(%s) = %s, %v; want %s", tc.current, g, ok, tc.want)
			}
			if ok && got.Sub(cur) != got.In(loc).Sub(cur.In(loc)) {
				t.Fatal("instants differ by zone")
			}
		})
	}
}

func TestOccurrencesCountAndUntil(t *testing.T) {
	loc := mustZone(t, "Europe/Berlin")
	r, _ := ParseRule("every day at 9:30, 3 times", loc)
	cur, ok := r.First(time.Date(2026, 3, 28, 0, 0, 0, 0, loc), loc)
	var got []string
	for ok {
		got = append(got, cur.In(loc).Format("01-02 15:04")+" "+r.String())
		cur, r, ok = r.Next(cur, cur, loc)
	}
	want := []string{
		"03-28 09:30 FREQ=DAILY;BYHOUR=9;BYMINUTE=30;COUNT=3",
		"03-29 09:30 FREQ=DAILY;BYHOUR=9;BYMINUTE=30;COUNT=2",
		"03-30 09:30 FREQ=DAILY;BYHOUR=9;BYMINUTE=30;COUNT=1",
	}
	if len(got) != len(want) {
		t.Fatalf("series = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("occurrence %d = %q, want %q", i, got[i], want[i])
		}
	}
	// Passing over occurrences uses them up.
	r, _ = ParseRule("every day at 9:30, 5 times", loc)
	first, _ := r.First(time.Date(2026, 3, 28, 0, 0, 0, 0, loc), loc)
	next, rest, ok := r.Next(first, first.Add(50*time.Hour), loc)
	if !ok || next.In(loc).Day() != 31 || rest.Count != 2 {
		t.Errorf("Next over two days = %v, count %d, %v; want Mar 31, count 2", next.In(loc), rest.Count, ok)
	}
	if _, _, ok := r.Next(first, first.Add(100*time.Hour), loc); ok {
		t.Error("Next past the count found an occurrence")
	}

	u, _ := ParseRule("every day at 9:30 until 2026-03-30", loc)
	cur, _ = u.First(time.Date(2026, 3, 28, 0, 0, 0, 0, loc), loc)
	n := 1
	for ; ; n++ {
		var ok bool
		if cur, _, ok = u.Next(cur, cur, loc); !ok {
			break
		}
	}
	if n != 3 {
		t.Errorf("until 2026-03-30 from Mar 28 gave %d occurrences, want 3", n)
	}
	if _, ok := u.First(time.Date(2026, 4, 1, 0, 0, 0, 0, loc), loc); ok {
		t.Error("First after UNTIL found an occurrence")
	}
}

func TestUpcoming(t *testing.T) {
	loc := mustZone(t, "America/New_York")
	r, _ := ParseRule("every mon, wed and fri at 9:30", loc)
	cur := time.Date(2026, 3, 6, 9, 30, 0, 0, loc) // a Friday; DST starts on the 8th
	var got []string
	for _, at := range r.Upcoming(cur, loc, 3) {
		got = append(got, at.In(loc).Format("Mon 01-02 15:04 MST"))
	}
	want := "[Mon 03-09 09:30 EDT Wed 03-11 09:30 EDT Fri 03-13 09:30 EDT]"
	if g := fmtSlice(got); g != want {
		t.Errorf("Upcoming = %s, want %s", g, want)
	}
}

func fmtSlice(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}
