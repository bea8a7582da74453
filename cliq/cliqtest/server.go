// Package cliqtest is a fake of Zoho Accounts and the Cliq REST API for tests,
// in the spirit of slack-go's slacktest. It mints access tokens that expire by
// an injected clock, refuses expired or unknown tokens the way Cliq does,
// records every API call, and can be told to fail the next calls.
//
// The error bodies follow REFERENCE section 4.6; codes Cliq is not documented
// to use (the unknown channel's) are illustrative.
package cliqtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskerhq/tasker/cliq"
)

// Credentials the fake accepts.
const (
	ClientID     = "1000.CLIQTESTCLIENT"
	ClientSecret = "cliqtest-client-secret"
	RefreshToken = "1000.cliqtest.refresh"
	ZapiKey      = "cliqtest-zapikey"
)

// Zoho's limit on access tokens minted from one refresh token.
const (
	GrantLimit       = 10
	GrantLimitWindow = 10 * time.Minute
)

// Call is one recorded API request (token grants are counted, not recorded).
type Call struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   map[string]any // the JSON body decoded; nil when it was not an object
	Status int            // what the fake answered
}

// Failure is a canned answer for an upcoming API call.
type Failure struct {
	Status     int    // HTTP status
	RetryAfter string // Retry-After header value, if any
	Code       string // Cliq error code in the body
	Message    string
	Hang       bool // no answer until the request's context ends
}

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	// URL is the base of both Zoho Accounts and the Cliq API.
	URL string

	srv     *httptest.Server
	closing chan struct{}

	mu          sync.Mutex
	now         func() time.Time
	lifetime    time.Duration
	tokens      map[string]time.Time // access token → expiry
	grants      []time.Time
	limitGrants bool
	channels    map[string]bool
	failures    []Failure
	calls       []Call
	prov        *provision // the v3 provisioning endpoints' state (provision.go)
}

// NewServer starts a fake that the test's cleanup stops. Its clock is
// time.Now and tokens live one hour until SetClock and SetTokenLifetime say
// otherwise. No channel exists until AddChannel.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		closing:  make(chan struct{}),
		now:      time.Now,
		lifetime: time.Hour,
		tokens:   make(map[string]time.Time),
		channels: make(map[string]bool),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/v2/token", s.handleToken)
	mux.Handle("POST /api/v2/channelsbyname/{name}/message", s.api(s.handleChannel))
	mux.Handle("POST /api/v2/bots/{bot}/message", s.api(s.handleBot))
	mux.Handle("POST /api/v2/chats/{id}/message", s.api(s.handlePost))
	mux.Handle("POST /api/v2/buddies/{id}/message", s.api(s.handlePost))
	s.addProvisionRoutes(mux)
	mux.Handle("/api/", s.api(func(w http.ResponseWriter, _ *http.Request, _ map[string]any) int {
		return writeJSON(w, http.StatusNotFound, cliqError{"url_not_found", "Invalid URL."})
	}))
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		close(s.closing) // releases hanging handlers so Close can return
		s.srv.Close()
	})
	return s
}

// SetClock makes now the fake's clock for token expiry and grant limits.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Now reads the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// SetTokenLifetime sets the lifetime of tokens minted from now on.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// LimitGrants turns on Zoho's limit of GrantLimit tokens per
// GrantLimitWindow; beyond it grants answer Zoho's "Access Denied".
func (s *Server) LimitGrants(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitGrants = on
}

// AddChannel makes channels (unique names) exist.
func (s *Server) AddChannel(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		s.channels[n] = true
	}
}

// ExpireTokens revokes every access token minted so far.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Grants is the number of access tokens minted.
func (s *Server) Grants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.grants)
}

// Calls returns the API calls so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Messages returns the messages Cliq accepted (2xx), oldest first.
func (s *Server) Messages() []cliq.Message {
	var msgs []cliq.Message
	for _, c := range s.Calls() {
		if c.Status/100 != 2 || c.Body == nil {
			continue
		}
		b, _ := json.Marshal(c.Body)
		var m cliq.Message
		if json.Unmarshal(b, &m) == nil {
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// FailNext answers the next n API calls with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// RateLimitNext answers the next n API calls 429 with Retry-After.
func (s *Server) RateLimitNext(n int, retryAfter time.Duration) {
	s.FailNext(n, Failure{
		Status:     http.StatusTooManyRequests,
		RetryAfter: strconv.Itoa(int(retryAfter / time.Second)),
		Code:       "too_many_requests",
		Message:    "Too many requests. Please try again later.",
	})
}

// ServerErrorNext answers the next n API calls 500.
func (s *Server) ServerErrorNext(n int) {
	s.FailNext(n, Failure{Status: http.StatusInternalServerError, Code: "operation_failed", Message: "Internal server error."})
}

// HangNext leaves the next n API calls unanswered until their context ends.
func (s *Server) HangNext(n int) {
	s.FailNext(n, Failure{Hang: true})
}

// OAuthConfig returns credentials the fake accepts.
func (s *Server) OAuthConfig() cliq.OAuthConfig {
	return cliq.OAuthConfig{AccountsURL: s.URL, ClientID: ClientID, ClientSecret: ClientSecret, RefreshToken: RefreshToken}
}

// Client returns a cliq.Client for the fake, authenticated with a fresh token
// source on the fake's clock and its own in-memory token cache.
func (s *Server) Client() *cliq.Client {
	ts := cliq.NewTokenSource(s.srv.Client(), s.OAuthConfig(), cliq.NewMemoryTokenCache(s.Now), s.Now)
	c, err := cliq.NewClient(&http.Client{Transport: &cliq.Transport{Source: ts, Base: s.srv.Client().Transport}}, s.URL)
	if err != nil {
		panic(err) // s.URL is always valid
	}
	return c
}

type cliqError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
	return status
}

// handleToken serves Zoho Accounts' refresh-token grant. Like Zoho it
// answers refusals with HTTP 200 and an "error" field.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch {
	case r.Form.Get("grant_type") != "refresh_token":
		writeJSON(w, http.StatusOK, map[string]string{"error": "unsupported_grant_type"})
		return
	case r.Form.Get("client_id") != ClientID || r.Form.Get("client_secret") != ClientSecret:
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_client"})
		return
	case r.Form.Get("refresh_token") != RefreshToken:
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_code"})
		return
	}
	if s.limitGrants {
		recent := 0
		for _, g := range s.grants {
			if now.Sub(g) < GrantLimitWindow {
				recent++
			}
		}
		if recent >= GrantLimit {
			writeJSON(w, http.StatusOK, map[string]string{
				"error":             "Access Denied",
				"error_description": "You have made too many requests continuously. Please try again after some time.",
				"status":            "failure",
			})
			return
		}
	}
	token := "1000." + randomHex() + "." + randomHex()
	s.tokens[token] = now.Add(s.lifetime)
	s.grants = append(s.grants, now)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"api_domain":   "https://www.zohoapis.com",
		"token_type":   "Bearer",
		"expires_in":   int(s.lifetime / time.Second),
	})
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// apiHandler answers an authenticated API call with a decoded body and
// returns the status it wrote.
type apiHandler func(w http.ResponseWriter, r *http.Request, body map[string]any) int

