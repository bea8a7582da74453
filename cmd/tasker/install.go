package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/deluge"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
)

const installUsage = `usage: tasker install [--dry-run]
       tasker uninstall

install creates, through Cliq's REST API v3, the /task command, the bot
TASKER_CLIQ_BOT with all its handlers, the functions taskaction and
createtaskform and the message action "Add as task", each with the Deluge
script of ` + "`tasker deluge`" + `. It finds components by name, creates what is
missing, updates scripts in place and remembers in Redis what it created.
Calls are paced at TASKER_CLIQ_INSTALL_RATE (default 10/min). Running it again
finishes an interrupted install and creates nothing twice.

  --dry-run   read only: print create / update / unchanged per component

uninstall removes what install created, and nothing else.

Needs TASKER_REDIS_URL (or Sentinels/Cluster), TASKER_PUBLIC_URL,
TASKER_CLIQ_SECRET and the OAuth self-client variables; see README.md.
`

// provisionEnv is what install, uninstall and doctor take from the
// machine; tests replace the clock and the waiting.
type provisionEnv struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error // nil: real timers
	base  http.RoundTripper                                // nil: http.DefaultTransport
	key   string                                           // the Redis hash of install's records
	pace  string                                           // the Redis key of the shared pace
}

func realEnv() provisionEnv { return provisionEnv{now: time.Now, key: installKey, pace: paceKey} }

// paceKey is a STRING: Unix milliseconds before which no provisioning call
// may start, so that one run of install, uninstall or doctor keeps the pace
// of the one before it.
const paceKey = "tasker:install:pace"

// sharedPacer returns a pacer of rate that resumes, and records, the pace
// in Redis.
func sharedPacer(ctx context.Context, rdb redis.UniversalClient, env provisionEnv, rate notify.Rate) (*cliq.Pacer, error) {
	pacer, err := cliq.NewPacer(rate.N, rate.Per, env.now, env.sleep)
	if err != nil {
		return nil, err
	}
	if ms, err := rdb.Get(ctx, env.pace).Int64(); err == nil {
		pacer.Resume(time.UnixMilli(ms))
	}
	pacer.Booked = func(next time.Time) {
		// Best effort: a lost write costs the next run its head start only.
		_ = rdb.Set(context.WithoutCancel(ctx), env.pace, next.UnixMilli(), cliq.ProvisionLock+time.Minute).Err()
	}
	return pacer, nil
}

// parseProvisionFlags reads the flags of install and uninstall; run has
// answered --help before.
func parseProvisionFlags(name string, args []string, stderr io.Writer, dryRun *bool) error {
	fs := newFlagSet(name, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, installUsage) }
	if dryRun != nil {
		fs.BoolVar(dryRun, "dry-run", false, "read only: print the plan")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return nil
}

// runInstall is `tasker install [--dry-run]`.
func runInstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var dryRun bool
	if err := parseProvisionFlags("install", args, stderr, &dryRun); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	return install(ctx, cfg, realEnv(), dryRun, stdout)
}

// runUninstall is `tasker uninstall`.
func runUninstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parseProvisionFlags("uninstall", args, stderr, nil); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	return uninstall(ctx, cfg, realEnv(), stdout)
}

// provisioning is what install and uninstall work with.
type provisioning struct {
	p     *cliq.Provisioner
	store installStore
	out   io.Writer
	close func()
}

// newCliqAuth returns the token source and an authenticated HTTP client,
// sharing the access token with the running service through Redis (a
// refresh token mints at most 10 tokens in 10 minutes).
func newCliqAuth(cfg config, rdb redis.UniversalClient, env provisionEnv) (*cliq.TokenSource, *http.Client) {
	store := tasks.NewStore(rdb, env.now)
	ts := cliq.NewTokenSource(&http.Client{Timeout: 30 * time.Second, Transport: env.base}, cliq.OAuthConfig{
		AccountsURL: cfg.CliqAccountsURL, ClientID: cfg.CliqClientID,
		ClientSecret: cfg.CliqClientSecret, RefreshToken: cfg.CliqRefreshToken,
	}, store.TokenCache(cfg.CliqClientID), env.now)
	return ts, &http.Client{Timeout: 30 * time.Second, Transport: &cliq.Transport{Source: ts, Base: env.base}}
}

