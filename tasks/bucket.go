package tasks

import (
	"context"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// A list index is split into buckets of consecutive task numbers so that
// each bucket stays a listpack (at most zset-max-listpack-entries, 128 by
// default, members): about 10 bytes an entry instead of a skiplist node of
// about 96 once a set holds more than 128. Every task is in about a dozen
// list indexes, so this is most of what a task costs in Redis.
//
// Indexes that may hold most numbers (every task, the open ones, a status,
// a search word: "the" is in most descriptions) span 128 numbers a bucket.
// An assignee's or a tag's spans 512, so a bucket's key overhead (about
// 100 bytes) is shared by more entries; one that holds more than a quarter
// of all tasks grows past 128 members and Redis converts that bucket to a
// skiplist, which costs what the unbucketed set did, never a wrong answer.
const (
	denseWidth  = 128
	sparseWidth = 512
)

// index is one list index of a workspace: task numbers in buckets of width
// numbers each (keys.go has its keys).
type index struct {
	k     keys
	name  string
	width int64
}

// listScan walks a list index from the newest task number down: the
// buckets that the directory marks non-empty, merged with the legacy set.
type listScan struct {
	ix    index
	max   int64  // exclusive upper bound of the next batch
	dir   []byte // the directory, read on the first batch
	read  bool
	spans int64 // buckets to read per round trip, from the density seen
}

func newListScan(ix index, below int64) *listScan {
	return &listScan{ix: ix, max: below, spans: 2}
}

// next returns the next count entries below max (fewer only at the end).
// The first batch reads the directory and the legacy set; each round trip
// after that reads as many buckets as the density seen so far says a batch
// needs.
func (l *listScan) next(ctx context.Context, rdb redis.UniversalClient, count int64) ([]position, error) {
	if l.max <= 1 { // numbers start at 1
		return nil, nil
	}
	var found []position
	var legacy []int64
	top := (l.max - 1) / l.ix.width
	for first := true; first || int64(len(found)) < count; first = false {
		var buckets []int64
		if l.read {
			buckets = l.buckets(top, l.spans)
		}
		if !first && len(buckets) == 0 {
			break
		}
		pipe := rdb.Pipeline()
		var dirCmd *redis.StringCmd
		if !l.read {
			dirCmd = pipe.Get(ctx, l.ix.dir())
		}
		var legacyCmd *redis.StringSliceCmd
		if first {
			legacyCmd = pipe.ZRevRangeByScore(ctx, l.ix.legacy(), &redis.ZRangeBy{Max: bound(l.max), Min: "-inf", Count: count})
		}
		cmds := make([]*redis.StringSliceCmd, len(buckets))
		for i, b := range buckets {
			cmds[i] = pipe.ZRevRangeByScore(ctx, l.ix.bucket(b), &redis.ZRangeBy{Max: bound(l.max), Min: "-inf"})
		}
		if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
			return nil, err
		}
		if dirCmd != nil {
			l.dir, _ = dirCmd.Bytes()
			l.read = true
		}
		if legacyCmd != nil {
			for _, m := range legacyCmd.Val() {
				legacy = append(legacy, mustInt(m))
			}
		}
		got := 0
		for _, c := range cmds {
			for _, m := range c.Val() {
				found = append(found, position{number: mustInt(m)})
				got++
			}
		}
		if len(buckets) > 0 {
			top = buckets[len(buckets)-1] - 1
			perBucket := max(float64(got)/float64(len(buckets)), 1)
			l.spans = min(max(int64(math.Ceil(float64(count-int64(len(found)))/perBucket)), 2), 64)
		}
	}
	out := mergeDesc(found, legacy, int(count))
	if len(out) > 0 {
		l.max = out[len(out)-1].number
	}
	return out, nil
}

// buckets returns up to n bucket ids at or below top whose directory bit
// is set, newest first.
func (l *listScan) buckets(top, n int64) []int64 {
	var out []int64
	for b := min(top, int64(len(l.dir))*8-1); b >= 0 && int64(len(out)) < n; b-- {
		if l.dir[b/8]&(0x80>>(b%8)) != 0 {
			out = append(out, b)
		}
	}
	return out
}

