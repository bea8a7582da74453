package cliq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes Cliq answers with that callers branch on.
const (
	CodeOAuthTokenInvalid = "oauthtoken_invalid"
	CodeScopeInvalid      = "oauthtoken_scope_invalid"
)

// APIError is a non-2xx answer from the Cliq API. It never holds the request
// URL or credentials, so it is safe to log.
type APIError struct {
	Status     int           // HTTP status
	Code       string        // Cliq's error code, e.g. oauthtoken_invalid; may be empty
	Message    string        // Cliq's message, or the start of a non-JSON body
	RetryAfter time.Duration // from Retry-After; 0 when absent

	op string // method and path, never the query (which may hold a zapikey)
}

func (e *APIError) Error() string {
	s := "cliq: "
	if e.op != "" {
		s += e.op + ": "
	}
	s += "api answered " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Temporary reports whether the same call may succeed later: rate limits,
// timeouts and server errors. Other 4xx (bad request, missing scope, unknown
// channel) fail the same way every time.
func (e *APIError) Temporary() bool {
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return true
	case e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "throttle"):
		// Older Cliq answers a rate limit with 400 "You have exceeded the URL
		// throttle limits."
		return true
	}
	return false
}

// IsTransient reports whether err is worth retrying: a temporary APIError or
// TokenError, a timeout, or a network error. A call the caller cancelled is
// not transient; neither is any other error.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if e, ok := errors.AsType[*APIError](err); ok {
		return e.Temporary()
	}
	if e, ok := errors.AsType[*TokenError](err); ok {
		return e.Temporary()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// checkResponse turns a non-2xx answer to op into an *APIError; now dates an
// HTTP-date Retry-After.
func checkResponse(resp *http.Response, op string, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now), op: op}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var cliqErr struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &cliqErr) == nil {
		e.Code, e.Message = cliqErr.Code, cliqErr.Message
	} else {
		e.Message = truncate(strings.TrimSpace(string(body)), 200)
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent, invalid
// or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// TokenError is Zoho Accounts refusing to mint an access token, e.g.
// invalid_code for a revoked refresh token or invalid_client for wrong client
// credentials or the wrong data centre.
type TokenError struct {
	Status      int    // HTTP status; Zoho often answers 200 with an error
	Code        string // Zoho's error field
	Description string
}

func (e *TokenError) Error() string {
	s := "cliq: token refresh refused: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Status != http.StatusOK {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	return s
}

// Temporary reports whether minting may work later: Zoho's server errors, and
// its "too many requests" block (10 tokens per 10 minutes per refresh token).
// Bad credentials stay bad.
func (e *TokenError) Temporary() bool {
	if e.Status >= 500 || e.Status == http.StatusTooManyRequests {
		return true
	}
	return e.Code == "Access Denied" || strings.Contains(strings.ToLower(e.Description), "too many requests")
}
