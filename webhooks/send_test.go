package webhooks_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/webhooks"
)

// testStart is the injected "now" of every Send test.
var testStart = time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)

// newTestClock returns a clock that starts at testStart and moves on by step
// each time it is read, so durations are known without sleeping.
func newTestClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := testStart
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := now
		now = now.Add(step)
		return t
	}
}

// received is what a test receiver saw of one request.
type received struct {
	header http.Header
	body   []byte
}

// newTestReceiver serves h on loopback and records every request to it.
func newTestReceiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{header: r.Header.Clone(), body: body})
		mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestSendHeadersAndSignatures(t *testing.T) {
	srv, requests := newTestReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	newSecret, oldSecret := webhooks.NewSecret(), "pre-rotation plain secret"
	body := []byte(`{"id":"evt_01JD","type":"task.completed","data":{}}`)
	req := webhooks.Request{
		URL:       srv.URL + "/hook",
		MessageID: "evt_01JD",
		EventType: "task.completed",
		Body:      body,
		Secrets:   []string{newSecret, oldSecret},
		Now:       newTestClock(100 * time.Millisecond),
	}
	got := webhooks.Send(t.Context(), webhooks.NewHTTPClient(5*time.Second, true, nil), req)

	status := 200
	want := webhooks.Attempt{ID: got.ID, At: testStart, StatusCode: &status, DurationMS: 200, Response: "ok", Outcome: webhooks.Success}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Send() mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.ID, "del_") || len(got.ID) < 20 {
		t.Errorf("Attempt.ID = %q, want a del_ id", got.ID)
	}

	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	ts := strconv.FormatInt(testStart.Unix(), 10)
	wantHeader := http.Header{
		"Accept-Encoding":    {"gzip"},
		"Content-Length":     {strconv.Itoa(len(body))},
		"Content-Type":       {"application/json"},
		"User-Agent":         {"Tasker-Webhooks/1"},
		"Webhook-Id":         {"evt_01JD"},
		"Webhook-Timestamp":  {ts},
		"Webhook-Signature":  {refSign(t, newSecret, "evt_01JD", ts, body) + " " + refSign(t, oldSecret, "evt_01JD", ts, body)},
		"X-Tasker-Event":     {"task.completed"},
		"X-Tasker-Delivery":  {got.ID},
		"X-Tasker-Signature": {refLegacy(t, newSecret, body)},
	}
	if diff := cmp.Diff(wantHeader, reqs[0].header); diff != "" {
		t.Errorf("request headers mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(body, reqs[0].body); diff != "" {
		t.Errorf("request body mismatch (-want +got):\n%s", diff)
	}
	// A receiver holding either secret verifies the message with Verify.
	for _, secret := range []string{newSecret, oldSecret} {
		if err := webhooks.Verify(secret, reqs[0].header, reqs[0].body, testStart.Add(time.Minute), webhooks.DefaultTolerance); err != nil {
			t.Errorf("Verify(receiver's secret) = %v", err)
		}
	}
}

func TestSendDeliveryIDs(t *testing.T) {
	srv, requests := newTestReceiver(t, func(w http.ResponseWriter, r *http.Request) {})
	client := webhooks.NewHTTPClient(5*time.Second, true, nil)
	req := webhooks.Request{URL: srv.URL, MessageID: "evt_1", EventType: "task.created", Body: []byte("{}"), Secrets: []string{"s"}}
	a, b := webhooks.Send(t.Context(), client, req), webhooks.Send(t.Context(), client, req)
	req.DeliveryID = "del_given"
	c := webhooks.Send(t.Context(), client, req)
	if a.ID == b.ID || c.ID != "del_given" {
		t.Fatalf("delivery ids = %q, %q, %q; want two distinct, then del_given", a.ID, b.ID, c.ID)
	}
	reqs := requests()
	for i, id := range []string{a.ID, b.ID, c.ID} {
		if got := reqs[i].header.Get("X-Tasker-Delivery"); got != id {
			t.Errorf("request %d X-Tasker-Delivery = %q, want %q", i, got, id)
		}
		if got := reqs[i].header.Get("webhook-id"); got != "evt_1" {
			t.Errorf("request %d webhook-id = %q, want the event id on every attempt", i, got)
		}
	}
}

