package redistest

import (
	"strings"
	"testing"
)

// TestSlot: Slot agrees with the server. The slots are what CLUSTER
// KEYSLOT answers on Redis 7.0 (123456789 is the Cluster specification's
// CRC16 check value): a table, so that this package's tests need no
// Cluster of their own.
func TestSlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"", 0}, {"a", 15495}, {"123456789", 12739}, {"foo", 12182},
		{"tasker:{ws1}:events", 9952}, {"{ws1}", 9952},
		{"x{}y", 16116},    // an empty tag counts the whole key
		{"x{a}{b}", 15495}, // the first tag only: "a"
		{"x{a", 6541},      // no closing brace: the whole key
		{"ÿé{ü}", 9552},    // bytes, not runes
	} {
		if got := Slot(tc.key); got != tc.want {
			t.Errorf("Slot(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
}

// TestScriptSlotError: a script call is faulted for declaring no key or
// keys of two slots, and passed with keys under one hash tag.
func TestScriptSlotError(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []any
		want string
	}{
		{"OneTag", []any{"evalsha", "abc", "2", "t:{w}:a", "t:{w}:b", "arg"}, ""},
		{"IntCount", []any{"eval", "return 1", 1, "k"}, ""},
		{"NoKey", []any{"evalsha", "abc", "0", "arg"}, "declares no key"},
		{"TwoSlots", []any{"eval", "return 1", int64(2), "t:{w1}:a", "t:{w2}:a"}, "several slots"},
		{"NotAScript", []any{"get", "k"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scriptSlotError(tc.args)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("scriptSlotError(%v) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}
