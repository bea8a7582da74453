package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/deluge"
	"github.com/taskerhq/tasker/notify"
)

const doctorUsage = `usage: tasker doctor

Checks this deployment, one line per check, ✓ or ✗ with what to do about a ✗:
the configuration, Redis (reachable, version, persistence), OAuth (a token can
be had, the read scopes are granted), the bot and the default channel exist in
Cliq, TASKER_PUBLIC_URL is https on a public host, and the clock agrees with
Zoho's. Exit status 0 only when every check passes.
`

// minRedis is the oldest Redis the service runs on: the dispatcher's
// XAUTOCLAIM came in 6.2.
var minRedis = [2]int{6, 2}

// maxSkew is the clock difference doctor accepts; the forwarders'
// signatures allow 300 s (SPEC 4.1), and the scheduler wants less.
const maxSkew = 30 * time.Second

// runDoctor is `tasker doctor`.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprint(stderr, doctorUsage)
		return fmt.Errorf("doctor: unexpected argument %q", args[0])
	}
	cfg, err := loadConfig()
	return doctor(ctx, cfg, err, realEnv(), stdout)
}

// checkup prints check lines and counts failures.
type checkup struct {
	out    io.Writer
	failed int
}

func (c *checkup) pass(name, detail string) {
	fmt.Fprintf(c.out, "✓ %s: %s\n", name, detail)
}

func (c *checkup) fail(name, detail, fix string) {
	c.failed++
	fmt.Fprintf(c.out, "✗ %s: %s\n    fix: %s\n", name, detail, fix)
}

// doctor runs every check; cfgErr is loading the configuration's error.
func doctor(ctx context.Context, cfg config, cfgErr error, env provisionEnv, out io.Writer) error {
	c := &checkup{out: out}
	if cfgErr != nil {
		c.fail("configuration", cfgErr.Error(), "correct the variable it names (README.md, \"Configuration\") and run tasker doctor again")
		return fmt.Errorf("doctor: %d check failed", c.failed)
	}
	c.pass("configuration", "every TASKER_* variable parses")
	if cfg.CliqSecret == "" {
		c.fail("forwarder secret", "TASKER_CLIQ_SECRET is empty, so each start makes up a new one and the Deluge scripts stop matching",
			"set TASKER_CLIQ_SECRET to a long random string (openssl rand -hex 32), then run tasker install")
	} else {
		c.pass("forwarder secret", "TASKER_CLIQ_SECRET is set")
	}
	rdb := checkRedis(ctx, c, cfg)
	if rdb != nil {
		defer rdb.Close()
	}
	checkPublicURL(c, cfg)
	checkClock(ctx, c, cfg, env)
	if cfg.CliqClientID == "" {
		c.fail("oauth", "no Cliq OAuth credentials: nothing is sent to Cliq (notifications only reach the outbox log)",
			"create a self-client and set TASKER_CLIQ_CLIENT_ID, TASKER_CLIQ_CLIENT_SECRET and TASKER_CLIQ_REFRESH_TOKEN (README.md, \"Setting up Cliq\")")
	} else if rdb == nil {
		c.fail("oauth", "not checked: the access token is cached in Redis, which is not reachable", "fix Redis first")
	} else {
		checkCliq(ctx, c, cfg, env, rdb)
	}
	if c.failed > 0 {
		return fmt.Errorf("doctor: %d checks failed", c.failed)
	}
	fmt.Fprintln(out, "all checks pass")
	return nil
}

