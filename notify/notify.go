// Package notify posts Tasker's events to Cliq (SPEC 7.4): channel posts to
// the default channel and to subscribed channels, and direct messages
// through the bot to the linked assignee.
//
// The Notifier is a pipeline target. For each event it records one
// notification per destination in the outbox log (pending) and makes sure a
// flush job for that destination is queued on Queue. A flush takes a slot of
// the rate limiter shared by every replica, then takes every notification
// waiting for its destination and posts them: alone as its own card, or
// several as one digest card. When the limiter says wait, the flush hands
// the destination on to a later flush, so what queues up meanwhile leaves
// together instead of late one by one. Failed posts are retried with
// backoff (honouring Retry-After); permanent errors fail at once. Every
// outcome is written to the log.
//
// Without a Cliq client (no OAuth credentials) nothing is sent: records get
// status dry_run and the log says what would have been posted.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// Name is the notifier's name as a pipeline target.
const Name = "cliq"

// Defaults of Config.
const (
	// DefaultSpacing keeps posts to one destination this far apart, so a
	// burst for one user or channel arrives as one digest, not dozens of cards.
	DefaultSpacing = 5 * time.Second
	// DefaultMaxAttempts bounds the calls made for one notification.
	DefaultMaxAttempts = 8
	// DefaultPostTimeout bounds one call to Cliq.
	DefaultPostTimeout = 30 * time.Second
)

// Config holds the notifier's settings; zero values take the defaults.
type Config struct {
	// Bot is the bot's unique name (TASKER_CLIQ_BOT): channel posts and
	// direct messages go as the bot.
	Bot string
	// Channel is the default channel (TASKER_CLIQ_CHANNEL); "" for none.
	Channel string
	// ChannelServes reports whether Channel serves workspace ws. nil means
	// only tasks.DefaultWorkspace, as in single tenancy (SPEC 12); org
	// tenancy passes a func that always reports true.
	ChannelServes func(ws tasks.WorkspaceID) bool
	// Location is the timezone of readers whose own is unknown
	// (TASKER_TIMEZONE), and of channel posts. nil means UTC.
	Location *time.Location
	// Spacing keeps posts to one destination this far apart; 0 means
	// DefaultSpacing and a negative value none.
	Spacing time.Duration
	// MaxAttempts bounds the calls made for one notification before it is
	// failed; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// PostTimeout bounds one call to Cliq; 0 means DefaultPostTimeout.
	PostTimeout time.Duration
}

// Notifier turns events into Cliq posts through the durable queue. It is
// a pipeline target and also posts arbitrary messages (Post, PostToChannel).
type Notifier struct {
	logger  *slog.Logger
	store   *tasks.Store
	outbox  *Outbox
	client  *cliq.Client // nil: dry run
	queue   *asynq.Client
	limiter *RateLimiter
	now     func() time.Time
	cfg     Config

	apiCalls      *prometheus.CounterVec
	notifications *prometheus.CounterVec
}

// The outcomes of tasker_cliq_api_calls_total.
const (
	outcomeSent        = "sent"
	outcomeTransient   = "transient_error"
	outcomePermanent   = "permanent_error"
	outcomeRateLimited = "rate_limited"
)

// New returns a notifier keeping its log in outbox. client nil means dry
// run: nothing is sent.
// queue enqueues the flush jobs that Register's handler runs; limiter is
// shared by every replica (TASKER_CLIQ_RATE); reg receives the metrics;
// now is the clock (time.Now outside tests).
func New(logger *slog.Logger, store *tasks.Store, outbox *Outbox, client *cliq.Client, queue *asynq.Client, limiter *RateLimiter,
	reg prometheus.Registerer, now func() time.Time, cfg Config) *Notifier {
	if cfg.ChannelServes == nil {
		cfg.ChannelServes = func(ws tasks.WorkspaceID) bool { return ws == tasks.DefaultWorkspace }
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	switch {
	case cfg.Spacing == 0:
		cfg.Spacing = DefaultSpacing
	case cfg.Spacing < 0:
		cfg.Spacing = 0
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.PostTimeout <= 0 {
		cfg.PostTimeout = DefaultPostTimeout
	}
	n := &Notifier{
		logger: logger, store: store, outbox: outbox, client: client, queue: queue, limiter: limiter, now: now, cfg: cfg,
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_cliq_api_calls_total",
			Help: "Calls to the Cliq API that post notifications, by outcome.",
		}, []string{"outcome"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_notifications_total",
			Help: "Cliq notifications by the status they reached: pending when recorded, then sent, failed or dry_run.",
		}, []string{"status"}),
	}
	for _, o := range []string{outcomeSent, outcomeTransient, outcomePermanent, outcomeRateLimited} {
		n.apiCalls.WithLabelValues(o)
	}
	for _, s := range []NotificationStatus{NotificationPending, NotificationSent, NotificationFailed, NotificationDryRun} {
		n.notifications.WithLabelValues(string(s))
	}
	reg.MustRegister(n.apiCalls, n.notifications)
	return n
}

