package tasks

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
)

// onEveryTopology runs fn on each of redistest.Topologies(), with a store
// on that topology whose clock is now and a workspace of its own.
func onEveryTopology(t *testing.T, now func() time.Time, fn func(t *testing.T, s *Store, ws WorkspaceID)) {
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			fn(t, NewStore(redistest.ClientFor(t, b), now), WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64())))
		})
	}
}
