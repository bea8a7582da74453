package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hibiken/asynq"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// Queue is the asynq queue of the notifier's flush jobs; the workers must
// serve it.
const Queue = "cliq"

// flushJob is the asynq task type of a flush: post what waits for one
// destination.
const flushJob = "cliq:flush"

// Job limits. API attempts are bounded by Config.MaxAttempts through the
// log; maxJobRetry only stops a flush that keeps waiting for the limiter
// with a batch in hand.
const (
	maxJobRetry = 200
	jobTimeout  = 2 * time.Minute
	// maxRetryAfter caps how long a Retry-After may hold a post back.
	maxRetryAfter = time.Hour
	// lockout is how long Cliq locks a caller out after a rate limit
	// answered without Retry-After (REFERENCE 4.5).
	lockout = 10 * time.Minute
)

// backoff is the delay before the retry after the nth failed attempt
// (1-based), jittered by ±20% so retries of a burst spread out.
var backoff = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute}

func backoffDelay(attempt int) time.Duration {
	d := backoff[min(max(attempt, 1), len(backoff))-1]
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// flushPayload is a flush job: which flush, for which destination.
type flushPayload struct {
	Workspace   tasks.WorkspaceID `json:"workspace"`
	Destination Destination       `json:"destination"`
	ID          string            `json:"id"`
}

// Register adds the handler of the notifier's flush jobs to mux. The
// workers must serve Queue, and their asynq.Config.RetryDelayFunc should be
// RetryDelay(…) so retries honour Retry-After.
func (n *Notifier) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(flushJob, n.handleFlush)
}

// schedule queues flush id for dest after delay. The job id is the flush
// id, so scheduling the same flush twice queues it once.
func (n *Notifier) schedule(ctx context.Context, ws tasks.WorkspaceID, dest Destination, id string, delay time.Duration) error {
	payload, err := json.Marshal(flushPayload{Workspace: ws, Destination: dest, ID: id})
	if err != nil {
		return fmt.Errorf("notify: encode flush: %w", err)
	}
	opts := []asynq.Option{asynq.Queue(Queue), asynq.TaskID(id), asynq.MaxRetry(maxJobRetry), asynq.Timeout(jobTimeout)}
	if delay > 0 {
		opts = append(opts, asynq.ProcessIn(delay))
	}
	_, err = n.queue.EnqueueContext(ctx, asynq.NewTask(flushJob, payload), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("notify: schedule flush for %s: %w", dest, err)
	}
	return nil
}

// handleFlush runs one flush: take a rate slot, take the destination's
// waiting notifications, post them. Without a slot it hands the queue on to
// a later flush, or, when it already holds a batch from a failed attempt,
// retries itself when the slot frees.
func (n *Notifier) handleFlush(ctx context.Context, job *asynq.Task) error {
	var p flushPayload
	if err := json.Unmarshal(job.Payload(), &p); err != nil {
		return fmt.Errorf("notify: decode flush: %w: %w", err, asynq.SkipRetry)
	}
	if n.client == nil {
		return errors.New("notify: this replica has no Cliq credentials; another may post")
	}
	wait, err := n.limiter.Take(ctx, string(p.Workspace)+"/"+p.Destination.String(), n.cfg.Spacing)
	if err != nil {
		return err
	}
	if wait > 0 {
		step, err := n.outbox.DeferNotifications(ctx, p.Workspace, p.Destination, p.ID, newFlushID())
		if err != nil {
			return err
		}
		switch step.State {
		case FlushDeferred:
			return n.schedule(ctx, p.Workspace, p.Destination, step.Next, wait)
		case FlushBatch:
			if lastRun(ctx) {
				return n.giveUp(ctx, p, step.IDs, "gave up waiting for the Cliq rate limit")
			}
			return &retryError{after: wait, err: errors.New("notify: waiting for the Cliq rate limit")}
		}
		return n.scheduleNext(ctx, p, step.Next)
	}
	step, err := n.outbox.ClaimNotifications(ctx, p.Workspace, p.Destination, p.ID, newFlushID())
	if err != nil {
		return err
	}
	// What is left over (or was queued by a flush we replaced) needs its flush.
	if err := n.scheduleNext(ctx, p, step.Next); err != nil {
		return err
	}
	if step.State != FlushBatch || len(step.IDs) == 0 {
		return nil
	}
	return n.post(ctx, p, step.IDs)
}

