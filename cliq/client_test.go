package cliq_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/cliq/cliqtest"
)

// newTestClient returns a fake Cliq with one channel, its clock, and a client
// for it.
func newTestClient(t *testing.T) (*cliqtest.Server, *cliqtest.Clock, *cliq.Client) {
	t.Helper()
	srv := cliqtest.NewServer(t)
	clock := cliqtest.NewClock(t0)
	srv.SetClock(clock.Now)
	srv.AddChannel("devtasks")
	return srv, clock, srv.Client()
}

func TestTokenCachedAndRefreshedOnceUnderLoad(t *testing.T) {
	srv, clock, c := newTestClient(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			errs <- c.PostToChannel(ctx, "devtasks", "taskerbot", cliq.Text("hello"))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("PostToChannel() = %v", err)
		}
	}
	if got := srv.Grants(); got != 1 {
		t.Fatalf("grants after 50 concurrent posts = %d, want 1", got)
	}
	calls := srv.Calls()
	if len(calls) != 50 {
		t.Fatalf("%d calls, want 50", len(calls))
	}
	auth := calls[0].Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Zoho-oauthtoken 1000.") {
		t.Errorf("Authorization = %q, want Zoho-oauthtoken and the token", auth)
	}
	for _, call := range calls {
		if call.Header.Get("Authorization") != auth {
			t.Fatalf("calls used different tokens")
		}
	}

	// Still cached 54 minutes on; renewed 5 minutes before its hour is up.
	clock.Advance(54 * time.Minute)
	if err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("later")); err != nil {
		t.Fatal(err)
	}
	if got := srv.Grants(); got != 1 {
		t.Errorf("grants after 54 min = %d, want 1", got)
	}
	clock.Advance(2 * time.Minute)
	if err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("later")); err != nil {
		t.Fatal(err)
	}
	if got := srv.Grants(); got != 2 {
		t.Errorf("grants after 56 min = %d, want 2", got)
	}
}

func TestRejectedTokenIsRenewedAndRetriedOnce(t *testing.T) {
	srv, _, c := newTestClient(t)
	ctx := context.Background()
	if err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("one")); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens() // Cliq now answers 401 oauthtoken_invalid
	if err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("two")); err != nil {
		t.Fatalf("PostToChannel() after the token was revoked = %v, want success", err)
	}
	var statuses []int
	for _, call := range srv.Calls() {
		statuses = append(statuses, call.Status)
	}
	if diff := cmp.Diff([]int{204, 401, 204}, statuses); diff != "" {
		t.Errorf("call statuses (-want +got):\n%s", diff)
	}
	if got := srv.Grants(); got != 2 {
		t.Errorf("grants = %d, want 2", got)
	}
	if msgs := srv.Messages(); len(msgs) != 2 || msgs[1].Text != "two" {
		t.Errorf("messages = %+v, want one and two", msgs)
	}
}

func TestRejectedTokenRetriedOnlyOnce(t *testing.T) {
	srv, _, c := newTestClient(t)
	srv.FailNext(2, cliqtest.Failure{Status: http.StatusUnauthorized, Code: cliq.CodeOAuthTokenInvalid, Message: "Invalid OAuth token passed."})
	err := c.PostToChannel(context.Background(), "devtasks", "", cliq.Text("x"))
	apiErr, ok := errors.AsType[*cliq.APIError](err)
	if !ok || apiErr.Status != http.StatusUnauthorized || apiErr.Code != cliq.CodeOAuthTokenInvalid {
		t.Fatalf("PostToChannel() = %v, want a 401 oauthtoken_invalid APIError", err)
	}
	if n := len(srv.Calls()); n != 2 {
		t.Errorf("%d calls, want 2 (one retry)", n)
	}
	if got := srv.Grants(); got != 2 {
		t.Errorf("grants = %d, want 2 (one renewal)", got)
	}
}

