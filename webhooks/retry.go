package webhooks

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is TASKER_WEBHOOK_RETRY_SCHEDULE's default: the delays
// before retries 1..7 after the immediate first attempt, about 28 hours.
const DefaultSchedule = "5s,5m,30m,2h,5h,10h,10h"

// MaxRetryAfter caps how long a receiver's Retry-After may hold a message
// back, so one endpoint cannot park deliveries for days.
const MaxRetryAfter = time.Hour

// Outcome is what an attempt means for its message.
type Outcome int

// The zero Outcome is deliberately invalid, so an Attempt nobody classified
// never passes for a delivered one.
const (
	Success Outcome = iota + 1 // delivered: any 2xx
	Retry                      // transient: try again after the next delay
	Fail                       // permanent for this message: keep it as failed
	Disable                    // the endpoint is gone (410): disable the subscription
)

// String returns the outcome's lower-case name, for logs and the delivery log.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	case Disable:
		return "disable"
	}
	return "unknown"
}

// ParseSchedule reads a comma-separated list of positive Go durations, such
// as DefaultSchedule. An empty list is an error: a schedule without retries
// is written as a single long delay, not by accident as "".
func ParseSchedule(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("webhooks: retry schedule is empty")
	}
	parts := strings.Split(s, ",")
	out := make([]time.Duration, len(parts))
	for i, p := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("webhooks: retry schedule entry %d: %w", i+1, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("webhooks: retry schedule entry %d: %s is not positive", i+1, d)
		}
		out[i] = d
	}
	return out, nil
}

// Classify turns an attempt's result into an Outcome (SPEC.md 8.3). status is
// 0 when no response arrived, and err is then the transport error.
//
// Timeouts, connection errors, 3xx, 5xx, 408, 425 and 429 are transient and
// retried; 410 Gone disables the endpoint; other 4xx fail the message at once,
// since repeating the same request cannot change the answer. An address the
// SSRF guard refused (*BlockedAddressError) also fails at once: it is a policy
// decision, not an outage, and the failed message can still be recovered.
func Classify(status int, err error) Outcome {
	if status == 0 {
		var blocked *BlockedAddressError
		if errors.As(err, &blocked) {
			return Fail
		}
		return Retry
	}
	switch {
	case status >= 200 && status < 300:
		return Success
	case status == http.StatusGone:
		return Disable
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return Retry
	case status >= 400 && status < 500:
		return Fail
	}
	return Retry // 3xx, 5xx and anything non-standard
}

// ParseRetryAfter reads a Retry-After header, in delay seconds or as an HTTP
// date relative to now, capped at MaxRetryAfter. It returns 0 for an empty,
// unreadable or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// NextDelay returns how long to wait before the next attempt of a message
// that has had attempts attempts so far, or false when the schedule is spent.
// The scheduled delay gets ±20% jitter from random (which returns values in
// [0, 1), like math/rand/v2's Float64) so that endpoints recovering from an
// outage are not hit by every queued message at once. A Retry-After only
// lengthens the delay, up to MaxRetryAfter; it never brings a retry forward.
func NextDelay(schedule []time.Duration, attempts int, retryAfter time.Duration, random func() float64) (time.Duration, bool) {
	if attempts < 1 || attempts > len(schedule) {
		return 0, false
	}
	base := schedule[attempts-1]
	d := time.Duration(float64(base) * (0.8 + 0.4*random()))
	return max(d, min(retryAfter, MaxRetryAfter)), true
}
