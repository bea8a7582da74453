package tasks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A recurring task (SPEC 6.5) carries its rule as an RFC 5545 RRULE of a
// small subset: FREQ DAILY, WEEKLY, MONTHLY or YEARLY; INTERVAL; BYDAY (with
// ordinals for MONTHLY only); BYMONTHDAY (1 to 31, -1); BYMONTH; UNTIL;
// COUNT; and, beyond what SPEC 6.5 lists, BYHOUR and BYMINUTE, one value
// each. Stored rules always have the time of day in BYHOUR and BYMINUTE, so
// 09:30 stays 09:30 local whatever happened to an earlier occurrence's
// instant (a day whose 02:30 does not exist moves that one occurrence only).
//
// Decisions the specification leaves open:
//
//   - Without BYDAY or BYMONTHDAY, the weekday of a weekly rule, the day of a
//     monthly rule and the day of a yearly rule come from the current
//     occurrence (RFC 5545's DTSTART), so "every month" from the 12th is the
//     12th of every month.
//   - "every month on the 31st" skips months that have no 31st, and "every
//     year on feb 29" falls in leap years only, as RFC 5545 says; "every
//     month on the last day" is the way to say the end of every month.
//   - COUNT is what remains of the series, this occurrence included: each
//     task of a series carries the count it has left, so COUNT=3 is this
//     occurrence and two more. A series ends when its count or its UNTIL is
//     used up; completing its last occurrence creates none.
//   - UNTIL from chat's "until DATE" is the end of that day in the rule's
//     timezone (23:59:59), written in UTC.

// Freq is how often a rule repeats: the RRULE FREQ.
type Freq string

// The frequencies of the subset.
const (
	Daily   Freq = "DAILY"
	Weekly  Freq = "WEEKLY"
	Monthly Freq = "MONTHLY"
	Yearly  Freq = "YEARLY"
)

// Limits of a rule's numbers.
const (
	maxInterval = 999
	maxCount    = 999
)

// WeekdayNum is a BYDAY entry: a weekday, with an ordinal within the month
// (1 to 5, -1 to -5 counting from the end) or 0 for every such day.
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

// Rule is a parsed recurrence rule. The zero values of its optional parts
// mean "not given": Interval 0 is 1, Hour -1 (see NewRule) is no BYHOUR.
// Parse functions return rules in canonical form (sorted, without
// duplicates), so equal rules are reflect.DeepEqual.
type Rule struct {
	Freq       Freq
	Interval   int          // 1 or more
	ByDay      []WeekdayNum // sorted by ordinal, then Monday first
	ByMonthDay []int        // sorted; -1 is the last day
	ByMonth    []int        // sorted, 1 to 12
	Hour       int          // -1 when no time of day is given
	Minute     int
	Until      time.Time // zero when none; else UTC, whole seconds
	Count      int       // 0 when none
}

// RuleError is a rule that could not be understood; Part names the piece
// of it that is wrong ("BYSETPOS", "at", "until", …).
type RuleError struct {
	Part   string
	Reason string
}

func (e *RuleError) Error() string {
	if e.Part == "" {
		return e.Reason
	}
	return e.Part + " " + e.Reason
}

func ruleErr(part, format string, args ...any) error {
	return &RuleError{Part: part, Reason: fmt.Sprintf(format, args...)}
}

var rruleDays = []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// mondayFirst orders weekdays Monday to Sunday.
func mondayFirst(d time.Weekday) int { return (int(d) + 6) % 7 }

// IsRRULE reports whether s is written as an RRULE ("NAME=VALUE;…")
// rather than in words.
func IsRRULE(s string) bool {
	return strings.Contains(s, "=")
}

// ParseRule reads a rule in words (SPEC 6.5, see parsePhrase) or as an
// RRULE; loc is the timezone "until DATE" is read in.
func ParseRule(s string, loc *time.Location) (Rule, error) {
	if IsRRULE(s) {
		return ParseRRULE(s)
	}
	return parsePhrase(s, loc)
}

// ParseRRULE reads an RRULE ("FREQ=WEEKLY;BYDAY=MO,WE", an "RRULE:" prefix
// allowed). Anything outside the subset is a *RuleError naming the part.
func ParseRRULE(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if len(s) > 500 {
		return Rule{}, ruleErr("", "the rule is longer than 500 characters")
	}
	if strings.HasPrefix(strings.ToUpper(s), "RRULE:") {
		s = s[len("RRULE:"):]
	}
	r := Rule{Interval: 1, Hour: -1}
	seen := map[string]bool{}
	minuteSet := false
	for _, part := range strings.Split(s, ";") {
		name, value, ok := strings.Cut(part, "=")
		name = strings.ToUpper(strings.TrimSpace(name))
		value = strings.ToUpper(strings.TrimSpace(value))
		if !ok || name == "" {
			return Rule{}, ruleErr(strconv.Quote(clipPart(part)), "is not NAME=VALUE")
		}
		if seen[name] {
			return Rule{}, ruleErr(name, "is given twice")
		}
		seen[name] = true
		if value == "" {
			return Rule{}, ruleErr(name, "has no value")
		}
		var err error
		switch name {
		case "FREQ":
			switch f := Freq(value); f {
			case Daily, Weekly, Monthly, Yearly:
				r.Freq = f
			default:
				return Rule{}, ruleErr("FREQ", "%s is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY", strconv.Quote(clipPart(value)))
			}
		case "INTERVAL":
			r.Interval, err = intIn(name, value, 1, maxInterval)
		case "COUNT":
			r.Count, err = intIn(name, value, 1, maxCount)
		case "BYHOUR":
			r.Hour, err = intIn(name, value, 0, 23)
		case "BYMINUTE":
			r.Minute, err = intIn(name, value, 0, 59)
			minuteSet = true
		case "BYMONTH":
			r.ByMonth, err = intList(name, value, func(n int) bool { return n >= 1 && n <= 12 }, "1 to 12")
		case "BYMONTHDAY":
			r.ByMonthDay, err = intList(name, value, func(n int) bool { return (n >= 1 && n <= 31) || n == -1 }, "1 to 31 or -1")
		case "BYDAY":
			r.ByDay, err = parseByDay(value)
		case "UNTIL":
			r.Until, err = parseUntil(value)
		default:
			return Rule{}, ruleErr(clipPart(name), "is not supported; use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE, UNTIL or COUNT")
		}
		if err != nil {
			return Rule{}, err
		}
	}
	if r.Freq == "" {
		return Rule{}, ruleErr("FREQ", "is required")
	}
	if minuteSet && r.Hour < 0 {
		return Rule{}, ruleErr("BYMINUTE", "needs BYHOUR")
	}
	return r, r.check()
}