func (n *Notifier) scheduleNext(ctx context.Context, p flushPayload, next string) error {
	if next == "" {
		return nil
	}
	return n.schedule(ctx, p.Workspace, p.Destination, next, 0)
}

// post sends a batch: one notification as its own message, several as one
// digest, and records the outcome on every one of them.
func (n *Notifier) post(ctx context.Context, p flushPayload, ids []string) error {
	recs, err := n.outbox.Notifications(ctx, p.Workspace, ids)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return n.giveUp(ctx, p, ids, "the notifications expired before they could be posted")
	}
	msg, err := batchMessage(recs)
	if err != nil {
		return n.giveUp(ctx, p, ids, err.Error())
	}
	postCtx, cancel := context.WithTimeout(ctx, n.cfg.PostTimeout)
	err = n.send(postCtx, p.Destination, msg)
	cancel()
	return n.settle(ctx, p, ids, len(recs), err)
}

// batchMessage is what a batch is posted as.
func batchMessage(recs []Notification) (cliq.Message, error) {
	if len(recs) == 1 {
		var m cliq.Message
		if err := json.Unmarshal(recs[0].Message, &m); err != nil {
			return cliq.Message{}, fmt.Errorf("notify: decode message of %s: %w", recs[0].ID, err)
		}
		return m, nil
	}
	items := make([]cards.DigestItem, len(recs))
	for i, r := range recs {
		items[i] = cards.DigestItem{Type: r.Summary.Type, Number: r.Summary.TaskNumber, Title: r.Summary.Title, Open: r.Summary.TaskOpen}
	}
	return cards.Digest(items), nil
}

// send makes the one Cliq call for dest.
func (n *Notifier) send(ctx context.Context, dest Destination, msg cliq.Message) error {
	switch dest.Kind {
	case DestinationChannel:
		return n.client.PostToChannel(ctx, dest.Name, n.cfg.Bot, msg)
	case DestinationUser:
		_, err := n.client.PostToBotUsers(ctx, n.cfg.Bot, []string{dest.Name}, msg)
		return err
	case DestinationChat:
		return n.client.PostToChat(ctx, dest.Name, msg)
	}
	return fmt.Errorf("notify: unknown destination kind %q", dest.Kind)
}

