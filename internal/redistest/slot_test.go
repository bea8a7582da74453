package redistest

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

// TestSlot: Slot agrees with the server's CLUSTER KEYSLOT, hash tags
// included.
func TestSlot(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: ClusterAddrs(t)[0]})
	t.Cleanup(func() { rdb.Close() })
	for _, key := range []string{"", "a", "123456789", "tasker:{ws1}:events", "{ws1}", "x{}y", "x{a}{b}", "x{a", "ÿé{ü}"} {
		want, err := rdb.ClusterKeySlot(t.Context(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := Slot(key); int64(got) != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
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
