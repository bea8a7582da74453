package webhooks

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// The delivery engine. Messages whose attempt is due wait in their
// workspace's due set (a time-ordered set: first attempts now, retries at
// their time). Each process runs Lanes lanes; a lane leases up to Batch due
// messages of a workspace in one script call, sends them concurrently over
// the client's keep-alive connections, and records every outcome in one
// pipelined round trip, in which retries go back into the due set and the
// next message of an ordered task becomes due. So a message costs a share
// of three round trips, where one asynq job per attempt cost about eight.
//
// What the per-attempt jobs gave is kept: the lease (on Redis' clock)
// keeps two attempts of a message from overlapping, a dead lane's leases
// are reaped by the sweep and their messages made due again, and a
// message's state only moves inside scripts.

// wake tells idle lanes that something may be due now.
func (s *Service) wake() {
	for range s.cfg.Lanes {
		select {
		case s.wakeup <- struct{}{}:
		default:
			return
		}
	}
}

// markDue records that ws may have messages due now, so the lanes
// lease from it at once.
func (s *Service) markDue(ws tasks.WorkspaceID) {
	p := s.pollAt(ws)
	p.mu.Lock()
	p.at, p.gen = 0, p.gen+1
	p.mu.Unlock()
}

// pollState says when the lanes next lease from a workspace.
type pollState struct {
	mu  sync.Mutex
	at  int64  // Unix ns; 0 now, never while nothing is due
	gen uint64 // bumped by every markDue, so a lane that found nothing cannot undo a mark made meanwhile
}

// when returns the poll time and generation.
func (p *pollState) when() (time.Time, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Unix(0, p.at), p.gen
}

// idle sets the poll time to until, unless the workspace was marked
// since generation gen.
func (p *pollState) idle(gen uint64, until int64) {
	p.mu.Lock()
	if p.gen == gen {
		p.at = until
	}
	p.mu.Unlock()
}

// pollAt returns the time (Unix ns) before which the lanes leave ws alone:
// 0 to look now, never while nothing of it is due. An idle workspace with
// subscriptions costs no polling; what makes it busy here marks it
// (fan-out, schedule), a retry sets its due time, and the sweep marks
// every workspace of the active set each ReapInterval, which also picks
// up what another replica made due and then could not send.
func (s *Service) pollAt(ws tasks.WorkspaceID) *pollState {
	if v, ok := s.active.Load(ws); ok {
		return v.(*pollState)
	}
	v, _ := s.active.LoadOrStore(ws, new(pollState))
	return v.(*pollState)
}

// never is the pollAt of a workspace with nothing due.
const never = math.MaxInt64

// activeWorkspaces returns the workspaces the lanes know of.
func (s *Service) activeWorkspaces() []tasks.WorkspaceID {
	var out []tasks.WorkspaceID
	s.active.Range(func(k, _ any) bool {
		out = append(out, k.(tasks.WorkspaceID))
		return true
	})
	return out
}

// lanes runs the delivery lanes until ctx ends.
func (s *Service) lanes(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.cfg.Lanes {
		wg.Go(func() { s.lane(ctx) })
	}
	wg.Wait()
}

// idlePoll is the longest an idle lane sleeps before it looks at its
// workspaces' poll times again.
const idlePoll = time.Second

