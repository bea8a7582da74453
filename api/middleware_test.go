package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

func TestBodyLimit(t *testing.T) {
	e := newTestEnv(t)
	big := `{"title":"x","description":"` + strings.Repeat("a", testMaxBody) + `"}`
	t.Run("ContentLength", func(t *testing.T) {
		mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks", body: big}), http.StatusRequestEntityTooLarge, "payload_too_large")
	})
	t.Run("Chunked", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/api/v1/tasks", io.NopCloser(strings.NewReader(big)))
		r.ContentLength = -1 // as for Transfer-Encoding: chunked
		r.Header.Set("Authorization", "Bearer "+e.keyA)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		mustError(t, w, http.StatusRequestEntityTooLarge, "payload_too_large")
	})
	t.Run("ChunkedOverHTTP", func(t *testing.T) {
		srv := httptest.NewServer(e.handler)
		defer srv.Close()
		pr, pw := io.Pipe()
		go func() {
			// The server may stop reading at the limit; the write error is expected.
			_, _ = io.Copy(pw, strings.NewReader(big))
			pw.Close()
		}()
		// A body of unknown length goes out chunked, without Content-Length.
		r, err := http.NewRequest("POST", srv.URL+"/api/v1/tasks", pr)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+e.keyA)
		r.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked oversize POST = %d", resp.StatusCode)
		}
		pr.Close()
	})
	t.Run("BeforeAuth", func(t *testing.T) {
		mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks", body: big, noAuth: true}), http.StatusRequestEntityTooLarge, "payload_too_large")
	})
	t.Run("JustFits", func(t *testing.T) {
		body := `{"title":"x","description":"` + strings.Repeat("a", 10001) + `"}`
		mustError(t, e.do(t, call{method: "POST", path: "/api/v1/tasks", body: body}), http.StatusBadRequest, "invalid_argument")
	})
	if p := mustPage[tasks.Task](t, e.mustDo(t, call{method: "GET", path: "/api/v1/tasks"}, http.StatusOK), "tasks"); len(p.Items) != 0 {
		t.Errorf("oversize bodies created %d tasks", len(p.Items))
	}
}

