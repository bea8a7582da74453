package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

// lastIDTime is the time of the newest id made in this process: ids never
// go back in time within it, so a test that means to make an id at t must
// start past this.
func lastIDTime(t *testing.T) time.Time {
	t.Helper()
	id := tasks.NewID("", time.UnixMilli(0)) // no later than any id made: takes the newest one's time
	var ms int64
	for _, c := range id[:10] {
		d := strings.IndexRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c)
		if d < 0 {
			t.Fatalf("id %q is not a ULID", id)
		}
		ms = ms<<5 | int64(d)
	}
	return time.UnixMilli(ms)
}

// TestNotificationRetention checks that the log drops notifications older
// than NotificationRetention. The index is trimmed by id, so the clock
// starts past every id made so far.
func TestNotificationRetention(t *testing.T) {
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			now := time.Now()
			if start := lastIDTime(t).Add(time.Hour); start.After(now) {
				now = start
			}
			s := NewOutbox(redistest.ClientFor(t, b), func() time.Time { return now })
			ws := tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
			ctx := context.Background()
			in := NewNotification{Destination: Destination{Kind: DestinationChannel, Name: "devtasks"}}
			old, _, _, err := s.QueueNotification(ctx, ws, in, "fl")
			if err != nil {
				t.Fatal(err)
			}
			if ttl := s.rdb.TTL(ctx, keysOf(ws).ntf(old.ID)).Val(); ttl < NotificationRetention-time.Minute {
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

// TestIDFloor: the floor of a millisecond sorts before every id made in it
// and after every id made before it.
func TestIDFloor(t *testing.T) {
	at := lastIDTime(t).Add(time.Hour)
	floor := idFloor(at.UnixMilli())
	before, in := tasks.NewID("", at.Add(-time.Millisecond)), tasks.NewID("", at)
	if !(before < floor && floor <= in) {
		t.Errorf("idFloor(%d) = %s; want it between %s and %s", at.UnixMilli(), floor, before, in)
	}
}
