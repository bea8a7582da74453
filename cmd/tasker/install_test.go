package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/cliq/cliqtest"
	"github.com/taskerhq/tasker/internal/redistest"
)

// newTestInstall returns a fake Cliq with pooled thresholds (the strictest
// reading), a config pointing at it and at the package's redis-server,
// and an environment whose waits advance the fake's clock.
func newTestInstall(t *testing.T) (*cliqtest.Server, config, provisionEnv) {
	t.Helper()
	srv := cliqtest.NewServer(t)
	clock := cliqtest.NewClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	srv.SetClock(clock.Now)
	srv.PoolThresholds(true)
	t.Setenv("TASKER_REDIS_URL", "redis://"+redistest.Addr(t))
	t.Setenv("TASKER_PUBLIC_URL", "https://tasker.example.com")
	t.Setenv("TASKER_CLIQ_SECRET", "test-secret")
	t.Setenv("TASKER_CLIQ_API_URL", srv.URL)
	t.Setenv("TASKER_CLIQ_ACCOUNTS_URL", srv.URL)
	t.Setenv("TASKER_CLIQ_CLIENT_ID", cliqtest.ClientID+fmt.Sprint(time.Now().UnixNano())) // a token cache of its own
	t.Setenv("TASKER_CLIQ_CLIENT_SECRET", cliqtest.ClientSecret)
	t.Setenv("TASKER_CLIQ_REFRESH_TOKEN", cliqtest.RefreshToken)
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.CliqClientID = cliqtest.ClientID
	env := provisionEnv{
		now: clock.Now,
		sleep: func(_ context.Context, d time.Duration) error {
			clock.Advance(d)
			return nil
		},
		key:  fmt.Sprintf("tasker:install:test-%d", time.Now().UnixNano()),
		pace: fmt.Sprintf("tasker:install:test-pace-%d", time.Now().UnixNano()),
	}
	return srv, cfg, env
}

// mustInstall runs install and returns what it printed.
func mustInstall(t *testing.T, cfg config, env provisionEnv, dryRun bool) string {
	t.Helper()
	var out bytes.Buffer
	if err := install(context.Background(), cfg, env, dryRun, &out); err != nil {
		t.Fatalf("install(dryRun=%v) = %v\n%s", dryRun, err, out.String())
	}
	return out.String()
}

// wantInstalled checks that each component exists exactly once with the
// scripts of the current config.
func wantInstalled(t *testing.T, srv *cliqtest.Server, publicURL string) {
	t.Helper()
	ours := map[string]bool{"task": true, "taskerbot": true, "taskaction": true, "createtaskform": true, "Add as task": true}
	counts := map[cliq.Resource]map[string]int{}
	for _, res := range []cliq.Resource{cliq.Commands, cliq.Bots, cliq.Functions, cliq.MessageActions} {
		counts[res] = map[string]int{}
		for _, c := range srv.Components(res) {
			counts[res][c.Name]++
			for typ, script := range c.Scripts {
				if !strings.Contains(script, publicURL) && ours[c.Name] {
					t.Errorf("%s %s: %s script does not call %s", res, c.Name, typ, publicURL)
				}
			}
		}
	}
	for res, name := range map[cliq.Resource]string{cliq.Commands: "task", cliq.Bots: "taskerbot", cliq.MessageActions: "Add as task"} {
		if counts[res][name] != 1 {
			t.Errorf("%s %q exists %d times, want once", res, name, counts[res][name])
		}
	}
	for _, name := range []string{"taskaction", "createtaskform"} {
		if counts[cliq.Functions][name] != 1 {
			t.Errorf("function %q exists %d times, want once", name, counts[cliq.Functions][name])
		}
	}
	for _, c := range srv.Components(cliq.Bots) {
		if c.Name != "taskerbot" {
			continue
		}
		for _, typ := range []string{"welcome_handler", "message_handler", "mention_handler", "context_handler", "participation_handler",
			"menu_handler:New task", "menu_handler:My tasks", "menu_handler:Overdue", "menu_handler:Help"} {
			if _, ok := c.Scripts[typ]; !ok {
				t.Errorf("bot lacks %s; has %v", typ, c.Scripts)
			}
		}
	}
	if ex := srv.ThresholdsExceeded(); len(ex) != 0 {
		t.Errorf("thresholds exceeded by %v", ex)
	}
}