func TestSendOutcomes(t *testing.T) {
	tests := []struct {
		name           string
		status         int
		header         map[string]string
		wantOutcome    webhooks.Outcome
		wantRetryAfter time.Duration
		wantError      string
	}{
		{name: "OK", status: 200, wantOutcome: webhooks.Success},
		{name: "Accepted", status: 202, wantOutcome: webhooks.Success},
		{name: "ServerError", status: 500, wantOutcome: webhooks.Retry},
		{name: "Unavailable", status: 503, header: map[string]string{"Retry-After": "30"}, wantOutcome: webhooks.Retry, wantRetryAfter: 30 * time.Second},
		{name: "Gone", status: 410, wantOutcome: webhooks.Disable},
		{name: "NotFound", status: 404, wantOutcome: webhooks.Fail},
		{name: "Unauthorized", status: 401, wantOutcome: webhooks.Fail},
		{name: "RequestTimeout", status: 408, wantOutcome: webhooks.Retry},
		{name: "TooEarly", status: 425, wantOutcome: webhooks.Retry},
		{name: "TooManySeconds", status: 429, header: map[string]string{"Retry-After": "120"}, wantOutcome: webhooks.Retry, wantRetryAfter: 2 * time.Minute},
		{name: "TooManySecondsCapped", status: 429, header: map[string]string{"Retry-After": "86400"}, wantOutcome: webhooks.Retry, wantRetryAfter: time.Hour},
		{name: "TooManyDate", status: 429, header: map[string]string{"Retry-After": testStart.Add(30 * time.Minute).Format(http.TimeFormat)}, wantOutcome: webhooks.Retry, wantRetryAfter: 30 * time.Minute},
		{name: "TooManyDateCapped", status: 429, header: map[string]string{"Retry-After": testStart.Add(2 * time.Hour).Format(http.TimeFormat)}, wantOutcome: webhooks.Retry, wantRetryAfter: time.Hour},
		{name: "Found", status: 302, wantOutcome: webhooks.Retry, wantError: "redirect not followed"},
		{name: "PermanentRedirect", status: 308, wantOutcome: webhooks.Retry, wantError: "redirect not followed"},
	}
	client := webhooks.NewHTTPClient(5*time.Second, true, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var followed atomic.Int64
			srv, _ := newTestReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					followed.Add(1)
					return
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
			})
			got := webhooks.Send(t.Context(), client, webhooks.Request{
				URL: srv.URL + "/hook", MessageID: "evt_1", EventType: "task.created",
				Body: []byte("{}"), Secrets: []string{"s"}, Now: newTestClock(0),
			})
			if got.StatusCode == nil || *got.StatusCode != tt.status {
				t.Fatalf("Send().StatusCode = %v, want %d", got.StatusCode, tt.status)
			}
			if got.Outcome != tt.wantOutcome || got.RetryAfter != tt.wantRetryAfter || got.Error != tt.wantError {
				t.Errorf("Send() = outcome %v, retry after %v, error %q; want %v, %v, %q",
					got.Outcome, got.RetryAfter, got.Error, tt.wantOutcome, tt.wantRetryAfter, tt.wantError)
			}
			if n := followed.Load(); n != 0 {
				t.Errorf("redirect followed %d times, want 0", n)
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := newTestReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	got := webhooks.Send(t.Context(), webhooks.NewHTTPClient(50*time.Millisecond, true, nil), webhooks.Request{
		URL: srv.URL, MessageID: "evt_1", EventType: "task.created", Body: []byte("{}"), Secrets: []string{"s"},
	})
	if got.StatusCode != nil || got.Outcome != webhooks.Retry || !strings.HasPrefix(got.Error, "timeout: ") {
		t.Fatalf("Send(hanging receiver) = status %v, outcome %v, error %q; want nil, retry, timeout", got.StatusCode, got.Outcome, got.Error)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	got := webhooks.Send(t.Context(), webhooks.NewHTTPClient(5*time.Second, true, nil), webhooks.Request{
		URL: "http://" + addr + "/token-abc123", MessageID: "evt_1", EventType: "task.created", Body: []byte("{}"), Secrets: []string{"s"},
	})
	if got.StatusCode != nil || got.Outcome != webhooks.Retry || got.Error == "" {
		t.Fatalf("Send(closed port) = status %v, outcome %v, error %q; want nil, retry, an error", got.StatusCode, got.Outcome, got.Error)
	}
	if strings.Contains(got.Error, "token-abc123") {
		t.Fatalf("Attempt.Error %q repeats the URL", got.Error)
	}
}

func TestSendBlocked(t *testing.T) {
	srv, requests := newTestReceiver(t, func(w http.ResponseWriter, r *http.Request) {})
	got := webhooks.Send(t.Context(), webhooks.NewHTTPClient(5*time.Second, false, nil), webhooks.Request{
		URL: srv.URL, MessageID: "evt_1", EventType: "task.created", Body: []byte("{}"), Secrets: []string{"s"},
	})
	if got.StatusCode != nil || got.Outcome != webhooks.Fail || !strings.Contains(got.Error, "blocked") {
		t.Fatalf("Send(loopback, allowPrivate=false) = status %v, outcome %v, error %q; want nil, fail, blocked", got.StatusCode, got.Outcome, got.Error)
	}
	if n := len(requests()); n != 0 {
		t.Fatalf("receiver got %d requests, want 0", n)
	}
}

func TestSendBadURL(t *testing.T) {
	got := webhooks.Send(t.Context(), webhooks.NewHTTPClient(time.Second, true, nil), webhooks.Request{URL: "http://bad host/", MessageID: "evt_1", Secrets: []string{"s"}})
	if got.Outcome != webhooks.Fail || got.Error == "" || got.StatusCode != nil {
		t.Fatalf("Send(bad url) = %+v; want fail with an error", got)
	}
}

func TestSendResponse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"Short", `{"ok":true}`, `{"ok":true}`},
		// 1 + 2×511 bytes fit; the 512th é would straddle the 1 KiB cut.
		{"CutInsideRune", "a" + strings.Repeat("é", 2000), "a" + strings.Repeat("é", 511)},
		{"CutAtBoundary", strings.Repeat("x", 5000), strings.Repeat("x", 1024)},
		{"Large", strings.Repeat("y", 1<<20), strings.Repeat("y", 1024)},
		{"Invalid", "\xff\xfe ok", "\uFFFD\uFFFD ok"},
	}
	client := webhooks.NewHTTPClient(5*time.Second, true, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newTestReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, tt.body)
			})
			got := webhooks.Send(t.Context(), client, webhooks.Request{URL: srv.URL, MessageID: "evt_1", Body: []byte("{}"), Secrets: []string{"s"}})
			if got.Response != tt.want {
				t.Errorf("Attempt.Response = %d bytes %.40q…, want %d bytes %.40q…", len(got.Response), got.Response, len(tt.want), tt.want)
			}
			if !utf8.ValidString(got.Response) || len(got.Response) > 1024 {
				t.Errorf("Attempt.Response is %d bytes, valid UTF-8 %v; want ≤1024 and valid", len(got.Response), utf8.ValidString(got.Response))
			}
			if got.Outcome != webhooks.Retry || got.Error != "" {
				t.Errorf("Send() = outcome %v, error %q; want retry, no error", got.Outcome, got.Error)
			}
		})
	}
}
