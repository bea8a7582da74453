package bot

import (
	"fmt"
	"strconv"
	"strings"
)

// A span is a length of time as people type it in chat: "3h", "30 min",
// "1h30m", "2 days", "a week". Minutes and hours are exact; days, weeks and
// months are calendar steps, because "in 2 days" across a DST change should
// land on the same wall-clock time (or the default hour), not 48 hours later.
type span struct {
	minutes int // exact minutes, from minute and hour parts
	days    int // calendar days, weeks counted as 7
	months  int // calendar months
}

// calendar reports whether s is counted in days, weeks or months.
func (s span) calendar() bool { return s.days != 0 || s.months != 0 }

type unit int

const (
	unitMinute unit = iota
	unitHour
	unitDay
	unitWeek
	unitMonth
)

var unitWords = map[string]unit{
	"m": unitMinute, "min": unitMinute, "mins": unitMinute, "minute": unitMinute, "minutes": unitMinute,
	"h": unitHour, "hr": unitHour, "hrs": unitHour, "hour": unitHour, "hours": unitHour,
	"d": unitDay, "day": unitDay, "days": unitDay,
	"w": unitWeek, "wk": unitWeek, "wks": unitWeek, "week": unitWeek, "weeks": unitWeek,
	"mo": unitMonth, "month": unitMonth, "months": unitMonth,
}

// Limits keep every span well inside time.Duration and time.Date's range
// and catch typos such as "in 30000 days"; ten years covers any real task.
const (
	maxSpanMinutes  = 10 * 366 * 24 * 60
	maxSpanDays     = 10 * 366
	maxSpanMonths   = 10 * 12
	maxAmountDigits = 7
)

// parseSpan reads the longest span at the start of words (lower-cased) and
// returns it with the number of words used. It returns n == 0 and no error
// when words do not start with a span; an error means they start like one
// but are wrong ("3 hourss", "in 0 minutes", "2 days 3h").
func parseSpan(words []string) (s span, n int, err *whenError) {
	parts := 0
	for n < len(words) {
		w := trimCommas(words[n])
		used := 0
		var amounts []int
		var units []unit
		switch {
		case w == "a" || w == "an" || isDigits(w):
			if n+1 >= len(words) {
				if parts == 0 && w != "a" && w != "an" {
					return span{}, 0, &whenError{index: n, reason: fmt.Sprintf("%q needs a unit such as min, h or days", w), fix: w + "min"}
				}
				break
			}
			u, ok := unitWords[trimCommas(words[n+1])]
			if !ok {
				if parts == 0 {
					return span{}, 0, &whenError{index: n + 1, reason: fmt.Sprintf("%q is not a unit of time I know (min, h, days, weeks, months)", words[n+1]), fix: closestWord(trimCommas(words[n+1]), unitVocabulary)}
				}
				break
			}
			amount := 1
			if isDigits(w) {
				var e *whenError
				if amount, e = parseAmount(w, n); e != nil {
					return span{}, 0, e
				}
			}
			amounts, units, used = []int{amount}, []unit{u}, 2
		case len(w) > 0 && isDigit(w[0]):
			var ok bool
			if amounts, units, ok = splitCompact(w); !ok {
				if parts == 0 {
					return span{}, 0, &whenError{index: n, reason: fmt.Sprintf("%q is not a length of time I know", words[n]), fix: compactFix(w)}
				}
				break
			}
			used = 1
		}
		if used == 0 {
			break
		}
		for i, u := range units {
			if (u >= unitDay || s.calendar()) && parts > 0 {
				return span{}, 0, &whenError{index: n, reason: "days, weeks and months cannot be combined with other units"}
			}
			s.add(amounts[i], u)
			parts++
		}
		n += used
	}
	if n == 0 {
		return span{}, 0, nil
	}
	if s == (span{}) {
		return span{}, 0, &whenError{index: 0, reason: "the length of time must be more than zero"}
	}
	if s.minutes > maxSpanMinutes || s.days > maxSpanDays || s.months > maxSpanMonths {
		return span{}, 0, &whenError{index: 0, reason: "that is more than ten years away"}
	}
	return s, n, nil
}

// add adds amount units to s, saturating so that huge amounts fail the
// limit check instead of overflowing.
func (s *span) add(amount int, u unit) {
	switch u {
	case unitMinute:
		s.minutes = min(s.minutes+amount, maxSpanMinutes+1)
	case unitHour:
		s.minutes = min(s.minutes+amount*60, maxSpanMinutes+1)
	case unitDay:
		s.days = min(s.days+amount, maxSpanDays+1)
	case unitWeek:
		s.days = min(s.days+amount*7, maxSpanDays+1)
	case unitMonth:
		s.months = min(s.months+amount, maxSpanMonths+1)
	}
}

// splitCompact splits a word such as "3h", "30min", "2days" or "1h30m" into
// amounts and units.
func splitCompact(w string) (amounts []int, units []unit, ok bool) {
	for w != "" {
		i := 0
		for i < len(w) && isDigit(w[i]) {
			i++
		}
		j := i
		for j < len(w) && w[j] >= 'a' && w[j] <= 'z' {
			j++
		}
		if i == 0 || j == i || i > maxAmountDigits {
			return nil, nil, false
		}
		u, known := unitWords[w[i:j]]
		if !known {
			return nil, nil, false
		}
		a, _ := strconv.Atoi(w[:i]) // at most maxAmountDigits digits
		amounts, units = append(amounts, a), append(units, u)
		w = w[j:]
	}
	return amounts, units, len(units) > 0
}

// compactFix proposes a correction for a mistyped compact span such as
// "3hourss": the same digits with the closest unit.
func compactFix(w string) string {
	i := 0
	for i < len(w) && isDigit(w[i]) {
		i++
	}
	if u := closestWord(w[i:], unitVocabulary); u != "" && i > 0 {
		return w[:i] + u
	}
	return ""
}

// parseAmount reads the digits w, the index-th word.
func parseAmount(w string, index int) (int, *whenError) {
	if len(w) > maxAmountDigits {
		return 0, &whenError{index: index, reason: "that is more than ten years away"}
	}
	a, _ := strconv.Atoi(w)
	return a, nil
}

// unitVocabulary is what typo suggestions for units choose from.
var unitVocabulary = []string{"min", "minutes", "h", "hours", "days", "weeks", "months"}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// isDigits reports whether w is one or more ASCII digits; strconv would also
// accept a sign, which no date or number here may have.
func isDigits(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !isDigit(w[i]) {
			return false
		}
	}
	return true
}

// trimCommas drops the commas people put after words ("friday, 5pm").
func trimCommas(w string) string { return strings.TrimRight(w, ",") }
