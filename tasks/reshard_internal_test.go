package tasks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/taskerhq/tasker/internal/redistest"
)

// TestUserByCliqIDWhileSlotMoves: while a workspace's Cluster slot is being
// resharded to another master, the user of a Cliq id is still found, as the
// single-key reads of every other lookup are.
func TestUserByCliqIDWhileSlotMoves(t *testing.T) {
	ctx := context.Background()
	cc := redistest.ClusterClient(t).(*redis.ClusterClient)
	s := NewStore(cc, time.Now)
	ws := WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
	u, err := s.CreateUser(ctx, ws, Actor{}, NewUser{Name: "Ann", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkCliq(ctx, ws, Actor{}, u.ID, "600"); err != nil {
		t.Fatal(err)
	}
	key := keysFor(ws).userCliq()
	slot, err := cc.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	src, err := cc.MasterForKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var dst *redis.Client
	for _, addr := range redistest.ClusterAddrs(t) { // every node is a master
		if addr != src.Options().Addr {
			dst = redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { dst.Close() })
			break
		}
	}
	if dst == nil {
		t.Fatal("no second master")
	}
	srcID, err := src.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	dstID, err := dst.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The slot moves no further than this: its keys stay with src.
	t.Cleanup(func() {
		for _, c := range []*redis.Client{src, dst} {
			if err := c.Do(ctx, "CLUSTER", "SETSLOT", slot, "STABLE").Err(); err != nil {
				t.Errorf("restore slot %d: %v", slot, err)
			}
		}
	})
	if err := dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err(); err != nil {
		t.Fatal(err)
	}
	if err := src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByCliqID(ctx, ws, "600")
	if err != nil || got.ID != u.ID {
		t.Errorf("UserByCliqID while the slot moves = %+v, %v; want %s", got, err, u.ID)
	}
	if _, err := s.UserByCliqID(ctx, ws, "601"); err != ErrNotFound {
		t.Errorf("UserByCliqID of an unlinked id while the slot moves = %v, want ErrNotFound", err)
	}
}
