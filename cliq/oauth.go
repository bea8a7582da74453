package cliq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// TokenCache shares the current access token between replicas. A refresh
// token mints at most 10 access tokens per 10 minutes, so replicas must not
// each mint their own. It uses plain types so a store that cannot import this
// package (the Redis store) can implement it.
type TokenCache interface {
	// Load returns the cached token, or "" when there is none.
	Load(ctx context.Context) (token string, expiry time.Time, err error)
	// Save stores token until expiry.
	Save(ctx context.Context, token string, expiry time.Time) error
	// TryLock takes the refresh lock for at most ttl and reports whether it
	// did; a holder that dies loses it after ttl.
	TryLock(ctx context.Context, ttl time.Duration) (bool, error)
	// Unlock releases the lock if this holder still has it.
	Unlock(ctx context.Context) error
}

// OAuthConfig holds the self-client credentials for the refresh-token grant.
type OAuthConfig struct {
	AccountsURL  string // e.g. https://accounts.zoho.eu; see LookupDataCenter
	ClientID     string
	ClientSecret string
	RefreshToken string
}

// Token timing.
const (
	// refreshEarly renews a token this long before it expires, so a token is
	// never sent in its last minutes (REFERENCE section 3).
	refreshEarly = 5 * time.Minute
	// lockTTL bounds how long a replica may hold the refresh lock.
	lockTTL = 30 * time.Second
	// lockPoll is how long to wait before re-reading the cache while another
	// replica refreshes; lockPolls of them outlast lockTTL.
	lockPoll  = 500 * time.Millisecond
	lockPolls = 70
	// refreshTimeout bounds one refresh, which runs detached from the
	// context of whichever caller started it.
	refreshTimeout = 30 * time.Second
)

// TokenSource hands out Zoho access tokens. It keeps the token in memory until
// refreshEarly before expiry, shares it through a TokenCache, and lets one
// goroutine per process (and one replica, through the cache's lock) refresh
// at a time; the others wait for that refresh.
type TokenSource struct {
	conf         *oauth2.Config
	refreshToken string
	hc           *http.Client
	cache        TokenCache
	now          func() time.Time
	sleep        func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	token  string
	expiry time.Time
	flight *refresh // the refresh in progress, or nil
}

// refresh is one in-progress refresh that many callers wait for.
type refresh struct {
	done     chan struct{}
	rejected string // the token this refresh would not accept
	token    string
	err      error
}

// NewTokenSource returns a TokenSource minting tokens with cfg through hc
// (nil: http.DefaultClient). now is the clock that decides expiry.
func NewTokenSource(hc *http.Client, cfg OAuthConfig, cache TokenCache, now func() time.Time) *TokenSource {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &TokenSource{
		conf: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				TokenURL:  strings.TrimSuffix(cfg.AccountsURL, "/") + "/oauth/v2/token",
				AuthStyle: oauth2.AuthStyleInParams, // Zoho wants the credentials as form fields
			},
		},
		refreshToken: cfg.RefreshToken,
		hc:           hc,
		cache:        cache,
		now:          now,
		sleep:        sleepContext,
	}
}

// Token returns a valid access token, refreshing it when needed.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	return s.get(ctx, "")
}

// Renew returns a token other than rejected, the token Cliq just refused:
// another goroutine or replica may already have replaced it, else this
// refreshes. Only rejected is discarded, so a burst of 401s for the same
// token causes one refresh.
func (s *TokenSource) Renew(ctx context.Context, rejected string) (string, error) {
	return s.get(ctx, rejected)
}

func (s *TokenSource) get(ctx context.Context, rejected string) (string, error) {
	s.mu.Lock()
	if s.usable(s.token, s.expiry, rejected) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	if f == nil {
		f = &refresh{done: make(chan struct{}), rejected: rejected}
		s.flight = f
		// Detached: one caller giving up must not fail the others waiting.
		go s.run(context.WithoutCancel(ctx), f, rejected)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		if f.err == nil && rejected != "" && f.token == rejected && f.rejected != rejected {
			// That refresh began before rejected was known to be bad.
			return s.get(ctx, rejected)
		}
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("cliq: wait for access token: %w", ctx.Err())
	}
}

// usable reports whether tok may still be sent.
func (s *TokenSource) usable(tok string, expiry time.Time, rejected string) bool {
	return tok != "" && tok != rejected && s.now().Before(expiry.Add(-refreshEarly))
}

func (s *TokenSource) run(ctx context.Context, f *refresh, rejected string) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	tok, exp, err := s.obtain(ctx, rejected)
	s.mu.Lock()
	if err == nil {
		s.token, s.expiry = tok, exp
	}
	f.token, f.err = tok, err
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// obtain takes the token from the cache when another replica has refreshed,
// else mints one under the cache's lock.
func (s *TokenSource) obtain(ctx context.Context, rejected string) (string, time.Time, error) {
	for range lockPolls {
		tok, exp, err := s.cache.Load(ctx)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("cliq: load cached token: %w", err)
		}
		if s.usable(tok, exp, rejected) {
			return tok, exp, nil
		}
		locked, err := s.cache.TryLock(ctx, lockTTL)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("cliq: lock token refresh: %w", err)
		}
		if locked {
			return s.mintLocked(ctx, rejected)
		}
		if err := s.sleep(ctx, lockPoll); err != nil {
			return "", time.Time{}, fmt.Errorf("cliq: wait for another replica's token refresh: %w", err)
		}
	}
	return "", time.Time{}, errors.New("cliq: another replica holds the token refresh lock")
}

