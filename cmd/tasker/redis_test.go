package main

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// TestEmbeddedKeysExpire: the embedded server's clock moves with the
// service's, so an idempotency key set for 24 h is gone after 24 h, not kept
// for as long as the process runs.
func TestEmbeddedKeysExpire(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := &embeddedClock{m: m, last: start}
	if err := rdb.Set(t.Context(), "idem", "first answer", 24*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	clock.advance(start.Add(23 * time.Hour))
	if n, _ := rdb.Exists(t.Context(), "idem").Result(); n != 1 {
		t.Fatal("the key expired before its 24 h")
	}
	clock.advance(start.Add(23 * time.Hour)) // the same instant again moves nothing
	clock.advance(start.Add(24*time.Hour + time.Second))
	if n, _ := rdb.Exists(t.Context(), "idem").Result(); n != 0 {
		t.Error("the key outlived its 24 h")
	}
}
