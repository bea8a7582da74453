package tasks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// BulkLoad stores tasks the way CreateTask does (record, id, every index
// entry of memberships) but pipelined, unchecked and without events, so
// benchmarks can seed a million tasks. Numbers are handed out here; ids and
// times must be set by the caller.
func (s *Store) BulkLoad(ctx context.Context, ws WorkspaceID, ts []Task) error {
	if err := s.register(ctx, ws); err != nil {
		return err
	}
	k := keysFor(ws)
	last, err := s.rdb.IncrBy(ctx, k.seq(), int64(len(ts))).Result()
	if err != nil {
		return err
	}
	first := last - int64(len(ts)) + 1
	const chunk = 5000
	lead := s.ReminderLead()
	for start := 0; start < len(ts); start += chunk {
		part := ts[start:min(start+chunk, len(ts))]
		sets := make(map[string][]redis.Z)
		dirs := make(map[string]map[int64]bool)
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range part {
				t := &part[i]
				t.Workspace, t.Number = ws, first+int64(start+i)
				p.Set(ctx, k.task(t.Number), encodeTask(t), 0)
				p.HSet(ctx, k.taskIDs(), t.ID, t.Number)
				for _, m := range memberships(k, t, lead) {
					sets[m.key] = append(sets[m.key], redis.Z{Score: float64(m.score), Member: strconv.FormatInt(t.Number, 10)})
					if m.ix.name != "" {
						if dirs[m.ix.dir()] == nil {
							dirs[m.ix.dir()] = make(map[int64]bool)
						}
						dirs[m.ix.dir()][m.score/m.ix.width] = true
					}
				}
			}
			for key, zs := range sets {
				p.ZAdd(ctx, key, zs...)
			}
			for dir, buckets := range dirs {
				for b := range buckets {
					p.SetBit(ctx, dir, b, 1)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("tasks: bulk load: %w", err)
		}
	}
	return nil
}

// NewTaskID returns a task id made at now, for bulk-loaded tasks.
func NewTaskID(now time.Time) string { return newID("tsk_", now) }
