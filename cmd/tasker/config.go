package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/robfig/cron/v3"

	"github.com/taskerhq/tasker/api"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/extension"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// config comes from TASKER_* variables (SPEC section 3). No Zoho URL is
// hard-coded: they derive from the data centre unless overridden.
type config struct {
	Addr      string `default:":8080"`
	PublicURL string `envconfig:"PUBLIC_URL" default:"http://localhost:8080"`
	Roles     string `default:"api,worker,scheduler"`

	RedisURL       string `envconfig:"REDIS_URL"` // empty: embedded in-memory Redis
	RedisSentinels string `envconfig:"REDIS_SENTINELS"`
	RedisMaster    string `envconfig:"REDIS_MASTER"`
	RedisCluster   string `envconfig:"REDIS_CLUSTER"`
	// RedisWaitReplicas > 0 makes every write wait, up to RedisWaitTimeout,
	// until that many replicas have it (redis.go, README "Redis").
	RedisWaitReplicas int           `envconfig:"REDIS_WAIT_REPLICAS" default:"0"`
	RedisWaitTimeout  time.Duration `envconfig:"REDIS_WAIT_TIMEOUT" default:"1s"`

	Tenancy    string `default:"single"`
	APIKeys    string `envconfig:"API_KEYS"`
	CliqSecret string `envconfig:"CLIQ_SECRET"`

	CliqDC            string `envconfig:"CLIQ_DC" default:"com"`
	CliqAPIURL        string `envconfig:"CLIQ_API_URL"`
	CliqAccountsURL   string `envconfig:"CLIQ_ACCOUNTS_URL"`
	CliqClientID      string `envconfig:"CLIQ_CLIENT_ID"`
	CliqClientSecret  string `envconfig:"CLIQ_CLIENT_SECRET"`
	CliqRefreshToken  string `envconfig:"CLIQ_REFRESH_TOKEN"`
	CliqBot           string `envconfig:"CLIQ_BOT" default:"taskerbot"`
	CliqPublicKey     string `envconfig:"CLIQ_PUBLIC_KEY"`
	CliqRate          string `envconfig:"CLIQ_RATE" default:"18/min"`
	CliqChannel       string `envconfig:"CLIQ_CHANNEL"`
	CliqFunctionOwner string `envconfig:"CLIQ_FUNCTION_OWNER"`
	CliqInstallRate   string `envconfig:"CLIQ_INSTALL_RATE" default:"10/min"` // pace of tasker install's calls, all together (SPEC 14)

	Timezone      string        `default:"UTC"`
	ReminderLead  time.Duration `envconfig:"REMINDER_LEAD" default:"1h"`
	SchedulerSpec string        `envconfig:"SCHEDULER_SPEC" default:"@every 1m"`
	DigestTime    string        `envconfig:"DIGEST_TIME" default:"09:00"`

	WebhookTimeout       time.Duration `envconfig:"WEBHOOK_TIMEOUT" default:"10s"`
	WebhookRetrySchedule string        `envconfig:"WEBHOOK_RETRY_SCHEDULE" default:"5s,5m,30m,2h,5h,10h,10h"`
	WebhookDisableAfter  int           `envconfig:"WEBHOOK_DISABLE_AFTER" default:"5"`
	WebhookAllowPrivate  bool          `envconfig:"WEBHOOK_ALLOW_PRIVATE" default:"false"`
	WebhookURL           string        `envconfig:"WEBHOOK_URL"`
	WebhookSecret        string        `envconfig:"WEBHOOK_SECRET"`

	IncomingSecret string `envconfig:"INCOMING_SECRET"`
	GitLabToken    string `envconfig:"GITLAB_TOKEN"`
	GitHubSecret   string `envconfig:"GITHUB_SECRET"`

	MaxBody         byteSize      `envconfig:"MAX_BODY" default:"1MiB"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s"`
	LogLevel        slog.Level    `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat       string        `envconfig:"LOG_FORMAT" default:"text"`

	// What validate parsed, for the commands to use as it is: envconfig
	// leaves unexported fields alone.
	roleSet         map[string]bool
	location        *time.Location
	cliqRate        notify.Rate
	installRate     notify.Rate
	retrySchedule   []time.Duration
	incomingSecrets []extension.IncomingSecret
}

// secretVars are never echoed in an error message.
var secretVars = map[string]bool{
	"TASKER_API_KEYS": true, "TASKER_CLIQ_SECRET": true, "TASKER_CLIQ_CLIENT_SECRET": true,
	"TASKER_CLIQ_REFRESH_TOKEN": true, "TASKER_WEBHOOK_SECRET": true, "TASKER_INCOMING_SECRET": true,
	"TASKER_GITLAB_TOKEN": true, "TASKER_GITHUB_SECRET": true, "TASKER_REDIS_URL": true,
}

// loadConfig reads the environment through lookup-free envconfig and
// validates every value, answering with one line naming the variable.
func loadConfig() (config, error) {
	var cfg config
	if err := envconfig.Process("TASKER", &cfg); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			if secretVars[pe.KeyName] {
				return cfg, fmt.Errorf("config: %s: invalid value", pe.KeyName)
			}
			return cfg, fmt.Errorf("config: %s: invalid value %q: %s", pe.KeyName, pe.Value, wantOf(pe))
		}
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, cfg.validate()
}

// wantOf says what a variable that failed to parse should look like: our
// own types say it in their error, Go's in words rather than type names.
func wantOf(pe *envconfig.ParseError) string {
	switch pe.TypeName {
	case "time.Duration":
		return "want a duration such as 10s, 5m or 1h"
	case "int", "int64":
		return "want a whole number"
	case "bool":
		return "want true or false"
	}
	return pe.Err.Error()
}

var digestRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// validate checks what envconfig's types cannot.
func (c *config) validate() error {
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("config: TASKER_%s: "+format, append([]any{name}, args...)...)
	}
	var err error
	if c.roleSet, err = c.roles(); err != nil {
		return bad("ROLES", "%v", err)
	}
	if err := checkURL(c.PublicURL, "http", "https"); err != nil {
		return bad("PUBLIC_URL", "%v", err)
	}
	if c.RedisURL != "" {
		if err := checkURL(c.RedisURL, "redis", "rediss", "unix"); err != nil {
			return bad("REDIS_URL", "must be a redis://, rediss:// or unix:// URL")
		}
	}
	if (c.RedisSentinels == "") != (c.RedisMaster == "") {
		return bad("REDIS_MASTER", "TASKER_REDIS_SENTINELS and TASKER_REDIS_MASTER go together")
	}
	if c.RedisWaitReplicas < 0 {
		return bad("REDIS_WAIT_REPLICAS", "must not be negative")
	}
	if c.RedisWaitReplicas > 0 {
		switch {
		case c.RedisCluster != "":
			return bad("REDIS_WAIT_REPLICAS", "is not supported with TASKER_REDIS_CLUSTER (set it to 0)")
		case c.RedisURL == "" && c.RedisSentinels == "":
			return bad("REDIS_WAIT_REPLICAS", "needs TASKER_REDIS_URL or TASKER_REDIS_SENTINELS: the embedded Redis has no replicas")
		case c.RedisWaitTimeout < time.Millisecond:
			// WAIT takes whole milliseconds, and 0 makes it block for ever.
			return bad("REDIS_WAIT_TIMEOUT", "must be positive, at least 1ms")
		}
	}
	switch tasks.Tenancy(c.Tenancy) {
	case tasks.SingleTenancy, tasks.OrgTenancy:
	default:
		return bad("TENANCY", "must be single or org, not %q", c.Tenancy)
	}
	if o := c.CliqFunctionOwner; o != "" {
		if _, err := mail.ParseAddress(o); err != nil || strings.ContainsAny(o, "<> ") {
			return bad("CLIQ_FUNCTION_OWNER", "must be the email address of the Cliq user who owns the functions, e.g. admin@example.com")
		}
	}
	dc, err := cliq.LookupDataCenter(c.CliqDC)
	if err != nil {
		return bad("CLIQ_DC", "unknown data centre %q (com, eu, in, com.au, jp, ca, sa, com.cn, uk)", c.CliqDC)
	}
	if c.CliqAPIURL == "" {
		c.CliqAPIURL = dc.APIURL
	}
	if c.CliqAccountsURL == "" {
		c.CliqAccountsURL = dc.AccountsURL
	}
	if err := checkURL(c.CliqAPIURL, "http", "https"); err != nil {
		return bad("CLIQ_API_URL", "%v", err)
	}
	if err := checkURL(c.CliqAccountsURL, "http", "https"); err != nil {
		return bad("CLIQ_ACCOUNTS_URL", "%v", err)
	}
	creds := []string{c.CliqClientID, c.CliqClientSecret, c.CliqRefreshToken}
	if set := countSet(creds); set != 0 && set != len(creds) {
		return bad("CLIQ_REFRESH_TOKEN", "TASKER_CLIQ_CLIENT_ID, TASKER_CLIQ_CLIENT_SECRET and TASKER_CLIQ_REFRESH_TOKEN go together")
	}
	if c.CliqPublicKey != "" {
		if _, err := cliq.ParsePublicKey([]byte(c.CliqPublicKey)); err != nil {
			return bad("CLIQ_PUBLIC_KEY", "not a PEM public key")
		}
	}
	if strings.TrimSpace(c.CliqBot) == "" {
		return bad("CLIQ_BOT", "must not be empty")
	}
	if c.location, err = time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" || c.Timezone == "Local" {
		return bad("TIMEZONE", "unknown timezone %q", c.Timezone)
	}
	if c.ReminderLead < 0 {
		return bad("REMINDER_LEAD", "must not be negative")
	}
	if _, err := cron.ParseStandard(c.SchedulerSpec); err != nil {
		return bad("SCHEDULER_SPEC", "not a cron spec: %v", err)
	}
	if c.DigestTime != "" && !digestRe.MatchString(c.DigestTime) {
		return bad("DIGEST_TIME", "must be HH:MM, not %q", c.DigestTime)
	}
	if c.WebhookTimeout <= 0 {
		return bad("WEBHOOK_TIMEOUT", "must be positive")
	}
	if c.retrySchedule, err = webhooks.ParseSchedule(c.WebhookRetrySchedule); err != nil {
		return bad("WEBHOOK_RETRY_SCHEDULE", "must be a comma list of durations such as 5s,5m,30m")
	}
	if c.WebhookDisableAfter < 1 {
		return bad("WEBHOOK_DISABLE_AFTER", "must be at least 1")
	}
	if c.WebhookURL != "" {
		if err := checkURL(c.WebhookURL, "http", "https"); err != nil {
			return bad("WEBHOOK_URL", "%v", err)
		}
	}
	if c.installRate, err = notify.ParseRate(c.CliqInstallRate); err != nil {
		return bad("CLIQ_INSTALL_RATE", "must be a rate such as 10/min, not %q", c.CliqInstallRate)
	}
	if c.cliqRate, err = notify.ParseRate(c.CliqRate); err != nil {
		return bad("CLIQ_RATE", "must be a rate such as 18/min, not %q", c.CliqRate)
	}
	if c.APIKeys != "" {
		if _, err := api.ParseKeys(c.APIKeys); err != nil {
			return bad("API_KEYS", "%v", err)
		}
	}
	if c.incomingSecrets, err = extension.ParseIncomingSecrets(c.IncomingSecret); err != nil {
		return bad("INCOMING_SECRET", "must be a comma list of SECRET or SECRET@WORKSPACE")
	}
	if c.MaxBody < 1024 {
		return bad("MAX_BODY", "must be at least 1KiB")
	}
	if c.ShutdownTimeout <= 0 {
		return bad("SHUTDOWN_TIMEOUT", "must be positive")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return bad("LOG_FORMAT", "must be text or json, not %q", c.LogFormat)
	}
	return nil
}

// roles parses TASKER_ROLES into a set.
func (c *config) roles() (map[string]bool, error) {
	out := make(map[string]bool)
	for _, r := range strings.Split(c.Roles, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "api", "worker", "scheduler":
			out[r] = true
		case "":
		default:
			return nil, fmt.Errorf("unknown role %q (api, worker, scheduler)", r)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no role given")
	}
	return out, nil
}

func countSet(vals []string) int {
	n := 0
	for _, v := range vals {
		if v != "" {
			n++
		}
	}
	return n
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	for _, s := range schemes {
		if u.Scheme == s && (u.Host != "" || s == "unix") {
			return nil
		}
	}
	return fmt.Errorf("must be a %s URL", strings.Join(schemes, " or "))
}

// byteSize is a size such as 1MiB, 512KiB or 1048576.
type byteSize int64

// Decode implements envconfig.Decoder.
func (b *byteSize) Decode(v string) error {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return fmt.Errorf("not a size such as 1MiB")
	}
	*b = byteSize(n * mult)
	return nil
}