func (s *TokenSource) mintLocked(ctx context.Context, rejected string) (string, time.Time, error) {
	defer func() {
		// An unlock that fails only delays others until the lock expires.
		_ = s.cache.Unlock(context.WithoutCancel(ctx))
	}()
	// Another replica may have saved a token between our Load and TryLock.
	tok, exp, err := s.cache.Load(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("cliq: load cached token: %w", err)
	}
	if s.usable(tok, exp, rejected) {
		return tok, exp, nil
	}
	tok, exp, err = s.mint(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	// A failed save costs other replicas a refresh of their own, not this
	// caller its token.
	_ = s.cache.Save(ctx, tok, exp)
	return tok, exp, nil
}

// mint runs the refresh-token grant. x/oauth2 already reports Zoho's
// HTTP-200 answers that carry an "error" field as *oauth2.RetrieveError;
// mint turns those into *TokenError.
func (s *TokenSource) mint(ctx context.Context) (string, time.Time, error) {
	if s.refreshToken == "" {
		return "", time.Time{}, errors.New("cliq: no refresh token configured")
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.hc)
	start := s.now()
	t, err := s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refreshToken}).Token()
	if err != nil {
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			te := &TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
			if re.Response != nil {
				te.Status = re.Response.StatusCode
			}
			if te.Code == "" {
				te.Code = "unknown"
			}
			return "", time.Time{}, te
		}
		// Transport errors from x/oauth2 name the token URL, which holds no
		// secret: credentials travel in the form body.
		return "", time.Time{}, fmt.Errorf("cliq: token refresh: %w", err)
	}
	// x/oauth2 dates Expiry by the wall clock; use our clock so tests and
	// skewed hosts agree.
	lifetime := time.Duration(t.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = time.Hour // Zoho's documented lifetime
	}
	return t.AccessToken, start.Add(lifetime), nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// MemoryTokenCache is a TokenCache for one process: tests, and deployments
// without shared storage.
type MemoryTokenCache struct {
	now      func() time.Time
	mu       sync.Mutex
	token    string
	expiry   time.Time
	lockedTo time.Time // the lock is held until then
}

// NewMemoryTokenCache returns an empty cache whose lock expiry follows now.
func NewMemoryTokenCache(now func() time.Time) *MemoryTokenCache {
	return &MemoryTokenCache{now: now}
}

// Load returns the cached token.
func (c *MemoryTokenCache) Load(context.Context) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, c.expiry, nil
}

// Save stores token until expiry.
func (c *MemoryTokenCache) Save(_ context.Context, token string, expiry time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token, c.expiry = token, expiry
	return nil
}

// TryLock takes the lock unless it is held and not yet expired.
func (c *MemoryTokenCache) TryLock(_ context.Context, ttl time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Before(c.lockedTo) {
		return false, nil
	}
	c.lockedTo = now.Add(ttl)
	return true, nil
}

// Unlock releases the lock.
func (c *MemoryTokenCache) Unlock(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lockedTo = time.Time{}
	return nil
}

// Transport authorises requests with the TokenSource's access token
// ("Authorization: Zoho-oauthtoken …"). When Cliq refuses the token (401, or
// error code oauthtoken_invalid) it renews the token once and retries once.
// Requests carrying a zapikey are sent without a token: the key is their
// credential, and the token should not travel to a URL we were merely given.
type Transport struct {
	Source *TokenSource
	Base   http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.URL.Query().Has("zapikey") {
		return base.RoundTrip(req)
	}
	ctx := req.Context()
	tok, err := t.Source.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := base.RoundTrip(authorize(req, tok))
	if err != nil || !tokenRejected(resp) || (req.Body != nil && req.GetBody == nil) {
		return resp, err
	}
	resp.Body.Close()
	if tok, err = t.Source.Renew(ctx, tok); err != nil {
		return nil, err
	}
	retry := authorize(req, tok)
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("cliq: rewind request body: %w", err)
		}
	}
	return base.RoundTrip(retry)
}

func authorize(req *http.Request, token string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// tokenRejected reports whether resp refuses the access token. A 4xx other
// than 401 is read to look for oauthtoken_invalid; its body is then restored.
func tokenRejected(resp *http.Response) bool {
	if resp.StatusCode == http.StatusUnauthorized {
		return true
	}
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		return false
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var e struct {
		Code string `json:"code"`
	}
	return json.Unmarshal(body, &e) == nil && e.Code == CodeOAuthTokenInvalid
}
