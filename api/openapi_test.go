package api

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/taskerhq/tasker/tasks"
)

// loadOpenAPI parses and validates the served document once per run.
var loadOpenAPI = sync.OnceValues(func() (routers.Router, error) {
	b, err := openapiJSON()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc) // validates the document
})

func mustOpenAPI(t testing.TB) routers.Router {
	t.Helper()
	r, err := loadOpenAPI()
	if err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	return r
}

func TestOpenAPIServed(t *testing.T) {
	e := newTestEnv(t)
	w := e.mustDo(t, call{method: "GET", path: "/api/v1/openapi.json", noAuth: true}, http.StatusOK)
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, %v; want 3.1.0", doc.OpenAPI, err)
	}
	mustOpenAPI(t)
}

// recurringTasksMerged reports whether this build has the recurring tasks
// of SPEC 6.5 (another branch adds them). The document describes them
// already; until they land, their route and parameters may be missing
// from the server, and from then on they must be served like the rest.
func recurringTasksMerged() bool {
	typ := reflect.TypeFor[tasks.Task]()
	for i := range typ.NumField() {
		if strings.HasPrefix(typ.Field(i).Tag.Get("json"), "recurrence") {
			return true
		}
	}
	return false
}

// pendingRoutes and pendingParams are documented ahead of the branch that
// serves them (see recurringTasksMerged).
var (
	pendingRoutes = map[string]bool{"POST /api/v1/tasks/{id}/skip": true}
	pendingParams = map[string]bool{"GET /api/v1/webhooks/{id}/deliveries ?status": true}
)

// servedRoutes finds every /api/v1 route the package registers by reading
// its source: each r.Handler(method, "/api/v1/…", …) call. httprouter
// cannot list its routes, and a route added anywhere in api is found.
func servedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool)
	param := regexp.MustCompile(`:(\w+)`)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 3 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Handler" {
				return true
			}
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok {
				return true
			}
			path, _ := strconv.Unquote(lit.Value)
			if !strings.HasPrefix(path, "/api/v1/") {
				return true
			}
			var method string
			switch m := call.Args[0].(type) {
			case *ast.SelectorExpr:
				method = strings.ToUpper(strings.TrimPrefix(m.Sel.Name, "Method"))
			case *ast.BasicLit:
				method, _ = strconv.Unquote(m.Value)
			}
			out[method+" "+param.ReplaceAllString(path, "{$1}")] = true
			return true
		})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d routes in the source; is the search broken?", len(out))
	}
	return out
}

// documentedRoutes lists the document's operations as "METHOD /path".
func documentedRoutes(t *testing.T) (map[string]bool, *openapi3.T) {
	t.Helper()
	b, _ := openapiJSON()
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool)
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out[method+" "+path] = true
		}
	}
	return out, doc
}

// TestOpenAPIMatchesRouter holds the document against the server: every
// route served is documented, every route documented is served, and every
// documented query parameter is accepted.
func TestOpenAPIMatchesRouter(t *testing.T) {
	e := newTestWebhookEnv(t, false)
	served := servedRoutes(t)
	documented, doc := documentedRoutes(t)
	tolerate := !recurringTasksMerged()
	for rt := range served {
		if !documented[rt] {
			t.Errorf("%s is served but not in the OpenAPI document", rt)
		}
	}
	sample := regexp.MustCompile(`\{\w+\}`)
	var keys []string
	for rt := range documented {
		keys = append(keys, rt)
	}
	sort.Strings(keys)
	for _, rt := range keys {
		method, path, _ := strings.Cut(rt, " ")
		concrete := sample.ReplaceAllString(path, "x1")
		h, _, _ := e.router.Lookup(method, concrete)
		switch {
		case h == nil && tolerate && pendingRoutes[rt]:
			t.Logf("%s: documented ahead of the recurring tasks branch", rt)
		case h == nil:
			t.Errorf("%s is documented but not served", rt)
		case !served[rt] && rt != "GET /api/v1/openapi.json":
			t.Errorf("%s is served but not found in the source", rt)
		}
	}

	// Query parameters: an unknown one is a 400 naming it.
	task := e.createTask(t, `{"title":"params"}`)
	wsub := e.mustDo(t, call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1:9/x","events":["*"]}`}, http.StatusCreated)
	sub := mustDecode[wireSubscription](t, wsub.Body.Bytes())
	values := map[string]string{
		"status": "open", "assignee": "none", "tag": "x", "due_before": "2030-01-01T00:00:00Z",
		"due_after": "2020-01-01T00:00:00Z", "q": "x", "limit": "5", "since": "2020-01-01T00:00:00Z", "type": "task.created",
	}
	for _, rt := range keys {
		method, path, _ := strings.Cut(rt, " ")
		if method != "GET" || strings.HasSuffix(path, "/stream") {
			continue
		}
		op := doc.Paths.Value(path).GetOperation(method)
		concrete := strings.NewReplacer("{id}", task.ID).Replace(path)
		if strings.HasPrefix(path, "/api/v1/webhooks/{id}") {
			concrete = strings.NewReplacer("{id}", sub.ID).Replace(path)
		} else if strings.HasPrefix(path, "/api/v1/users/{id}") {
			continue // no user to name; the list has the same parameters
		}
		for _, p := range op.Parameters {
			if p.Value.In != "query" || p.Value.Name == "cursor" {
				continue
			}
			v := values[p.Value.Name]
			if strings.HasSuffix(path, "/deliveries") && p.Value.Name == "status" {
				v = "failed"
			}
			w := e.do(t, call{method: method, path: concrete + "?" + p.Value.Name + "=" + v})
			if w.Code == http.StatusBadRequest && strings.Contains(w.Body.String(), "unknown parameter") {
				if tolerate && pendingParams[rt+" ?"+p.Value.Name] {
					t.Logf("%s ?%s: documented ahead of the branch that serves it", rt, p.Value.Name)
					continue
				}
				t.Errorf("%s ?%s=%s is documented but refused: %s", rt, p.Value.Name, v, w.Body)
			}
		}
	}
}

// openapiChecked wraps an API handler of the tests so that every request
// of the suite and its answer are validated against the document: answers
// always (errors too), requests when the server accepted them (a test may
// send a bad one on purpose). The stream is left alone.
func openapiChecked(t testing.TB, next http.Handler) http.Handler {
	router := mustOpenAPI(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") || strings.HasSuffix(r.URL.Path, "/stream") {
			next.ServeHTTP(w, r)
			return
		}
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())

		if err := checkExchange(router, r, reqBody, rec); err != nil {
			t.Errorf("OpenAPI: %s %s → %d: %v", r.Method, r.URL, rec.Code, err)
		}
	})
}

// checkExchange validates one request and its recorded answer.
func checkExchange(router routers.Router, r *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) error {
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	// The server reads any JSON media type, or none, as JSON; the
	// document names application/json.
	if ct := req.Header.Get("Content-Type"); len(reqBody) > 0 && (ct == "" || strings.HasSuffix(ct, "+json")) {
		req.Header.Set("Content-Type", "application/json")
	}
	route, pathParams, err := router.FindRoute(req)
	if err != nil {
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			return nil // no such route, rightly refused
		}
		return err
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if rec.Code/100 == 2 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return err
		}
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}