// api records the call, applies canned failures, then authenticates.
func (s *Server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if json.Unmarshal(raw, &body) != nil {
			body = nil
		}
		s.mu.Lock()
		i := len(s.calls)
		s.calls = append(s.calls, Call{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
		})
		var fail *Failure
		if len(s.failures) > 0 {
			fail = &s.failures[0]
			s.failures = s.failures[1:]
		}
		s.mu.Unlock()

		status := s.answer(w, r, fail, body, h)
		s.mu.Lock()
		s.calls[i].Status = status
		s.mu.Unlock()
	})
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, fail *Failure, body map[string]any, h apiHandler) int {
	if status, refused := s.refuse(w, r, fail, "Invalid OAuth token passed."); refused {
		return status
	}
	if body == nil {
		return writeJSON(w, http.StatusBadRequest, cliqError{"input_pattern_mismatch", "The body is not a JSON object."})
	}
	return h(w, r, body)
}

// refuse answers a call the test told to fail, or one without a valid
// token with unauthorized (the v2 and v3 texts differ); refused is false
// when the call may go on.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, fail *Failure, unauthorized string) (status int, refused bool) {
	if fail != nil {
		if fail.Hang {
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return 0, true
		}
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		return writeJSON(w, fail.Status, cliqError{fail.Code, fail.Message}), true
	}
	if !s.authorized(r) {
		return writeJSON(w, http.StatusUnauthorized, cliqError{cliq.CodeOAuthTokenInvalid, unauthorized}), true
	}
	return 0, false
}

func (s *Server) authorized(r *http.Request) bool {
	if k := r.URL.Query().Get("zapikey"); k != "" {
		return k == ZapiKey
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Zoho-oauthtoken ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "Bearer ")
	}
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.tokens[token]
	return known && s.now().Before(exp)
}

// checkMessage refuses what Cliq refuses: no text, or limits broken.
func checkMessage(w http.ResponseWriter, body map[string]any) (int, bool) {
	b, _ := json.Marshal(body)
	var m cliq.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return writeJSON(w, http.StatusBadRequest, cliqError{"input_pattern_mismatch", err.Error()}), false
	}
	if m.Text == "" {
		return writeJSON(w, http.StatusBadRequest, cliqError{"input_pattern_mismatch", "'text' is mandatory."}), false
	}
	if err := m.Validate(); err != nil {
		return writeJSON(w, http.StatusBadRequest, cliqError{"input_pattern_mismatch", err.Error()}), false
	}
	return 0, true
}

func (s *Server) handlePost(w http.ResponseWriter, _ *http.Request, body map[string]any) int {
	if status, ok := checkMessage(w, body); !ok {
		return status
	}
	w.WriteHeader(http.StatusNoContent) // v2 answers plain posts with no body
	return http.StatusNoContent
}

func (s *Server) handleChannel(w http.ResponseWriter, r *http.Request, body map[string]any) int {
	s.mu.Lock()
	known := s.channels[r.PathValue("name")]
	s.mu.Unlock()
	if !known {
		return writeJSON(w, http.StatusNotFound, cliqError{"channel_not_found", "No channel exists with the given unique name."})
	}
	return s.handlePost(w, r, body)
}

func (s *Server) handleBot(w http.ResponseWriter, r *http.Request, body map[string]any) int {
	for _, extra := range []string{"chatid", "user_ids"} {
		if _, ok := body[extra]; ok {
			return writeJSON(w, http.StatusBadRequest, cliqError{"extra_key_found", fmt.Sprintf("'%s' is an extra key in the JSON Object.", extra)})
		}
	}
	ids, _ := body["userids"].(string)
	if ids == "" {
		return writeJSON(w, http.StatusBadRequest, cliqError{"botmessage_no_valid_users", "No valid users to send the message to."})
	}
	if status, ok := checkMessage(w, body); !ok {
		return status
	}
	if sync, _ := body["sync_message"].(bool); !sync {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	details := make(map[string]cliq.SentMessage)
	for _, id := range strings.Split(ids, ",") {
		details[id] = cliq.SentMessage{
			ChatID:    "CT_" + r.PathValue("bot") + "_" + id + "-B2",
			MessageID: strconv.FormatInt(s.Now().UnixMilli(), 10) + "%20" + randomHex()[:12],
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message_details": details})
}
