package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/taskerhq/tasker/api"
	"github.com/taskerhq/tasker/bot"
	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/extension"
	"github.com/taskerhq/tasker/internal/httpx"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/pipeline"
	"github.com/taskerhq/tasker/scheduler"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// service is the wired application: an HTTP handler and the background
// roles, built from one config.
type service struct {
	logger  *slog.Logger
	handler http.Handler
	roles   map[string]bool
	closers []func()
	workers *asynq.Server
	mux     *asynq.ServeMux
	disp    *pipeline.Dispatcher
	sched   *scheduler.Scheduler
	hooks   *webhooks.Service
}

// serve builds the service, listens on cfg.Addr and runs until ctx ends,
// then shuts down: stop accepting, finish in-flight requests and jobs within
// TASKER_SHUTDOWN_TIMEOUT, stop the scheduler, close Redis.
func serve(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	svc, err := build(ctx, cfg, logger, stdout)
	if err != nil {
		return err
	}
	defer svc.close()
	var ln net.Listener
	if svc.handler != nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		logger.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL)
	}
	return svc.run(ctx, ln, cfg.ShutdownTimeout)
}

// run serves HTTP on ln (none when nil) and runs the background roles until
// ctx ends. Then it stops taking jobs first, and drains in-flight requests
// and running jobs side by side within the one timeout.
func (s *service) run(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	var srv *http.Server
	errc := make(chan error, 1)
	if ln != nil {
		srv = &http.Server{
			Handler:           s.handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
		}
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if err := s.start(bgCtx, &wg); err != nil {
		stopBackground()
		return err
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		s.logger.Error("http server failed", "err", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if s.workers != nil {
		s.workers.Stop() // no new jobs while requests and running jobs finish
	}
	s.logger.Info("shutting down", "timeout", timeout)
	// Requests and jobs drain side by side, each within the one timeout
	// (asynq's Shutdown waits at most its ShutdownTimeout, the same one).
	var drain sync.WaitGroup
	if srv != nil {
		drain.Go(func() {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				s.logger.Error("http shutdown incomplete", "err", err)
			}
		})
	}
	if s.workers != nil {
		drain.Go(s.workers.Shutdown)
	}
	drain.Wait()
	stopBackground()
	wg.Wait()
	s.logger.Info("stopped")
	return nil
}

// build wires every part the roles need.
func build(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) (_ *service, err error) {
	roles := cfg.roleSet
	svc := &service{logger: logger, roles: roles}
	// One cleanup for every failure below: what was opened so far is closed.
	defer func() {
		if err != nil {
			svc.close()
		}
	}()
	rdb, closeRedis, err := newRedis(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	svc.closers = append(svc.closers, closeRedis)
	store := tasks.NewStore(rdb, time.Now)
	store.SetReminderLead(cfg.ReminderLead)
	loc := cfg.location
	store.SetTimezone(loc) // API recurrences without recurrence_timezone

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if cfg.APIKeys == "" {
		cfg.APIKeys = devSecret()
		fmt.Fprintf(stdout, "No TASKER_API_KEYS: generated a development API key (workspace default):\n  %s\n", cfg.APIKeys)
	}
	keys, err := api.ParseKeys(cfg.APIKeys)
	if err != nil {
		return nil, fmt.Errorf("config: TASKER_API_KEYS: %v", err)
	}
	for _, n := range keys.Weak() {
		logger.Warn("an API key is short enough to guess; use at least 16 random characters",
			"variable", "TASKER_API_KEYS", "entry", n, "min_length", api.MinKeyLength)
	}
	if cfg.CliqSecret == "" {
		cfg.CliqSecret = devSecret()
		fmt.Fprintf(stdout, "No TASKER_CLIQ_SECRET: generated a development secret for the Deluge scripts and tasker sim:\n  %s\n", cfg.CliqSecret)
	}

	verifier, err := cliq.NewVerifier(cfg.CliqSecret, []byte(cfg.CliqPublicKey), store, int64(cfg.MaxBody), time.Now)
	if err != nil {
		return nil, fmt.Errorf("config: TASKER_CLIQ_SECRET or TASKER_CLIQ_PUBLIC_KEY: %v", err)
	}
	cliqClient, err := newCliqClient(cfg, store)
	if err != nil {
		return nil, err
	}
	if cliqClient == nil {
		logger.Info("no Cliq OAuth credentials: dry run, notifications are only written to the outbox log")
	}
	rate := cfg.cliqRate
	aq := asynq.NewClientFromRedisClient(rdb)
	outbox := notify.NewOutbox(rdb, time.Now)
	notifier := notify.New(logger, store, outbox, cliqClient, aq, notify.NewRateLimiter(rdb, time.Now, "cliq", rate), reg, time.Now, notify.Config{
		Bot: cfg.CliqBot, Channel: cfg.CliqChannel, Location: loc, ChannelServes: channelServes(cfg),
	})
	schedule := cfg.retrySchedule
	hooks, err := webhooks.NewService(logger, rdb, store, reg, webhooks.Config{
		Timeout: cfg.WebhookTimeout, Schedule: schedule, DisableAfter: cfg.WebhookDisableAfter,
		AllowPrivate: cfg.WebhookAllowPrivate, OnDisabled: alertOwner(logger, store, notifier),
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	svc.hooks = hooks
	if cfg.WebhookURL != "" {
		if _, err := hooks.EnsureStatic(ctx, tasks.DefaultWorkspace, cfg.WebhookURL, cfg.WebhookSecret); err != nil {
			return nil, fmt.Errorf("config: TASKER_WEBHOOK_URL: %v", err)
		}
	}
	targets := []pipeline.Target{notifier, hooks.Target()}

	router := httprouter.New()
	api.AddOpsRoutes(router, store, reg)
	if roles["api"] {
		api.AddRoutes(router, logger, store, keys)
		bot.AddRoutes(router, logger, store, verifier, bot.Options{
			Tenancy: tasks.Tenancy(cfg.Tenancy), DefaultTimezone: cfg.Timezone, BotName: cfg.CliqBot,
			PublicURL: cfg.PublicURL, Poster: notifier,
			Webhooks: hooks, FunctionOwner: cfg.CliqFunctionOwner,
		})
		api.AddWebhookRoutes(router, logger, hooks, keys)
		api.AddNotificationRoutes(router, logger, outbox, keys)
		incoming := cfg.incomingSecrets
		extension.AddRoutes(router, logger, store, verifier, notifier, keys.Authenticate, extension.Config{
			Tenancy: tasks.Tenancy(cfg.Tenancy), DefaultChannel: cfg.CliqChannel, DefaultTimezone: cfg.Timezone,
			IncomingSecrets: incoming, GitLabToken: cfg.GitLabToken, GitHubSecret: cfg.GitHubSecret,
			MaxBody: int64(cfg.MaxBody), FunctionOwner: cfg.CliqFunctionOwner,
		})
		if err := addConsole(router, logger, store, outbox, hooks, keys, rdb); err != nil {
			return nil, err
		}
	}
	handler, err := api.Middleware(router, logger, reg, int64(cfg.MaxBody))
	if err != nil {
		return nil, err
	}
	// Outermost, so every answer and every log line of a request has its id.
	svc.handler = httpx.RequestID(handler)

	if roles["worker"] {
		svc.disp = pipeline.NewDispatcher(logger, store, aq, targets, reg, pipeline.Options{Consumer: consumerName()})
		svc.workers = asynq.NewServerFromRedisClient(rdb, asynq.Config{
			Concurrency:     10,
			Queues:          map[string]int{pipeline.Queue: 3, notify.Queue: 2, webhooks.Queue: 3},
			ShutdownTimeout: cfg.ShutdownTimeout,
			// asynq's 1 s default wait on empty queues would be most of an
			// event's trip to Cliq or a subscriber; 50 ms polls cost Redis little.
			TaskCheckInterval: 50 * time.Millisecond,
			RetryDelayFunc:    notify.RetryDelay(nil),
			Logger:            asynqLogger{logger},
		})
		svc.mux = asynq.NewServeMux()
		pipeline.Register(svc.mux, targets)
		notifier.Register(svc.mux)
		hooks.Register(svc.mux)
	}
	if roles["scheduler"] {
		svc.sched, err = scheduler.New(logger, store, reg,
			scheduler.WithSpec(cfg.SchedulerSpec), scheduler.WithLocation(loc), scheduler.WithDigestTime(cfg.DigestTime))
		if err != nil {
			return nil, fmt.Errorf("config: TASKER_SCHEDULER_SPEC or TASKER_DIGEST_TIME: %v", err)
		}
	}
	return svc, nil
}

// start runs the background roles; they stop when ctx ends.
func (s *service) start(ctx context.Context, wg *sync.WaitGroup) error {
	if s.workers != nil {
		if err := s.workers.Start(s.mux); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
		wg.Go(func() {
			if err := s.disp.Run(ctx); err != nil {
				s.logger.Error("dispatcher stopped", "err", err)
			}
		})
		wg.Go(func() {
			if err := s.hooks.Run(ctx); err != nil {
				s.logger.Error("webhook lease sweep stopped", "err", err)
			}
		})
	}
	if s.sched != nil {
		s.sched.Start(ctx)
		wg.Go(func() {
			<-ctx.Done()
			<-s.sched.Stop().Done()
		})
		wg.Go(func() { s.sched.Watch(ctx) })
	}
	return nil
}

func (s *service) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// alertOwner tells a disabled webhook endpoint's creator, when linked to
// Cliq, through a bot DM with buttons to retry, inspect and re-enable it.
func alertOwner(logger *slog.Logger, store *tasks.Store, notifier *notify.Notifier) func(context.Context, tasks.WorkspaceID, webhooks.Subscription) {
	return func(ctx context.Context, ws tasks.WorkspaceID, sub webhooks.Subscription) {
		if sub.CreatedBy == nil {
			return
		}
		u, err := store.GetUser(ctx, ws, *sub.CreatedBy)
		if err != nil || u.CliqUserID == nil {
			return
		}
		reason := ""
		if sub.DisabledReason != nil {
			reason = *sub.DisabledReason
		}
		dest := notify.Destination{Kind: notify.DestinationUser, Name: *u.CliqUserID}
		msg := cards.WebhookDisabled(sub.ID, sub.URL, reason)
		if err := notifier.Post(ctx, ws, dest, msg, "webhook-disabled|"+sub.ID+"|"+sub.UpdatedAt.String()); err != nil {
			logger.ErrorContext(ctx, "webhook alert not queued", "webhook_id", sub.ID, "err", err)
		}
	}
}

// newCliqClient returns the Cliq API client, or nil (dry run) without
// OAuth credentials. Its access token is shared by every replica through
// Redis, so a refresh token's mint limit is never exceeded.
func newCliqClient(cfg config, store *tasks.Store) (*cliq.Client, error) {
	if cfg.CliqClientID == "" {
		return nil, nil
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	ts := cliq.NewTokenSource(hc, cliq.OAuthConfig{
		AccountsURL: cfg.CliqAccountsURL, ClientID: cfg.CliqClientID,
		ClientSecret: cfg.CliqClientSecret, RefreshToken: cfg.CliqRefreshToken,
	}, store.TokenCache(cfg.CliqClientID), time.Now)
	client, err := cliq.NewClient(&http.Client{Timeout: 30 * time.Second, Transport: &cliq.Transport{Source: ts}}, cfg.CliqAPIURL)
	if err != nil {
		return nil, fmt.Errorf("config: TASKER_CLIQ_API_URL: %v", err)
	}
	client.FunctionOwner = cfg.CliqFunctionOwner
	return client, nil
}

// channelServes says which workspaces TASKER_CLIQ_CHANNEL serves: every
// organisation's in org tenancy, only the default one in single (SPEC 12).
func channelServes(cfg config) func(tasks.WorkspaceID) bool {
	if tasks.Tenancy(cfg.Tenancy) == tasks.OrgTenancy {
		return func(tasks.WorkspaceID) bool { return true }
	}
	return nil
}

// devSecret is a random secret for development mode.
func devSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// consumerName identifies this process in the dispatcher's consumer group.
func consumerName() string {
	host, _ := os.Hostname()
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + devSecret()[:6]
}

// asynqLogger sends asynq's own messages to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
