package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/api"
	"github.com/taskerhq/tasker/console"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// testEnv is the API and the console on one server, as cmd wires them,
// with a webhook worker delivering to receiver.
type testEnv struct {
	srv      *httptest.Server
	key      string
	ws       tasks.WorkspaceID
	store    *tasks.Store
	receiver *httptest.Server
	received atomic.Int64
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	rdb := redistest.Client(t)
	id := rand.Uint64()
	e := &testEnv{
		key:   fmt.Sprintf("key-%x", id),
		ws:    tasks.WorkspaceID(fmt.Sprintf("console-%x", id)),
		store: tasks.NewStore(rdb, time.Now),
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, err := api.ParseKeys(e.key + "@" + string(e.ws))
	if err != nil {
		t.Fatal(err)
	}
	queue := fmt.Sprintf("console-wh-%x", id)
	hooks, err := webhooks.NewService(logger, rdb, e.store, prometheus.NewRegistry(), webhooks.Config{
		AllowPrivate: true, Queue: queue, Timeout: 2 * time.Second, Schedule: []time.Duration{10 * time.Millisecond},
		Workspaces: []tasks.WorkspaceID{e.ws},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		hooks.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// The receiver refuses everything, so each message has failed attempts.
	e.receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.received.Add(1)
		http.Error(w, `{"error":"receiver is down"}`, http.StatusInternalServerError)
	}))
	t.Cleanup(e.receiver.Close)

	c, err := console.New(console.Config{
		Logger: logger, Store: e.store, Outbox: notify.NewOutbox(rdb, time.Now), Webhooks: hooks, Authenticate: keys.Authenticate,
		Stream: func(identify func(*http.Request) (tasks.WorkspaceID, string, bool)) http.Handler {
			return api.NewEventStream(logger, e.store, identify, api.StreamOptions{Poll: 200 * time.Millisecond})
		},
		Queues: func(context.Context) ([]console.Queue, error) {
			return []console.Queue{{Name: "webhooks", Pending: 2, Retry: 1}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	router := httprouter.New()
	api.AddRoutes(router, logger, e.store, keys)
	api.AddWebhookRoutes(router, logger, hooks, keys)
	router.Handler(http.MethodGet, console.Prefix+"*path", c)
	router.Handler(http.MethodPost, console.Prefix+"*path", c)
	h, err := api.Middleware(router, logger, prometheus.NewRegistry(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// apiCall calls the REST API with the env's key and returns the body.
func (e *testEnv) apiCall(t *testing.T, method, path, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return string(b)
}

// signedIn returns a client holding a console session.
func (e *testEnv) signedIn(t *testing.T) *http.Client {
	t.Helper()
	c := newClient()
	page := get(t, c, e.srv.URL+"/console/signin", http.StatusOK)
	resp := post(t, c, e.srv.URL+"/console/signin", url.Values{"csrf": {csrfOf(t, page)}, "key": {e.key}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/tasks" {
		t.Fatalf("sign-in = %d to %q, want 303 to /console/tasks", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

func get(t *testing.T, c *http.Client, u string, want int) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d, want %d: %s", u, resp.StatusCode, want, b)
	}
	return string(b)
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, `name="csrf" value="`)
	if !ok {
		t.Fatalf("no csrf field in %s", page)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

func TestSignInAndCSRF(t *testing.T) {
	e := newTestEnv(t)
	anon := newClient()
	resp, err := anon.Get(e.srv.URL + "/console/tasks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
		t.Fatalf("anonymous GET = %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}

	t.Run("WrongKey", func(t *testing.T) {
		page := get(t, anon, e.srv.URL+"/console/signin", http.StatusOK)
		resp := post(t, anon, e.srv.URL+"/console/signin", url.Values{"csrf": {csrfOf(t, page)}, "key": {"nope"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key = %d, want 401", resp.StatusCode)
		}
	})
	t.Run("SigninWithoutToken", func(t *testing.T) {
		resp := post(t, anon, e.srv.URL+"/console/signin", url.Values{"key": {e.key}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("sign-in without token = %d, want 403", resp.StatusCode)
		}
	})

	c := e.signedIn(t)
	sub := e.apiCall(t, "POST", "/api/v1/webhooks", `{"url":"`+e.receiver.URL+`","events":["*"]}`, http.StatusCreated)
	id := between(sub, `"id":"`, `"`)

	t.Run("FormWithoutToken", func(t *testing.T) {
		resp := post(t, c, e.srv.URL+"/console/webhooks/"+id+"/disable", url.Values{"csrf": {"forged"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged form = %d, want 403", resp.StatusCode)
		}
	})
	t.Run("SignOut", func(t *testing.T) {
		page := get(t, c, e.srv.URL+"/console/tasks", http.StatusOK)
		post(t, c, e.srv.URL+"/console/signout", url.Values{"csrf": {csrfOf(t, page)}})
		resp, err := c.Get(e.srv.URL + "/console/tasks")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after sign-out GET = %d, want a redirect to sign in", resp.StatusCode)
		}
	})
}

func TestSessionCookie(t *testing.T) {
	e := newTestEnv(t)
	c := newClient()
	page := get(t, c, e.srv.URL+"/console/signin", http.StatusOK)
	resp := post(t, c, e.srv.URL+"/console/signin", url.Values{"csrf": {csrfOf(t, page)}, "key": {e.key}})
	var set string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "tasker_console=") {
			set = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/", "Max-Age="} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, e.key) {
		t.Error("the session cookie holds the API key")
	}
}

// newClient returns a client with a cookie jar of its own that stops at
// redirects, so a test sees where they lead.
func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post posts form to u and returns the response, its body closed.
func post(t *testing.T, c *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}

// screenshotDir is where the browser test saves a screenshot of each page
// when TASKER_SCREENSHOTS names a directory; they are for looking at, not
// for committing.
func screenshotDir() string {
	d := os.Getenv("TASKER_SCREENSHOTS")
	if d == "" {
		return ""
	}
	_ = os.MkdirAll(d, 0o755)
	return d
}

func screenshotPath(dir, name string) string { return filepath.Join(dir, name+".png") }
