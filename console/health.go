package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// The health page counts what the stores hold; no time series is kept.
// It reads, per subscription, the messages created in the last
// healthMessageAge (newest first, at most healthScan of them), and takes
// their attempts of the last hour: an attempt of an older message (a late
// retry) is not counted. Posts are the outbox records created in the last
// hour, at most healthScan.
const (
	healthWindow     = time.Hour
	healthMessageAge = 2 * time.Hour
	healthScan       = 1000
)

// failure is a failed delivery attempt, for the recent failures list.
type failure struct {
	Webhook   webhooks.Subscription
	MessageID string
	EventType tasks.EventType
	Attempt   webhooks.AttemptLog
}

// minute is one bar of the chart.
type minute struct {
	Start               time.Time
	Delivered, Failed   int
	Sent, FailedPosts   int
	PendingPostsCreated int
}

// handleHealth serves GET /console/health.
func (c *Console) handleHealth(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	ctx := r.Context()
	now := c.cfg.Now().UTC()
	data := struct {
		Queues         []Queue
		QueueError     string
		WebhookPending int64
		Delivered      int
		Failed         int
		DeliveryRate   float64
		SuccessRate    *float64
		Posts          map[string]int
		PostRate       float64
		Chart          template.HTML
		Failures       []failure
		FailedPosts    []notify.Notification
		Truncated      bool
	}{Posts: map[string]int{}}
	if c.cfg.Queues != nil {
		qs, err := c.cfg.Queues(ctx)
		if err != nil {
			data.QueueError = "The queues cannot be read now."
			c.cfg.Logger.WarnContext(ctx, "console queue depths", "err", err)
		}
		data.Queues = qs
	}
	pending, err := c.cfg.Webhooks.Pending(ctx, se.ws)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	data.WebhookPending = pending

	var bars [60]minute
	start := now.Truncate(time.Minute).Add(-59 * time.Minute)
	for i := range bars {
		bars[i].Start = start.Add(time.Duration(i) * time.Minute)
	}
	bucket := func(t time.Time) int {
		if t.Before(start) || t.After(now) {
			return -1
		}
		return int(t.Sub(start) / time.Minute)
	}
	failures, truncated, err := c.countDeliveries(ctx, se.ws, now, bucket, &bars)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	data.Failures, data.Truncated = failures, truncated
	posts, more, err := c.countPosts(ctx, se.ws, now, &data.FailedPosts)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	data.Truncated = data.Truncated || more
	for _, n := range posts {
		data.Posts[string(n.Status)]++
	}
	for _, b := range bars {
		data.Delivered += b.Delivered
		data.Failed += b.Failed
	}
	mins := healthWindow.Minutes()
	data.DeliveryRate = float64(data.Delivered+data.Failed) / mins
	data.PostRate = float64(data.Posts[string(notify.NotificationSent)]+data.Posts[string(notify.NotificationDryRun)]+data.Posts[string(notify.NotificationFailed)]) / mins
	if total := data.Delivered + data.Failed; total > 0 {
		rate := float64(data.Delivered) / float64(total)
		data.SuccessRate = &rate
	}
	data.Chart = deliveryChart(bars[:])
	c.render(w, r, http.StatusOK, "health", page{Title: "Health", Nav: "health", Data: data})
}