func TestTokenRefusedWithHTTP200(t *testing.T) {
	t.Run("Fixture", func(t *testing.T) {
		// Zoho's real answer: status 200, an error field, no token.
		fixture, err := os.ReadFile("testdata/oauth_error_response.json")
		if err != nil {
			t.Fatal(err)
		}
		accounts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.Write(fixture)
		}))
		defer accounts.Close()
		cfg := cliq.OAuthConfig{AccountsURL: accounts.URL, ClientID: "id", ClientSecret: "secret", RefreshToken: "revoked"}
		ts := cliq.NewTokenSource(accounts.Client(), cfg, cliq.NewMemoryTokenCache(time.Now), time.Now)
		tok, err := ts.Token(context.Background())
		te, ok := errors.AsType[*cliq.TokenError](err)
		if !ok || te.Code != "invalid_code" || te.Status != http.StatusOK || tok != "" {
			t.Fatalf("Token() = %q, %v; want a TokenError invalid_code with status 200", tok, err)
		}
		if cliq.IsTransient(err) {
			t.Error("IsTransient(invalid_code) = true, want false")
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "revoked") {
			t.Errorf("error %q leaks a credential", err)
		}
	})
	t.Run("ThroughClient", func(t *testing.T) {
		srv := cliqtest.NewServer(t)
		cfg := srv.OAuthConfig()
		cfg.ClientSecret = "wrong"
		ts := cliq.NewTokenSource(nil, cfg, cliq.NewMemoryTokenCache(time.Now), time.Now)
		c, err := cliq.NewClient(&http.Client{Transport: &cliq.Transport{Source: ts}}, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		err = c.PostToChat(context.Background(), "CT_1", cliq.Text("x"))
		if te, ok := errors.AsType[*cliq.TokenError](err); !ok || te.Code != "invalid_client" {
			t.Fatalf("PostToChat() = %v, want a TokenError invalid_client", err)
		}
		if n := len(srv.Calls()); n != 0 {
			t.Errorf("%d API calls without a token, want 0", n)
		}
	})
}

func TestGrantLimit(t *testing.T) {
	srv, _, c := newTestClient(t)
	srv.LimitGrants(true)
	ctx := context.Background()
	for i := range cliqtest.GrantLimit {
		if err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("x")); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
		srv.ExpireTokens()
	}
	err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("x"))
	te, ok := errors.AsType[*cliq.TokenError](err)
	if !ok || te.Code != "Access Denied" {
		t.Fatalf("post beyond the grant limit = %v, want Zoho's Access Denied", err)
	}
	if !cliq.IsTransient(err) {
		t.Error("IsTransient(grant limit) = false, want true")
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(*cliqtest.Server)
		channel       string
		want          *cliq.APIError
		wantTransient bool
	}{
		{
			name:          "RateLimited",
			setup:         func(s *cliqtest.Server) { s.RateLimitNext(1, 30*time.Second) },
			channel:       "devtasks",
			want:          &cliq.APIError{Status: 429, Code: "too_many_requests", Message: "Too many requests. Please try again later.", RetryAfter: 30 * time.Second},
			wantTransient: true,
		},
		{
			name:          "ServerError",
			setup:         func(s *cliqtest.Server) { s.ServerErrorNext(1) },
			channel:       "devtasks",
			want:          &cliq.APIError{Status: 500, Code: "operation_failed", Message: "Internal server error."},
			wantTransient: true,
		},
		{
			name:    "UnknownChannel",
			setup:   func(*cliqtest.Server) {},
			channel: "nosuchchannel",
			want:    &cliq.APIError{Status: 404, Code: "channel_not_found", Message: "No channel exists with the given unique name."},
		},
		{
			name: "MissingScope",
			setup: func(s *cliqtest.Server) {
				s.FailNext(1, cliqtest.Failure{Status: 403, Code: cliq.CodeScopeInvalid, Message: "The OAuth token passed does not have the required scope."})
			},
			channel: "devtasks",
			want:    &cliq.APIError{Status: 403, Code: cliq.CodeScopeInvalid, Message: "The OAuth token passed does not have the required scope."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, c := newTestClient(t)
			tt.setup(srv)
			err := c.PostToChannel(context.Background(), tt.channel, "taskerbot", cliq.Text("x"))
			got, ok := errors.AsType[*cliq.APIError](err)
			if !ok {
				t.Fatalf("PostToChannel() = %v, want an APIError", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(cliq.APIError{}), cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".op"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if cliq.IsTransient(err) != tt.wantTransient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, !tt.wantTransient, tt.wantTransient)
			}
		})
	}
}

func TestHangingCallTimesOutAsTransient(t *testing.T) {
	srv, _, c := newTestClient(t)
	srv.HangNext(1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("x"))
	if !errors.Is(err, context.DeadlineExceeded) || !cliq.IsTransient(err) {
		t.Errorf("PostToChannel() on a hanging server = %v, want a transient deadline error", err)
	}
}

