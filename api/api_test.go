package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// testMaxBody is the body limit of the test server, small enough to exceed cheaply.
const testMaxBody = 64 << 10

// testEnv is the whole HTTP stack of the API on a real store, with two
// workspaces, A and B, each with its own key.
type testEnv struct {
	store      *tasks.Store
	wsA, wsB   tasks.WorkspaceID
	keyA, keyB string
	router     *httprouter.Router
	handler    http.Handler
	reg        *prometheus.Registry
	logs       *syncBuffer
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	return newTestEnvOn(t, tasks.NewStore(redistest.Client(t), time.Now))
}

func newTestEnvOn(t testing.TB, store *tasks.Store) *testEnv {
	t.Helper()
	id := rand.Uint64()
	e := &testEnv{
		store: store,
		wsA:   tasks.WorkspaceID(fmt.Sprintf("test-a-%x", id)),
		wsB:   tasks.WorkspaceID(fmt.Sprintf("test-b-%x", id)),
		keyA:  fmt.Sprintf("key-a-%x", rand.Uint64()),
		keyB:  fmt.Sprintf("key@b-%x", rand.Uint64()), // an '@' inside the key itself
		reg:   prometheus.NewRegistry(),
		logs:  &syncBuffer{},
	}
	keys, err := ParseKeys(fmt.Sprintf("%s@%s, %s@%s", e.keyA, e.wsA, e.keyB, e.wsB))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.router = httprouter.New()
	AddRoutes(e.router, logger, store, keys)
	AddNotificationRoutes(e.router, logger, notify.NewOutbox(redistest.Client(t), time.Now), keys)
	AddOpsRoutes(e.router, store, e.reg)
	e.handler, err = Middleware(e.router, logger, e.reg, testMaxBody)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = openapiChecked(t, e.handler) // every exchange is held against the document
	return e
}

// call is one request of a test: by default JSON with workspace A's key.
type call struct {
	method, path, body string
	header             map[string]string
	noAuth             bool
}

func (e *testEnv) do(t testing.TB, rq call) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if !rq.noAuth {
		r.Header.Set("Authorization", "Bearer "+e.keyA)
	}
	for k, v := range rq.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// mustDo sends rq and fails unless the answer has status want.
func (e *testEnv) mustDo(t testing.TB, rq call, want int) *httptest.ResponseRecorder {
	t.Helper()
	w := e.do(t, rq)
	if w.Code != want {
		t.Fatalf("%s %s = %d %s, want %d", rq.method, rq.path, w.Code, w.Body, want)
	}
	return w
}

// createTask creates a task in workspace A through the API.
func (e *testEnv) createTask(t testing.TB, body string) tasks.Task {
	t.Helper()
	w := e.mustDo(t, call{method: "POST", path: "/api/v1/tasks", body: body}, http.StatusCreated)
	return mustDecode[tasks.Task](t, w.Body.Bytes())
}

func (e *testEnv) createUser(t testing.TB, body string) tasks.User {
	t.Helper()
	w := e.mustDo(t, call{method: "POST", path: "/api/v1/users", body: body}, http.StatusCreated)
	return mustDecode[tasks.User](t, w.Body.Bytes())
}

func mustDecode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// apiError is the section 5 error shape as a client reads it.
type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// mustError checks that w is an error of the section 5 shape with status
// and code, and returns it.
func mustError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) apiError {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d %s, want %d", w.Code, w.Body, status)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	var e apiError
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", w.Body, err)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error = %+v, want code %s and a message", e.Error, code)
	}
	return e
}

// listPage is a list answer as a client reads it.
type listPage[T any] struct {
	Items      []T
	NextCursor *string
}

func mustPage[T any](t testing.TB, w *httptest.ResponseRecorder, plural string) listPage[T] {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("list %s: %v", w.Body, err)
	}
	if len(raw) != 2 || raw[plural] == nil || raw["next_cursor"] == nil {
		t.Fatalf("list = %s, want exactly %q and next_cursor", w.Body, plural)
	}
	var p listPage[T]
	if string(raw[plural]) == "null" {
		t.Fatalf("%s is null, want an array", plural)
	}
	if err := json.Unmarshal(raw[plural], &p.Items); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw["next_cursor"], &p.NextCursor); err != nil {
		t.Fatal(err)
	}
	if p.NextCursor != nil && *p.NextCursor == "" {
		t.Fatal(`next_cursor is "", want null or a cursor`)
	}
	return p
}
