package delugetest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// formatTime renders t with a Java SimpleDateFormat pattern, as Deluge's
// date-time toString(pattern) does (REFERENCE 13.4). Supported letters:
//
//	y   year (yy: two digits)      M  month (MM: 03, MMM: Mar, MMMM: March)
//	d   day of month               E  weekday (EEE: Tue, EEEE: Tuesday)
//	H   hour 0-23                  h  hour 1-12            a  AM/PM
//	m   minute                     s  second               S  millisecond (SSS)
//	X   zone: Z, +05, +0530 (XX), +05:30 (XXX)             Z  zone: +0530
//
// 'text' is literal text and ” a single quote. Other letters are an error, so a
// pattern this package does not understand fails loudly instead of printing junk.
func formatTime(t time.Time, pattern string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c == '\'' {
			if strings.HasPrefix(pattern[i:], "''") {
				b.WriteByte('\'')
				i += 2
				continue
			}
			// Quoted text runs to the next lone quote; '' inside it is a quote.
			i++
			for {
				if i >= len(pattern) {
					return "", fmt.Errorf("date pattern %q has an unclosed quote", pattern)
				}
				if pattern[i] == '\'' {
					if !strings.HasPrefix(pattern[i:], "''") {
						i++
						break
					}
					i++
				}
				b.WriteByte(pattern[i])
				i++
			}
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		for i+n < len(pattern) && pattern[i+n] == c {
			n++
		}
		i += n
		if err := formatField(&b, t, c, n); err != nil {
			return "", fmt.Errorf("date pattern %q: %w", pattern, err)
		}
	}
	return b.String(), nil
}

// formatField writes one run of n pattern letters c.
func formatField(b *strings.Builder, t time.Time, c byte, n int) error {
	pad := func(v int) { fmt.Fprintf(b, "%0*d", n, v) }
	switch c {
	case 'y':
		if n == 2 {
			fmt.Fprintf(b, "%02d", t.Year()%100)
		} else {
			pad(t.Year())
		}
	case 'M':
		switch {
		case n >= 4:
			b.WriteString(t.Month().String())
		case n == 3:
			b.WriteString(t.Month().String()[:3])
		default:
			pad(int(t.Month()))
		}
	case 'd':
		pad(t.Day())
	case 'E':
		if n >= 4 {
			b.WriteString(t.Weekday().String())
		} else {
			b.WriteString(t.Weekday().String()[:3])
		}
	case 'H':
		pad(t.Hour())
	case 'h':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		pad(h)
	case 'a':
		if t.Hour() < 12 {
			b.WriteString("AM")
		} else {
			b.WriteString("PM")
		}
	case 'm':
		pad(t.Minute())
	case 's':
		pad(t.Second())
	case 'S':
		pad(t.Nanosecond() / int(time.Millisecond))
	case 'X':
		_, off := t.Zone()
		if off == 0 {
			b.WriteByte('Z')
			return nil
		}
		switch n {
		case 1:
			b.WriteString(zoneOffset(off, "")[:3])
		case 2:
			b.WriteString(zoneOffset(off, ""))
		case 3:
			b.WriteString(zoneOffset(off, ":"))
		default:
			return fmt.Errorf("too many X letters")
		}
	case 'Z':
		_, off := t.Zone()
		b.WriteString(zoneOffset(off, ""))
	default:
		return fmt.Errorf("letter %c is not supported", c)
	}
	return nil
}

// zoneOffset renders a UTC offset in seconds as +hh<sep>mm.
func zoneOffset(off int, sep string) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return sign + twoDigits(off/3600) + sep + twoDigits(off/60%60)
}

func twoDigits(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}
