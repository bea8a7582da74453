package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/tasks"
)

// The package: subscriptions (this file), the fan-out of events into
// messages (fanout.go) and their delivery (deliver.go), the delivery
// log with redelivery and recovery (deliveries.go), sample events
// (samples.go) and metrics (metrics.go). State lives in Redis in the
// package's own store (store.go), beside the domain's; the delivery lanes
// (engine.go) send what is due.

// MaxSubscriptions is how many subscriptions one workspace may have.
const MaxSubscriptions = 50

// SecretOverlap is how long the previous secret keeps signing after a
// rotation, so receivers can move to the new one without dropping messages.
const SecretOverlap = 24 * time.Hour

// StaticID is the id of the subscription EnsureStatic keeps for
// TASKER_WEBHOOK_URL: fixed, so every replica and restart finds the same one.
const StaticID = "wh_static"

// AllEvents in a subscription's events means every event type.
const AllEvents = "*"

// The orderings a subscription may ask for.
const (
	OrderingNone = "none" // messages go out as soon as they can, concurrently
	OrderingTask = "task" // one task's messages go one at a time, in event order
)

// maxDescription bounds a subscription's description, in characters.
const maxDescription = 500

// maxSecret bounds a caller's own secret, in bytes.
const maxSecret = 256

// Config tunes a Service. Zero values take the defaults of SPEC.md section 3.
type Config struct {
	// Timeout bounds one attempt (TASKER_WEBHOOK_TIMEOUT, default 10s).
	Timeout time.Duration
	// Schedule is the delays before retries (TASKER_WEBHOOK_RETRY_SCHEDULE).
	Schedule []time.Duration
	// DisableAfter is how many consecutive failed messages disable an
	// endpoint (TASKER_WEBHOOK_DISABLE_AFTER, default 5).
	DisableAfter int
	// AllowPrivate admits loopback/private hosts and plain http
	// (TASKER_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// Resolver resolves subscriber hosts; nil means net.DefaultResolver.
	Resolver Resolver
	// Client sends the attempts; nil means NewHTTPClient(Timeout,
	// AllowPrivate, Resolver). Tests give their own.
	Client *http.Client
	// Queue is the asynq queue of an older version's delivery jobs
	// (default Queue).
	Queue string
	// Lanes is how many delivery lanes Run runs (default 4), and Batch how
	// many due messages a lane leases and sends at once (default 32).
	Lanes int
	Batch int
	// LeaseGrace is added to Timeout to make the lease of an attempt: a
	// worker that has not finished by then is presumed dead (default 20s).
	LeaseGrace time.Duration
	// ReapInterval is how often Run looks for expired leases (default 15s).
	ReapInterval time.Duration
	// OnDisabled is called once when the delivery path disables an
	// endpoint (410 Gone, or DisableAfter consecutive failures); cmd sends
	// the owner a Cliq DM. It runs in the lane that settled the attempt;
	// nil means nobody.
	OnDisabled func(ctx context.Context, ws tasks.WorkspaceID, sub Subscription)
	// Workspaces, when set, limits Run's sweep to these workspaces
	// of the active set: tests sharing one Redis each
	// sweep their own. Production leaves it nil.
	Workspaces []tasks.WorkspaceID
	// Now is the clock (default time.Now); Random returns values in [0, 1)
	// for jitter (default math/rand/v2's Float64).
	Now    func() time.Time
	Random func() float64
}

