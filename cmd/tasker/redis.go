package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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
	// The URL carries the address, or with Cluster and Sentinel just the
	// credentials and TLS. Its parse error is not shown: it quotes the URL,
	// password and all.
	var u *redis.Options
	if cfg.RedisURL != "" {
		var err error
		if u, err = redis.ParseURL(cfg.RedisURL); err != nil {
			return nil, nil, errors.New("config: TASKER_REDIS_URL: not a Redis URL")
		}
	}
	var rdb redis.UniversalClient
	var embedded *miniredis.Miniredis
	switch {
	case cfg.RedisCluster != "":
		opt := &redis.ClusterOptions{Addrs: splitList(cfg.RedisCluster)}
		if u != nil {
			opt.Username, opt.Password, opt.TLSConfig = u.Username, u.Password, u.TLSConfig
		}
		rdb = redis.NewClusterClient(opt)
	case cfg.RedisSentinels != "":
		opt := &redis.FailoverOptions{MasterName: cfg.RedisMaster, SentinelAddrs: splitList(cfg.RedisSentinels)}
		if u != nil {
			opt.Username, opt.Password, opt.DB, opt.TLSConfig = u.Username, u.Password, u.DB, u.TLSConfig
		}
		if cfg.RedisWaitReplicas > 0 {
			opt.ReadTimeout = waitReadTimeout(opt.ReadTimeout, cfg.RedisWaitTimeout)
		}
		rdb = redis.NewFailoverClient(opt)
	case u != nil:
		if cfg.RedisWaitReplicas > 0 {
			u.ReadTimeout = waitReadTimeout(u.ReadTimeout, cfg.RedisWaitTimeout)
		}
		rdb = redis.NewClient(u)
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
	if cfg.RedisWaitReplicas > 0 {
		// Only a URL's client and Sentinel's failover client are one
		// *redis.Client whose connections a WAIT can follow a write on.
		c, ok := rdb.(*redis.Client)
		if !ok || embedded != nil {
			closeAll()
			return nil, nil, errors.New("config: TASKER_REDIS_WAIT_REPLICAS: needs TASKER_REDIS_URL or TASKER_REDIS_SENTINELS")
		}
		if err := addReplicaWait(ctx, c, cfg.RedisWaitReplicas, cfg.RedisWaitTimeout, logger); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	return rdb, closeAll, nil
}

// waitReadTimeout is the read timeout of a client whose writes WAIT
// follows: its own (rt, go-redis' 3 s when 0) plus the WAIT's, which may
// block that long. A shorter one times the pipeline out, and go-redis
// sends a timed-out pipeline again, the write with it.
func waitReadTimeout(rt, wait time.Duration) time.Duration {
	switch {
	case rt < 0: // no timeout at all
		return rt
	case rt == 0:
		rt = 3 * time.Second
	}
	return rt + wait
}

// errNotReplicated is the error of a write that the master applied but
// fewer replicas than asked confirmed within the timeout. The write may
// survive or not: to the caller it failed, and a retry with the same
// Idempotency-Key is safe.
var errNotReplicated = errors.New("redis: write not confirmed by enough replicas")

// replicaWait is the go-redis hook that sends WAIT after every command
// that may write, on the same connection (WAIT counts the replicas that
// have that connection's writes), and fails the write when fewer than n
// replicas confirm it within timeout. Commands the server marks read-only
// pass alone.
type replicaWait struct {
	c       *redis.Client
	n       int
	timeout time.Duration
	// readOnly holds the read-only commands, a container's subcommands as
	// "xinfo|groups": the container itself (XINFO, CONFIG) has no flags.
	readOnly  map[string]bool
	container map[string]bool
}

// waited marks a context whose commands already carry their WAIT, so the
// hook's own pipelines and connections pass through it untouched.
type waited struct{}

// addReplicaWait installs replicaWait on c, reading which commands are
// read-only from the server, and warns when the master has fewer replicas
// than asked: every write would then fail.
func addReplicaWait(ctx context.Context, c *redis.Client, n int, timeout time.Duration, logger *slog.Logger) error {
	cmds, err := c.Do(ctx, "command").Slice()
	if err != nil {
		return fmt.Errorf("redis: read the command table for TASKER_REDIS_WAIT_REPLICAS: %w", err)
	}
	w := &replicaWait{c: c, n: n, timeout: timeout, readOnly: make(map[string]bool), container: make(map[string]bool)}
	for _, info := range cmds {
		name, subs := w.addCommand(info)
		for _, sub := range subs {
			w.addCommand(sub)
			w.container[name] = true
		}
	}
	for _, name := range []string{"ping", "echo", "hello", "auth", "select", "client", "info", "command", "time", "role", "wait", "quit",
		"multi", "exec", "discard", "watch", "unwatch"} {
		w.readOnly[name] = true // chatter and transaction brackets: a transaction writes if what it queues does
	}
	if replicas, err := connectedReplicas(ctx, c); err == nil && replicas < n {
		logger.Warn("fewer replicas than TASKER_REDIS_WAIT_REPLICAS: writes fail until they connect",
			"replicas", replicas, "wait_replicas", n)
	}
	c.AddHook(w)
	return nil
}

// addCommand records whether the command of one COMMAND entry (name,
// arity, flags, …, subcommands from Redis 7) is read-only, and returns its
// name and subcommands' entries.
func (w *replicaWait) addCommand(entry any) (name string, subs []any) {
	fields, _ := entry.([]any)
	if len(fields) < 3 {
		return "", nil
	}
	name, _ = fields[0].(string)
	name = strings.ToLower(name)
	flags, _ := fields[2].([]any)
	w.readOnly[name] = slices.Contains(flags, any("readonly"))
	if len(fields) > 9 {
		subs, _ = fields[9].([]any)
	}
	return name, subs
}

// connectedReplicas reads how many replicas the master has.
func connectedReplicas(ctx context.Context, c *redis.Client) (int, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(parseInfo(info)["connected_slaves"])
}

func (w *replicaWait) writes(cmd redis.Cmder) bool {
	name := cmd.Name()
	if w.readOnly[name] {
		return false
	}
	if args := cmd.Args(); w.container[name] && len(args) > 1 {
		sub, _ := args[1].(string)
		return !w.readOnly[name+"|"+strings.ToLower(sub)]
	}
	return true
}

func (w *replicaWait) anyWrite(cmds []redis.Cmder) bool {
	return slices.ContainsFunc(cmds, w.writes)
}

func (w *replicaWait) waitCmd(ctx context.Context) *redis.IntCmd {
	return redis.NewIntCmd(ctx, "wait", w.n, w.timeout.Milliseconds())
}

// DialHook implements redis.Hook.
func (w *replicaWait) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook: a write and its WAIT go out as one
// pipeline, on one connection, in one round trip.
func (w *replicaWait) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(waited{}) != nil || !w.writes(cmd) {
			return next(ctx, cmd)
		}
		ctx = context.WithValue(ctx, waited{}, true)
		wait := w.waitCmd(ctx)
		pipe := w.c.Pipeline()
		_ = pipe.Process(ctx, cmd)
		_ = pipe.Process(ctx, wait)
		_, _ = pipe.Exec(ctx)
		if err := w.verdict([]redis.Cmder{cmd}, wait); err != nil {
			return err
		}
		return cmd.Err()
	}
}