// lane leases, sends and settles batches until ctx ends.
func (s *Service) lane(ctx context.Context) {
	for ctx.Err() == nil {
		busy := false
		wait := idlePoll
		for _, ws := range s.activeWorkspaces() {
			p := s.pollAt(ws)
			at, gen := p.when()
			if d := time.Until(at); d > 0 {
				wait = min(wait, d)
				continue
			}
			n, next, err := s.deliverBatch(ctx, ws)
			if err != nil && ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "webhook delivery batch failed", "workspace", ws, "err", err)
			}
			if n > 0 || err != nil {
				busy = true
				continue
			}
			// Nothing due: look again when the next message is, or when
			// something marks the workspace.
			until := int64(never)
			if !next.IsZero() {
				until = next.UnixNano()
				wait = min(wait, max(time.Until(next), time.Millisecond))
			}
			p.idle(gen, until)
		}
		if busy {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.wakeup:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliverBatch leases, sends and settles one batch of ws's due messages,
// and returns how many it handled and when the next one falls due.
func (s *Service) deliverBatch(ctx context.Context, ws tasks.WorkspaceID) (int, time.Time, error) {
	token := rand.Text()
	batch, next, err := s.store.leaseBatch(ctx, ws, token, s.cfg.Batch, s.lease())
	if err != nil || len(batch) == 0 {
		return 0, next, err
	}
	// The batch is leased: its sends and outcomes run to the end even when
	// ctx ends meanwhile, within the attempt timeout.
	ctx = context.WithoutCancel(ctx)
	settles := make([]settle, len(batch))
	sent := make([]*Attempt, len(batch))
	var wg sync.WaitGroup
	for i, l := range batch {
		wg.Go(func() {
			settles[i], sent[i] = s.attemptOf(ctx, ws, l)
		})
	}
	wg.Wait()
	answers, err := s.store.finishMany(ctx, ws, token, settles)
	for i, f := range answers {
		m := settles[i].m
		if f.Lost || settles[i].r.Status == StatusPending {
			continue
		}
		if a := sent[i]; a != nil || batch[i].Subscription == nil {
			s.metrics.messages.WithLabelValues(string(settles[i].r.Status)).Inc()
		}
		if f.Disabled {
			s.disabled(ctx, ws, m.SubscriptionID)
		}
	}
	// Retries or the next messages of ordered tasks may be due at once.
	s.markDue(ws)
	s.wake()
	return len(batch), next, err
}

// attemptOf makes the attempt of one leased message and returns the
// outcome to record, and the attempt (nil when none was made).
func (s *Service) attemptOf(ctx context.Context, ws tasks.WorkspaceID, l leased) (settle, *Attempt) {
	m := l.Message
	if l.Subscription == nil {
		// Deleted meanwhile: nothing is sent. The message fails without
		// counting against anyone, and its task's queue moves on.
		return settle{m: m, r: attemptResult{Status: StatusFailed}}, nil
	}
	sub := *l.Subscription
	a := Send(ctx, s.client, Request{
		URL: sub.URL, MessageID: m.EventID, EventType: string(m.EventType), Body: []byte(m.Body),
		Secrets: s.secrets(sub), DeliveryID: m.NextDeliveryID, Now: s.cfg.Now,
	})
	s.metrics.attempts.WithLabelValues(a.Outcome.String()).Inc()
	s.metrics.latency.Observe(float64(a.DurationMS) / 1000)
	if a.Outcome != Success {
		code, reason := 0, a.Error
		if a.StatusCode != nil {
			code = *a.StatusCode
			if reason == "" {
				reason = fmt.Sprintf("the endpoint answered %d", code)
			}
		}
		s.logger.WarnContext(ctx, "webhook attempt failed", "workspace", ws, "webhook_id", sub.ID, "message_id", m.ID,
			"status", code, "outcome", a.Outcome.String(), "err", reason)
	}
	return settle{m: m, r: s.resultOf(m, a)}, &a
}

// resultOf applies the retry rules to attempt a of m.
func (s *Service) resultOf(m message, a Attempt) attemptResult {
	r := attemptResult{Attempt: logged(a), Count: !m.Test, Status: StatusFailed}
	if !m.Test {
		r.DisableAfter = s.cfg.DisableAfter
		r.DisableAfterReason = fmt.Sprintf("%d consecutive messages failed", s.cfg.DisableAfter)
	}
	switch a.Outcome {
	case Success:
		r.Status = StatusDelivered
	case Retry:
		if d, ok := NextDelay(s.cfg.Schedule, m.Round+1, a.RetryAfter, s.cfg.Random); ok {
			r.Status, r.NextAt, r.NextDeliveryID = StatusPending, s.cfg.Now().Add(d), NewDeliveryID()
		}
	case Disable:
		if !m.Test {
			r.Disable = "the endpoint answered 410 Gone"
		}
	}
	return r
}
