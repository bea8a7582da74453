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
