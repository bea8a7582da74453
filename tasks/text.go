package tasks

import "strings"

// unwanted reports whether r is a C0 or C1 control character or DEL that
// text may not hold; multiline text may hold newlines and tabs (SPEC 6.2).
func unwanted(r rune, multiline bool) bool {
	control := r < 0x20 || r >= 0x7f && r <= 0x9f
	return control && !(multiline && (r == '\n' || r == '\t'))
}

// hasControl reports whether s holds a character unwanted says it may not.
// Such characters rewrite terminals and break cards and webhook receivers.
func hasControl(s string, multiline bool) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unwanted(r, multiline) })
}

// CleanText drops the characters hasControl refuses: text from third parties
// (GitLab, GitHub) is cleaned rather than refused, since nobody can fix it.
func CleanText(s string, multiline bool) string {
	return strings.Map(func(r rune) rune {
		if unwanted(r, multiline) {
			return -1
		}
		return r
	}, s)
}
