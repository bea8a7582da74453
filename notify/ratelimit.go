package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Rate is a ceiling of N calls per Per, such as TASKER_CLIQ_RATE's "18/min".
type Rate struct {
	N   int
	Per time.Duration
}

// rateUnits are the units ParseRate understands after the slash.
var rateUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour,
}

// ParseRate reads "N/unit", where unit is s, min or h (also sec, second, m,
// minute, hr, hour), and N is a positive integer: "45/min", "1/s", "600/h".
func ParseRate(s string) (Rate, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("notify: rate %q is not N/unit, e.g. 45/min", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n <= 0 {
		return Rate{}, fmt.Errorf("notify: rate %q needs a positive whole number of calls", s)
	}
	per, ok := rateUnits[strings.ToLower(strings.TrimSpace(unit))]
	if !ok {
		return Rate{}, fmt.Errorf("notify: rate %q has unknown unit %q; use s, min or h", s, unit)
	}
	return Rate{N: n, Per: per}, nil
}

// String gives the rate in ParseRate's form.
func (r Rate) String() string {
	unit := r.Per.String()
	switch r.Per {
	case time.Second:
		unit = "s"
	case time.Minute:
		unit = "min"
	case time.Hour:
		unit = "h"
	}
	return strconv.Itoa(r.N) + "/" + unit
}

// takeScript takes one slot of a sliding-window limiter, and of a per-key
// spacing, in one atomic step, or says how long to wait for both.
//
// KEYS[1]: ZSET of the calls in the window, scored by Unix milliseconds.
// KEYS[2]: STRING, Unix milliseconds until which every caller must wait.
// KEYS[3]: STRING, Unix milliseconds of the key's last call (only with ARGV[5] > 0).
// ARGV: now (ms), window (ms), N, a unique member for this call, gap (ms).
// Returns 0 when the slot was taken, else the milliseconds to wait.
var takeScript = redis.NewScript(`
local now, window, n, gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
local paused = tonumber(redis.call("GET", KEYS[2]) or "0")
if paused > now then return paused - now end
local wait = 0
if gap > 0 then
  local last = redis.call("GET", KEYS[3])
  if last and tonumber(last) + gap > now then wait = tonumber(last) + gap - now end
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
if redis.call("ZCARD", KEYS[1]) >= n then
  local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
  local w = tonumber(oldest[2]) + window - now
  if w > wait then wait = w end
end
if wait > 0 then return wait end
redis.call("ZADD", KEYS[1], now, ARGV[4])
redis.call("PEXPIRE", KEYS[1], window)
if gap > 0 then redis.call("SET", KEYS[3], now, "PX", gap) end
return 0
`)

// pauseScript moves the pause of a limiter later, never earlier.
//
// KEYS[1]: STRING, Unix milliseconds until which every caller must wait.
// ARGV: until (ms), TTL (ms).
var pauseScript = redis.NewScript(`
local cur = tonumber(redis.call("GET", KEYS[1]) or "0")
if tonumber(ARGV[1]) > cur then redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) end
return 0
`)

// RateLimiter keeps every replica together under one Rate. Its state lives
// in Redis, and a slot is taken in one script call, so replicas never
// overshoot between a check and a take. The window slides: no span of Per
// ever holds more than N calls, whichever way the calls fall on minutes.
//
// Time comes from the limiter's clock. Replicas with clocks skewed by a second
// shift the window by that second; keep their clocks synchronised.
type RateLimiter struct {
	rdb  redis.UniversalClient
	now  func() time.Time
	rate Rate
	// p is the key prefix; its hash tag keeps the limiter's keys in one
	// Cluster slot, so one script can read them all.
	p string
}

// NewRateLimiter returns the limiter called name on rdb, enforcing r with
// the clock now. Every replica that uses the same name shares it: name the
// quota it protects, such as "cliq" for the Cliq API's per-user posting
// limit.
func NewRateLimiter(rdb redis.UniversalClient, now func() time.Time, name string, r Rate) *RateLimiter {
	return &RateLimiter{rdb: rdb, now: now, rate: r, p: "tasker:ratelimit:{" + name + "}:"}
}

// Rate is the ceiling the limiter enforces.
func (l *RateLimiter) Rate() Rate { return l.rate }

// window is a ZSET of the calls of the last Per, scored by Unix milliseconds.
func (l *RateLimiter) window() string { return l.p + "window" }

// pause is a STRING: Unix milliseconds until which every caller waits.
func (l *RateLimiter) pause() string { return l.p + "pause" }

// spacing is a STRING with a TTL of the gap: Unix milliseconds of key's
// last call.
func (l *RateLimiter) spacing(key string) string { return l.p + "gap:" + key }

// Take takes a slot for one call, or reports how long to wait before asking
// again (a positive duration, and nothing taken). With gap > 0 calls for
// key are also kept gap apart: the caller uses that to give one destination
// room to gather its messages. Several callers waiting for the same slot
// compete for it when it frees; only one gets it.
func (l *RateLimiter) Take(ctx context.Context, key string, gap time.Duration) (time.Duration, error) {
	if l.rate.N <= 0 || l.rate.Per <= 0 {
		return 0, fmt.Errorf("notify: rate limiter has no rate")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	now := l.now().UnixMilli()
	member := strconv.FormatInt(now, 10) + "-" + hex.EncodeToString(b[:])
	ms, err := takeScript.Run(ctx, l.rdb, []string{l.window(), l.pause(), l.spacing(key)},
		now, l.rate.Per.Milliseconds(), l.rate.N, member, max(gap.Milliseconds(), 0)).Int64()
	if err != nil {
		return 0, fmt.Errorf("notify: take rate slot: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Pause makes every Take wait until d from now: the API said it locked us
// out for that long. A longer pause already in force stays.
func (l *RateLimiter) Pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	until := l.now().Add(d).UnixMilli()
	if err := pauseScript.Run(ctx, l.rdb, []string{l.pause()}, until, d.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("notify: pause rate limiter: %w", err)
	}
	return nil
}