func writes(calls []cliqtest.Call) []string {
	var out []string
	for _, c := range calls {
		if c.Method != http.MethodGet && strings.HasPrefix(c.Path, "/api/v3/") {
			out = append(out, c.Method+" "+c.Path)
		}
	}
	return out
}

func TestInstallFreshThenAgain(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	out := mustInstall(t, cfg, env, false)
	wantInstalled(t, srv, "https://tasker.example.com")
	if !strings.Contains(out, "created    bot taskerbot") || !strings.Contains(out, "Left to do by hand") || !strings.Contains(out, "extension") {
		t.Errorf("install printed:\n%s", out)
	}

	before := len(srv.Calls())
	out = mustInstall(t, cfg, env, false)
	if w := writes(srv.Calls()[before:]); len(w) != 0 {
		t.Errorf("second install wrote %v, want nothing", w)
	}
	if strings.Contains(out, "created") || strings.Contains(out, "updated") {
		t.Errorf("second install printed:\n%s", out)
	}
	wantInstalled(t, srv, "https://tasker.example.com")
}

func TestInstallChangedURLUpdatesInPlace(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	mustInstall(t, cfg, env, false)
	ids := map[string]string{}
	for _, c := range srv.Components(cliq.Bots) {
		ids[c.Name] = c.ID
	}
	cfg.PublicURL = "https://tasks.example.org"
	before := len(srv.Calls())
	out := mustInstall(t, cfg, env, false)
	for _, w := range writes(srv.Calls()[before:]) {
		if !strings.HasPrefix(w, "PATCH ") {
			t.Errorf("changed URL: %s, want only PATCHes of scripts", w)
		}
	}
	if !strings.Contains(out, "updated    bot taskerbot: menu_handler \"Overdue\"") {
		t.Errorf("install printed:\n%s", out)
	}
	wantInstalled(t, srv, "https://tasks.example.org")
	for _, c := range srv.Components(cliq.Bots) {
		if ids[c.Name] != c.ID {
			t.Errorf("bot %s has id %s, was %s", c.Name, c.ID, ids[c.Name])
		}
	}
}

func TestInstallDryRunOnlyReads(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	out := mustInstall(t, cfg, env, true)
	if w := writes(srv.Calls()); len(w) != 0 {
		t.Errorf("dry run wrote %v", w)
	}
	for _, want := range []string{"create     command /task (1 handlers)", "create     bot taskerbot (9 handlers)", "create     message action \"Add as task\""} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	mustInstall(t, cfg, env, false)
	cfg.PublicURL = "https://tasks.example.org"
	before := len(srv.Calls())
	out = mustInstall(t, cfg, env, true)
	if w := writes(srv.Calls()[before:]); len(w) != 0 {
		t.Errorf("dry run wrote %v", w)
	}
	if !strings.Contains(out, "update     function taskaction: button_handler") {
		t.Errorf("dry run after a URL change:\n%s", out)
	}
	cfg.PublicURL = "https://tasker.example.com"
	if out = mustInstall(t, cfg, env, true); !strings.Contains(out, "unchanged  bot taskerbot") {
		t.Errorf("dry run of an installed deployment:\n%s", out)
	}
}

