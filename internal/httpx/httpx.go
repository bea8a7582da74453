// Package httpx holds what every HTTP package of Tasker shares: the request
// id of SPEC 5 (header, context and log lines) and the one writer of JSON
// answers and of the SPEC 5 error shape.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
)

// HeaderRequestID names the request id header, on requests and responses.
const HeaderRequestID = "X-Request-Id"

// maxRequestID bounds a caller's request id; longer ones are replaced.
const maxRequestID = 128

type ctxKey struct{}

// RequestID gives every request an id: the caller's X-Request-Id when it is
// sane (1 to 128 of A-Z a-z 0-9 . _ - : characters), else a new one. The id
// is in the response header before next runs, so every answer carries it,
// and in the request's context, where RequestIDFrom and LogHandler find it.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !sane(id) {
			id = newID()
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

func sane(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == ':':
		default:
			return false
		}
	}
	return true
}

// newID returns 20 random characters of a lower-case base32 alphabet.
func newID() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return "req_" + string(b)
}

// LogHandler adds request_id to every record logged with a request's
// context, so each line about a request names it.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name)}
}

// WriteJSON answers v as JSON with status. <, > and & stay as they are:
// the answers are read by people and programs, never embedded in HTML.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// The status is sent; a failed write means the client left.
	_ = enc.Encode(v)
}

// Error is the inside of the SPEC 5 error body.
type Error struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// WriteError answers SPEC 5's {"error":{"code","message","fields"}} with
// status, adding the request id RequestID put in the response header, so a
// user can quote it.
func WriteError(w http.ResponseWriter, status int, e Error) {
	if e.RequestID == "" {
		e.RequestID = w.Header().Get(HeaderRequestID)
	}
	WriteJSON(w, status, struct {
		Error Error `json:"error"`
	}{e})
}
