package tasks

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// crockford is the base32 alphabet of ULIDs: no I, L, O, U, so ids read
// aloud and typed by hand survive.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// monotonic remembers the last id's time and random part so ids made in the
// same millisecond still sort in the order they were made: lists page by id.
var monotonic struct {
	sync.Mutex
	ms     uint64
	hi, lo uint64 // the 80 random bits: 16 in hi, 64 in lo
}

// newID returns prefix + a 26-character ULID: 48 bits of milliseconds then
// 80 random bits, incremented instead of redrawn within one millisecond.
func newID(prefix string, now time.Time) string {
	ms := uint64(now.UnixMilli())
	monotonic.Lock()
	if ms <= monotonic.ms {
		ms = monotonic.ms
		monotonic.lo++
		if monotonic.lo == 0 {
			monotonic.hi = (monotonic.hi + 1) & 0xffff
		}
	} else {
		var b [10]byte
		_, _ = rand.Read(b[:])
		monotonic.ms = ms
		monotonic.hi = uint64(binary.BigEndian.Uint16(b[:2])) & 0x7fff // headroom for increments
		monotonic.lo = binary.BigEndian.Uint64(b[2:])
	}
	rhi, lo := monotonic.hi, monotonic.lo
	monotonic.Unlock()
	return prefix + ulid(ms, rhi, lo)
}

// ULIDFloor returns the smallest ULID of the Unix millisecond ms: ids
// made at ms or later (after their prefix) sort at or above it.
func ULIDFloor(ms int64) string { return ulid(uint64(ms), 0, 0) }

// ulid encodes a millisecond time and 80 random bits (16 in rhi, 64 in lo).
func ulid(ms, rhi, lo uint64) string {
	hi := ms<<16 | rhi
	out := make([]byte, 0, 26)
	// 128 bits as 26 base32 digits: the first digit carries the top 3 bits.
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift > 59:
			v = lo>>shift | hi<<(64-shift)
		default:
			v = lo >> shift
		}
		out = append(out, crockford[v&31])
	}
	return string(out)
}

// ULIDTime returns the milliseconds in the time part of a ULID (the first
// 10 of its 26 digits), which ids take from the time they were made.
func ULIDTime(id string) (int64, bool) {
	if len(id) != 26 {
		return 0, false
	}
	var ms int64
	for i := range 10 {
		d := strings.IndexByte(crockford, id[i])
		if d < 0 {
			return 0, false
		}
		ms = ms<<5 | int64(d)
	}
	return ms, true
}
