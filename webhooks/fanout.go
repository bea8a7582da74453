package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/taskerhq/tasker/tasks"
)

// The fan-out turns a workspace's events into messages in the order they
// were written, which strict per-task ordering (SPEC.md 8.3) rests on: a
// message exists only once every earlier event has its messages, so the
// head of a task's queue is always its earliest undelivered event.
//
// It reads the event stream through its own consumer group
// (fanoutGroup) under a per-workspace lock, one pass at a
// time: first every entry read but not acknowledged (a pass that failed,
// or a replica that died mid-pass), oldest first, then new entries. Only
// the lock holder can create messages (the create script checks its
// token), so a holder that stalled past its lock cannot slip a late event
// in behind newer ones. Creation is idempotent per (subscription, event),
// so entries processed twice cost nothing but time. A fan-out that finds
// the lock held asks the holder for one more pass, so no event waits for
// the next one; event jobs, the sweep and the holder's repeat passes
// between them leave nothing unread.

// Notify tells the service that ws has new events (pipeline.Follower):
// its fan-out loop, which Run runs, takes them in without waiting for an
// event job. It never blocks.
func (t *Target) Notify(ws tasks.WorkspaceID) {
	s := t.s
	s.markDue(ws)
	s.noticeMu.Lock()
	s.notices[ws] = true
	s.noticeMu.Unlock()
	select {
	case s.noticed <- struct{}{}:
	default:
	}
}

// fanoutLoop runs the fan-out of every workspace Notify names until ctx
// ends.
func (s *Service) fanoutLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.noticed:
		}
		s.noticeMu.Lock()
		wss := make([]tasks.WorkspaceID, 0, len(s.notices))
		for ws := range s.notices {
			wss = append(wss, ws)
		}
		clear(s.notices)
		s.noticeMu.Unlock()
		for _, ws := range wss {
			if err := s.Fanout(ctx, ws); err != nil && ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "webhook fan-out failed", "workspace", ws, "err", err)
			}
		}
	}
}

// fanoutConsumer is the one consumer name every replica reads as: the
// lock, not the name, keeps passes apart.
const fanoutConsumer = "fanout"

// fanoutBatch is how many events one step of a pass reads.
const fanoutBatch = 100

// fanoutLock is how long a pass may hold the lock without renewing it; a
// replica that dies holding it delays the workspace's fan-out this long.
const fanoutLock = 10 * time.Second

// Fanout creates the messages of every event of ws not fanned out yet, in
// order, and queues their first attempts. It returns at once when another
// replica holds the workspace's fan-out, which then makes one more pass.
func (s *Service) Fanout(ctx context.Context, ws tasks.WorkspaceID) error {
	token := rand.Text()
	ok, err := s.store.lockFanout(ctx, ws, token, fanoutLock)
	if err != nil || !ok {
		return err
	}
	for {
		err := s.fanoutPass(ctx, ws, token)
		if errors.Is(err, errFenced) {
			return nil // the lock passed on; its new holder carries on
		}
		again, uerr := s.store.unlockFanout(context.WithoutCancel(ctx), ws, token, fanoutLock)
		if err != nil || uerr != nil {
			return errors.Join(err, uerr)
		}
		if !again {
			return nil
		}
	}
}

// fanoutPass fans out, under token's lock, the unacknowledged entries and
// then the new ones, acknowledging each batch once its messages exist and
// their first attempts are queued.
func (s *Service) fanoutPass(ctx context.Context, ws tasks.WorkspaceID, token string) error {
	if _, ok := s.groups.Load(ws); !ok {
		if err := s.tasks.EnsureGroup(ctx, ws, fanoutGroup); err != nil {
			return err
		}
		s.groups.Store(ws, true)
	}
	remade := false
	for {
		entries, err := s.tasks.ClaimStale(ctx, ws, fanoutGroup, fanoutConsumer, 0, fanoutBatch)
		fresh := err == nil && len(entries) == 0
		if fresh {
			entries, err = s.tasks.ReadGroup(ctx, ws, fanoutGroup, fanoutConsumer, fanoutBatch)
		}
		if errors.Is(err, tasks.ErrNoGroup) && !remade {
			// The stream and its group are gone (deleted, or Redis lost its
			// data): make the group again, once, and read on.
			if err := s.tasks.EnsureGroup(ctx, ws, fanoutGroup); err != nil {
				return err
			}
			remade = true
			continue
		}
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		// The subscriptions are read after the events, so one created
		// before an event was written is seen by it.
		subs, err := s.fanoutSubs(ctx, ws)
		if err != nil {
			return err
		}
		ins, err := messagesOf(subs, entries)
		if err != nil {
			return err
		}
		if len(ins) > 0 {
			if err := s.queueMessages(ctx, ws, ins, token); err != nil {
				return err
			}
		}
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.ID
		}
		if err := s.tasks.Ack(ctx, ws, fanoutGroup, ids...); err != nil {
			return err
		}
		if fresh && len(entries) < fanoutBatch {
			return nil
		}
		// Still ours? Renew before the next batch.
		if ok, err := s.store.lockFanout(ctx, ws, token, fanoutLock); err != nil || !ok {
			if err == nil {
				err = errFenced
			}
			return err
		}
	}
}