// checkRedis checks that Redis answers, its version and its persistence,
// and returns the client (nil when unreachable).
func checkRedis(ctx context.Context, c *checkup, cfg config) redis.UniversalClient {
	if !hasRedis(cfg) {
		c.fail("redis", "no TASKER_REDIS_URL: the service runs on an embedded in-memory Redis and loses every task on exit",
			"set TASKER_REDIS_URL=redis://HOST:6379/0 (or the Sentinel or Cluster variables)")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rdb, closeRedis, err := newRedis(ctx, cfg, quietLogger())
	if err != nil {
		c.fail("redis", "not reachable: "+err.Error(), "start Redis or correct TASKER_REDIS_URL (host, port, password, TLS with rediss://)")
		return nil
	}
	_ = closeRedis // rdb.Close does the same for a configured server
	info, err := rdb.Info(ctx, "server", "persistence", "replication").Result()
	if err != nil {
		c.fail("redis", "INFO refused: "+err.Error(), "allow the INFO command for the service's Redis user")
		return rdb
	}
	fields := parseInfo(info)
	ver := fields["redis_version"]
	if !versionAtLeast(ver, minRedis) {
		c.fail("redis version", "Redis "+ver, fmt.Sprintf("upgrade to Redis %d.%d or later (the event dispatcher uses XAUTOCLAIM)", minRedis[0], minRedis[1]))
	} else {
		c.pass("redis version", "Redis "+ver)
	}
	aof := fields["aof_enabled"] == "1"
	rdbOn := false
	if save, err := rdb.ConfigGet(ctx, "save").Result(); err == nil {
		rdbOn = strings.TrimSpace(save["save"]) != ""
	}
	switch {
	case aof && rdbOn:
		c.pass("redis persistence", "AOF and RDB snapshots on")
	case aof:
		c.pass("redis persistence", "AOF on")
	case rdbOn:
		c.pass("redis persistence", "RDB snapshots on (AOF loses less: appendonly yes)")
	default:
		c.fail("redis persistence", "neither AOF nor RDB snapshots are on (or CONFIG is not allowed to tell): a restart loses every task",
			"turn on AOF: CONFIG SET appendonly yes, and appendonly yes in redis.conf")
	}
	if n := cfg.RedisWaitReplicas; n > 0 {
		// Every write waits for n replicas: with fewer connected, every
		// write fails.
		got, err := strconv.Atoi(fields["connected_slaves"])
		switch {
		case err != nil:
			c.fail("redis replicas", "INFO replication does not say how many replicas are connected",
				"allow INFO replication for the service's Redis user, or set TASKER_REDIS_WAIT_REPLICAS=0")
		case got < n:
			more := fmt.Sprintf("%d more replicas", n-got)
			if n-got == 1 {
				more = "1 more replica"
			}
			c.fail("redis replicas", fmt.Sprintf("%d connected, but TASKER_REDIS_WAIT_REPLICAS=%d: every write fails until %d are", got, n, n),
				"connect "+more+" to the master, or lower TASKER_REDIS_WAIT_REPLICAS")
		default:
			c.pass("redis replicas", fmt.Sprintf("%d connected; writes wait for %d", got, n))
		}
	}
	return rdb
}

// parseInfo reads INFO's "key:value" lines.
func parseInfo(info string) map[string]string {
	out := make(map[string]string)
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// versionAtLeast compares "7.2.4" with a major and minor.
func versionAtLeast(v string, want [2]int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > want[0] || (major == want[0] && minor >= want[1])
}

func checkPublicURL(c *checkup, cfg config) {
	warnings := deluge.Warnings(cfg.PublicURL)
	if len(warnings) == 0 {
		c.pass("public URL", cfg.PublicURL+" is https on a public host")
		return
	}
	for _, w := range warnings {
		c.fail("public URL", w, "set TASKER_PUBLIC_URL to the https URL Cliq reaches this service at (a TLS proxy or tunnel), then run tasker install")
	}
}

func checkClock(ctx context.Context, c *checkup, cfg config, env provisionEnv) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: env.base}
	date, err := cliq.ServerDate(ctx, hc, cfg.CliqAPIURL)
	if err != nil {
		c.fail("clock", "cannot read Zoho's clock: "+err.Error(), "check that this host reaches TASKER_CLIQ_API_URL ("+cfg.CliqAPIURL+")")
		return
	}
	skew := env.now().Sub(date)
	if skew < 0 {
		skew = -skew
	}
	// The Date header has whole seconds.
	if skew > maxSkew {
		c.fail("clock", fmt.Sprintf("this host's clock is %s off Zoho's", skew.Round(time.Second)),
			"synchronise the clock with NTP (timedatectl set-ntp true); signed requests and reminders depend on it")
		return
	}
	c.pass("clock", fmt.Sprintf("within %s of Zoho's", maxSkew))
}