// Name identifies the notifier as a pipeline target.
func (n *Notifier) Name() string { return Name }

// Wants reports whether ev can concern Cliq at all: events about a task, and
// daily digests. Webhook test events never do.
func (n *Notifier) Wants(ev tasks.Event) bool {
	if ev.Test {
		return false
	}
	return ev.Type == tasks.EventDailyDigest || (ev.Data.Task != nil && ev.Type != tasks.EventUserLinked)
}

// Handle records ev's notifications and queues their flushes. It is safe to
// repeat: a notification is recorded once per (event, destination).
func (n *Notifier) Handle(ctx context.Context, ev tasks.Event) error {
	posts, err := n.route(ctx, ev)
	if err != nil {
		return err
	}
	for _, p := range posts {
		err := n.submit(ctx, ev.Workspace, NewNotification{
			EventID: ev.ID, Key: ev.ID + "|" + p.dest.String(), Destination: p.dest, Summary: p.summary,
		}, p.msg)
		if err != nil {
			return err
		}
	}
	return nil
}

// post is one message for one destination.
type post struct {
	dest    Destination
	msg     cliq.Message
	summary NotificationSummary
}

// directTypes are the events whose card also goes to the task's assignee
// as a direct message (SPEC 7.4).
var directTypes = []tasks.EventType{tasks.EventTaskAssigned, tasks.EventTaskReminder, tasks.EventTaskOverdue, tasks.EventCommentCreated}

// route works out where ev goes and renders each card: the default channel
// for the default channel events of the workspaces it serves, every channel
// subscribed to ev's type, and the linked assignee for directTypes unless
// they caused the event themselves.
func (n *Notifier) route(ctx context.Context, ev tasks.Event) ([]post, error) {
	ws := ev.Workspace
	if ev.Type == tasks.EventDailyDigest {
		return n.routeDigest(ev), nil
	}
	t := ev.Data.Task
	if t == nil || !n.Wants(ev) {
		return nil, nil
	}
	actor, err := n.actor(ctx, ws, ev.Data.Actor)
	if err != nil {
		return nil, err
	}
	var assignee *tasks.User
	if t.Assignee != nil {
		if assignee, err = n.user(ctx, ws, *t.Assignee); err != nil {
			return nil, err
		}
	}
	summary := NotificationSummary{
		Type: ev.Type, TaskNumber: t.Number, Title: t.Title,
		TaskOpen: t.Status.IsOpen() && ev.Type != tasks.EventTaskDeleted,
	}
	var channels []string
	if n.cfg.Channel != "" && n.cfg.ChannelServes(ws) && slices.Contains(tasks.DefaultChannelEvents, ev.Type) {
		channels = append(channels, n.cfg.Channel)
	}
	subs, err := n.store.ChannelSubscriptions(ctx, ws)
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if s.Wants(ev.Type) && !slices.Contains(channels, s.Channel) {
			channels = append(channels, s.Channel)
		}
	}
	var posts []post
	now := n.now()
	if len(channels) > 0 {
		msg, ok := cards.Event(ev, cards.EventView{Actor: actor, Assignee: assignee, Loc: n.cfg.Location, Now: now})
		if !ok {
			return nil, nil
		}
		for _, c := range channels {
			posts = append(posts, post{Destination{Kind: DestinationChannel, Name: c}, msg, summary})
		}
	}
	if slices.Contains(directTypes, ev.Type) && assignee != nil && assignee.CliqUserID != nil && !caused(ev.Data.Actor, assignee) {
		msg, ok := cards.Event(ev, cards.EventView{Actor: actor, Assignee: assignee, Direct: true, Loc: n.location(assignee), Now: now})
		if ok {
			posts = append(posts, post{Destination{Kind: DestinationUser, Name: *assignee.CliqUserID}, msg, summary})
		}
	}
	return posts, nil
}

