package webhooks

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A batch script applies one per-item script to several items in one call,
// each item atomic as before and the whole call too. Redis spends much of a
// small script's cost on the call itself (parsing, building KEYS and ARGV,
// the reply), so the hot paths (recording a fan-out's messages, settling a
// lane's outcomes) make one call per batch instead of one per message. Every
// key of every item is declared; all share the workspace's hash tag, so the
// call runs on one Cluster slot.

// batchScript wraps body, a script over one item that reads its keys and
// arguments from the tables K and A (K[1], A[1], …, written as a
// per-item script would use KEYS and ARGV) and returns a table, into a
// script over items. The batch's KEYS are the items' keys one item after
// another; ARGV[1] is how many keys each item has, ARGV[2] how many
// arguments, and the items' arguments follow in the same order. It returns
// the items' answers in order. The redisNow prelude runs once, so every
// item sees the same now; body may keep in the table memo what is the same
// for every item of the call (nothing else writes meanwhile).
func batchScript(body string) *redis.Script {
	return redis.NewScript(redisNow + `
local memo = {}
local function item(K, A)
` + body + `
end
local nk, na = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 0, #KEYS / nk - 1 do
  local K, A = {}, {}
  for j = 1, nk do K[j] = KEYS[i * nk + j] end
  for j = 1, na do A[j] = ARGV[2 + i * na + j] end
  out[#out + 1] = item(K, A)
end
return out
`)
}

// perItem rewrites a per-item script's KEYS[n] and ARGV[n] as K[n] and
// A[n], so a script written and documented for one item runs in a batch.
func perItem(src string) string {
	return strings.NewReplacer("KEYS[", "K[", "ARGV[", "A[").Replace(src)
}

// maxBatch bounds the items of one batch script call, so that a large
// fan-out does not hold Redis in one long script.
const maxBatch = 128

// runBatch runs script over items given by their keys and arguments, all
// items alike in how many of each they have, in calls of up to maxBatch
// items, and returns each item's answer as strings, in order.
func runBatch(ctx context.Context, rdb redis.Scripter, script *redis.Script, keys [][]string, args [][]any) ([][]string, error) {
	var out [][]string
	for len(keys) > 0 {
		n := min(len(keys), maxBatch)
		res, err := runChunk(ctx, rdb, script, keys[:n], args[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
		keys, args = keys[n:], args[n:]
	}
	return out, nil
}

// runChunk is one call of runBatch.
func runChunk(ctx context.Context, rdb redis.Scripter, script *redis.Script, keys [][]string, args [][]any) ([][]string, error) {
	nk, na := len(keys[0]), len(args[0])
	flatKeys := make([]string, 0, nk*len(keys))
	flatArgs := make([]any, 0, 2+na*len(args))
	flatArgs = append(flatArgs, nk, na)
	for i := range keys {
		if len(keys[i]) != nk || len(args[i]) != na {
			return nil, fmt.Errorf("webhooks: batch item %d has %d keys and %d arguments, want %d and %d", i, len(keys[i]), len(args[i]), nk, na)
		}
		flatKeys = append(flatKeys, keys[i]...)
		flatArgs = append(flatArgs, args[i]...)
	}
	res, err := script.Run(ctx, rdb, flatKeys, flatArgs...).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != len(keys) {
		return nil, fmt.Errorf("webhooks: batch of %d items answered %d", len(keys), len(res))
	}
	out := make([][]string, len(res))
	for i, r := range res {
		vals, ok := r.([]any)
		if !ok {
			return nil, fmt.Errorf("webhooks: batch item %d: unexpected answer %v", i, r)
		}
		out[i] = make([]string, len(vals))
		for j, v := range vals {
			out[i][j], _ = v.(string)
		}
	}
	return out, nil
}
