package redistest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// scriptSlots is a go-redis hook of the Cluster clients that fails the test
// when a script's keys do not share one slot (SPEC 13). Redis refuses
// declared keys of several slots itself, and keys a script builds from a
// declared one's prefix once they leave its slot; what only shows by chance
// is a script that declares no key: go-redis sends it to any node, which
// refuses its keys only when it does not serve them. So every script must
// declare at least one key, and all of them in one slot.
type scriptSlots struct{ t testing.TB }

func (h scriptSlots) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h scriptSlots) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.check(cmd)
		return next(ctx, cmd)
	}
}

func (h scriptSlots) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.check(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h scriptSlots) ProcessTxPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return h.ProcessPipelineHook(next)
}

func (h scriptSlots) check(cmd redis.Cmder) {
	if err := scriptSlotError(cmd.Args()); err != "" {
		h.t.Errorf("redistest: %s", err)
	}
}

// scriptSlotError says what is wrong with the keys of a script call
// (EVAL, EVALSHA, FCALL and their read-only forms), or "" when nothing is.
func scriptSlotError(args []any) string {
	if len(args) < 3 {
		return ""
	}
	name, _ := args[0].(string)
	switch strings.ToLower(name) {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
	default:
		return ""
	}
	n, err := strconv.Atoi(toString(args[2]))
	if err != nil || len(args) < 3+n {
		return ""
	}
	script := toString(args[1])
	if len(script) > 40 {
		script = script[:40] + "…"
	}
	if n == 0 {
		return "script " + script + " declares no key: on a Cluster it runs on any node"
	}
	first := Slot(toString(args[3]))
	for _, k := range args[4 : 3+n] {
		if Slot(toString(k)) != first {
			return "script " + script + " declares keys of several slots: " + toString(args[3]) + ", " + toString(k)
		}
	}
	return ""
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

// Slot is the Cluster hash slot of key: CRC16 (XMODEM) of its hash tag, the
// part between the first { and the next }, when that part is not empty,
// else of the whole key, modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