// bound is an exclusive ZRANGEBYSCORE bound below max.
func bound(max int64) string {
	if max == math.MaxInt64 {
		return "+inf"
	}
	return "(" + strconv.FormatInt(max, 10)
}

// mergeDesc merges the positions of buckets (descending) with the legacy
// numbers (descending), dropping duplicates, and keeps the first limit.
func mergeDesc(a []position, b []int64, limit int) []position {
	out := make([]position, 0, min(len(a)+len(b), limit))
	i, j := 0, 0
	for len(out) < limit && (i < len(a) || j < len(b)) {
		var n int64
		switch {
		case j == len(b) || i < len(a) && a[i].number > b[j]:
			n = a[i].number
			i++
		case i == len(a) || b[j] > a[i].number:
			n = b[j]
			j++
		default: // in both
			n = a[i].number
			i, j = i+1, j+1
		}
		out = append(out, position{number: n})
	}
	return out
}

// inIndexes keeps the entries whose task number is in every index, in its
// bucket or its legacy set, with one ZMSCORE per (index, bucket) and per
// legacy set, all in one round trip. Index scores are task numbers, never
// 0, so a 0 score means absent.
func (s *Store) inIndexes(ctx context.Context, ixs []index, entries []position) ([]position, error) {
	if len(ixs) == 0 || len(entries) == 0 {
		return entries, nil
	}
	members := make([]string, len(entries))
	for i, e := range entries {
		members[i] = strconv.FormatInt(e.number, 10)
	}
	type probe struct {
		cmd  *redis.FloatSliceCmd
		from int // entries[from:from+len] were asked
	}
	probes := make([][]probe, len(ixs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ix := range ixs {
			probes[i] = append(probes[i], probe{cmd: p.ZMScore(ctx, ix.legacy(), members...)})
			// Entries come in descending order, so each bucket's are adjacent.
			for from := 0; from < len(entries); {
				b := entries[from].number / ix.width
				to := from
				for to < len(entries) && entries[to].number/ix.width == b {
					to++
				}
				probes[i] = append(probes[i], probe{cmd: p.ZMScore(ctx, ix.bucket(b), members[from:to]...), from: from})
				from = to
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	in := make([]int, len(entries)) // how many indexes hold each entry
	for _, ps := range probes {
		held := make([]bool, len(entries))
		for _, pr := range ps {
			for j, score := range pr.cmd.Val() {
				if score != 0 {
					held[pr.from+j] = true
				}
			}
		}
		for j, h := range held {
			if h {
				in[j]++
			}
		}
	}
	kept := entries[:0:0]
	for j, e := range entries {
		if in[j] == len(ixs) {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// smallestIndex returns whichever of ixs likely holds the fewest tasks, or
// fallback when ixs is empty. The estimate is the numbers its non-empty
// buckets span (BITCOUNT of the directory times the width), plus its
// legacy set: coarse, but a driver that is not the smallest costs only
// more filtering, never a wrong answer. Ties go to the sparse kind.
func (s *Store) smallestIndex(ctx context.Context, ixs []index, fallback index) (index, error) {
	switch len(ixs) {
	case 0:
		return fallback, nil
	case 1:
		return ixs[0], nil
	}
	spans := make([]*redis.IntCmd, len(ixs))
	legacy := make([]*redis.IntCmd, len(ixs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ix := range ixs {
			spans[i] = p.BitCount(ctx, ix.dir(), nil)
			legacy[i] = p.ZCard(ctx, ix.legacy())
		}
		return nil
	})
	if err != nil {
		return index{}, err
	}
	best, bestSize := 0, int64(math.MaxInt64)
	for i, ix := range ixs {
		n := spans[i].Val()*ix.width + legacy[i].Val()
		if n < bestSize || n == bestSize && ix.width > ixs[best].width {
			best, bestSize = i, n
		}
	}
	return ixs[best], nil
}
