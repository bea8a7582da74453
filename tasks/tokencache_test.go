package tasks_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

func TestTokenCache(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	name := fmt.Sprintf("test-%x", rand.Uint64())
	a := tasks.NewStore(rdb, time.Now).TokenCache(name)
	b := tasks.NewStore(rdb, time.Now).TokenCache(name)

	if tok, exp, err := a.Load(ctx); tok != "" || !exp.IsZero() || err != nil {
		t.Fatalf("Load of an empty cache = %q, %v, %v", tok, exp, err)
	}
	expiry := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	if err := a.Save(ctx, "1000.abc.def", expiry); err != nil {
		t.Fatal(err)
	}
	if tok, exp, err := b.Load(ctx); tok != "1000.abc.def" || !exp.Equal(expiry) || err != nil {
		t.Fatalf("Load by another replica = %q, %v, %v", tok, exp, err)
	}
	if ttl := rdb.TTL(ctx, "tasker:oauth:{"+name+"}:token").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("token TTL = %v, want about an hour", ttl)
	}
	if err := a.Save(ctx, "old", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if tok, _, _ := b.Load(ctx); tok != "" {
		t.Errorf("an expired token was kept: %q", tok)
	}

	if ok, err := a.TryLock(ctx, time.Minute); !ok || err != nil {
		t.Fatalf("first TryLock = %v, %v", ok, err)
	}
	if ok, err := b.TryLock(ctx, time.Minute); ok || err != nil {
		t.Fatalf("TryLock while held = %v, %v", ok, err)
	}
	if err := b.Unlock(ctx); err != nil { // not the holder: no effect
		t.Fatal(err)
	}
	if ok, _ := b.TryLock(ctx, time.Minute); ok {
		t.Fatal("a non-holder's Unlock released the lock")
	}
	if err := a.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.TryLock(ctx, time.Minute); !ok || err != nil {
		t.Fatalf("TryLock after Unlock = %v, %v", ok, err)
	}
}
