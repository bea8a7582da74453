package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
)

// Middleware wraps the whole router, with every package's routes on it, in
// the middleware they share, outermost first: request log and metrics,
// panic recovery, body limit. maxBody is TASKER_MAX_BODY in bytes. The
// metrics tasker_http_requests_total{route,method,code} and
// tasker_http_request_duration_seconds{route,method} are registered on
// reg; route is the router's pattern (/api/v1/tasks/:id), never the raw
// path, so the label's values stay few.
func Middleware(router *httprouter.Router, logger *slog.Logger, reg prometheus.Registerer, maxBody int64) (http.Handler, error) {
	if maxBody <= 0 {
		return nil, fmt.Errorf("api: body limit %d is not positive", maxBody)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return observe(logger, m, router, Recover(logger, LimitBody(maxBody, router))), nil
}

// Recover turns a panic in next into a 500 internal answer in the section 5
// shape, logged with its stack; the client sees none of it. The
// http.ErrAbortHandler panic is passed on, as net/http expects.
func Recover(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := wrap(w)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			logger.ErrorContext(r.Context(), "panic serving request",
				"method", r.Method, "path", r.URL.Path, "err", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status == 0 {
				WriteError(sw, http.StatusInternalServerError, codeInternal, "internal error", nil)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// LimitBody answers 413 payload_too_large for a body longer than max
// bytes: at once when Content-Length says so, else when a handler reads
// past max (a chunked body), through http.MaxBytesReader. max must be
// positive.
func LimitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeTooLarge(w, max)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// metrics are the HTTP metrics of every route.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tasker_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w", err)
		}
	}
	return m, nil
}

// observe logs one line per request and records its metrics. The line
// holds no query string, header or body: those carry keys and secrets.
func observe(logger *slog.Logger, m *metrics, router *httprouter.Router, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The router may rewrite the path of a redirect; label what came in.
		method, path := r.Method, r.URL.Path
		sw := wrap(w)
		next.ServeHTTP(sw, r)
		elapsed := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := routePattern(router, method, path)
		methodLabel := method
		if !knownMethods[method] {
			methodLabel = "other" // methods are client input too
		}
		m.requests.WithLabelValues(route, methodLabel, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, methodLabel).Observe(elapsed.Seconds())
		logger.InfoContext(r.Context(), "request",
			"method", method, "route", route, "path", path, "status", status,
			"duration_ms", float64(elapsed.Microseconds())/1000, "bytes", sw.bytes)
	})
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Route labels of requests no route pattern matched.
const (
	routeUnmatched = "unmatched"
	routeUnknown   = "unknown"
)

// routePattern finds the router's pattern for method and path, such as
// /api/v1/tasks/:id for /api/v1/tasks/42, without any cooperation from
// whoever registered the route. httprouter returns the parameters but not
// the pattern, so each parameter's segment is put back by name. A segment
// equal to a parameter's value may still be static (/api/v1/tasks/tasks);
// httprouter never has a parameter and a static segment at one position,
// so replacing the segment and looking up again tells the two apart.
func routePattern(router *httprouter.Router, method, path string) string {
	h, params, _ := router.Lookup(method, path)
	if h == nil {
		return routeUnmatched
	}
	if len(params) == 0 {
		return path // a static route: the path is its pattern
	}
	segs := strings.Split(path, "/")
	out := append([]string(nil), segs...)
	next := 0
	for i := 1; i < len(segs) && next < len(params); i++ {
		p := params[next]
		if strings.HasPrefix(p.Value, "/") && "/"+strings.Join(segs[i:], "/") == p.Value {
			out = append(out[:i], "*"+p.Key)
			next++
			break
		}
		if segs[i] != p.Value || !isParam(router, method, segs, i, p.Key) {
			continue
		}
		out[i] = ":" + p.Key
		next++
	}
	if next < len(params) {
		return routeUnknown // a parameter inside a segment, such as /user_:name
	}
	return strings.Join(out, "/")
}

// isParam reports whether segment i of a path is the parameter key.
func isParam(router *httprouter.Router, method string, segs []string, i int, key string) bool {
	const probe = "\x00"
	probed := append([]string(nil), segs...)
	probed[i] = probe
	h, params, _ := router.Lookup(method, strings.Join(probed, "/"))
	return h != nil && params.ByName(key) == probe
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// wrap returns w as a *statusWriter, reusing it when it already is one.
func wrap(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 { // a 1xx is not the answer
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