// hasRedis reports whether a Redis server is configured (not the embedded one).
func hasRedis(cfg config) bool {
	return cfg.RedisURL != "" || cfg.RedisSentinels != "" || cfg.RedisCluster != ""
}

// newProvisioning connects Redis and builds the paced provisioner.
func newProvisioning(ctx context.Context, cfg config, env provisionEnv, out io.Writer) (*provisioning, error) {
	rate := cfg.installRate
	if cfg.CliqClientID == "" {
		return nil, errors.New("install: no Cliq OAuth credentials: set TASKER_CLIQ_CLIENT_ID, TASKER_CLIQ_CLIENT_SECRET and TASKER_CLIQ_REFRESH_TOKEN (README, \"Setting up Cliq\")")
	}
	if !hasRedis(cfg) {
		return nil, errors.New("install: remembers what it creates in Redis: set TASKER_REDIS_URL to the service's Redis (the embedded one forgets on exit)")
	}
	rdb, closeRedis, err := newRedis(ctx, cfg, quietLogger())
	if err != nil {
		return nil, err
	}
	_, hc := newCliqAuth(cfg, rdb, env)
	client, err := cliq.NewClient(hc, cfg.CliqAPIURL)
	if err != nil {
		closeRedis()
		return nil, fmt.Errorf("config: TASKER_CLIQ_API_URL: %v", err)
	}
	pacer, err := sharedPacer(ctx, rdb, env, rate)
	if err != nil {
		closeRedis()
		return nil, err
	}
	p := cliq.NewProvisioner(client, pacer)
	p.Notify = func(msg string) { fmt.Fprintln(out, "  …", msg) }
	return &provisioning{p: p, store: installStore{rdb: rdb, key: env.key}, out: out, close: closeRedis}, nil
}

// component is one Cliq component install provisions.
type component struct {
	res      cliq.Resource
	name     string         // matched by name; a bot also by unique name
	label    string         // how progress lines name it
	body     map[string]any // the create body
	handlers []deluge.Rendered
}

// kindResource maps the handler table's kinds to API resources; the
// extension has none (the API cannot create extensions).
var kindResource = map[string]cliq.Resource{
	deluge.KindCommand: cliq.Commands, deluge.KindBot: cliq.Bots,
	deluge.KindFunction: cliq.Functions, deluge.KindMessageAction: cliq.MessageActions,
}

// maxBotName is the longest bot name Cliq accepts (REFERENCE 14.3).
const maxBotName = 20

// components groups the rendered scripts into the components to provision,
// in the table's order. The bot is named by TASKER_CLIQ_BOT.
func components(rendered []deluge.Rendered, bot string) []*component {
	var out []*component
	byKey := map[string]*component{}
	for _, r := range rendered {
		h := r.Script.Handler
		res, ok := kindResource[h.Kind]
		if !ok {
			continue
		}
		name := h.Component
		if res == cliq.Bots {
			name = bot
		}
		c := byKey[h.Kind+"/"+name]
		if c == nil {
			c = &component{res: res, name: name, body: createBody(h, name)}
			switch res {
			case cliq.Commands:
				c.label = "command /" + name
			case cliq.Bots:
				c.label = "bot " + name
			case cliq.Functions:
				c.label = "function " + name
			default:
				c.label = "message action \"" + name + "\""
			}
			byKey[h.Kind+"/"+name] = c
			out = append(out, c)
		}
		c.handlers = append(c.handlers, r)
	}
	return out
}

