package cliq

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Pacer spaces calls evenly at n per per: one call every per/n, never a
// burst, so no window of length per holds more than n calls however the
// server draws its windows. Pause holds every call back for a while, after
// the server has locked the caller out. Time comes from now, and waiting
// from sleep, so tests drive it with a fake clock and never sleep.
type Pacer struct {
	gap   time.Duration
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time // no call before then

	// Booked, when set, is told the time before which no further call may
	// be made, each time that changes (under the pacer's lock): a caller
	// stores it so that the next process resumes the pace (Resume).
	Booked func(next time.Time)
}

// Resume makes no call start before t: the pace a previous process left.
func (p *Pacer) Resume(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.next) {
		p.next = t
	}
}

// NewPacer returns a pacer of n calls per per. sleep nil waits on real
// timers.
func NewPacer(n int, per time.Duration, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) (*Pacer, error) {
	if n <= 0 || per <= 0 {
		return nil, fmt.Errorf("cliq: pace of %d per %s is not a positive rate", n, per)
	}
	if sleep == nil {
		sleep = sleepContext
	}
	return &Pacer{gap: per / time.Duration(n), now: now, sleep: sleep}, nil
}

// Wait returns when the next call may be made, and books its slot.
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.now()
		if !now.Before(p.next) {
			p.next = now.Add(p.gap)
			if p.Booked != nil {
				p.Booked(p.next)
			}
			p.mu.Unlock()
			return nil
		}
		d := p.next.Sub(now)
		p.mu.Unlock()
		if err := p.sleep(ctx, d); err != nil {
			return fmt.Errorf("cliq: wait for the provisioning pace: %w", err)
		}
	}
}

// Pause holds every later call back until d from now (and one gap more).
func (p *Pacer) Pause(ctx context.Context, d time.Duration) error {
	p.mu.Lock()
	if until := p.now().Add(d); until.After(p.next) {
		p.next = until
		if p.Booked != nil {
			p.Booked(p.next)
		}
	}
	p.mu.Unlock()
	return ctx.Err()
}
