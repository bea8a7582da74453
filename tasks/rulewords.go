package tasks

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The rule language of SPEC 6.5, as people type it in chat or send it in
// the API's recurrence field:
//
//	every day | every weekday | every week | every month | every year
//	every N days|weeks|months|years          every other day|week|month|year
//	every mon, wed and fri                    every other monday
//	every 2nd tuesday | every last friday     (of the month)
//	every month on the 15th | every month on the last day
//	every year on mar 5
//
// each optionally followed, in any order, by "at TIME" (9:30, 09:30, 9am,
// 5:30pm, noon), "until DATE" (2026-12-31) and "N times" (the COUNT).
// Beyond SPEC 6.5, a count of weeks, months or years may say when: "every
// 2 weeks on mon and thu", "every other month on the 1st", "every 2 years
// on feb 1". Words are case-insensitive; commas and "and" only separate.
// Rule.Text writes rules back in this language, so what a card shows can be
// typed again.

var dayWords = map[string]time.Weekday{
	"mon": time.Monday, "monday": time.Monday, "mondays": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday, "tuesdays": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday, "wednesdays": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday, "thursdays": time.Thursday,
	"fri": time.Friday, "friday": time.Friday, "fridays": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday, "saturdays": time.Saturday,
	"sun": time.Sunday, "sunday": time.Sunday, "sundays": time.Sunday,
}

var ordinalWords = map[string]int{
	"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3,
	"4th": 4, "fourth": 4, "5th": 5, "fifth": 5, "last": -1,
}

var monthWords = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
	"may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
	"sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
	"dec": 12, "december": 12,
}

var weekdays = []WeekdayNum{{0, time.Monday}, {0, time.Tuesday}, {0, time.Wednesday}, {0, time.Thursday}, {0, time.Friday}}

// RuleExample is a correct rule that error messages offer.
const RuleExample = "every weekday at 9:30"

type phrase struct {
	w   []string
	i   int
	loc *time.Location
}

func (p *phrase) peek() string {
	if p.i < len(p.w) {
		return p.w[p.i]
	}
	return ""
}

func (p *phrase) next() string {
	w := p.peek()
	if w != "" {
		p.i++
	}
	return w
}

// parsePhrase reads a rule in words; loc is the zone of "until DATE".
func parsePhrase(s string, loc *time.Location) (Rule, error) {
	if len(s) > 500 {
		return Rule{}, ruleErr("", "the rule is longer than 500 characters")
	}
	s = strings.ToLower(strings.ReplaceAll(s, ",", " "))
	var words []string
	for _, w := range strings.Fields(s) {
		if w != "and" {
			words = append(words, w)
		}
	}
	p := &phrase{w: words, loc: loc}
	if p.next() != "every" {
		return Rule{}, ruleErr("", "a rule starts with \"every\", as in "+RuleExample)
	}
	r := Rule{Interval: 1, Hour: -1}
	if err := p.body(&r); err != nil {
		return Rule{}, err
	}
	for p.peek() != "" {
		if err := p.suffix(&r); err != nil {
			return Rule{}, err
		}
	}
	sortByDay(r.ByDay)
	return r, r.check()
}

func (p *phrase) unknown(w string) error {
	if w == "" {
		return ruleErr("", "the rule ends too soon; rules read like "+RuleExample)
	}
	return ruleErr(strconv.Quote(clipPart(w)), "is not understood here; rules read like "+RuleExample)
}

// unit maps "day", "weeks", … to a frequency.
func unit(w string) (Freq, bool) {
	switch strings.TrimSuffix(w, "s") {
	case "day":
		return Daily, true
	case "week":
		return Weekly, true
	case "month":
		return Monthly, true
	case "year":
		return Yearly, true
	}
	return "", false
}

func (p *phrase) body(r *Rule) error {
	w := p.next()
	if w == "weekday" || w == "weekdays" {
		r.Freq, r.ByDay = Weekly, slices.Clone(weekdays)
		return nil
	}
	if n, ok := ordinalWords[w]; ok {
		if d, ok := dayWords[p.peek()]; ok {
			p.i++
			r.Freq, r.ByDay = Monthly, []WeekdayNum{{n, d}}
			return nil
		}
		return p.unknown(p.peek())
	}
	if _, ok := dayWords[w]; ok {
		p.i--
		r.Freq, r.ByDay = Weekly, p.days()
		return nil
	}
	if w == "other" || isDigits(w) {
		r.Interval = 2
		if w != "other" {
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 || n > maxInterval {
				return ruleErr(strconv.Quote(clipPart(w)), "is not a number from 1 to %d", maxInterval)
			}
			r.Interval = n
		}
		if w == "other" {
			if _, ok := dayWords[p.peek()]; ok {
				r.Freq, r.ByDay = Weekly, p.days()
				return nil
			}
		}
		w = p.next()
		f, ok := unit(w)
		if !ok {
			return p.unknown(w)
		}
		r.Freq = f
		return p.on(r)
	}
	f, ok := unit(w)
	if !ok || strings.HasSuffix(w, "s") {
		return p.unknown(w)
	}
	r.Freq = f
	return p.on(r)
}

