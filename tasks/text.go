package tasks

import "strings"

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }

// hasControl reports whether s holds a control character; multiline text
// may hold newlines and tabs (SPEC 6.2). Such characters rewrite terminals
// and break cards and webhook receivers downstream.
func hasControl(s string, multiline bool) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return isControl(r) && !(multiline && (r == '\n' || r == '\t'))
	})
}

// CleanText drops the control characters of s, keeping newlines and tabs
// when multiline: text from third parties (GitLab, GitHub) is cleaned
// rather than refused, since nobody can fix it.
func CleanText(s string, multiline bool) string {
	return strings.Map(func(r rune) rune {
		if isControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return -1
		}
		return r
	}, s)
}
