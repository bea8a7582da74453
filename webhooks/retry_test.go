package webhooks_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/webhooks"
)

func TestParseSchedule(t *testing.T) {
	got, err := webhooks.ParseSchedule(webhooks.DefaultSchedule)
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if err != nil {
		t.Fatalf("ParseSchedule(default) = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ParseSchedule(default) mismatch (-want +got):\n%s", diff)
	}
	got, err = webhooks.ParseSchedule(" 1s , 1m30s ")
	if err != nil || !cmp.Equal(got, []time.Duration{time.Second, 90 * time.Second}) {
		t.Fatalf("ParseSchedule(spaced) = %v, %v", got, err)
	}
	for _, bad := range []string{"", " ", "5s,,5m", "5", "5s,-1m", "0s", "soon", "5s,"} {
		if got, err := webhooks.ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) = %v, nil; want error", bad, got)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		err    error
		want   webhooks.Outcome
	}{
		{200, nil, webhooks.Success},
		{201, nil, webhooks.Success},
		{204, nil, webhooks.Success},
		{299, nil, webhooks.Success},
		{301, nil, webhooks.Retry},
		{302, nil, webhooks.Retry},
		{308, nil, webhooks.Retry},
		{400, nil, webhooks.Fail},
		{401, nil, webhooks.Fail},
		{404, nil, webhooks.Fail},
		{408, nil, webhooks.Retry},
		{410, nil, webhooks.Disable},
		{413, nil, webhooks.Fail},
		{425, nil, webhooks.Retry},
		{429, nil, webhooks.Retry},
		{500, nil, webhooks.Retry},
		{502, nil, webhooks.Retry},
		{503, nil, webhooks.Retry},
		{0, errors.New("connection refused"), webhooks.Retry},
		{0, &webhooks.BlockedAddressError{Reason: "loopback"}, webhooks.Fail},
	}
	for _, tt := range tests {
		if got := webhooks.Classify(tt.status, tt.err); got != tt.want {
			t.Errorf("Classify(%d, %v) = %v, want %v", tt.status, tt.err, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"Seconds", "120", 2 * time.Minute},
		{"SecondsCapped", "7200", time.Hour},
		{"SecondsHuge", "99999999999999999", time.Hour},
		{"Zero", "0", 0},
		{"Negative", "-5", 0},
		{"Date", now.Add(30 * time.Minute).Format(http.TimeFormat), 30 * time.Minute},
		{"DateCapped", now.Add(3 * time.Hour).Format(http.TimeFormat), time.Hour},
		{"DatePast", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Empty", "", 0},
		{"Garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhooks.ParseRetryAfter(tt.in, now); got != tt.want {
				t.Fatalf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNextDelay(t *testing.T) {
	schedule := []time.Duration{5 * time.Second, 5 * time.Minute, 2 * time.Hour}
	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	tests := []struct {
		name       string
		attempts   int
		retryAfter time.Duration
		random     float64
		want       time.Duration
		wantOK     bool
	}{
		{"FirstRetryLow", 1, 0, 0, 4 * time.Second, true},
		{"FirstRetryMiddle", 1, 0, 0.5, 5 * time.Second, true},
		{"FirstRetryHigh", 1, 0, 0.999999, 6 * time.Second, true},
		{"SecondRetry", 2, 0, 0.5, 5 * time.Minute, true},
		{"LastRetry", 3, 0, 0.25, 108 * time.Minute, true},
		{"Spent", 4, 0, 0.5, 0, false},
		{"NoAttemptsYet", 0, 0, 0.5, 0, false},
		{"RetryAfterLengthens", 1, 10 * time.Minute, 0.5, 10 * time.Minute, true},
		{"RetryAfterNeverShortens", 3, time.Minute, 0.5, 2 * time.Hour, true},
		{"RetryAfterCapped", 2, 5 * time.Hour, 0.5, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := webhooks.NextDelay(schedule, tt.attempts, tt.retryAfter, fixed(tt.random))
			// random never reaches 1, so the top of the range is approached, not hit.
			if ok != tt.wantOK || (got-tt.want).Abs() > time.Millisecond {
				t.Fatalf("NextDelay(attempts %d) = %v, %v; want %v, %v", tt.attempts, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	got := []string{webhooks.Outcome(0).String(), webhooks.Success.String(), webhooks.Retry.String(), webhooks.Fail.String(), webhooks.Disable.String()}
	if diff := cmp.Diff([]string{"unknown", "success", "retry", "fail", "disable"}, got); diff != "" {
		t.Fatalf("Outcome.String mismatch (-want +got):\n%s", diff)
	}
}