// settle records the outcome of a call and tells asynq what to do next:
// nothing after success, no retry after a permanent error, else retry after
// Retry-After or the backoff, until MaxAttempts calls were made.
func (n *Notifier) settle(ctx context.Context, p flushPayload, ids []string, count int, err error) error {
	// A worker that is stopping still records the attempt it made.
	rctx := context.WithoutCancel(ctx)
	log := n.logger.With("workspace", p.Workspace, "destination_kind", p.Destination.Kind,
		"destination", p.Destination.Name, "notifications", count)
	if err == nil {
		n.apiCalls.WithLabelValues(outcomeSent).Inc()
		if _, rerr := n.outbox.RecordAttempt(rctx, p.Workspace, p.ID, ids, NotificationSent, "", true); rerr != nil {
			// The post is made; retrying it would post it twice.
			log.ErrorContext(ctx, "cliq post sent but not recorded", "err", rerr)
			return fmt.Errorf("notify: record sent: %w: %w", rerr, asynq.SkipRetry)
		}
		n.notifications.WithLabelValues(string(NotificationSent)).Add(float64(count))
		log.DebugContext(ctx, "cliq post sent")
		return nil
	}
	apiErr, _ := errors.AsType[*cliq.APIError](err)
	// 429, or older Cliq's 400 "You have exceeded the URL throttle limits."
	limited := apiErr != nil && (apiErr.Status == http.StatusTooManyRequests || (apiErr.Status == http.StatusBadRequest && apiErr.Temporary()))
	switch {
	case limited:
		n.apiCalls.WithLabelValues(outcomeRateLimited).Inc()
	case ctx.Err() != nil || cliq.IsTransient(err):
		n.apiCalls.WithLabelValues(outcomeTransient).Inc()
	default:
		n.apiCalls.WithLabelValues(outcomePermanent).Inc()
		if _, rerr := n.outbox.RecordAttempt(rctx, p.Workspace, p.ID, ids, NotificationFailed, err.Error(), true); rerr != nil {
			return rerr
		}
		n.notifications.WithLabelValues(string(NotificationFailed)).Add(float64(count))
		log.WarnContext(ctx, "cliq post failed", "err", err)
		return fmt.Errorf("notify: post to %s: %w: %w", p.Destination, err, asynq.SkipRetry)
	}
	attempts, rerr := n.outbox.RecordAttempt(rctx, p.Workspace, p.ID, ids, NotificationPending, err.Error(), true)
	if rerr != nil {
		return rerr
	}
	delay := backoffDelay(attempts)
	if limited {
		// Cliq locks the caller out: every replica holds off, not just this flush.
		delay = lockout
		if apiErr.RetryAfter > 0 {
			delay = min(apiErr.RetryAfter, maxRetryAfter)
		}
		if perr := n.limiter.Pause(rctx, delay); perr != nil {
			log.WarnContext(ctx, "cliq rate limit pause not shared", "err", perr)
		}
	}
	if attempts >= n.cfg.MaxAttempts || lastRun(ctx) {
		return n.giveUp(ctx, p, ids, err.Error())
	}
	log.InfoContext(ctx, "cliq post will be retried", "attempts", attempts, "retry_in", delay, "err", err)
	return &retryError{after: delay, err: fmt.Errorf("notify: post to %s: %w", p.Destination, err)}
}

// giveUp fails a batch for good.
func (n *Notifier) giveUp(ctx context.Context, p flushPayload, ids []string, reason string) error {
	rctx := context.WithoutCancel(ctx)
	if _, err := n.outbox.RecordAttempt(rctx, p.Workspace, p.ID, ids, NotificationFailed, reason, false); err != nil {
		return err
	}
	n.notifications.WithLabelValues(string(NotificationFailed)).Add(float64(len(ids)))
	n.logger.WarnContext(ctx, "cliq post failed", "workspace", p.Workspace, "destination_kind", p.Destination.Kind,
		"destination", p.Destination.Name, "notifications", len(ids), "err", reason)
	return fmt.Errorf("notify: post to %s: %s: %w", p.Destination, reason, asynq.SkipRetry)
}

// lastRun reports whether asynq will not retry the running job again.
func lastRun(ctx context.Context) bool {
	retried, ok1 := asynq.GetRetryCount(ctx)
	most, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && retried >= most
}

// retryError asks for a retry after a given delay; RetryDelay reads it.
type retryError struct {
	after time.Duration
	err   error
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// RetryDelay returns the workers' asynq RetryDelayFunc: flush jobs retry
// after the delay they asked for (Retry-After, the limiter's wait, or the
// backoff); other jobs get next's delay (nil: asynq's default).
func RetryDelay(next asynq.RetryDelayFunc) asynq.RetryDelayFunc {
	if next == nil {
		next = asynq.DefaultRetryDelayFunc
	}
	return func(retried int, err error, t *asynq.Task) time.Duration {
		if t.Type() != flushJob {
			return next(retried, err, t)
		}
		if re, ok := errors.AsType[*retryError](err); ok {
			return re.after
		}
		return backoffDelay(retried + 1)
	}
}
