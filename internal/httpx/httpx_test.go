package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestID(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(LogHandler(slog.NewJSONHandler(&logs, nil)))
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "handled")
		WriteError(w, http.StatusUnauthorized, Error{Code: "unauthenticated", Message: "use Authorization: Bearer <key>"})
	}))
	for _, c := range []struct{ sent, want string }{
		{"client-id.42:x_y", "client-id.42:x_y"},  // sane: kept
		{"", ""},                                  // none: a new one
		{"bad id\nInjected: 1", ""},               // not sane: replaced
		{strings.Repeat("a", maxRequestID+1), ""}, // too long: replaced
	} {
		logs.Reset()
		req := httptest.NewRequest("GET", "/x", nil)
		if c.sent != "" {
			req.Header.Set(HeaderRequestID, c.sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		id := rec.Header().Get(HeaderRequestID)
		if c.want != "" && id != c.want || c.want == "" && (!strings.HasPrefix(id, "req_") || len(id) != 24) {
			t.Errorf("sent %q: id %q", c.sent, id)
		}
		var body struct{ Error Error }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.RequestID != id {
			t.Errorf("sent %q: body %s, want request_id %s", c.sent, rec.Body, id)
		}
		// <, > and & are written as they are, not as \u003c.
		if !strings.Contains(rec.Body.String(), "Bearer <key>") {
			t.Errorf("body %s escapes the message", rec.Body)
		}
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["request_id"] != id {
			t.Errorf("sent %q: log line %s, want request_id %s", c.sent, logs.Bytes(), id)
		}
	}
	// Without a request, nothing is added.
	logs.Reset()
	logger.InfoContext(context.Background(), "no request")
	if strings.Contains(logs.String(), "request_id") {
		t.Errorf("log line %s names a request", logs.String())
	}
}