// checkCliq checks OAuth, the read scopes, the bot and the channel.
func checkCliq(ctx context.Context, c *checkup, cfg config, env provisionEnv, rdb redis.UniversalClient) {
	ts, hc := newCliqAuth(cfg, rdb, env)
	if _, err := ts.Token(ctx); err != nil {
		fix := "check TASKER_CLIQ_ACCOUNTS_URL / TASKER_CLIQ_DC and that this host reaches Zoho Accounts"
		if te, ok := errors.AsType[*cliq.TokenError](err); ok {
			switch {
			case te.Code == "invalid_client":
				fix = "check TASKER_CLIQ_CLIENT_ID and TASKER_CLIQ_CLIENT_SECRET, and that TASKER_CLIQ_DC is the data centre the self-client lives in"
			case te.Code == "invalid_code":
				fix = "the refresh token is wrong or revoked: generate a new grant code for the self-client (README.md, \"Setting up Cliq\") and set TASKER_CLIQ_REFRESH_TOKEN"
			case te.Temporary():
				fix = "Zoho refuses new tokens for now (10 per 10 minutes per refresh token): wait 10 minutes and run tasker doctor again"
			}
		}
		c.fail("oauth", "no access token: "+err.Error(), fix)
		return
	}
	c.pass("oauth", "an access token can be had")
	client, err := cliq.NewClient(hc, cfg.CliqAPIURL)
	if err != nil {
		c.fail("oauth", err.Error(), "correct TASKER_CLIQ_API_URL")
		return
	}
	// List calls allow 30 a minute; doctor makes five.
	pacer, err := sharedPacer(ctx, rdb, env, notify.Rate{N: 30, Per: time.Minute})
	if err != nil {
		c.fail("cliq api", err.Error(), "report this as a bug")
		return
	}
	p := cliq.NewProvisioner(client, pacer)
	var missing []string
	var bots []cliq.Component
	for _, res := range []cliq.Resource{cliq.Bots, cliq.Commands, cliq.Functions, cliq.MessageActions} {
		list, err := p.List(ctx, res)
		switch {
		case cliq.IsScopeError(err):
			missing = append(missing, res.Scope(http.MethodGet, false))
		case err != nil:
			c.fail("cliq api", "list "+string(res)+": "+err.Error(), "check TASKER_CLIQ_API_URL / TASKER_CLIQ_DC and Zoho's status page")
			return
		case res == cliq.Bots:
			bots = list
		}
	}
	channelFound, chErr := false, error(nil)
	if cfg.CliqChannel != "" {
		channelFound, chErr = client.ChannelExists(ctx, cfg.CliqChannel)
		if cliq.IsScopeError(chErr) {
			missing = append(missing, "ZohoCliq.Channels.READ")
		}
	}
	if len(missing) > 0 {
		c.fail("oauth scopes", "the token lacks "+strings.Join(missing, ", "),
			"generate a new grant code for the self-client with every scope README.md lists (\"Setting up Cliq\") and set TASKER_CLIQ_REFRESH_TOKEN")
	} else {
		c.pass("oauth scopes", "the read scopes are granted (CREATE, UPDATE and DELETE show only when used: tasker install names any missing one)")
	}
	if !slices.Contains(missing, "ZohoCliq.Bots.READ") {
		if slices.ContainsFunc(bots, func(b cliq.Component) bool { return b.UniqueName == cfg.CliqBot }) {
			c.pass("bot", "the bot "+cfg.CliqBot+" exists")
		} else {
			c.fail("bot", "no bot with unique name "+cfg.CliqBot+" is visible to the token's user",
				"run tasker install, or set TASKER_CLIQ_BOT to the unique name of the bot you made by hand")
		}
	}
	switch {
	case cfg.CliqChannel == "":
		c.pass("channel", "no TASKER_CLIQ_CHANNEL: channel notifications are off")
	case cliq.IsScopeError(chErr):
	case chErr != nil:
		c.fail("channel", "cannot list channels: "+chErr.Error(), "check TASKER_CLIQ_API_URL and Zoho's status page")
	case channelFound:
		c.pass("channel", "the channel "+cfg.CliqChannel+" exists")
	default:
		c.fail("channel", "no channel with unique name "+cfg.CliqChannel+" is visible to the token's user",
			"create the channel in Cliq (or correct TASKER_CLIQ_CHANNEL to its unique name) and add the bot "+cfg.CliqBot+" to it")
	}
}