// ProcessPipelineHook implements redis.Hook: WAIT rides at the end of a
// pipeline that writes. go-redis sends transactions (MULTI, the commands,
// EXEC) through this hook too.
func (w *replicaWait) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(waited{}) != nil || !w.anyWrite(cmds) {
			return next(ctx, cmds)
		}
		if isTx(cmds) {
			return w.tx(ctx, cmds[1:len(cmds)-1])
		}
		wait := w.waitCmd(ctx)
		err := next(ctx, append(cmds[:len(cmds):len(cmds)], wait))
		if verr := w.verdict(cmds, wait); verr != nil {
			return verr
		}
		return err
	}
}

// ProcessTxPipelineHook implements redis.Hook, for go-redis versions that
// send transactions through it.
func (w *replicaWait) ProcessTxPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return w.ProcessPipelineHook(next)
}

func isTx(cmds []redis.Cmder) bool {
	return len(cmds) >= 2 && cmds[0].Name() == "multi" && cmds[len(cmds)-1].Name() == "exec"
}

// tx runs the queued commands of a transaction and then WAIT. The replies
// of MULTI…EXEC are read as one block that WAIT cannot join, so both go on
// a connection of their own: two round trips.
func (w *replicaWait) tx(ctx context.Context, queued []redis.Cmder) error {
	ctx = context.WithValue(ctx, waited{}, true)
	conn := w.c.Conn()
	defer conn.Close()
	_, err := conn.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, cmd := range queued {
			_ = p.Process(ctx, cmd)
		}
		return nil
	})
	wait := w.waitCmd(ctx)
	_ = conn.Process(ctx, wait)
	if verr := w.verdict(queued, wait); verr != nil {
		return verr
	}
	return err
}

// verdict fails the writes among cmds that succeeded when wait did not
// count n replicas; it leaves failed commands their own error.
func (w *replicaWait) verdict(cmds []redis.Cmder, wait *redis.IntCmd) error {
	got, err := wait.Result()
	if err == nil && got >= int64(w.n) {
		return nil
	}
	short := fmt.Errorf("%w: %d of %d within %s", errNotReplicated, got, w.n, w.timeout)
	if err != nil {
		short = fmt.Errorf("%w: %w", errNotReplicated, err)
	}
	var first error
	for _, cmd := range cmds {
		if e := cmd.Err(); w.writes(cmd) && (e == nil || errors.Is(e, redis.Nil)) {
			cmd.SetErr(short)
			first = short
		}
	}
	return first
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