// createBody is the create request of h's component (REFERENCE 14.2–14.5).
func createBody(h deluge.Handler, name string) map[string]any {
	switch h.Kind {
	case deluge.KindCommand:
		return map[string]any{"name": name, "hint": "Your tasks: /task add, list, done, due, assign, help",
			"description": "Tasker: create, list and finish tasks from any chat.", "scope": "organization"}
	case deluge.KindBot:
		return map[string]any{"name": name, "scope": "organization",
			"description": "Tasker: your tasks in Cliq, with reminders, overdue alerts and a daily digest."}
	case deluge.KindFunction:
		ft := "button"
		if strings.HasPrefix(h.Type, "form_") {
			ft = "form"
		}
		return map[string]any{"name": name, "function_type": ft, "description": "Tasker: " + h.Answers + "."}
	default:
		return map[string]any{"name": name, "hint": "Turn this message into a task", "scope": "organization",
			"message_types": []string{"text", "link", "attachment"}}
	}
}

// handlerLabel names one handler in progress lines.
func handlerLabel(h deluge.Handler) string {
	if h.MenuAction != "" {
		return h.Type + " \"" + h.MenuAction + "\""
	}
	return h.Type
}

// install provisions every component, or with dryRun prints the plan.
func install(ctx context.Context, cfg config, env provisionEnv, dryRun bool, out io.Writer) error {
	if cfg.CliqSecret == "" {
		return errors.New("install: set TASKER_CLIQ_SECRET to the secret the service runs with; the scripts sign with it")
	}
	if n := len([]rune(cfg.CliqBot)); n > maxBotName {
		return fmt.Errorf("config: TASKER_CLIQ_BOT: Cliq allows bot names of at most %d characters, not %d", maxBotName, n)
	}
	rendered, err := deluge.Render(cfg.PublicURL, cfg.CliqSecret)
	if err != nil {
		return err
	}
	for _, w := range deluge.Warnings(cfg.PublicURL) {
		fmt.Fprintln(out, "warning:", w)
	}
	pv, err := newProvisioning(ctx, cfg, env, out)
	if err != nil {
		return err
	}
	defer pv.close()
	rate := cfg.installRate
	comps := components(rendered, cfg.CliqBot)
	if dryRun {
		fmt.Fprintf(out, "tasker install --dry-run: reading what exists in Cliq (calls paced at %s)\n", rate)
	} else {
		fmt.Fprintf(out, "tasker install: %d components, calls paced at %s; a first install takes a few minutes\n", len(comps), rate)
	}
	lists := map[cliq.Resource][]cliq.Component{}
	for _, c := range comps {
		if _, done := lists[c.res]; done {
			continue
		}
		l, err := pv.p.List(ctx, c.res)
		if err != nil {
			return pv.explain(err, "list "+string(c.res), c.res.Scope(http.MethodGet, false))
		}
		lists[c.res] = l
	}
	for _, c := range comps {
		if err := pv.provision(ctx, c, lists[c.res], dryRun); err != nil {
			return err
		}
	}
	if dryRun {
		fmt.Fprintln(out, "dry run: nothing was changed")
	} else {
		fmt.Fprintln(out, "done: every component is installed")
	}
	printByHand(out, cfg)
	return nil
}

// explain turns a failed call into an error that says what to do.
func (pv *provisioning) explain(err error, what, scope string) error {
	if cliq.IsScopeError(err) {
		return fmt.Errorf("install: %s: the OAuth token lacks the scope %s: generate a new grant code for the self-client with the scopes listed in README.md (\"Setting up Cliq\") and set TASKER_CLIQ_REFRESH_TOKEN: %w", what, scope, err)
	}
	return fmt.Errorf("install: %s: %w (run tasker install again to continue where it stopped)", what, err)
}

// find returns the listed component c matches.
func find(list []cliq.Component, c *component) (cliq.Component, bool) {
	for _, l := range list {
		if l.Name == c.name || (c.res == cliq.Bots && l.UniqueName == c.name) {
			return l, true
		}
	}
	return cliq.Component{}, false
}