// days reads one or more weekday names.
func (p *phrase) days() []WeekdayNum {
	var out []WeekdayNum
	for {
		d, ok := dayWords[p.peek()]
		if !ok {
			return out
		}
		p.i++
		if wd := (WeekdayNum{0, d}); !slices.Contains(out, wd) {
			out = append(out, wd)
		}
	}
}

// on reads the optional "on …" after a unit.
func (p *phrase) on(r *Rule) error {
	if p.peek() != "on" || r.Freq == Daily {
		return nil
	}
	p.i++
	switch r.Freq {
	case Weekly:
		if r.ByDay = p.days(); len(r.ByDay) == 0 {
			return p.unknown(p.peek())
		}
	case Monthly:
		if p.peek() == "the" {
			p.i++
		}
		w := p.next()
		if n, ok := ordinalWords[w]; ok {
			if d, ok := dayWords[p.peek()]; ok {
				p.i++
				r.ByDay = []WeekdayNum{{n, d}}
				return nil
			}
			if n == -1 {
				if p.peek() == "day" {
					p.i++
				}
				r.ByMonthDay = []int{-1}
				return nil
			}
		}
		d, ok := dayOfMonth(w)
		if !ok {
			return p.unknown(w)
		}
		r.ByMonthDay = []int{d}
	case Yearly:
		a, b := p.next(), p.next()
		m, okm := monthWords[a]
		d, okd := dayOfMonth(b)
		if !okm || !okd {
			m, okm = monthWords[b]
			d, okd = dayOfMonth(a)
		}
		if !okm || !okd {
			return ruleErr(strconv.Quote(clipPart(strings.TrimSpace(a+" "+b))), "is not a date such as mar 5")
		}
		r.ByMonth, r.ByMonthDay = []int{m}, []int{d}
	}
	return nil
}