// check refuses combinations that RFC 5545 forbids or that never occur.
func (r Rule) check() error {
	if r.Count > 0 && !r.Until.IsZero() {
		return ruleErr("COUNT", "cannot be combined with UNTIL")
	}
	if r.Freq == Weekly && len(r.ByMonthDay) > 0 {
		return ruleErr("BYMONTHDAY", "cannot be used with FREQ=WEEKLY")
	}
	for _, d := range r.ByDay {
		if d.N != 0 && r.Freq != Monthly {
			return ruleErr("BYDAY", "ordinals such as 2TU need FREQ=MONTHLY")
		}
	}
	if len(r.ByMonthDay) > 0 && len(r.ByMonth) > 0 {
		fits := false
		for _, m := range r.ByMonth {
			for _, d := range r.ByMonthDay {
				// February 29 counts: it happens in leap years.
				fits = fits || d == -1 || d <= time.Date(2024, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			}
		}
		if !fits {
			return ruleErr("BYMONTHDAY", "no such day in the months of BYMONTH")
		}
	}
	return nil
}

func clipPart(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return s
}

func intIn(name, value string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n < lo || n > hi || strings.HasPrefix(value, "+") {
		return 0, ruleErr(name, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

func intList(name, value string, ok func(int) bool, want string) ([]int, error) {
	var out []int
	for _, v := range strings.Split(value, ",") {
		n, err := strconv.Atoi(v)
		if err != nil || !ok(n) || strings.HasPrefix(v, "+") {
			return nil, ruleErr(name, "takes %s, not %q", want, clipPart(v))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func parseByDay(value string) ([]WeekdayNum, error) {
	var out []WeekdayNum
	for _, v := range strings.Split(value, ",") {
		if len(v) < 2 {
			return nil, ruleErr("BYDAY", "takes days such as MO or 2TU, not %q", clipPart(v))
		}
		day := slices.Index(rruleDays, v[len(v)-2:])
		if day < 0 {
			return nil, ruleErr("BYDAY", "takes days such as MO or 2TU, not %q", clipPart(v))
		}
		n := 0
		if ord := v[:len(v)-2]; ord != "" {
			var err error
			n, err = strconv.Atoi(ord)
			if err != nil || n == 0 || n < -5 || n > 5 || strings.HasPrefix(ord, "+") {
				return nil, ruleErr("BYDAY", "takes ordinals 1 to 5 or -1 to -5, not %q", clipPart(v))
			}
		}
		wd := WeekdayNum{N: n, Day: time.Weekday(day)}
		if !slices.Contains(out, wd) {
			out = append(out, wd)
		}
	}
	sortByDay(out)
	return out, nil
}

func sortByDay(days []WeekdayNum) {
	slices.SortFunc(days, func(a, b WeekdayNum) int {
		if a.N != b.N {
			return a.N - b.N
		}
		return mondayFirst(a.Day) - mondayFirst(b.Day)
	})
}

func parseUntil(value string) (time.Time, error) {
	for _, layout := range []string{"20060102T150405Z", "20060102"} {
		if t, err := time.Parse(layout, value); err == nil {
			if layout == "20060102" {
				t = t.Add(24*time.Hour - time.Second) // the whole day, in UTC
			}
			return t, nil
		}
	}
	return time.Time{}, ruleErr("UNTIL", "must be a UTC time such as 20261231T225959Z or a date such as 20261231")
}

// String writes r as an RRULE, parts in a fixed order.
func (r Rule) String() string {
	parts := []string{"FREQ=" + string(r.Freq)}
	if r.Interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(r.Interval))
	}
	if len(r.ByMonth) > 0 {
		parts = append(parts, "BYMONTH="+joinInts(r.ByMonth))
	}
	if len(r.ByMonthDay) > 0 {
		parts = append(parts, "BYMONTHDAY="+joinInts(r.ByMonthDay))
	}
	if len(r.ByDay) > 0 {
		days := make([]string, len(r.ByDay))
		for i, d := range r.ByDay {
			days[i] = rruleDays[d.Day]
			if d.N != 0 {
				days[i] = strconv.Itoa(d.N) + days[i]
			}
		}
		parts = append(parts, "BYDAY="+strings.Join(days, ","))
	}
	if r.Hour >= 0 {
		parts = append(parts, "BYHOUR="+strconv.Itoa(r.Hour), "BYMINUTE="+strconv.Itoa(r.Minute))
	}
	if !r.Until.IsZero() {
		parts = append(parts, "UNTIL="+r.Until.UTC().Format("20060102T150405Z"))
	}
	if r.Count > 0 {
		parts = append(parts, "COUNT="+strconv.Itoa(r.Count))
	}
	return strings.Join(parts, ";")
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