// provision makes c exist with its handlers' scripts, or prints what it
// would do.
func (pv *provisioning) provision(ctx context.Context, c *component, list []cliq.Component, dryRun bool) error {
	existing, found := find(list, c)
	rec, recorded, err := pv.store.get(ctx, string(c.res), c.name)
	if err != nil {
		return err
	}
	ours := recorded && !rec.Pending
	fresh := false
	switch {
	case found && recorded && rec.Pending && !dryRun:
		// The create went through last time but its answer was lost.
		rec = installRecord{Resource: string(c.res), Name: c.name, ID: existing.ID}
		if err := pv.store.put(ctx, rec); err != nil {
			return err
		}
		ours = true
	case !found && dryRun:
		fmt.Fprintf(pv.out, "create     %s (%d handlers)\n", c.label, len(c.handlers))
		return nil
	case !found:
		if err := pv.store.put(ctx, installRecord{Resource: string(c.res), Name: c.name, Pending: true}); err != nil {
			return err
		}
		made, err := pv.p.Create(ctx, c.res, c.body)
		if err != nil {
			if e, ok := errors.AsType[*cliq.APIError](err); ok && strings.HasSuffix(e.Code, "_name_already_exists") {
				_ = pv.store.remove(ctx, installRecord{Resource: string(c.res), Name: c.name})
				return fmt.Errorf("install: %s: Cliq says the name is taken, but this token's user cannot see it (another user's component?): delete or rename it in Cliq's developer console, then run tasker install again", c.label)
			}
			return pv.explain(err, "create "+c.label, c.res.Scope(http.MethodPost, false))
		}
		if err := pv.store.put(ctx, installRecord{Resource: string(c.res), Name: c.name, ID: made.ID}); err != nil {
			return err
		}
		fmt.Fprintf(pv.out, "created    %s\n", c.label)
		if c.res == cliq.Bots && made.UniqueName != "" && made.UniqueName != c.name {
			fmt.Fprintf(pv.out, "warning: Cliq named the bot %q: set TASKER_CLIQ_BOT=%s for the service\n", made.UniqueName, made.UniqueName)
		}
		existing, fresh, ours = made, true, true
	}
	changed := 0
	for _, r := range c.handlers {
		h := r.Script.Handler
		verb, err := pv.handler(ctx, c, existing, r, fresh, ours, dryRun)
		if err != nil {
			return err
		}
		if verb != "unchanged" {
			changed++
		}
		fmt.Fprintf(pv.out, "%-10s %s: %s\n", verb, c.label, handlerLabel(h))
	}
	if found && changed == 0 {
		fmt.Fprintf(pv.out, "unchanged  %s\n", c.label)
	}
	return nil
}

// handler sets one handler's script and returns what it did: created,
// updated or unchanged (with dryRun: what it would do).
func (pv *provisioning) handler(ctx context.Context, c *component, comp cliq.Component, r deluge.Rendered, fresh, ours, dryRun bool) (string, error) {
	h := r.Script.Handler
	ref, has := comp.Handler(h.Type, h.MenuAction)
	if !has {
		if dryRun {
			return "create", nil
		}
		rec := installRecord{Resource: string(c.res), Name: c.name, ID: comp.ID, Type: h.Type, Menu: h.MenuAction}
		if !ours { // on a component install did not make, uninstall removes just this handler
			rec.Pending = true
			if err := pv.store.put(ctx, rec); err != nil {
				return "", err
			}
		}
		made, err := pv.p.AddHandler(ctx, c.res, comp.ID, cliq.NewHandler{Type: h.Type, Script: r.Text, Name: h.MenuAction})
		if err != nil {
			return "", pv.explain(err, "add "+handlerLabel(h)+" to "+c.label, c.res.Scope(http.MethodPost, true))
		}
		if !ours {
			rec.Pending, rec.MenuID = false, made.ID
			if err := pv.store.put(ctx, rec); err != nil {
				return "", err
			}
		}
		return "created", nil
	}
	if !fresh { // a new component's default handler holds Cliq's script, not ours
		cur, err := pv.p.HandlerScript(ctx, c.res, comp.ID, h.Type, ref.ID)
		if err != nil {
			return "", pv.explain(err, "read "+handlerLabel(h)+" of "+c.label, c.res.Scope(http.MethodGet, true))
		}
		if strings.TrimSpace(cur) == strings.TrimSpace(r.Text) {
			return "unchanged", nil
		}
	}
	if dryRun {
		return "update", nil
	}
	if err := pv.p.SetHandlerScript(ctx, c.res, comp.ID, h.Type, ref.ID, r.Text); err != nil {
		return "", pv.explain(err, "update "+handlerLabel(h)+" of "+c.label, c.res.Scope(http.MethodPatch, true))
	}
	return "updated", nil
}

