package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A WHEN is a due date as people type it: "friday 5pm", "tomorrow",
// "next monday 10am", "in 3h", "2026-12-01 17:30". Parsing happens in two
// steps: parseWhen checks the words and needs no clock, so ParseCommand can
// reject a bad date while the user is still looking at it; resolve turns the
// result into an instant with the user's clock and timezone.
//
// The rules, chosen to match what Slack and Todoist users expect:
//
//   - A date without a time means 17:00 in the user's timezone (SPEC 12).
//   - A time without a date is the next such time: today, or tomorrow when it
//     has already passed.
//   - A weekday ("friday", "fri", "this friday", "on friday") is the next such
//     day, today included while its time (17:00 unless given) is still ahead;
//     "friday" typed on a Friday evening means next Friday.
//   - "next friday" is the Friday of next week, weeks starting on Monday, so
//     "next monday" is always the coming Monday and "next friday" typed on a
//     Wednesday is nine days away, not two. "next week" is next Monday.
//   - "in 3h", "in 30 min", "in 1h30m" are exact durations from now and take
//     no date or time. "in 2 days", "in 1 week", "in 1 month" name a date
//     (17:00 unless a time is given: "in 2 days 9am"); a month step keeps the
//     day of the month, or the month's last day when it is shorter.
//   - "dec 1", "1st december" without a year mean the next such date still
//     ahead; with a year ("dec 1 2026", "2026-12-01") the date as written.
//   - Only "today" and dates with a year can be in the past.
//
// Times are built with time.Date in the user's location, so "tomorrow 9am"
// is 09:00 local on either side of a DST change. A local time that does not
// exist (inside a spring-forward gap) or exists twice (in a fall-back
// overlap) is resolved as time.Date does, which Go does not promise: with
// Go 1.26, 02:30 on a spring-forward day becomes 03:30 in Europe/Berlin and
// 01:30 in America/New_York (an hour either way, depending on the side of
// UTC), and an ambiguous 02:30 in Berlin is the second one (CET) while an
// ambiguous 01:30 in New York is the first (EDT).

// Default hours for a date without a time: a due date is the end of the
// working day (SPEC 12); a snooze wakes at the start of it, as the
// snooze:N:tomorrow and snooze:N:nextweek buttons do.
const (
	defaultDueHour    = 17
	defaultSnoozeHour = 9
)

// whenError says which word of a WHEN phrase was not understood, why, and
// what could stand in its place.
type whenError struct {
	index  int    // of the word in strings.Fields(phrase); -1 for the whole phrase
	reason string // e.g. `"frday" is not a day or time I know`
	fix    string // a replacement word, or "" when none is close
}

// fixedPhrase returns phrase with the word e points at replaced by its fix,
// or "" when there is none.
func (e *whenError) fixedPhrase(phrase string) string {
	words := strings.Fields(phrase)
	if e.fix == "" || e.index < 0 || e.index >= len(words) {
		return ""
	}
	words[e.index] = e.fix
	return strings.Join(words, " ")
}

// syntaxError turns e into the user-facing error for the WHEN phrase input,
// suggesting the fixed phrase when it parses and fallback otherwise.
func (e *whenError) syntaxError(input, fallback string, valid func(string) bool) *SyntaxError {
	example := fallback
	if fixed := e.fixedPhrase(input); fixed != "" && valid(fixed) {
		example = fixed
	}
	return &SyntaxError{Input: strings.TrimSpace(input), Reason: e.reason, Example: example}
}

type dateKind int

const (
	dateNone        dateKind = iota // a bare time: today, or tomorrow if it has passed
	dateToday                       // today, even if the time has passed
	dateTomorrow                    // today + 1
	dateWeekday                     // the next such weekday, today while the time is ahead
	dateNextWeekday                 // that weekday in next week
	dateIn                          // today + ahead
	dateYMD                         // year, month, day as written
	dateMonthDay                    // month and day: the next one still ahead
)

// whenSpec is a parsed WHEN, not yet tied to a clock or timezone.
type whenSpec struct {
	offset       int // exact minutes ahead ("in 3h"); 0 unless relative
	date         dateKind
	weekday      time.Weekday // dateWeekday, dateNextWeekday
	ahead        span         // dateIn
	year         int          // dateYMD
	month        time.Month   // dateYMD, dateMonthDay
	day          int          // dateYMD, dateMonthDay
	hasTime      bool
	hour, minute int
}

// mayBePast reports whether w can resolve to an instant before now.
func (w whenSpec) mayBePast() bool { return w.date == dateToday || w.date == dateYMD }