// cachedSubs is a workspace's subscriptions as the fan-out read them, and
// the version (whSubsVersion) they were read at.
type cachedSubs struct {
	version int64
	subs    []subRecord
	read    time.Time
}

// subsFresh bounds how long the fan-out trusts its list even while the
// version holds, so a change that did not bump it (a replica of an older
// version, during an upgrade) is seen within this long.
const subsFresh = 30 * time.Second

// fanoutSubs returns ws's subscriptions for the fan-out: from memory while
// the version in Redis is the one they were read at, so a pass costs one
// key instead of two per subscription. The version is read before the
// list: a change made in between bumps it past the one kept, and the next
// pass reads again.
func (s *Service) fanoutSubs(ctx context.Context, ws tasks.WorkspaceID) ([]subRecord, error) {
	v, err := s.store.subsVersion(ctx, ws)
	if err != nil {
		return nil, err
	}
	if c, ok := s.subCache.Load(ws); ok && c.(*cachedSubs).version == v && time.Since(c.(*cachedSubs).read) < subsFresh {
		return c.(*cachedSubs).subs, nil
	}
	read := time.Now()
	subs, err := s.store.listSubs(ctx, ws)
	if err != nil {
		return nil, err
	}
	s.subCache.Store(ws, &cachedSubs{version: v, subs: subs, read: read})
	return subs, nil
}

// messagesOf returns the messages of entries for subs, in entry order:
// one per subscription that wants the event's type, existed when it was
// written and was enabled then. Whether it was enabled is read from the
// stream position of its disable (DisabledAt), not from its state now:
// the fan-out may run behind the stream, and an event written before the
// endpoint was disabled keeps its message, which waits for the endpoint
// to be enabled again. Internal events (the daily digest) are for chat.
func messagesOf(subs []subRecord, entries []tasks.StreamEvent) ([]newMessage, error) {
	var ins []newMessage
	for _, e := range entries {
		ev := e.Event
		if ev.Test || ev.Type.Internal() {
			continue
		}
		var body []byte
		for _, sub := range subs {
			if !wants(sub, ev.Type) || ev.Timestamp.Before(sub.CreatedAt) {
				continue
			}
			if !sub.Enabled && !streamIDAtMost(e.ID, sub.DisabledAt) {
				continue // written while it was disabled
			}
			if body == nil {
				var err error
				if body, err = json.Marshal(ev); err != nil {
					return nil, fmt.Errorf("webhooks: encode event %s: %w: %w", ev.ID, err, asynq.SkipRetry)
				}
			}
			in := newMessage{
				SubscriptionID: sub.ID, EventID: ev.ID, EventType: ev.Type, Body: string(body), DeliveryID: NewDeliveryID(),
			}
			if sub.Ordering == OrderingTask && ev.Data.Task != nil {
				in.OrderKey, in.OrderScore = ev.Data.Task.ID, ev.Data.Task.Version
			}
			ins = append(ins, in)
		}
	}
	return ins, nil
}

// streamIDAtMost reports whether stream entry id a comes no later than
// b; false when either is not a stream id.
func streamIDAtMost(a, b string) bool {
	ams, aseq, aok := tasks.ParseStreamID(a)
	bms, bseq, bok := tasks.ParseStreamID(b)
	return aok && bok && (ams < bms || ams == bms && aseq <= bseq)
}