func TestUninstallLeavesWhatItDidNotCreate(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	// The operator made the bot by hand, and has another command.
	botID := srv.AddComponent(cliq.Bots, "taskerbot", false, nil)
	srv.AddComponent(cliq.Commands, "deploy", false, nil)
	mustInstall(t, cfg, env, false)
	wantInstalled(t, srv, "https://tasker.example.com")
	var out bytes.Buffer
	if err := uninstall(context.Background(), cfg, env, &out); err != nil {
		t.Fatalf("uninstall = %v\n%s", err, out.String())
	}
	// Each of the 13 records is reported removed: the handlers added to the
	// hand-made bot, never the bot itself.
	if got := out.String(); strings.Count(got, "\nremoved    ") != 13 || !strings.Contains(got, "\nremoved    command task\n") ||
		!strings.Contains(got, "\nremoved    bot taskerbot: message_handler\n") || strings.Contains(got, "\nremoved    bot taskerbot\n") {
		t.Errorf("uninstall printed:\n%s", got)
	}
	cmds := srv.Components(cliq.Commands)
	if len(cmds) != 1 || cmds[0].Name != "deploy" {
		t.Errorf("commands after uninstall = %+v, want deploy only", cmds)
	}
	bots := srv.Components(cliq.Bots)
	if len(bots) != 1 || bots[0].ID != botID || len(bots[0].Scripts) != 0 {
		t.Errorf("bots after uninstall = %+v, want the hand-made bot without the handlers install added", bots)
	}
	if n := len(srv.Components(cliq.Functions)) + len(srv.Components(cliq.MessageActions)); n != 0 {
		t.Errorf("%d functions and message actions left, want none", n)
	}
	out.Reset()
	if err := uninstall(context.Background(), cfg, env, &out); err != nil || !strings.Contains(out.String(), "nothing to remove") {
		t.Errorf("second uninstall = %v:\n%s", err, out.String())
	}
}

func TestInstallInterruptedCompletesNextRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail cliqtest.ProvisionFailure
	}{
		{"FailedCall", cliqtest.ProvisionFailure{Method: http.MethodPost, PathSuffix: "/handlers", Status: 500, Code: "operation_failed", Message: "Internal error."}},
		{"LostAnswer", cliqtest.ProvisionFailure{Method: http.MethodPost, PathSuffix: "/bots", Status: 500, Code: "operation_failed", AfterApplying: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, cfg, env := newTestInstall(t)
			srv.FailProvision(tc.fail)
			var out bytes.Buffer
			if err := install(context.Background(), cfg, env, false, &out); err == nil || !strings.Contains(err.Error(), "run tasker install again") {
				t.Fatalf("interrupted install = %v, want an error saying to run again\n%s", err, out.String())
			}
			mustInstall(t, cfg, env, false)
			wantInstalled(t, srv, "https://tasker.example.com")
			out.Reset()
			if err := uninstall(context.Background(), cfg, env, &out); err != nil {
				t.Fatal(err)
			}
			for _, res := range []cliq.Resource{cliq.Commands, cliq.Bots, cliq.Functions, cliq.MessageActions} {
				if left := srv.Components(res); len(left) != 0 {
					t.Errorf("after uninstall %s left: %+v", res, left)
				}
			}
		})
	}
}

func TestInstallWaitsOutLock(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	srv.FailProvision(cliqtest.ProvisionFailure{Method: http.MethodPost, PathSuffix: "/functions", Status: http.StatusTooManyRequests, Code: "too_many_requests"})
	out := mustInstall(t, cfg, env, false)
	if !strings.Contains(out, "waiting 5m0s") {
		t.Errorf("install printed no wait for the lock:\n%s", out)
	}
	wantInstalled(t, srv, "https://tasker.example.com")
}

func TestInstallNamesMissingScope(t *testing.T) {
	srv, cfg, env := newTestInstall(t)
	srv.GrantScopes("ZohoCliq.Commands.READ", "ZohoCliq.Bots.READ", "ZohoCliq.Functions.READ", "ZohoCliq.MessageActions.READ")
	err := install(context.Background(), cfg, env, false, new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), "ZohoCliq.Commands.CREATE") {
		t.Errorf("install without write scopes = %v, want the missing scope named", err)
	}
}

func TestInstallHelp(t *testing.T) {
	for _, cmd := range []string{"install", "uninstall", "doctor"} {
		for _, flag := range []string{"-h", "--help"} {
			var out bytes.Buffer
			if err := run(context.Background(), []string{"tasker", cmd, flag}, &out, new(bytes.Buffer)); err != nil || !strings.Contains(out.String(), "tasker "+cmd) {
				t.Errorf("tasker %s %s = %v, printed %q", cmd, flag, err, out.String())
			}
		}
	}
}
