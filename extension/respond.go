package extension

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/internal/httpx"
	"github.com/taskerhq/tasker/tasks"
)

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

// readBody reads the whole body, at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request, maxBody int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &requestError{http.StatusRequestEntityTooLarge, apiError{
				Code: "payload_too_large", Message: fmt.Sprintf("request body is larger than %d bytes", maxBody),
			}}
		}
		return nil, badRequest("cannot read request body", nil)
	}
	return body, nil
}

// decodeStrict decodes a JSON object into T, rejecting unknown fields as the
// REST API does (SPEC 5).
func decodeStrict[T any](raw []byte, what string) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			return v, badRequest(fmt.Sprintf("%s has an unknown field %q", what, name), map[string]string{name: "unknown field"})
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return v, badRequest(fmt.Sprintf("%s: %s has the wrong type", what, te.Field), map[string]string{te.Field: "wrong type"})
		}
		return v, badRequest(what+" is not valid JSON of the expected shape", nil)
	}
	return v, nil
}

// apiError is the inside of the SPEC 5 error body:
// {"error":{"code":"invalid_argument","message":"…","fields":{…}}}.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// requestError is a failure the caller caused; it is answered as it is.
type requestError struct {
	status int
	apiError
}

func (e *requestError) Error() string { return e.Message }

func badRequest(message string, fields map[string]string) error {
	return &requestError{http.StatusBadRequest, apiError{Code: "invalid_argument", Message: message, Fields: fields}}
}

func unauthenticated(message string) error {
	return &requestError{http.StatusUnauthorized, apiError{Code: "unauthenticated", Message: message}}
}

func notFound(message string) error {
	return &requestError{http.StatusNotFound, apiError{Code: "not_found", Message: message}}
}

// classify is the one place an error becomes a status and an answer. It logs
// what is our fault, without the request's query string (which may hold a
// secret) and without bodies.
func classify(r *http.Request, logger *slog.Logger, err error) (int, apiError) {
	if re, ok := errors.AsType[*requestError](err); ok {
		return re.status, re.apiError
	}
	if ve, ok := errors.AsType[*tasks.ValidationError](err); ok {
		return http.StatusBadRequest, apiError{Code: "invalid_argument", Message: ve.Error(), Fields: ve.Fields}
	}
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		return http.StatusNotFound, apiError{Code: "not_found", Message: "not found"}
	case errors.Is(err, tasks.ErrConflict):
		return http.StatusConflict, apiError{Code: "conflict", Message: err.Error()}
	case errors.Is(err, cliq.ErrMalformedRequest), errors.Is(err, tasks.ErrNoOrganization), errors.Is(err, tasks.ErrInvalidRef):
		return http.StatusBadRequest, apiError{Code: "invalid_argument", Message: err.Error()}
	}
	logger.ErrorContext(r.Context(), "request failed", "route", r.URL.Path, "err", err)
	return http.StatusInternalServerError, apiError{Code: "internal", Message: "internal error"}
}

// respondError answers err in the SPEC 5 shape used by every route but one.
func respondError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	status, e := classify(r, logger, err)
	httpx.WriteError(w, status, httpx.Error{Code: e.Code, Message: e.Message, Fields: e.Fields})
}

// respondSimpleError answers err in the shape /api/incoming-webhook keeps
// for automation tools (SPEC 4.3): {"error":"…"}.
func respondSimpleError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	status, e := classify(r, logger, err)
	encode(w, status, struct {
		Error string `json:"error"`
	}{e.Message})
}