// dayOfMonth reads "15", "15th", "1st", "2nd", "3rd".
func dayOfMonth(w string) (int, bool) {
	for _, suffix := range []string{"st", "nd", "rd", "th"} {
		if s, ok := strings.CutSuffix(w, suffix); ok {
			w = s
			break
		}
	}
	if !isDigits(w) || len(w) > 2 {
		return 0, false
	}
	n, _ := strconv.Atoi(w)
	return n, n >= 1 && n <= 31
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (p *phrase) suffix(r *Rule) error {
	w := p.next()
	switch {
	case w == "at":
		if r.Hour >= 0 {
			return ruleErr("at", "is given twice")
		}
		t := p.next()
		if ampm := p.peek(); ampm == "am" || ampm == "pm" {
			t += p.next()
		}
		h, m, ok := clockTime(t)
		if !ok {
			return ruleErr("at", "needs a time such as 9:30, 9am or 17:00, not %q", clipPart(t))
		}
		r.Hour, r.Minute = h, m
	case w == "until":
		if !r.Until.IsZero() {
			return ruleErr("until", "is given twice")
		}
		d := p.next()
		day, err := time.ParseInLocation("2006-01-02", d, p.loc)
		if err != nil {
			return ruleErr("until", "needs a date such as 2026-12-31, not %q", clipPart(d))
		}
		r.Until = time.Date(day.Year(), day.Month(), day.Day(), 23, 59, 59, 0, p.loc).UTC()
	case w == "for" || isDigits(w):
		if w == "for" {
			w = p.next()
		}
		n, err := strconv.Atoi(w)
		if !isDigits(w) || err != nil || n < 1 || n > maxCount || p.next() != "times" {
			return ruleErr("times", "needs a count from 1 to %d, as in \"5 times\"", maxCount)
		}
		if r.Count > 0 {
			return ruleErr("times", "is given twice")
		}
		r.Count = n
	default:
		return p.unknown(w)
	}
	return nil
}

// clockTime reads 9:30, 09:30, 9am, 9:30pm, 17, noon and midnight.
func clockTime(s string) (h, m int, ok bool) {
	switch s {
	case "noon":
		return 12, 0, true
	case "midnight":
		return 0, 0, true
	}
	ampm := ""
	if t, ok := strings.CutSuffix(s, "am"); ok {
		s, ampm = t, "am"
	} else if t, ok := strings.CutSuffix(s, "pm"); ok {
		s, ampm = t, "pm"
	}
	hs, ms, hasMin := strings.Cut(s, ":")
	if !hasMin {
		hs, ms, hasMin = strings.Cut(s, ".")
	}
	if !isDigits(hs) || len(hs) > 2 || (hasMin && (!isDigits(ms) || len(ms) != 2)) {
		return 0, 0, false
	}
	h, _ = strconv.Atoi(hs)
	if hasMin {
		m, _ = strconv.Atoi(ms)
	}
	if m > 59 {
		return 0, 0, false
	}
	switch ampm {
	case "":
		return h, m, h <= 23
	case "am":
		if h < 1 || h > 12 {
			return 0, 0, false
		}
		return h % 12, m, true
	default:
		if h < 1 || h > 12 {
			return 0, 0, false
		}
		return h%12 + 12, m, true
	}
}

// Text writes r in words, as cards show it: "every Mon, Wed and Fri at
// 09:30". The result reads back (ParseRule with the same loc) as r; a rule
// the words cannot say is written as its RRULE, which ParseRule reads too.
func (r Rule) Text(loc *time.Location) string {
	s, ok := r.words(loc)
	if ok {
		if back, err := parsePhrase(s, loc); err == nil && reflect.DeepEqual(back, r) {
			return s
		}
	}
	return r.String()
}

func (r Rule) words(loc *time.Location) (string, bool) {
	var b strings.Builder
	b.WriteString("every ")
	every := func(unit string) {
		switch r.Interval {
		case 1:
			b.WriteString(unit)
		case 2:
			b.WriteString("other " + unit)
		default:
			fmt.Fprintf(&b, "%d %ss", r.Interval, unit)
		}
	}
	switch {
	case len(r.ByMonth) > 0 && r.Freq != Yearly:
		return "", false
	case r.Freq == Daily:
		if len(r.ByDay)+len(r.ByMonthDay) > 0 {
			return "", false
		}
		every("day")
	case r.Freq == Weekly:
		switch {
		case len(r.ByDay) == 0:
			every("week")
		case r.Interval == 1 && slices.Equal(r.ByDay, weekdays):
			b.WriteString("weekday")
		case r.Interval == 1:
			b.WriteString(dayList(r.ByDay))
		case r.Interval == 2 && len(r.ByDay) == 1:
			b.WriteString("other " + dayList(r.ByDay))
		default:
			every("week")
			b.WriteString(" on " + dayList(r.ByDay))
		}
	case r.Freq == Monthly:
		switch {
		case len(r.ByDay) == 0 && len(r.ByMonthDay) == 0:
			every("month")
		case len(r.ByDay) == 1 && r.ByDay[0].N != 0 && len(r.ByMonthDay) == 0:
			nth := ordinal(r.ByDay[0].N) + " " + dayName(r.ByDay[0].Day)
			if r.Interval == 1 {
				b.WriteString(nth)
			} else {
				every("month")
				b.WriteString(" on the " + nth)
			}
		case len(r.ByDay) == 0 && len(r.ByMonthDay) == 1:
			every("month")
			if d := r.ByMonthDay[0]; d == -1 {
				b.WriteString(" on the last day")
			} else {
				b.WriteString(" on the " + ordinal(d))
			}
		default:
			return "", false
		}
	case r.Freq == Yearly:
		switch {
		case len(r.ByDay) == 0 && len(r.ByMonth) == 0 && len(r.ByMonthDay) == 0:
			every("year")
		case len(r.ByDay) == 0 && len(r.ByMonth) == 1 && len(r.ByMonthDay) == 1 && r.ByMonthDay[0] > 0:
			every("year")
			fmt.Fprintf(&b, " on %s %d", time.Month(r.ByMonth[0]).String()[:3], r.ByMonthDay[0])
		default:
			return "", false
		}
	default:
		return "", false
	}
	if r.Hour >= 0 {
		fmt.Fprintf(&b, " at %02d:%02d", r.Hour, r.Minute)
	}
	if !r.Until.IsZero() {
		b.WriteString(" until " + r.Until.In(loc).Format("2006-01-02"))
	}
	if r.Count > 0 {
		fmt.Fprintf(&b, ", %d times", r.Count)
	}
	return b.String(), true
}

func dayName(d time.Weekday) string { return d.String()[:3] }

// dayList writes "Mon", "Mon and Thu", "Mon, Wed and Fri".
func dayList(days []WeekdayNum) string {
	names := make([]string, len(days))
	for i, d := range days {
		names[i] = dayName(d.Day)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// ordinal writes 1st, 2nd, 3rd, 4th, 11th, 22nd and "last" for -1.
func ordinal(n int) string {
	if n == -1 {
		return "last"
	}
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}