func TestCancelledCallIsNotTransient(t *testing.T) {
	_, _, c := newTestClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.PostToChannel(ctx, "devtasks", "", cliq.Text("x")); err == nil || cliq.IsTransient(err) {
		t.Errorf("PostToChannel() with a cancelled context = %v, want a non-transient error", err)
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c, err := cliq.NewClient(nil, dead.URL)
	if err != nil {
		t.Fatal(err)
	}
	err = c.PostToWebhookURL(context.Background(), dead.URL+"/api/v2/channelsbyname/x/message?zapikey=SECRETKEY", cliq.Text("x"))
	if err == nil || !cliq.IsTransient(err) {
		t.Fatalf("post to a closed server = %v, want a transient error", err)
	}
	if strings.Contains(err.Error(), "SECRETKEY") {
		t.Errorf("error %q contains the zapikey", err)
	}
}

func TestPostEndpoints(t *testing.T) {
	srv, _, c := newTestClient(t)
	ctx := context.Background()
	msg := cliq.Message{Text: "Task *#42* is due", Buttons: []cliq.Button{cliq.FunctionButton("Done", "taskaction", "done:42")}}

	if err := c.PostToChannel(ctx, "devtasks", "taskerbot", msg); err != nil {
		t.Fatal(err)
	}
	sent, err := c.PostToBotUsers(ctx, "taskerbot", []string{"60012345678", "60087654321"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent["60012345678"].MessageID == "" {
		t.Errorf("PostToBotUsers() = %+v, want message details for both users", sent)
	}
	if err := c.PostToChat(ctx, "CT_1300000000000000077_60012345678-B2", msg); err != nil {
		t.Fatal(err)
	}
	if err := c.PostToWebhookURL(ctx, srv.URL+"/api/v2/channelsbyname/devtasks/message?zapikey="+cliqtest.ZapiKey, msg); err != nil {
		t.Fatal(err)
	}

	calls := srv.Calls()
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 4", len(calls))
	}
	type want struct{ method, path, query string }
	wants := []want{
		{"POST", "/api/v2/channelsbyname/devtasks/message", "bot_unique_name=taskerbot"},
		{"POST", "/api/v2/bots/taskerbot/message", ""},
		{"POST", "/api/v2/chats/CT_1300000000000000077_60012345678-B2/message", ""},
		{"POST", "/api/v2/channelsbyname/devtasks/message", "zapikey=" + cliqtest.ZapiKey},
	}
	for i, w := range wants {
		got := want{calls[i].Method, calls[i].Path, calls[i].Query.Encode()}
		if got != w {
			t.Errorf("call %d = %+v, want %+v", i, got, w)
		}
		if calls[i].Header.Get("Content-Type") != "application/json" || calls[i].Body["text"] != msg.Text {
			t.Errorf("call %d: content type %q, body %v; want JSON with the message", i, calls[i].Header.Get("Content-Type"), calls[i].Body)
		}
	}
	if calls[1].Body["userids"] != "60012345678,60087654321" || calls[1].Body["sync_message"] != true {
		t.Errorf("bot message body = %v, want comma-separated userids and sync_message", calls[1].Body)
	}
	if auth := calls[3].Header.Get("Authorization"); auth != "" {
		t.Errorf("zapikey post sent Authorization %q, want none", auth)
	}
}

func TestPostToWebhookURLRedactsKey(t *testing.T) {
	srv, _, c := newTestClient(t)
	err := c.PostToWebhookURL(context.Background(), srv.URL+"/api/v2/channelsbyname/devtasks/message?zapikey=WRONGKEY", cliq.Text("x"))
	if apiErr, ok := errors.AsType[*cliq.APIError](err); !ok || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("post with a wrong zapikey = %v, want a 401 APIError", err)
	}
	if strings.Contains(err.Error(), "WRONGKEY") {
		t.Errorf("error %q contains the zapikey", err)
	}
	if err := c.PostToWebhookURL(context.Background(), "::not a url?zapikey=WRONGKEY", cliq.Text("x")); err == nil || strings.Contains(err.Error(), "WRONGKEY") {
		t.Errorf("bad url error = %v, want an error without the key", err)
	}
}

func TestPostTruncatesToLimits(t *testing.T) {
	srv, _, c := newTestClient(t)
	msg := cliq.Text(strings.Repeat("ä", 6000))
	for range 7 {
		msg.Buttons = append(msg.Buttons, cliq.URLButton("Open", "https://tasks.example.com"))
	}
	if err := c.PostToChannel(context.Background(), "devtasks", "", msg); err != nil {
		t.Fatalf("PostToChannel() of an oversized message = %v, want it cut and sent", err)
	}
	got := srv.Messages()[0]
	if n := utf8.RuneCountInString(got.Text); n != cliq.MaxTextLength || len(got.Buttons) != cliq.MaxButtons {
		t.Errorf("sent %d characters and %d buttons, want %d and %d", n, len(got.Buttons), cliq.MaxTextLength, cliq.MaxButtons)
	}
}

func TestPostNamesTheFunctionOwner(t *testing.T) {
	srv, _, c := newTestClient(t)
	c.FunctionOwner = "admin@example.com"
	msg := cliq.Text("Task #7 is due")
	msg.Buttons = []cliq.Button{cliq.FunctionButton("Done", "taskaction", "done:7"), cliq.URLButton("Open", "https://tasks.example.com")}
	if _, err := c.PostToBotUsers(context.Background(), "taskerbot", []string{"60012345678"}, msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()[0].Buttons
	if got[0].Action.Data.Owner != "admin@example.com" || got[1].Action.Data.Owner != "" {
		t.Errorf("sent buttons %+v, want the function button alone to name its owner", got)
	}
}

func TestRenewSharedAcrossReplicas(t *testing.T) {
	srv := cliqtest.NewServer(t)
	clock := cliqtest.NewClock(t0)
	srv.SetClock(clock.Now)
	cache := cliq.NewMemoryTokenCache(clock.Now) // stands in for Redis
	a := cliq.NewTokenSource(nil, srv.OAuthConfig(), cache, clock.Now)
	b := cliq.NewTokenSource(nil, srv.OAuthConfig(), cache, clock.Now)
	ctx := context.Background()

	t1, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Token(ctx); got != t1 || srv.Grants() != 1 {
		t.Fatalf("second replica got %q after %d grants, want the first's token after 1", got, srv.Grants())
	}
	t2, err := b.Renew(ctx, t1)
	if err != nil || t2 == t1 {
		t.Fatalf("Renew() = %q, %v; want a new token", t2, err)
	}
	if got, _ := a.Renew(ctx, t1); got != t2 || srv.Grants() != 2 {
		t.Errorf("other replica's Renew() = %q after %d grants, want the shared new token after 2", got, srv.Grants())
	}
}

func TestNewClientRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "cliq.zoho.com", "ftp://cliq.zoho.com", "://"} {
		if _, err := cliq.NewClient(nil, u); err == nil {
			t.Errorf("NewClient(nil, %q) succeeded, want an error", u)
		}
	}
}