// routeDigest sends a daily digest to its linked recipient.
func (n *Notifier) routeDigest(ev tasks.Event) []post {
	u, d := ev.Data.User, ev.Data.Digest
	if u == nil || d == nil || u.CliqUserID == nil {
		return nil
	}
	msg := cards.DailyDigest(*d, n.location(u), n.now())
	return []post{{
		dest:    Destination{Kind: DestinationUser, Name: *u.CliqUserID},
		msg:     msg,
		summary: NotificationSummary{Type: ev.Type, Title: msg.Card.Title},
	}}
}

// caused reports whether u is who caused the event, who needs no message
// about it (assigning yourself, commenting on your own task).
func caused(a tasks.Actor, u *tasks.User) bool {
	return (a.UserID != "" && a.UserID == u.ID) || (a.CliqUserID != "" && u.CliqUserID != nil && a.CliqUserID == *u.CliqUserID)
}

// location is the timezone u reads times in: their own, else the default.
func (n *Notifier) location(u *tasks.User) *time.Location {
	if u != nil && u.Timezone != "" {
		return u.Location()
	}
	return n.cfg.Location
}

// actor returns the user who caused an event, or nil when unknown.
func (n *Notifier) actor(ctx context.Context, ws tasks.WorkspaceID, a tasks.Actor) (*tasks.User, error) {
	if a.UserID != "" {
		return n.user(ctx, ws, a.UserID)
	}
	if a.CliqUserID == "" {
		return nil, nil
	}
	u, err := n.store.UserByCliqID(ctx, ws, a.CliqUserID)
	if errors.Is(err, tasks.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// user returns the user with id, or nil when there is none.
func (n *Notifier) user(ctx context.Context, ws tasks.WorkspaceID, id string) (*tasks.User, error) {
	u, err := n.store.GetUser(ctx, ws, id)
	if errors.Is(err, tasks.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// submit records msg for in.Destination and makes sure the destination's
// flush is queued; in dry run it only records and logs.
func (n *Notifier) submit(ctx context.Context, ws tasks.WorkspaceID, in NewNotification, msg cliq.Message) error {
	raw, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("notify: encode message: %w", err)
	}
	in.Message, in.DryRun = raw, n.client == nil
	rec, created, flush, err := n.outbox.QueueNotification(ctx, ws, in, newFlushID())
	if err != nil {
		return err
	}
	if created {
		n.notifications.WithLabelValues(string(rec.Status)).Inc()
		if in.DryRun {
			n.logger.InfoContext(ctx, "cliq dry run: notification not posted", "workspace", ws,
				"destination_kind", in.Destination.Kind, "destination", in.Destination.Name,
				"title", title(msg), "event_id", in.EventID, "notification_id", rec.ID)
		}
	}
	if flush == "" {
		return nil
	}
	return n.schedule(ctx, ws, in.Destination, flush, 0)
}

// maxTitle is how much of a message's text may name it in logs and digests.
const maxTitle = 100

// title is the line that names a message in logs and digests: its card's
// title, else the first line of its text, cut short.
func title(m cliq.Message) string {
	if m.Card != nil && m.Card.Title != "" {
		return m.Card.Title
	}
	line, _, _ := strings.Cut(strings.TrimSpace(m.Text), "\n")
	if r := []rune(line); len(r) > maxTitle {
		return string(r[:maxTitle-1]) + "…"
	}
	return line
}

func newFlushID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "cliq-flush-" + hex.EncodeToString(b[:])
}