func TestOps(t *testing.T) {
	e := newTestEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		w := e.mustDo(t, call{method: "GET", path: path, noAuth: true}, http.StatusOK)
		if got := strings.TrimSpace(w.Body.String()); got != `{"status":"ok"}` {
			t.Errorf("%s = %s", path, got)
		}
	}

	e.mustDo(t, call{method: "GET", path: "/api/v1/tasks/7"}, http.StatusNotFound)
	e.mustDo(t, call{method: "GET", path: "/no/such/path?secret=x"}, http.StatusNotFound)
	w := e.mustDo(t, call{method: "GET", path: "/metrics", noAuth: true}, http.StatusOK)
	for _, want := range []string{
		`tasker_http_requests_total{code="404",method="GET",route="/api/v1/tasks/:id"} 1`,
		`tasker_http_requests_total{code="200",method="GET",route="/healthz"} 1`,
		`tasker_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`tasker_http_request_duration_seconds_bucket{method="GET",route="/api/v1/tasks/:id",le="+Inf"} 1`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, w.Body)
		}
	}
	if strings.Contains(w.Body.String(), "/api/v1/tasks/7") {
		t.Error("a raw path became a label")
	}
}

func TestReadyzWithoutRedis(t *testing.T) {
	rdb := redistest.Client(t)
	e := newTestEnvOn(t, tasks.NewStore(rdb, time.Now))
	rdb.Close()
	mustError(t, e.do(t, call{method: "GET", path: "/readyz", noAuth: true}), http.StatusServiceUnavailable, "unavailable")
	e.mustDo(t, call{method: "GET", path: "/healthz", noAuth: true}, http.StatusOK)
	// The API itself fails cleanly, showing nothing of the cause.
	w := e.do(t, call{method: "GET", path: "/api/v1/tasks/1"})
	if w.Code < 500 || strings.Contains(w.Body.String(), "redis") {
		t.Errorf("GET with Redis closed = %d %s", w.Code, w.Body)
	}
}

func TestRecover(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	router := httprouter.New()
	router.Handler("GET", "/boom/:id", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("the secret plan failed")
	}))
	router.Handler("GET", "/late", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic("after the header")
	}))
	reg := prometheus.NewRegistry()
	h, err := Middleware(router, logger, reg, 1024)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/boom/1", nil))
	got := mustError(t, w, http.StatusInternalServerError, "internal")
	if strings.Contains(w.Body.String(), "secret plan") || got.Error.Message != "internal error" {
		t.Errorf("panic leaked: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "the secret plan failed") || !strings.Contains(logs.String(), "middleware_test.go") {
		t.Errorf("log lacks the panic and its stack: %s", logs)
	}
	if !strings.Contains(logs.String(), `"route":"/boom/:id","path":"/boom/1","status":500`) {
		t.Errorf("request log lacks the 500: %s", logs)
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/late", nil))
	if w.Code != http.StatusAccepted || w.Body.Len() != 0 {
		t.Errorf("late panic = %d %s, want the header as sent and no body", w.Code, w.Body)
	}

	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler passed on", v)
		}
	}()
	Recover(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestMiddlewareErrors(t *testing.T) {
	router := httprouter.New()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := Middleware(router, logger, prometheus.NewRegistry(), 0); err == nil {
		t.Error("Middleware accepted a zero body limit")
	}
	reg := prometheus.NewRegistry()
	if _, err := Middleware(router, logger, reg, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := Middleware(router, logger, reg, 1); err == nil {
		t.Error("Middleware registered the metrics twice")
	}
}

func TestRequestLog(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(t, call{
		method: "POST", path: "/api/v1/tasks?zapikey=zk-123&secret=s-456", body: `{"title":"the body text"}`,
		header: map[string]string{"X-Api-Key": "xk-789"},
	}, http.StatusCreated)
	e.do(t, call{method: "GET", path: "/api/v1/tasks", noAuth: true, header: map[string]string{"Authorization": "Bearer wrong-key-000"}})
	logs := e.logs.String()
	for _, secret := range []string{"zk-123", "s-456", "xk-789", e.keyA, "wrong-key-000", "the body text"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{`"msg":"request"`, `"method":"POST"`, `"route":"/api/v1/tasks"`, `"status":201`, `"status":401`, `"duration_ms":`, `"bytes":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestRoutePattern(t *testing.T) {
	router := httprouter.New()
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, p := range []string{
		"/api/v1/tasks", "/api/v1/tasks/:id", "/api/v1/tasks/:id/complete",
		"/api/v1/users/:id/cliq", "/cliq/functions/:name", "/files/*path", "/a/:x/b/:y",
	} {
		router.Handler("GET", p, nop)
	}
	router.Handler("POST", "/api/v1/tasks/:id/complete", nop)
	cases := []struct{ method, path, want string }{
		{"GET", "/api/v1/tasks", "/api/v1/tasks"},
		{"GET", "/api/v1/tasks/42", "/api/v1/tasks/:id"},
		{"GET", "/api/v1/tasks/tasks", "/api/v1/tasks/:id"},
		{"GET", "/api/v1/tasks/api", "/api/v1/tasks/:id"},
		{"GET", "/api/v1/tasks/complete/complete", "/api/v1/tasks/:id/complete"},
		{"POST", "/api/v1/tasks/v1/complete", "/api/v1/tasks/:id/complete"},
		{"GET", "/api/v1/users/a@b.example/cliq", "/api/v1/users/:id/cliq"},
		{"GET", "/cliq/functions/x", "/cliq/functions/:name"},
		{"GET", "/files/a/b/c", "/files/*path"},
		{"GET", "/files/", "/files/*path"},
		{"GET", "/a/b/b/b", "/a/:x/b/:y"},
		{"GET", "/a/1/b/1", "/a/:x/b/:y"},
		{"GET", "/api/v1/tasks/", routeUnmatched},
		{"GET", "/nothing", routeUnmatched},
		{"DELETE", "/api/v1/tasks", routeUnmatched},
	}
	for _, tc := range cases {
		if got := routePattern(router, tc.method, tc.path); got != tc.want {
			t.Errorf("routePattern(%s %s) = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
