package tasks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
)

// TestNotificationRetention checks that the log drops notifications older
// than NotificationRetention. The index is trimmed by id, and ids never go
// back in time within a process, so the clock starts past every id made so
// far and the id sequence is put back afterwards.
func TestNotificationRetention(t *testing.T) {
	monotonic.Lock()
	saved := monotonic.ms
	monotonic.Unlock()
	t.Cleanup(func() {
		monotonic.Lock()
		monotonic.ms = saved
		monotonic.Unlock()
	})
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			monotonic.Lock()
			start := time.UnixMilli(int64(monotonic.ms)).Add(time.Hour)
			monotonic.Unlock()
			now := time.Now()
			if start.After(now) {
				now = start
			}
			s := NewStore(redistest.ClientFor(t, b), func() time.Time { return now })
			ws := WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
			ctx := context.Background()
			in := NewNotification{Destination: Destination{Kind: DestinationChannel, Name: "devtasks"}}
			old, _, _, err := s.QueueNotification(ctx, ws, in, "fl")
			if err != nil {
				t.Fatal(err)
			}
			if ttl := s.rdb.TTL(ctx, keysFor(ws).ntf(old.ID)).Val(); ttl < NotificationRetention-time.Minute {
				t.Errorf("record TTL = %v, want %v", ttl, NotificationRetention)
			}
			now = now.Add(NotificationRetention + time.Hour)
			fresh, _, _, err := s.QueueNotification(ctx, ws, in, "fl")
			if err != nil {
				t.Fatal(err)
			}
			list, _, err := s.ListNotifications(ctx, ws, "", 10)
			if err != nil || len(list) != 1 || list[0].ID != fresh.ID {
				t.Fatalf("list after the retention = %+v, %v; want only %s, not %s", list, err, fresh.ID, old.ID)
			}
		})
	}
}