func TestLookupDataCenter(t *testing.T) {
	tests := []struct{ dc, accounts, api string }{
		{"com", "https://accounts.zoho.com", "https://cliq.zoho.com"},
		{"eu", "https://accounts.zoho.eu", "https://cliq.zoho.eu"},
		{"in", "https://accounts.zoho.in", "https://cliq.zoho.in"},
		{"com.au", "https://accounts.zoho.com.au", "https://cliq.zoho.com.au"},
		{"jp", "https://accounts.zoho.jp", "https://cliq.zoho.jp"},
		{"ca", "https://accounts.zohocloud.ca", "https://cliq.zohocloud.ca"},
		{"sa", "https://accounts.zoho.sa", "https://cliq.zoho.sa"},
		{"com.cn", "https://accounts.zoho.com.cn", "https://cliq.zoho.com.cn"},
		{"uk", "https://accounts.zoho.uk", "https://cliq.zoho.uk"},
	}
	for _, tt := range tests {
		got, err := cliq.LookupDataCenter(tt.dc)
		if err != nil || got.AccountsURL != tt.accounts || got.APIURL != tt.api {
			t.Errorf("LookupDataCenter(%q) = %+v, %v; want %s and %s", tt.dc, got, err, tt.accounts, tt.api)
		}
	}
	for _, dc := range []string{"", "us", "gb", "COM"} {
		if _, err := cliq.LookupDataCenter(dc); err == nil {
			t.Errorf("LookupDataCenter(%q) succeeded, want an error", dc)
		}
	}
}

func TestPostRefusesWhatCuttingCannotFix(t *testing.T) {
	srv, _, c := newTestClient(t)
	ctx := context.Background()
	tests := []struct {
		name string
		post func(cliq.Message) error
	}{
		{"Channel", func(m cliq.Message) error { return c.PostToChannel(ctx, "devtasks", "taskerbot", m) }},
		{"BotUsers", func(m cliq.Message) error {
			_, err := c.PostToBotUsers(ctx, "taskerbot", []string{"600"}, m)
			return err
		}},
		{"Chat", func(m cliq.Message) error { return c.PostToChat(ctx, "CT_1", m) }},
		{"WebhookURL", func(m cliq.Message) error {
			return c.PostToWebhookURL(ctx, srv.URL+"/api/v2/channelsbyname/devtasks/message?zapikey="+cliqtest.ZapiKey, m)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range []cliq.Message{
				{Text: "t", Buttons: []cliq.Button{cliq.FunctionButton("Done", "taskaction", strings.Repeat("k", 101))}},
				{Card: &cliq.Card{Title: "no text", Theme: cliq.ThemeModernInline}},
			} {
				err := tt.post(m)
				if _, ok := errors.AsType[*cliq.ValidationError](err); !ok {
					t.Errorf("post = %v, want a *cliq.ValidationError", err)
				}
			}
		})
	}
	if calls := srv.Calls(); len(calls) != 0 {
		t.Errorf("%d calls for messages Cliq would refuse, want none", len(calls))
	}
}