// Service manages subscriptions and delivers messages to them. It is safe
// for concurrent use.
type Service struct {
	logger  *slog.Logger
	store   *store
	tasks   *tasks.Store
	cfg     Config
	client  *http.Client
	metrics *metrics

	// wanted caches, per workspace, the time until which it is known to
	// have subscriptions, so Wants costs no round trip per event.
	wanted sync.Map
	// sweeps counts Sweep's passes; upgradeDone is set once this process
	// has checked the totals' format (upgrade).
	sweeps      atomic.Int64
	upgradeDone atomic.Bool
	// subCache holds, per workspace, its subscriptions as the fan-out last
	// read them (*cachedSubs).
	subCache sync.Map
	// groups records the workspaces whose fan-out group is known to exist.
	groups sync.Map
	// active holds, per workspace known to have subscriptions, when the
	// lanes should next lease from it (pollAt). wakeup wakes idle lanes.
	active sync.Map
	wakeup chan struct{}
	// notices holds the workspaces Notify named since the fan-out loop
	// last looked; noticed wakes it.
	noticeMu sync.Mutex
	notices  map[tasks.WorkspaceID]bool
	noticed  chan struct{}
}

// NewService returns a service keeping its state in rdb and reading events
// and workspaces through ts; reg receives its metrics. cmd adds Target to
// the dispatcher's targets and runs Run, which delivers; Register serves
// the delivery jobs an older version queued.
func NewService(logger *slog.Logger, rdb redis.UniversalClient, ts *tasks.Store, reg prometheus.Registerer, cfg Config) (*Service, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if len(cfg.Schedule) == 0 {
		sched, err := ParseSchedule(DefaultSchedule)
		if err != nil {
			return nil, err
		}
		cfg.Schedule = sched
	}
	if cfg.DisableAfter <= 0 {
		cfg.DisableAfter = 5
	}
	if cfg.Queue == "" {
		cfg.Queue = Queue
	}
	if cfg.LeaseGrace <= 0 {
		cfg.LeaseGrace = 20 * time.Second
	}
	if cfg.Lanes <= 0 {
		cfg.Lanes = 4
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Float64
	}
	s := &Service{logger: logger, store: &store{rdb: rdb, tasks: ts, now: cfg.Now}, tasks: ts, cfg: cfg, client: cfg.Client,
		wakeup: make(chan struct{}, cfg.Lanes), notices: make(map[tasks.WorkspaceID]bool), noticed: make(chan struct{}, 1)}
	if s.client == nil {
		s.client = NewHTTPClient(cfg.Timeout, cfg.AllowPrivate, cfg.Resolver)
	}
	m, err := newMetrics(reg, s)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	return s, nil
}

