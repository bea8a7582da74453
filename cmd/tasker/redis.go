package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// newRedis connects to the configured Redis: Cluster seeds, Sentinels, a
// URL, or, with none of them, an embedded in-memory server. The returned
// close function releases the client and the embedded server.
func newRedis(ctx context.Context, cfg config, logger *slog.Logger) (redis.UniversalClient, func(), error) {
	redis.SetLogger(redisLogger{logger})
	var rdb redis.UniversalClient
	var embedded *miniredis.Miniredis
	switch {
	case cfg.RedisCluster != "":
		opt := &redis.ClusterOptions{Addrs: splitList(cfg.RedisCluster)}
		if cfg.RedisURL != "" {
			u, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return nil, nil, fmt.Errorf("config: TASKER_REDIS_URL: %v", err)
			}
			opt.Username, opt.Password, opt.TLSConfig = u.Username, u.Password, u.TLSConfig
		}
		rdb = redis.NewClusterClient(opt)
	case cfg.RedisSentinels != "":
		opt := &redis.FailoverOptions{MasterName: cfg.RedisMaster, SentinelAddrs: splitList(cfg.RedisSentinels)}
		if cfg.RedisURL != "" {
			u, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return nil, nil, fmt.Errorf("config: TASKER_REDIS_URL: %v", err)
			}
			opt.Username, opt.Password, opt.DB, opt.TLSConfig = u.Username, u.Password, u.DB, u.TLSConfig
		}
		rdb = redis.NewFailoverClient(opt)
	case cfg.RedisURL != "":
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("config: TASKER_REDIS_URL: not a Redis URL")
		}
		rdb = redis.NewClient(opt)
	default:
		embedded = miniredis.NewMiniRedis()
		if err := embedded.Start(); err != nil {
			return nil, nil, fmt.Errorf("start embedded redis: %w", err)
		}
		logger.Warn("no TASKER_REDIS_URL: using an embedded in-memory Redis; data will not survive a restart")
		rdb = redis.NewClient(&redis.Options{Addr: embedded.Addr()})
	}
	stopClock := func() {}
	if embedded != nil {
		stopClock = runClock(embedded)
	}
	closeAll := func() {
		stopClock()
		rdb.Close()
		if embedded != nil {
			embedded.Close()
		}
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	return rdb, closeAll, nil
}

// embeddedClock moves the embedded server's clock, which never moves by
// itself, so that keys expire as in Redis: replay guards, idempotency keys
// and delivery logs would otherwise pile up for as long as it runs.
type embeddedClock struct {
	m    *miniredis.Miniredis
	last time.Time
}

// advance lets the time since the last call pass on the server.
func (c *embeddedClock) advance(now time.Time) {
	if d := now.Sub(c.last); d > 0 {
		c.m.FastForward(d)
		c.last = now
	}
}

// runClock advances m's clock every second until the returned stop is
// called.
func runClock(m *miniredis.Miniredis) (stop func()) {
	c := &embeddedClock{m: m, last: time.Now()}
	ticker := time.NewTicker(time.Second)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				c.advance(now)
			}
		}
	})
	return func() {
		ticker.Stop()
		close(done)
		wg.Wait()
	}
}

// redisLogger sends go-redis' own messages (reconnects, pool trouble) to
// the service's log as structured warnings, instead of raw lines on stderr
// that a JSON log would not parse.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