// ParseWhen parses a WHEN expression typed by a user whose clock reads now
// and whose timezone is loc (UTC when nil), and returns the instant it names,
// in UTC. The rules are described at the top of this file; every word is
// case-insensitive. A phrase it does not understand returns a *SyntaxError
// whose message names the word and shows a phrase that works.
func ParseWhen(s string, now time.Time, loc *time.Location) (time.Time, error) {
	w, err := parseWhen(s)
	if err != nil {
		return time.Time{}, err.syntaxError(s, "tomorrow 5pm", validWhen)
	}
	return w.resolve(now, loc, defaultDueHour), nil
}

// ParseSnooze parses how long to snooze a task, as typed after
// "/task snooze N" or carried by a snooze button's key, and returns the
// instant the snooze ends, in UTC:
//
//   - "90" (a button's MINUTES) is that many minutes from now.
//   - "30m", "2h", "1h30m", "90 min" are exact durations from now.
//   - "2 days", "1 week", "1 month" are the same wall-clock time that many
//     calendar days, weeks or months later.
//   - "tomorrow" is 09:00 tomorrow and "nextweek" (or "next week") 09:00 next
//     Monday, as SPEC 12 asks of the buttons; any other WHEN ("friday",
//     "monday 10am", "in 3h") works too, with 09:00 for a date alone.
//
// A snooze must end after now; otherwise, or when the phrase is not
// understood, it returns a *SyntaxError.
func ParseSnooze(s string, now time.Time, loc *time.Location) (time.Time, error) {
	sp, err := parseSnooze(s)
	if err != nil {
		return time.Time{}, err.syntaxError(s, "1h", validSnooze)
	}
	t := sp.resolve(now, loc)
	if !t.After(now) {
		return time.Time{}, &SyntaxError{Input: strings.TrimSpace(s), Reason: "that time has already passed", Example: "tomorrow"}
	}
	return t, nil
}