// Subscription is a webhook endpoint as the API shows it (SPEC.md 8.1).
// The secret is part of it: the API returns it; logs get it masked.
type Subscription struct {
	ID                  string     `json:"id"`
	URL                 string     `json:"url"`
	Events              []string   `json:"events"`
	Secret              string     `json:"secret"`
	Enabled             bool       `json:"enabled"`
	Description         string     `json:"description"`
	Ordering            string     `json:"ordering"`
	Status              string     `json:"status"` // active or disabled
	DisabledReason      *string    `json:"disabled_reason"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	LastTriggered       *time.Time `json:"last_triggered"`
	DeliverySuccessRate *float64   `json:"delivery_success_rate"`
	CreatedBy           *string    `json:"created_by"`
	// ConsecutiveFailures counts non-test messages failed for good since
	// the last delivered one; DisableAfter of them disable the endpoint.
	ConsecutiveFailures int `json:"consecutive_failures"`
}

// LogValue keeps the secret out of logs.
func (s Subscription) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.String("url", redactURL(s.URL)),
		slog.String("status", s.Status), slog.String("secret", "[masked]"))
}

// redactURL keeps a URL's scheme and host: paths and queries of subscriber
// URLs often carry access tokens.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "[url]"
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	return scheme + "://" + host + "/…"
}

// view turns a stored subscription into its API form.
func view(sub subRecord) Subscription {
	v := Subscription{
		ID: sub.ID, URL: sub.URL, Events: sub.Events, Secret: sub.Secret, Enabled: sub.Enabled,
		Description: sub.Description, Ordering: sub.Ordering, Status: "active",
		CreatedAt: sub.CreatedAt, UpdatedAt: sub.UpdatedAt, LastTriggered: sub.LastTriggered,
		DeliverySuccessRate: sub.SuccessRate, ConsecutiveFailures: sub.ConsecutiveFailures,
	}
	if v.Events == nil {
		v.Events = []string{}
	}
	if !sub.Enabled {
		v.Status = "disabled"
	}
	if sub.DisabledReason != "" {
		reason := sub.DisabledReason
		v.DisabledReason = &reason
	}
	if sub.CreatedBy != "" {
		by := sub.CreatedBy
		v.CreatedBy = &by
	}
	return v
}

// NewSubscription is what a client gives to create a subscription.
type NewSubscription struct {
	URL         string
	Events      []string
	Secret      string // "" generates a whsec_ secret
	Enabled     *bool  // nil means enabled
	Description string
	Ordering    string // "", "none" or "task"
	CreatedBy   string // the user to alert when the endpoint is disabled
}

// SubscriptionPatch changes the fields that are not nil.
type SubscriptionPatch struct {
	URL         *string
	Events      *[]string
	Enabled     *bool
	Description *string
	Ordering    *string
}

// Create validates in and stores a new subscription. Errors:
// *tasks.ValidationError by field, *tasks.ConflictError past
// MaxSubscriptions.
func (s *Service) Create(ctx context.Context, ws tasks.WorkspaceID, in NewSubscription) (Subscription, error) {
	sub := subRecord{
		URL: strings.TrimSpace(in.URL), Events: in.Events, Secret: in.Secret, Enabled: in.Enabled == nil || *in.Enabled,
		Description: in.Description, Ordering: in.Ordering, CreatedBy: in.CreatedBy,
	}
	problems := make(map[string]string)
	if sub.CreatedBy != "" {
		// The user is who hears of the endpoint's disabling: one who does
		// not exist would never be told.
		switch _, err := s.tasks.GetUser(ctx, ws, sub.CreatedBy); {
		case errors.Is(err, tasks.ErrNotFound):
			problems["created_by"] = "no such user in this workspace (a user id or email)"
		case err != nil:
			return Subscription{}, err
		}
	}
	s.checkURL(ctx, sub.URL, problems)
	sub.Events = checkEvents(sub.Events, problems)
	sub.Ordering = checkOrdering(sub.Ordering, problems)
	checkDescription(sub.Description, problems)
	switch {
	case sub.Secret == "":
		sub.Secret = NewSecret()
	case len(sub.Secret) > maxSecret || strings.TrimSpace(sub.Secret) != sub.Secret:
		problems["secret"] = fmt.Sprintf("must be at most %d bytes without surrounding spaces", maxSecret)
	}
	if len(problems) > 0 {
		return Subscription{}, &tasks.ValidationError{Fields: problems}
	}
	created, err := s.store.createSub(ctx, ws, sub, MaxSubscriptions)
	if err != nil {
		return Subscription{}, err
	}
	s.markWanted(ws)
	return view(created), nil
}

// List returns the workspace's subscriptions, newest first.
func (s *Service) List(ctx context.Context, ws tasks.WorkspaceID) ([]Subscription, error) {
	subs, err := s.store.listSubs(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, len(subs))
	for i, sub := range subs {
		out[i] = view(sub)
	}
	return out, nil
}

// Get returns one subscription. Errors: tasks.ErrNotFound.
func (s *Service) Get(ctx context.Context, ws tasks.WorkspaceID, id string) (Subscription, error) {
	sub, err := s.store.getSub(ctx, ws, id)
	if err != nil {
		return Subscription{}, err
	}
	return view(sub), nil
}

// Update applies p. Enabling an endpoint clears its disabled reason and
// failure streak. Errors: tasks.ErrNotFound, *tasks.ValidationError.
func (s *Service) Update(ctx context.Context, ws tasks.WorkspaceID, id string, p SubscriptionPatch) (Subscription, error) {
	problems := make(map[string]string)
	if p.URL != nil {
		u := strings.TrimSpace(*p.URL)
		p.URL = &u
		s.checkURL(ctx, u, problems)
	}
	if p.Events != nil {
		evs := checkEvents(*p.Events, problems)
		p.Events = &evs
	}
	if p.Ordering != nil {
		o := checkOrdering(*p.Ordering, problems)
		p.Ordering = &o
	}
	if p.Description != nil {
		checkDescription(*p.Description, problems)
	}
	if len(problems) > 0 {
		return Subscription{}, &tasks.ValidationError{Fields: problems}
	}
	sub, err := s.store.updateSub(ctx, ws, id, func(sub *subRecord) error {
		if p.URL != nil {
			sub.URL = *p.URL
		}
		if p.Events != nil {
			sub.Events = *p.Events
		}
		if p.Ordering != nil {
			sub.Ordering = *p.Ordering
		}
		if p.Description != nil {
			sub.Description = *p.Description
		}
		if p.Enabled != nil {
			sub.Enabled = *p.Enabled
		}
		return nil
	})
	if err != nil {
		return Subscription{}, err
	}
	if p.Enabled != nil && *p.Enabled {
		// What waited while it was disabled goes out now.
		if err := s.unpark(ctx, ws, id); err != nil {
			return Subscription{}, err
		}
	}
	return view(sub), nil
}

// Enable re-enables a disabled endpoint: the Re-enable button of the alert.
// Messages that waited meanwhile go out; failed messages stay failed, and
// Recover sends them. Errors:
// tasks.ErrNotFound.
func (s *Service) Enable(ctx context.Context, ws tasks.WorkspaceID, id string) (Subscription, error) {
	enabled := true
	return s.Update(ctx, ws, id, SubscriptionPatch{Enabled: &enabled})
}

// Delete removes a subscription; its queued messages fail without an
// attempt. Errors:
// tasks.ErrNotFound.
func (s *Service) Delete(ctx context.Context, ws tasks.WorkspaceID, id string) error {
	return s.store.deleteSub(ctx, ws, id)
}

// RotateSecret gives the subscription a new secret. The old one keeps
// signing beside it for SecretOverlap, so webhook-signature carries both
// meanwhile. Errors: tasks.ErrNotFound.
func (s *Service) RotateSecret(ctx context.Context, ws tasks.WorkspaceID, id string) (Subscription, error) {
	now := s.cfg.Now()
	sub, err := s.store.updateSub(ctx, ws, id, func(sub *subRecord) error {
		sub.OldSecret, sub.OldSecretUntil = sub.Secret, now.Add(SecretOverlap).UTC()
		sub.Secret = NewSecret()
		return nil
	})
	if err != nil {
		return Subscription{}, err
	}
	return view(sub), nil
}

// EnsureStatic creates or updates the all-events subscription of
// TASKER_WEBHOOK_URL in ws, with the fixed id StaticID, so restarts and
// replicas converge on one. An empty secret keeps the stored one (or
// generates one the first time). It does not re-enable an endpoint the
// delivery path disabled: that takes Enable.
func (s *Service) EnsureStatic(ctx context.Context, ws tasks.WorkspaceID, url, secret string) (Subscription, error) {
	var dnsErr *net.DNSError
	if err := ValidateURL(ctx, url, s.cfg.AllowPrivate, s.cfg.Resolver); errors.As(err, &dnsErr) {
		// A DNS blip at start must not stop the service: every delivery
		// resolves the host and checks the addresses again when it dials.
		s.logger.WarnContext(ctx, "TASKER_WEBHOOK_URL does not resolve now; each delivery checks it again", "err", err)
	} else if err != nil {
		problems := make(map[string]string)
		s.checkURL(ctx, url, problems)
		return Subscription{}, &tasks.ValidationError{Fields: problems}
	}
	cur, err := s.store.getSub(ctx, ws, StaticID)
	if errors.Is(err, tasks.ErrNotFound) {
		sub := subRecord{
			ID: StaticID, URL: url, Events: []string{AllEvents}, Secret: secret, Enabled: true,
			Ordering: OrderingNone, Description: "TASKER_WEBHOOK_URL",
		}
		if sub.Secret == "" {
			sub.Secret = NewSecret()
		}
		created, cerr := s.store.createSub(ctx, ws, sub, 0)
		if cerr == nil {
			s.markWanted(ws)
			return view(created), nil
		}
		if !errors.Is(cerr, tasks.ErrConflict) { // a conflict: another replica made it first
			return Subscription{}, cerr
		}
		cur, err = s.store.getSub(ctx, ws, StaticID)
	}
	if err != nil {
		return Subscription{}, err
	}
	if cur.URL == url && slices.Equal(cur.Events, []string{AllEvents}) && (secret == "" || cur.Secret == secret) {
		s.markWanted(ws)
		return view(cur), nil
	}
	updated, err := s.store.updateSub(ctx, ws, StaticID, func(sub *subRecord) error {
		sub.URL, sub.Events = url, []string{AllEvents}
		if secret != "" {
			sub.Secret = secret
		}
		return nil
	})
	if err != nil {
		return Subscription{}, err
	}
	s.markWanted(ws)
	return view(updated), nil
}

// checkURL records in problems why raw cannot be a subscriber URL.
func (s *Service) checkURL(ctx context.Context, raw string, problems map[string]string) {
	if raw == "" {
		problems["url"] = "required"
		return
	}
	if len(raw) > 2048 {
		problems["url"] = "must be at most 2048 characters"
		return
	}
	if err := ValidateURL(ctx, raw, s.cfg.AllowPrivate, s.cfg.Resolver); err != nil {
		problems["url"] = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "webhooks: "), "invalid url: ")
		// Plain http and private addresses are what a receiver on the
		// developer's own machine needs: say how to allow them.
		var blocked *BlockedAddressError
		if !s.cfg.AllowPrivate && (errors.As(err, &blocked) || strings.HasSuffix(err.Error(), "https is required")) {
			problems["url"] += "; a receiver on this machine or network needs TASKER_WEBHOOK_ALLOW_PRIVATE=true (development and on-premises only)"
		}
	}
}

// checkEvents validates event types and returns them deduplicated; "*"
// stands alone.
func checkEvents(events []string, problems map[string]string) []string {
	if len(events) == 0 {
		problems["events"] = `required: event types, or ["*"] for all`
		return nil
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if e != AllEvents && !tasks.EventType(e).Valid() {
			problems["events"] = fmt.Sprintf("unknown event type %q; use %s, or \"*\" for all", e, tasks.EventTypeList())
			return nil
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if slices.Contains(out, AllEvents) {
		return []string{AllEvents}
	}
	return out
}

// checkOrdering returns ordering with the default filled in.
func checkOrdering(o string, problems map[string]string) string {
	switch o {
	case "":
		return OrderingNone
	case OrderingNone, OrderingTask:
		return o
	}
	problems["ordering"] = "must be none or task"
	return o
}

func checkDescription(d string, problems map[string]string) {
	if utf8.RuneCountInString(d) > maxDescription {
		problems["description"] = fmt.Sprintf("must be at most %d characters", maxDescription)
	}
}

// wants reports whether sub takes events of type typ.
func wants(sub subRecord, typ tasks.EventType) bool {
	return slices.Contains(sub.Events, AllEvents) || slices.Contains(sub.Events, string(typ))
}

// secrets returns the secrets signing a message now, newest first: the
// previous one only within its overlap.
func (s *Service) secrets(sub subRecord) []string {
	if sub.OldSecret != "" && s.cfg.Now().Before(sub.OldSecretUntil) {
		return []string{sub.Secret, sub.OldSecret}
	}
	return []string{sub.Secret}
}
