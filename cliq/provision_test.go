package cliq_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/cliq/cliqtest"
)

// newTestProvisioner returns a provisioner on the fake, paced at n a
// minute on the fake's clock; its waits advance the clock instead of
// sleeping.
func newTestProvisioner(t *testing.T, n int) (*cliqtest.Server, *cliqtest.Clock, *cliq.Provisioner) {
	t.Helper()
	srv, clock, c := newTestClient(t)
	pacer, err := cliq.NewPacer(n, time.Minute, clock.Now, func(_ context.Context, d time.Duration) error {
		clock.Advance(d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, clock, cliq.NewProvisioner(c, pacer)
}

func TestPacerSpacesCallsEvenly(t *testing.T) {
	clock := cliqtest.NewClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	start := clock.Now()
	p, err := cliq.NewPacer(10, time.Minute, clock.Now, func(_ context.Context, d time.Duration) error {
		clock.Advance(d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 11 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := clock.Now().Sub(start), time.Minute; got != want {
		t.Errorf("11 calls at 10/min took %s, want %s", got, want)
	}
	if _, err := cliq.NewPacer(0, time.Minute, clock.Now, nil); err == nil {
		t.Error("NewPacer(0, 1m) = nil error, want one")
	}
}

func TestProvisionerRoundTrip(t *testing.T) {
	srv, _, p := newTestProvisioner(t, 10)
	srv.PoolThresholds(true)
	ctx := context.Background()
	for i := range 55 { // more than one page of 50
		srv.AddComponent(cliq.Commands, "other"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26)), false, nil)
	}
	cmd, err := p.Create(ctx, cliq.Commands, map[string]any{"name": "task", "hint": "Tasks", "scope": "organization"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cmd.Handler("execution_handler", ""); !ok {
		t.Errorf("new command's handlers = %+v, want the execution handler", cmd.Handlers)
	}
	all, err := p.List(ctx, cliq.Commands)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 56 || all[55].Name != "task" {
		t.Fatalf("List(commands) = %d components, last %+v; want 56, last task", len(all), all[len(all)-1])
	}
	if err := p.SetHandlerScript(ctx, cliq.Commands, cmd.ID, "execution_handler", "", "return {};"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.HandlerScript(ctx, cliq.Commands, cmd.ID, "execution_handler", ""); err != nil || got != "return {};" {
		t.Errorf("HandlerScript = %q, %v; want the script set", got, err)
	}

	bot, err := p.Create(ctx, cliq.Bots, map[string]any{"name": "taskerbot", "description": "Tasks"})
	if err != nil {
		t.Fatal(err)
	}
	if bot.UniqueName != "taskerbot" {
		t.Errorf("bot unique name = %q, want taskerbot", bot.UniqueName)
	}
	ref, err := p.AddHandler(ctx, cliq.Bots, bot.ID, cliq.NewHandler{Type: "menu_handler", Name: "My tasks", Script: "m"})
	if err != nil || ref.ID == "" || ref.Name != "My tasks" {
		t.Fatalf("AddHandler(menu) = %+v, %v; want an id", ref, err)
	}
	if got, err := p.HandlerScript(ctx, cliq.Bots, bot.ID, "menu_handler", ref.ID); err != nil || got != "m" {
		t.Errorf("HandlerScript(menu) = %q, %v", got, err)
	}
	_, err = p.AddHandler(ctx, cliq.Bots, bot.ID, cliq.NewHandler{Type: "menu_handler", Name: "Sixteen chars xx", Script: "m"})
	if e, ok := err.(*cliq.APIError); !ok || e.Code != "invalid_inputs" {
		t.Errorf("menu name of 16 characters: err = %v, want invalid_inputs", err)
	}
	if err := p.Delete(ctx, cliq.Bots, bot.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(ctx, cliq.Bots, bot.ID); !cliq.IsNotFound(err) {
		t.Errorf("second Delete(bot) = %v, want not found", err)
	}
	if ex := srv.ThresholdsExceeded(); len(ex) != 0 {
		t.Errorf("thresholds exceeded: %v", ex)
	}
}

func TestProvisionerWaitsOutLock(t *testing.T) {
	srv, clock, p := newTestProvisioner(t, 10)
	var notes []string
	p.Notify = func(msg string) { notes = append(notes, msg) }
	srv.FailProvision(cliqtest.ProvisionFailure{Method: http.MethodPost, PathSuffix: "/functions", Status: http.StatusTooManyRequests,
		Code: "too_many_requests", Message: "Too many requests."})
	start := clock.Now()
	fn, err := p.Create(context.Background(), cliq.Functions, map[string]any{"name": "taskaction", "description": "d", "function_type": "button"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fn.Handler("button_handler", ""); !ok {
		t.Errorf("function handlers = %+v, want button_handler", fn.Handlers)
	}
	if waited := clock.Now().Sub(start); waited < cliq.ProvisionLock {
		t.Errorf("waited %s after a 429, want the %s lock", waited, cliq.ProvisionLock)
	}
	if len(notes) != 1 {
		t.Errorf("notes = %q, want one about the lock", notes)
	}
}

func TestProvisionerNameTaken(t *testing.T) {
	srv, _, p := newTestProvisioner(t, 10)
	srv.AddComponent(cliq.Functions, "taskaction", true, map[string]any{"function_type": "button"})
	list, err := p.List(context.Background(), cliq.Functions)
	if err != nil || len(list) != 0 {
		t.Fatalf("List(functions) = %v, %v; want another user's function hidden", list, err)
	}
	_, err = p.Create(context.Background(), cliq.Functions, map[string]any{"name": "taskaction", "description": "d", "function_type": "button"})
	if e, ok := err.(*cliq.APIError); !ok || e.Code != "function_name_already_exists" {
		t.Errorf("Create(taken name) = %v, want function_name_already_exists", err)
	}
}

func TestScopeError(t *testing.T) {
	srv, _, p := newTestProvisioner(t, 10)
	srv.GrantScopes("ZohoCliq.Bots.READ")
	if _, err := p.List(context.Background(), cliq.Bots); err != nil {
		t.Fatal(err)
	}
	_, err := p.List(context.Background(), cliq.Commands)
	if !cliq.IsScopeError(err) {
		t.Errorf("List(commands) without its scope = %v, want a scope error", err)
	}
	if got := cliq.Commands.Scope(http.MethodPatch, true); got != "ZohoCliq.Commands.UPDATE" {
		t.Errorf("Scope(PATCH handler) = %s", got)
	}
}
