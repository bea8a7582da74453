package tasks

import (
	"strings"
	"testing"
	"time"
)

func TestNewIDSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev := ""
	for i := range 100 {
		id := newID("tsk_", t0.Add(time.Duration(i)*time.Millisecond))
		if !strings.HasPrefix(id, "tsk_") || len(id) != 30 {
			t.Fatalf("newID = %q, want tsk_ + 26 characters", id)
		}
		for _, c := range id[4:] {
			if !strings.ContainsRune(crockford, c) {
				t.Fatalf("newID = %q has %q outside the alphabet", id, c)
			}
		}
		if id <= prev {
			t.Fatalf("newID not increasing: %q after %q", id, prev)
		}
		prev = id
	}
}

func TestNewIDTimePrefix(t *testing.T) {
	// The ULID spec's example: 01ARYZ6S41 is the time part of 1469918176385 ms.
	if got := ulid(1469918176385, 0, 0)[:10]; got != "01ARYZ6S41" {
		t.Errorf("time part = %q, want 01ARYZ6S41", got)
	}
}

func TestNewIDMonotonicWithinMillisecond(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := newID("", now)
	for range 1000 {
		id := newID("", now)
		if id <= prev {
			t.Fatalf("ids of one millisecond out of order: %q after %q", id, prev)
		}
		prev = id
	}
}
