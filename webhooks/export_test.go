package webhooks

import (
	"context"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// What the package's external tests reach inside for.

// FanoutGroup is the fan-out's consumer group, for tests that play a
// replica dying mid-pass.
const FanoutGroup = fanoutGroup

// LockFanout takes ws's fan-out lock as a replica would.
func (s *Service) LockFanout(ctx context.Context, ws tasks.WorkspaceID, token string, ttl time.Duration) (bool, error) {
	return s.store.lockFanout(ctx, ws, token, ttl)
}

// DeliverDue is one step of a lane: it leases, sends and settles one batch
// of ws's due messages and returns how many there were. A test that drives
// the lanes itself knows that a message not sent was not due, without
// waiting to see whether Run's lanes send it.
func (s *Service) DeliverDue(ctx context.Context, ws tasks.WorkspaceID) (int, error) {
	n, _, err := s.deliverBatch(ctx, ws)
	return n, err
}
