package tasks

import (
	"time"

	"github.com/teambition/rrule-go"
)

// Occurrences are computed with github.com/teambition/rrule-go, a port of
// python-dateutil's rrule: it builds every candidate with time.Date in the
// location of DTSTART, so a rule's time of day is kept in local time across
// daylight-saving changes (09:30 stays 09:30; a 02:30 that a spring-forward
// day does not have becomes 03:30 on that day only, as RFC 5545 says). Our
// own parser decides what is accepted (rule.go); rrule-go only expands it.
// COUNT and UNTIL are applied here rather than by rrule-go, because a task
// carries the count left from its own occurrence (see rule.go).

// maxOccurrenceScan bounds how many candidates one computation looks at: a daily
// series more than two and a half years behind, or a rule whose days almost
// never come, ends there rather than spinning.
const maxOccurrenceScan = 1000

func (r Rule) expand(dtstart time.Time) (rrule.Next, error) {
	opt := rrule.ROption{
		Freq:       map[Freq]rrule.Frequency{Daily: rrule.DAILY, Weekly: rrule.WEEKLY, Monthly: rrule.MONTHLY, Yearly: rrule.YEARLY}[r.Freq],
		Dtstart:    dtstart,
		Interval:   max(r.Interval, 1),
		Wkst:       rrule.MO,
		Bymonth:    r.ByMonth,
		Bymonthday: r.ByMonthDay,
		Bysecond:   []int{0},
	}
	if r.Hour >= 0 {
		opt.Byhour, opt.Byminute = []int{r.Hour}, []int{r.Minute}
	}
	days := []rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}
	for _, d := range r.ByDay {
		wd := days[d.Day]
		if d.N != 0 {
			wd = wd.Nth(d.N)
		}
		opt.Byweekday = append(opt.Byweekday, wd)
	}
	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return nil, err
	}
	return rr.Iterator(), nil
}

// First returns the rule's first occurrence at or after from, in loc. The
// weekday, day or month a rule without BYDAY or BYMONTHDAY repeats on is
// from's. ok is false when there is none (UNTIL already passed).
func (r Rule) First(from time.Time, loc *time.Location) (time.Time, bool) {
	next, err := r.expand(from.In(loc).Truncate(time.Second))
	if err != nil {
		return time.Time{}, false
	}
	for range maxOccurrenceScan {
		t, ok := next()
		if !ok || (!r.Until.IsZero() && t.After(r.Until)) {
			return time.Time{}, false
		}
		if !t.Before(from) {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Next returns the first occurrence after both current (this occurrence,
// the series' DTSTART for the computation) and after, with the rule the
// task due then carries: its COUNT lowered by the occurrences passed over.
// ok is false when the series has ended (COUNT or UNTIL used up).
func (r Rule) Next(current, after time.Time, loc *time.Location) (time.Time, Rule, bool) {
	next, err := r.expand(current.In(loc).Truncate(time.Second))
	if err != nil {
		return time.Time{}, r, false
	}
	passed := 0
	for range maxOccurrenceScan {
		t, ok := next()
		if !ok || (!r.Until.IsZero() && t.After(r.Until)) {
			return time.Time{}, r, false
		}
		if !t.After(current) {
			continue
		}
		passed++
		if r.Count > 0 && passed >= r.Count {
			return time.Time{}, r, false
		}
		if t.After(after) {
			rest := r
			if r.Count > 0 {
				rest.Count = r.Count - passed
			}
			return t.UTC(), rest, true
		}
	}
	return time.Time{}, r, false
}

// Upcoming returns up to n occurrences after current, as cards list them.
func (r Rule) Upcoming(current time.Time, loc *time.Location, n int) []time.Time {
	var out []time.Time
	for len(out) < n {
		t, rest, ok := r.Next(current, current, loc)
		if !ok {
			break
		}
		out = append(out, t)
		current, r = t, rest
	}
	return out
}