// normalizeWhen returns the canonical text of a WHEN or snooze phrase: lower
// case, single spaces, no commas after words. It parses as the original did.
func normalizeWhen(s string) string {
	words := strings.Fields(strings.ToLower(s))
	out := words[:0]
	for _, w := range words {
		if w = trimCommas(w); w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func validWhen(s string) bool   { _, err := parseWhen(s); return err == nil }
func validSnooze(s string) bool { _, err := parseSnooze(s); return err == nil }

var weekdayWords = map[string]time.Weekday{
	"monday": time.Monday, "mon": time.Monday,
	"tuesday": time.Tuesday, "tue": time.Tuesday, "tues": time.Tuesday,
	"wednesday": time.Wednesday, "wed": time.Wednesday,
	"thursday": time.Thursday, "thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday,
	"friday": time.Friday, "fri": time.Friday,
	"saturday": time.Saturday, "sat": time.Saturday,
	"sunday": time.Sunday, "sun": time.Sunday,
}

var monthWords = map[string]time.Month{
	"january": time.January, "jan": time.January,
	"february": time.February, "feb": time.February,
	"march": time.March, "mar": time.March,
	"april": time.April, "apr": time.April,
	"may":  time.May,
	"june": time.June, "jun": time.June,
	"july": time.July, "jul": time.July,
	"august": time.August, "aug": time.August,
	"september": time.September, "sep": time.September, "sept": time.September,
	"october": time.October, "oct": time.October,
	"november": time.November, "nov": time.November,
	"december": time.December, "dec": time.December,
}

// whenVocabulary is what typo suggestions choose from.
var whenVocabulary = []string{
	"today", "tomorrow", "next", "week", "this", "in", "at", "on", "noon", "am", "pm",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december", "nextweek",
	"min", "minutes", "hours", "days", "weeks", "months",
}

// parseWhen checks the words of a WHEN phrase. It accepts at most one date
// part and one time part, in either order, or one exact "in" duration.
func parseWhen(phrase string) (whenSpec, *whenError) {
	words := strings.Fields(strings.ToLower(phrase))
	var w whenSpec
	if len(words) == 0 {
		return w, &whenError{index: -1, reason: "there is no date or time"}
	}
	hasDate := false
	// conflict explains why words[i] cannot be added to what came before.
	conflict := func(i int, what string) *whenError {
		if w.offset > 0 {
			return &whenError{index: i, reason: fmt.Sprintf("%q cannot be combined with an exact time like in 3h", words[i])}
		}
		return &whenError{index: i, reason: fmt.Sprintf("%q is a second %s", words[i], what)}
	}
	setDate := func(i int, kind dateKind) *whenError {
		if hasDate || w.offset > 0 {
			return conflict(i, "date")
		}
		hasDate, w.date = true, kind
		return nil
	}
	setTime := func(i int, hour, minute int) *whenError {
		if w.hasTime || w.offset > 0 {
			return conflict(i, "time")
		}
		w.hasTime, w.hour, w.minute = true, hour, minute
		return nil
	}
	for i := 0; i < len(words); {
		word := trimCommas(words[i])
		next := ""
		if i+1 < len(words) {
			next = trimCommas(words[i+1])
		}
		var err *whenError
		used := 1
		switch {
		case word == "":
		case word == "in":
			s, n, serr := parseSpan(words[i+1:])
			if serr != nil {
				serr.index += i + 1
				return w, serr
			}
			if n == 0 {
				return w, &whenError{index: i, reason: `"in" needs a length of time, like in 3h or in 2 days`}
			}
			used += n
			switch {
			case s.calendar():
				if err = setDate(i, dateIn); err == nil {
					w.ahead = s
				}
			case hasDate || w.hasTime || w.offset > 0:
				err = &whenError{index: i, reason: fmt.Sprintf("%q cannot be combined with a date or time", strings.Join(words[i:i+used], " "))}
			default:
				w.offset = s.minutes
			}
		case word == "on":
			if next == "" {
				return w, &whenError{index: i, reason: `after "on" I expected a day, like on friday`}
			}
		case word == "at" && next == "noon":
			err, used = setTime(i+1, 12, 0), 2
		case word == "at":
			h, m, n, ok, terr := parseClock(next, afterNext(words, i))
			switch {
			case terr != nil:
				terr.index += i + 1
				return w, terr
			case !ok:
				return w, &whenError{index: min(i+1, len(words)-1), reason: `after "at" I expected a time, like at 5pm or at 17:30`}
			}
			err, used = setTime(i+1, h, m), 1+n
		case word == "today":
			err = setDate(i, dateToday)
		case word == "tomorrow" || word == "tmrw":
			err = setDate(i, dateTomorrow)
		case word == "nextweek":
			if err = setDate(i, dateNextWeekday); err == nil {
				w.weekday = time.Monday
			}
		case word == "this" || word == "next":
			wd, ok := weekdayWords[next]
			if word == "next" && next == "week" {
				wd, ok = time.Monday, true
			}
			if !ok {
				return w, &whenError{index: min(i+1, len(words)-1), reason: fmt.Sprintf("after %q I expected a weekday, like %s friday", word, word),
					fix: closestWord(next, whenVocabulary)}
			}
			kind := dateWeekday
			if word == "next" {
				kind = dateNextWeekday
			}
			if err = setDate(i, kind); err == nil {
				w.weekday = wd
			}
			used = 2
		case isWeekday(word):
			if err = setDate(i, dateWeekday); err == nil {
				w.weekday = weekdayWords[word]
			}
		case word == "noon":
			err = setTime(i, 12, 0)
		case monthWords[word] != 0:
			day, ok := parseDayOfMonth(next)
			if !ok {
				return w, &whenError{index: min(i+1, len(words)-1), reason: fmt.Sprintf("after %q I expected a day of the month, like %s 1", word, word)}
			}
			var extra int
			extra, err = w.monthDay(i, words, monthWords[word], day, setDate)
			used = 2 + extra
		case isDayOfMonth(word) && monthWords[next] != 0:
			day, _ := parseDayOfMonth(word)
			var extra int
			extra, err = w.monthDay(i, words, monthWords[next], day, setDate)
			used = 2 + extra
		case isYMD(word):
			y, m, d, hour, minute, hasClock, ok := parseYMD(word)
			if !ok {
				return w, &whenError{index: i, reason: fmt.Sprintf("%q is not a date in the calendar", words[i])}
			}
			if err = setDate(i, dateYMD); err == nil {
				w.year, w.month, w.day = y, m, d
				if hasClock {
					err = setTime(i, hour, minute)
				}
			}
		default:
			h, m, n, ok, terr := parseClock(word, next)
			switch {
			case terr != nil:
				terr.index += i
				return w, terr
			case !ok:
				return w, &whenError{index: i, reason: fmt.Sprintf("%q is not a day or time I know", words[i]), fix: closestWord(word, whenVocabulary)}
			}
			err, used = setTime(i, h, m), n
		}
		if err != nil {
			return w, err
		}
		i += used
	}
	if !hasDate && !w.hasTime && w.offset == 0 {
		return w, &whenError{index: -1, reason: "there is no date or time"}
	}
	return w, nil
}

// monthDay records a month and day written in the two words at start and
// returns how many words follow them: 1 when a year does ("dec 1 2026").
func (w *whenSpec) monthDay(start int, words []string, month time.Month, day int, setDate func(int, dateKind) *whenError) (int, *whenError) {
	year, kind, extra := 2000, dateMonthDay, 0 // 2000 is a leap year, so "feb 29" is a real date
	if start+2 < len(words) {
		if y := trimCommas(words[start+2]); len(y) == 4 && isDigits(y) && y[0] != '0' {
			year, _ = strconv.Atoi(y)
			kind, extra = dateYMD, 1
		}
	}
	if !validDate(year, month, day) {
		return 0, &whenError{index: start + 1, reason: fmt.Sprintf("%s has no day %d", month, day)}
	}
	if err := setDate(start, kind); err != nil {
		return 0, err
	}
	w.year, w.month, w.day = year, month, day
	return extra, nil
}

func isWeekday(w string) bool { _, ok := weekdayWords[w]; return ok }

func afterNext(words []string, i int) string {
	if i+2 < len(words) {
		return trimCommas(words[i+2])
	}
	return ""
}

// parseClock reads a time of day from word, and from next when that is
// "am" or "pm" ("5 pm"). It accepts 5pm, 5:30pm, 12am, 17:30 and 9:30 (a
// time without am or pm is on the 24-hour clock). ok is false when word does
// not look like a time at all; err is set when it does but is wrong.
func parseClock(word, next string) (hour, minute, used int, ok bool, err *whenError) {
	used = 1
	suffix := ""
	switch {
	case strings.HasSuffix(word, "am") || strings.HasSuffix(word, "pm"):
		word, suffix = word[:len(word)-2], word[len(word)-2:]
	case next == "am" || next == "pm":
		suffix, used = next, 2
	}
	hs, ms, hasColon := strings.Cut(word, ":")
	if hs == "" || len(hs) > 2 || !isDigits(hs) || (!hasColon && suffix == "") {
		if isDigits(word) && len(word) <= 2 && suffix == "" {
			fix := ""
			if h, _ := strconv.Atoi(word); h >= 1 && h <= 12 {
				fix = word + "pm"
			}
			return 0, 0, 0, false, &whenError{reason: fmt.Sprintf("%q needs am or pm, or a 24-hour time like 17:00", word), fix: fix}
		}
		return 0, 0, 0, false, nil
	}
	hour, _ = strconv.Atoi(hs)
	if hasColon {
		if len(ms) != 2 || !isDigits(ms) {
			return 0, 0, 0, false, &whenError{reason: fmt.Sprintf("%q is not a time of day", word+suffix)}
		}
		minute, _ = strconv.Atoi(ms)
	}
	switch {
	case minute > 59,
		suffix == "" && hour > 23,
		suffix != "" && (hour < 1 || hour > 12):
		return 0, 0, 0, false, &whenError{reason: fmt.Sprintf("%q is not a time of day", word+suffix)}
	case suffix == "am" && hour == 12:
		hour = 0
	case suffix == "pm" && hour != 12:
		hour += 12
	}
	return hour, minute, used, true, nil
}

// parseDayOfMonth reads "1", "01", "1st", "22nd", "3rd" or "4th".
func parseDayOfMonth(w string) (int, bool) {
	for _, suffix := range []string{"st", "nd", "rd", "th"} {
		w = strings.TrimSuffix(w, suffix)
	}
	if len(w) == 0 || len(w) > 2 || !isDigits(w) {
		return 0, false
	}
	d, _ := strconv.Atoi(w)
	return d, d >= 1 && d <= 31
}

func isDayOfMonth(w string) bool { _, ok := parseDayOfMonth(w); return ok }

// isYMD reports whether w has the shape of 2026-12-01, optionally followed
// by t17:30; parseYMD then checks the values.
func isYMD(w string) bool {
	return len(w) >= 10 && isDigits(w[0:4]) && w[4] == '-' && isDigits(w[5:7]) && w[7] == '-' && isDigits(w[8:10])
}

func parseYMD(w string) (y int, m time.Month, d, hour, minute int, hasClock, ok bool) {
	y, _ = strconv.Atoi(w[0:4])
	mm, _ := strconv.Atoi(w[5:7])
	d, _ = strconv.Atoi(w[8:10])
	m = time.Month(mm)
	if rest := w[10:]; rest != "" {
		if rest[0] != 't' || len(rest) != 6 || rest[3] != ':' || !isDigits(rest[1:3]) || !isDigits(rest[4:6]) {
			return 0, 0, 0, 0, 0, false, false
		}
		hour, _ = strconv.Atoi(rest[1:3])
		minute, _ = strconv.Atoi(rest[4:6])
		if hour > 23 || minute > 59 {
			return 0, 0, 0, 0, 0, false, false
		}
		hasClock = true
	}
	return y, m, d, hour, minute, hasClock, y >= 1000 && validDate(y, m, d)
}

func validDate(y int, m time.Month, d int) bool {
	return m >= time.January && m <= time.December && d >= 1 && d <= daysIn(y, m)
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// addMonths steps n calendar months from y-m-d, keeping the day of the month
// or taking the target month's last day: Jan 31 plus one month is Feb 28 or
// 29, where time.AddDate would overflow into March.
func addMonths(y int, m time.Month, d, n int) (int, time.Month, int) {
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	return first.Year(), first.Month(), min(d, daysIn(first.Year(), first.Month()))
}

// resolve returns the instant w names for a user whose clock reads now in
// loc, using defaultHour:00 when w has a date but no time.
func (w whenSpec) resolve(now time.Time, loc *time.Location, defaultHour int) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if w.offset > 0 {
		return now.Add(time.Duration(w.offset) * time.Minute).UTC()
	}
	local := now.In(loc)
	y, m, d := local.Date()
	hour, minute := defaultHour, 0
	if w.hasTime {
		hour, minute = w.hour, w.minute
	}
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, hour, minute, 0, 0, loc) }
	var t time.Time
	switch w.date {
	case dateNone:
		if t = at(y, m, d); !t.After(now) {
			t = at(y, m, d+1)
		}
	case dateToday:
		t = at(y, m, d)
	case dateTomorrow:
		t = at(y, m, d+1)
	case dateWeekday:
		ahead := (int(w.weekday) - int(local.Weekday()) + 7) % 7
		if t = at(y, m, d+ahead); !t.After(now) {
			t = at(y, m, d+ahead+7)
		}
	case dateNextWeekday:
		toMonday := (8 - int(local.Weekday())) % 7
		if toMonday == 0 {
			toMonday = 7
		}
		t = at(y, m, d+toMonday+(int(w.weekday)+6)%7)
	case dateIn:
		y, m, d := addMonths(y, m, d, w.ahead.months)
		t = at(y, m, d+w.ahead.days)
	case dateYMD:
		t = at(w.year, w.month, w.day)
	case dateMonthDay:
		// Feb 29 may be up to eight years away; other dates at most one.
		for year := y; year <= y+8; year++ {
			if validDate(year, w.month, w.day) {
				if t = at(year, w.month, w.day); t.After(now) {
					break
				}
			}
		}
	}
	return t.UTC()
}

