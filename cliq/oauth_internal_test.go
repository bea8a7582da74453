package cliq

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// newTestTokenServer mints "minted-N" tokens and counts grants.
func newTestTokenServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var grants atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := grants.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"minted-` + string(rune('0'+n)) + `","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &grants
}

func TestTokenSourceWaitsForReplicaHoldingLock(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv, grants := newTestTokenServer(t)
	cache := NewMemoryTokenCache(clock)
	ctx := context.Background()
	if ok, _ := cache.TryLock(ctx, lockTTL); !ok { // another replica is refreshing
		t.Fatal("TryLock on a fresh cache failed")
	}
	ts := NewTokenSource(srv.Client(), OAuthConfig{AccountsURL: srv.URL, RefreshToken: "r"}, cache, clock)
	waits := 0
	ts.sleep = func(context.Context, time.Duration) error {
		waits++
		// The other replica finishes while we wait.
		return cache.Save(ctx, "from-other-replica", now.Add(time.Hour))
	}
	tok, err := ts.Token(ctx)
	if err != nil || tok != "from-other-replica" {
		t.Fatalf("Token() = %q, %v; want the other replica's token", tok, err)
	}
	if waits != 1 || grants.Load() != 0 {
		t.Errorf("waited %d times and minted %d tokens, want 1 and 0", waits, grants.Load())
	}
}

func TestTokenSourceMintsAfterAbandonedLockExpires(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	srv, grants := newTestTokenServer(t)
	cache := NewMemoryTokenCache(clock)
	ctx := context.Background()
	cache.TryLock(ctx, lockTTL) // held by a replica that died
	ts := NewTokenSource(srv.Client(), OAuthConfig{AccountsURL: srv.URL, RefreshToken: "r"}, cache, clock)
	ts.sleep = func(_ context.Context, d time.Duration) error {
		now.Add(int64(d))
		return nil
	}
	tok, err := ts.Token(ctx)
	if err != nil || tok != "minted-1" || grants.Load() != 1 {
		t.Fatalf("Token() = %q, %v after %d grants; want minted-1 after 1", tok, err, grants.Load())
	}
	if cached, _, _ := cache.Load(ctx); cached != tok {
		t.Errorf("cache holds %q, want the minted token", cached)
	}
	if ok, _ := cache.TryLock(ctx, lockTTL); !ok {
		t.Error("the refresh lock was not released")
	}
}

func TestTokenSourceWaiterCancelled(t *testing.T) {
	clock := func() time.Time { return time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC) }
	cache := NewMemoryTokenCache(clock)
	cache.TryLock(context.Background(), lockTTL)
	ts := NewTokenSource(nil, OAuthConfig{AccountsURL: "http://127.0.0.1:1"}, cache, clock)
	release := make(chan struct{})
	ts.sleep = func(ctx context.Context, _ time.Duration) error {
		<-release // the refresh stays in flight until the test ends
		return context.Canceled
	}
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ts.Token(ctx); err == nil {
		t.Error("Token() with a cancelled context succeeded")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	in := `Post "https://cliq.zoho.com/api/v2/bots/b/message?appkey=A1&zapikey=Z1&x=1": dial tcp`
	want := `Post "https://cliq.zoho.com/api/v2/bots/b/message?appkey=REDACTED&zapikey=REDACTED&x=1": dial tcp`
	if got := RedactURL(in); got != want {
		t.Errorf("RedactURL() = %s, want %s", got, want)
	}
}
