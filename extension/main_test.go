package extension

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/julienschmidt/httprouter"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestMain(m *testing.M) { redistest.Main(m) }

const (
	testCliqSecret   = "test-cliq-secret"
	testAPIKey       = "test-api-key"
	testGitLabToken  = "test-gitlab-token"
	testGitHubSecret = "test-github-secret"
)

// newTestStore returns a store on the package's redis-server, isolated by a
// fresh workspace.
func newTestStore(t *testing.T) (*tasks.Store, tasks.WorkspaceID) {
	t.Helper()
	ws := tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
	return tasks.NewStore(redistest.Client(t), time.Now), ws
}

// post is one PostToChannel call.
type post struct {
	ws      tasks.WorkspaceID
	channel string
	msg     cliq.Message
	key     string
}

// recordingPoster is a Poster that remembers what it was asked to post.
type recordingPoster struct {
	mu    sync.Mutex
	posts []post
	err   error
}

func (p *recordingPoster) PostToChannel(_ context.Context, ws tasks.WorkspaceID, channel string, msg cliq.Message, key string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.posts = append(p.posts, post{ws, channel, msg, key})
	return nil
}

func (p *recordingPoster) all() []post {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]post(nil), p.posts...)
}

// testEnv is a router with every extension route over a real store.
type testEnv struct {
	router *httprouter.Router
	store  *tasks.Store
	ws     tasks.WorkspaceID
	poster *recordingPoster
}

var testNow = time.Date(2026, 3, 10, 11, 45, 0, 0, time.UTC)

// newTestEnv builds the routes with cfg, filling in the secrets, the API key
// check (testAPIKey opens the test's workspace) and a fixed clock.
func newTestEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	store, ws := newTestStore(t)
	v, err := cliq.NewVerifier(testCliqSecret, nil, cliq.NewMemoryReplayGuard(time.Now), 1<<20, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IncomingSecrets == nil {
		cfg.IncomingSecrets = []IncomingSecret{{Secret: "s3cret", Workspace: ws}}
	}
	if cfg.GitLabToken == "" {
		cfg.GitLabToken = testGitLabToken
	}
	if cfg.GitHubSecret == "" {
		cfg.GitHubSecret = testGitHubSecret
	}
	if cfg.DefaultTimezone == "" {
		cfg.DefaultTimezone = "Europe/Berlin"
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	auth := func(r *http.Request) (tasks.WorkspaceID, bool) {
		return ws, r.Header.Get("X-Api-Key") == testAPIKey
	}
	env := &testEnv{router: httprouter.New(), store: store, ws: ws, poster: &recordingPoster{}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	AddRoutes(env.router, logger, store, v, env.poster, auth, cfg)
	return env
}

// serve sends req through the router and returns the recorder.
func (e *testEnv) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	return rec
}

// signedRequest is a request the Deluge forwarder would send.
func signedRequest(path string, body []byte) *http.Request {
	ts := time.Now().Unix()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(cliq.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(cliq.HeaderSignature, cliq.Sign(testCliqSecret, ts, body))
	return req
}

// mustJSON marshals v or fails the test.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustDecode unmarshals a response body into T or fails the test.
func mustDecode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("response %d %q is not JSON: %v", rec.Code, rec.Body.String(), err)
	}
	return v
}

// errorBody is the SPEC 5 error shape.
type errorBody struct {
	Error apiError `json:"error"`
}

// wantAPIError checks a SPEC 5 error answer.
func wantAPIError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	if got := mustDecode[errorBody](t, rec); got.Error.Code != code || got.Error.Message == "" {
		t.Fatalf("error = %+v, want code %q and a message", got.Error, code)
	}
}

// checkGolden compares got with testdata/name.golden, rewriting it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// checkLimits fails when m breaks a Cliq limit (REFERENCE 5).
func checkLimits(t *testing.T, m cliq.Message) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("message breaks Cliq limits: %v", err)
	}
	total := 0
	for _, s := range m.Slides {
		b, err := json.Marshal(s.Data)
		if err != nil {
			t.Fatal(err)
		}
		total += utf8.RuneCount(b) + utf8.RuneCountInString(s.Title)
	}
	if total > 10000 {
		t.Fatalf("slides hold %d characters, limit 10000", total)
	}
	if m.Card == nil || m.Card.Title == "" || m.Text == "" {
		t.Fatalf("message lacks a card title or text: %+v", m)
	}
}

// countEvents returns how many events the workspace's log holds.
func countEvents(t *testing.T, store *tasks.Store, ws tasks.WorkspaceID) int {
	t.Helper()
	evs, _, err := store.ListEvents(context.Background(), ws, tasks.EventFilter{}, "", tasks.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}