// snoozeSpec is a parsed snooze length: exact minutes, a calendar step that
// keeps the wall-clock time, or a WHEN.
type snoozeSpec struct {
	minutes int
	ahead   span
	when    *whenSpec
}

func parseSnooze(phrase string) (snoozeSpec, *whenError) {
	words := strings.Fields(strings.ToLower(phrase))
	if len(words) == 1 && isDigits(trimCommas(words[0])) {
		minutes, err := parseAmount(trimCommas(words[0]), 0)
		switch {
		case err != nil:
			return snoozeSpec{}, err
		case minutes == 0:
			return snoozeSpec{}, &whenError{index: 0, reason: "the length of time must be more than zero"}
		case minutes > maxSpanMinutes:
			return snoozeSpec{}, &whenError{index: 0, reason: "that is more than ten years away"}
		}
		return snoozeSpec{minutes: minutes}, nil
	}
	s, n, err := parseSpan(words)
	switch {
	case err != nil:
		return snoozeSpec{}, err
	case n == len(words) && n > 0:
		if s.calendar() {
			return snoozeSpec{ahead: s}, nil
		}
		return snoozeSpec{minutes: s.minutes}, nil
	case n > 0:
		return snoozeSpec{}, &whenError{index: n, reason: fmt.Sprintf("I did not expect %q after the length of time", words[n])}
	}
	w, err := parseWhen(phrase)
	if err != nil {
		return snoozeSpec{}, err
	}
	return snoozeSpec{when: &w}, nil
}

func (s snoozeSpec) resolve(now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	switch {
	case s.when != nil:
		return s.when.resolve(now, loc, defaultSnoozeHour)
	case s.ahead.calendar():
		local := now.In(loc)
		y, m, d := addMonths(local.Year(), local.Month(), local.Day(), s.ahead.months)
		return time.Date(y, m, d+s.ahead.days, local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), loc).UTC()
	default:
		return now.Add(time.Duration(s.minutes) * time.Minute).UTC()
	}
}
