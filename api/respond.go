package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/taskerhq/tasker/internal/httpx"
	"github.com/taskerhq/tasker/tasks"
)

// The error codes of SPEC section 5, one per status.
const (
	codeInvalidArgument      = "invalid_argument"
	codeUnauthenticated      = "unauthenticated"
	codeForbidden            = "forbidden"
	codeNotFound             = "not_found"
	codeConflict             = "conflict"
	codePayloadTooLarge      = "payload_too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeRateLimited          = "rate_limited"
	codeInternal             = "internal"
	codeUnavailable          = "unavailable"
	// codeMethodNotAllowed is beyond section 5's list: a 405 is the router's.
	codeMethodNotAllowed = "method_not_allowed"
)

// httpError is a failure a handler already knows how to answer: a bad
// header, query parameter or body. respondError writes it as it is.
type httpError struct {
	status  int
	code    string
	message string
	fields  map[string]string
}

func (e *httpError) Error() string { return e.message }

// badRequest is a 400 invalid_argument naming the offending fields.
func badRequest(message string, fields map[string]string) *httpError {
	return &httpError{status: http.StatusBadRequest, code: codeInvalidArgument, message: message, fields: fields}
}

// invalidFields is a 400 whose message lists fields.
func invalidFields(fields map[string]string) *httpError {
	return badRequest(fieldsMessage(fields), fields)
}

// fieldsMessage turns field problems into one sentence, in field order so
// the message is stable: "title is required; priority: must be one of …".
func fieldsMessage(fields map[string]string) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		if fields[name] == "required" {
			parts[i] = name + " is required"
		} else {
			parts[i] = name + ": " + fields[name]
		}
	}
	return strings.Join(parts, "; ")
}

// WriteError writes the section 5 error shape
// {"error":{"code":…,"message":…,"fields":{…},"request_id":…}} with status;
// fields may be nil.
func WriteError(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	httpx.WriteError(w, status, httpx.Error{Code: code, Message: message, Fields: fields})
}

// respondError answers a failed request. It is the one place that maps
// errors to statuses and the one place request errors are logged: only
// internal and unavailable ones, whose detail the client never sees.
func respondError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var (
		he       *httpError
		invalid  *tasks.ValidationError
		conflict *tasks.ConflictError
		tooLarge *http.MaxBytesError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &he):
		WriteError(w, he.status, he.code, he.message, he.fields)
	case errors.As(err, &invalid):
		WriteError(w, http.StatusBadRequest, codeInvalidArgument, fieldsMessage(invalid.Fields), invalid.Fields)
	case errors.Is(err, tasks.ErrNotFound):
		WriteError(w, http.StatusNotFound, codeNotFound, err.Error(), nil)
	case errors.As(err, &conflict):
		WriteError(w, http.StatusConflict, codeConflict, conflict.Reason, nil)
	case errors.Is(err, tasks.ErrConflict):
		WriteError(w, http.StatusConflict, codeConflict, "the request conflicts with the current state", nil)
	case errors.As(err, &tooLarge):
		writeTooLarge(w, tooLarge.Limit)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		WriteError(w, http.StatusServiceUnavailable, codeUnavailable, "request canceled", nil)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		// Redis is slow or unreachable: worth a retry, unlike a bug.
		logger.WarnContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		WriteError(w, http.StatusServiceUnavailable, codeUnavailable, "the service is temporarily unavailable; try again", nil)
	default:
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		WriteError(w, http.StatusInternalServerError, codeInternal, "internal error", nil)
	}
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	WriteError(w, http.StatusRequestEntityTooLarge, codePayloadTooLarge,
		fmt.Sprintf("request body is larger than %d bytes", limit), nil)
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

// readBody returns the raw request body after checking that it is JSON.
// An empty body is allowed here; decodeJSON says whether one is required.
// The body limit comes from LimitBody: a longer body fails with a
// *http.MaxBytesError, which respondError answers with 413.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(b) > 0 {
		if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// checkJSONType accepts application/json, application/*+json and a missing
// Content-Type (curl without -H); anything else is 415.
func checkJSONType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return &httpError{
		status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
		message: "Content-Type must be application/json",
	}
}

// decodeRequest reads r's JSON body and decodes it into T, for handlers
// that need only the decoded value.
func decodeRequest[T any](r *http.Request) (T, error) {
	body, err := readBody(r)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeJSON[T](body)
}

// decodeJSON decodes one JSON object of type T from b, rejecting unknown
// fields and trailing data, and explains what is wrong in client terms.
func decodeJSON[T any](b []byte) (T, error) {
	var v T
	if len(bytes.TrimSpace(b)) == 0 {
		return v, badRequest("request body is required", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, badRequest("request body must hold a single JSON value", nil)
	}
	return v, nil
}

// decodeError turns an encoding/json error into a 400 that points at the
// problem: a position for bad syntax, a field for a wrong type.
func decodeError(b []byte, err error) error {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &syntax):
		line, col := position(b, syntax.Offset)
		return badRequest(fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, syntax.Error()), nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of input", nil)
	case errors.As(err, &typeErr):
		field := jsonPath(typeErr.Field)
		if field == "" {
			return badRequest("request body must be a JSON object", nil)
		}
		want := "must be " + describeType(typeErr.Type)
		message := field + " " + want
		if typeErr.Type != timeType { // a time is a string too: "not string" would confuse
			message += ", not " + typeErr.Value
		}
		return badRequest(message, map[string]string{field: want})
	case errors.As(err, &tooLarge):
		return err
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badRequest(fmt.Sprintf("unknown field %q", name), map[string]string{name: "unknown field"})
	}
	return badRequest("malformed JSON: "+err.Error(), nil)
}

// jsonPath drops from an encoding/json field path the Go names of embedded
// structs ("NewTask.title"), which the client never wrote; every JSON name
// of ours is lower case.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && !unicode.IsUpper(rune(p[0])) {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

// position converts a byte offset of b into a 1-based line and column.
func position(b []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := 0; i < len(b) && int64(i) < offset-1; i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

var timeType = reflect.TypeFor[time.Time]()

// describeType names a Go type as a JSON client would know it.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return "an RFC 3339 time such as 2026-12-01T17:00:00Z"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// timestamp is a time.Time that decodes only from RFC 3339 and reports a
// bad value as a type error, so the response names the field.
type timestamp time.Time

// UnmarshalJSON parses an RFC 3339 string.
func (t *timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if v, err := time.Parse(time.RFC3339, s); err == nil {
			*t = timestamp(v)
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: "string", Type: timeType}
}

// ptr returns the time of a decoded *timestamp, nil when absent.
func (t *timestamp) ptr() *time.Time {
	if t == nil {
		return nil
	}
	v := time.Time(*t)
	return &v
}

// optionalTime converts an Optional timestamp of a request to the store's form.
func optionalTime(o tasks.Optional[timestamp]) tasks.Optional[time.Time] {
	return tasks.Optional[time.Time]{Set: o.Set, Value: o.Value.ptr()}
}