// printByHand lists what the API cannot do.
func printByHand(out io.Writer, cfg config) {
	fmt.Fprintln(out, "\nLeft to do by hand in Cliq:")
	fmt.Fprintln(out, "  - the extension (Cliq's API cannot create one): for incoming webhooks and the installation")
	fmt.Fprintln(out, "    handler, create an extension \"tasker\" in Bots & Tools > Extensions, then paste")
	fmt.Fprintln(out, "    extension/incoming.dg and extension/install.dg from `tasker deluge --out scripts`")
	fmt.Fprintln(out, "    into its Incoming Webhook and Installation handlers (`tasker deluge` prints where each goes)")
	if cfg.CliqChannel != "" {
		fmt.Fprintf(out, "  - the channel: make sure the channel %q exists and add the bot %s to it\n", cfg.CliqChannel, cfg.CliqBot)
	} else {
		fmt.Fprintf(out, "  - the channel: for channel notifications, add the bot %s to a channel and set TASKER_CLIQ_CHANNEL to its unique name\n", cfg.CliqBot)
	}
}

// uninstall removes what install created, newest kinds first: handlers
// added to components install did not make, then the components.
func uninstall(ctx context.Context, cfg config, env provisionEnv, out io.Writer) error {
	pv, err := newProvisioning(ctx, cfg, env, out)
	if err != nil {
		return err
	}
	defer pv.close()
	recs, err := pv.store.all(ctx)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintln(out, "tasker uninstall: install created nothing that is still recorded; nothing to remove")
		return nil
	}
	fmt.Fprintf(out, "tasker uninstall: removing %d things install created\n", len(recs))
	lists := map[cliq.Resource][]cliq.Component{}
	for i := len(recs) - 1; i >= 0; i-- { // handlers first
		rec := recs[i]
		res := cliq.Resource(rec.Resource)
		// err is this record's call only, never a previous record's.
		var err error
		if rec.Pending && rec.Type == "" { // a create whose answer was lost: find it by name
			if _, ok := lists[res]; !ok {
				if lists[res], err = pv.p.List(ctx, res); err != nil {
					return pv.explain(err, "list "+rec.Resource, res.Scope(http.MethodGet, false))
				}
			}
			if c, ok := find(lists[res], &component{res: res, name: rec.Name}); ok {
				rec.ID = c.ID
			}
		}
		label := strings.TrimSuffix(rec.Resource, "s") + " " + rec.Name
		removed := true
		switch {
		case rec.ID == "":
			removed = false
		case rec.Type != "" && rec.Pending:
			// Never confirmed: the handler may not exist; a lost answer leaves it for the operator.
			fmt.Fprintf(out, "skipped    %s: %s (its creation was never confirmed)\n", label, rec.Type)
			removed = false
		case rec.Type != "":
			err = pv.p.DeleteHandler(ctx, res, rec.ID, rec.Type, rec.MenuID)
			label += ": " + handlerLabel(deluge.Handler{Type: rec.Type, MenuAction: rec.Menu})
		default:
			err = pv.p.Delete(ctx, res, rec.ID)
		}
		if err != nil && !cliq.IsNotFound(err) {
			return pv.explain(err, "remove "+label, res.Scope(http.MethodDelete, rec.Type != ""))
		}
		if err := pv.store.remove(ctx, rec); err != nil {
			return err
		}
		if removed {
			fmt.Fprintf(out, "removed    %s\n", label)
		}
	}
	fmt.Fprintln(out, "done: what install created is removed; components it found already there are left as they are")
	return nil
}

// quietLogger discards the log of helpers shared with serve: the
// one-shot commands print their own lines.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