// countDeliveries puts the last hour's attempts into bars and returns the
// newest failed ones.
func (c *Console) countDeliveries(ctx context.Context, ws tasks.WorkspaceID, now time.Time, bucket func(time.Time) int, bars *[60]minute) ([]failure, bool, error) {
	subs, err := c.cfg.Webhooks.List(ctx, ws)
	if err != nil {
		return nil, false, err
	}
	var failures []failure
	truncated := false
	for _, sub := range subs {
		cursor, scanned := "", 0
		for {
			ds, next, err := c.cfg.Webhooks.Deliveries(ctx, ws, sub.ID, "", cursor, tasks.MaxLimit)
			if err != nil {
				return nil, false, err
			}
			old := false
			for _, d := range ds {
				if now.Sub(d.CreatedAt) > healthMessageAge {
					old = true
					break
				}
				for _, a := range d.Attempts {
					i := bucket(a.At)
					if a.Pending || a.DurationMS == nil || i < 0 {
						continue
					}
					if a.StatusCode != nil && *a.StatusCode/100 == 2 {
						bars[i].Delivered++
					} else {
						bars[i].Failed++
						failures = append(failures, failure{Webhook: sub, MessageID: d.ID, EventType: d.EventType, Attempt: a})
					}
				}
			}
			scanned += len(ds)
			if old || next == "" {
				break
			}
			if scanned >= healthScan {
				truncated = true
				break
			}
			cursor = next
		}
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i].Attempt.At.After(failures[j].Attempt.At) })
	if len(failures) > 10 {
		failures = failures[:10]
	}
	return failures, truncated, nil
}

// countPosts returns the outbox records of the last hour, and up to 10
// failed ones among them.
func (c *Console) countPosts(ctx context.Context, ws tasks.WorkspaceID, now time.Time, failed *[]notify.Notification) ([]notify.Notification, bool, error) {
	var out []notify.Notification
	cursor := ""
	for len(out) < healthScan {
		list, next, err := c.cfg.Outbox.ListNotifications(ctx, ws, cursor, tasks.MaxLimit)
		if err != nil {
			return nil, false, err
		}
		for _, n := range list {
			if now.Sub(n.CreatedAt) > healthWindow {
				return out, false, nil
			}
			out = append(out, n)
			if n.Status == notify.NotificationFailed && len(*failed) < 10 {
				*failed = append(*failed, n)
			}
		}
		if next == "" {
			return out, false, nil
		}
		cursor = next
	}
	return out, true, nil
}

// deliveryChart draws attempts per minute as stacked bars, delivered
// below and failed above, scaled to the busiest minute. It is plain SVG
// markup with numbers and times only.
func deliveryChart(bars []minute) template.HTML {
	const w, h, top, bottom, left = 360, 140, 10, 18, 24
	peak := 1
	for _, b := range bars {
		peak = max(peak, b.Delivered+b.Failed)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="Delivery attempts per minute over the last hour, by outcome" xmlns="http://www.w3.org/2000/svg">`, w, h)
	plotH := float64(h - top - bottom)
	barW := float64(w-left) / float64(len(bars))
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="label" text-anchor="end">%d</text>`, left-4, top+8, peak)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="label" text-anchor="end">0</text>`, left-4, h-bottom)
	for i, b := range bars {
		x := float64(left) + float64(i)*barW
		dh := plotH * float64(b.Delivered) / float64(peak)
		fh := plotH * float64(b.Failed) / float64(peak)
		y := float64(h-bottom) - dh
		title := fmt.Sprintf("%s UTC: %d delivered, %d failed", b.Start.Format("15:04"), b.Delivered, b.Failed)
		fmt.Fprintf(&sb, `<g><title>%s</title>`, template.HTMLEscapeString(title))
		if b.Delivered > 0 {
			fmt.Fprintf(&sb, `<rect class="ok" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x+1, y, barW-2, dh)
		}
		if b.Failed > 0 {
			fmt.Fprintf(&sb, `<rect class="bad" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x+1, y-fh, barW-2, fh)
		}
		if b.Delivered+b.Failed == 0 {
			fmt.Fprintf(&sb, `<rect class="none" x="%.1f" y="%d" width="%.1f" height="1"/>`, x+1, h-bottom-1, barW-2)
		}
		sb.WriteString(`</g>`)
		if i%15 == 0 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="label">%s</text>`, x, h-5, b.Start.Format("15:04"))
		}
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="label" text-anchor="end">now</text>`, w, h-5)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
