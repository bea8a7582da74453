package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineBuffer is an io.Writer the listener and the test share.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls out until it matches re: the stream is live, so this is
// the one place the tests wait on the wall clock.
func waitFor(t *testing.T, out *lineBuffer, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := rx.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no output matching %q within 10 s; got:\n%s", re, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testListener is a running tasker listen.
type testListener struct {
	l     *listener
	out   *lineBuffer
	stop  func()
	conns func() []net.Conn // the stream connections dialled so far
	gate  chan struct{}     // each reconnect waits for a value here
	waits chan time.Duration
}

var listenClock = time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)

// startListen runs the listener of args against srv with a fixed clock,
// a backoff of n+1 ms and reconnects that wait for the test's go-ahead.
func startListen(t *testing.T, srv *httptest.Server, args ...string) *testListener {
	t.Helper()
	o, err := parseListen(append([]string{"--url", srv.URL, "--api-key", "test-key", "--timeout", "5s"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tl := &testListener{out: &lineBuffer{}, gate: make(chan struct{}), waits: make(chan time.Duration, 10)}
	var mu sync.Mutex
	var conns []net.Conn
	tl.conns = func() []net.Conn {
		mu.Lock()
		defer mu.Unlock()
		return append([]net.Conn(nil), conns...)
	}
	l := newListener(o, tl.out)
	l.stream = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
			return c, err
		},
	}}
	l.now = func() time.Time { return listenClock }
	l.loc = time.UTC
	l.backoff = func(n int) time.Duration { return time.Duration(n+1) * time.Millisecond }
	l.sleep = func(ctx context.Context, d time.Duration) bool {
		tl.waits <- d
		select {
		case <-tl.gate:
			return true
		case <-ctx.Done():
			return false
		}
	}
	tl.l = l
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	stopped := false
	tl.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("listen ended with %v, want nil after cancel", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("listen did not stop within 5 s of cancel")
		}
	}
	t.Cleanup(tl.stop)
	waitFor(t, tl.out, `Ready: connected`)
	return tl
}

// specVerify checks a forwarded request as SPEC 8.3 describes it, written
// out here rather than through the webhooks package it tests.
func specVerify(secret string, h http.Header, body []byte) error {
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return fmt.Errorf("secret %q does not decode: %v", secret, err)
		}
		key = k
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); h.Get("webhook-signature") != want {
		return fmt.Errorf("webhook-signature = %q, want %q", h.Get("webhook-signature"), want)
	}
	mac = hmac.New(sha256.New, key)
	mac.Write(body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); h.Get("X-Tasker-Signature") != want {
		return fmt.Errorf("X-Tasker-Signature = %q, want %q", h.Get("X-Tasker-Signature"), want)
	}
	var env struct{ ID, Type string }
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("body is not the envelope: %v", err)
	}
	for name, want := range map[string]string{
		"webhook-id": env.ID, "X-Tasker-Event": env.Type, "Content-Type": "application/json",
		"User-Agent": "Tasker-Webhooks/1", "webhook-timestamp": strconv.FormatInt(listenClock.Unix(), 10),
	} {
		if got := h.Get(name); got != want {
			return fmt.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.HasPrefix(h.Get("X-Tasker-Delivery"), "del_") {
		return fmt.Errorf("X-Tasker-Delivery = %q", h.Get("X-Tasker-Delivery"))
	}
	return nil
}

type forwarded struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status int) (*httptest.Server, chan forwarded) {
	got := make(chan forwarded, 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- forwarded{r.Header.Clone(), body}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestListenPrintsAndForwards(t *testing.T) {
	_, srv := newTestService(t, nil)
	recv, got := newReceiver(t, http.StatusNoContent)
	tl := startListen(t, srv, "--forward-to", recv.URL+"/hooks")
	secret := tl.l.opts.secret
	if !strings.HasPrefix(secret, "whsec_") || !strings.Contains(tl.out.String(), secret) {
		t.Fatalf("secret %q not printed:\n%s", secret, tl.out.String())
	}

	if code, task := do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Ship it"}`); code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, task)
	}
	waitFor(t, tl.out, `2026-\d\d-\d\d \d\d:\d\d:\d\d  task\.created\s+#1 Ship it  evt_\w+\n`)
	select {
	case f := <-got:
		if err := specVerify(secret, f.header, f.body); err != nil {
			t.Error(err)
		}
		if !bytes.Contains(f.body, []byte(`"type":"task.created"`)) {
			t.Errorf("forwarded %s", f.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing forwarded")
	}
	waitFor(t, tl.out, `  → 204 No Content \[del_\w+\] 0ms\n`)
}

func TestListenGivenSecretAndFailingReceiver(t *testing.T) {
	_, srv := newTestService(t, nil)
	recv, got := newReceiver(t, http.StatusInternalServerError)
	tl := startListen(t, srv, "--forward-to", recv.URL, "--secret", "my-own-secret")
	do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Ship it"}`)
	f := <-got
	if err := specVerify("my-own-secret", f.header, f.body); err != nil {
		t.Error(err)
	}
	waitFor(t, tl.out, `→ 500 Internal Server Error`)
	recv.Close()
	do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Again"}`)
	waitFor(t, tl.out, `#2 Again  evt_\w+\n  → no answer \[del_\w+\] 0ms: .+\n`)
}

// TestListenResumesAfterDrop cuts the stream, writes while it is down, and
// checks that every event of the log is printed exactly once, in order.
func TestListenResumesAfterDrop(t *testing.T) {
	_, srv := newTestService(t, nil)
	tl := startListen(t, srv)
	do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Before"}`)
	waitFor(t, tl.out, `#1 Before`)

	for _, c := range tl.conns() {
		c.Close()
	}
	if d := <-tl.waits; d != time.Millisecond {
		t.Errorf("first reconnect waits %v, want the backoff's 1ms", d)
	}
	waitFor(t, tl.out, `reconnecting in 1ms`)
	do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"During"}`)
	do(t, "POST", srv.URL+"/api/v1/tasks/2/complete", "test-key", ``)
	tl.gate <- struct{}{}
	waitFor(t, tl.out, `Reconnected; resuming after evt_`)
	do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"After"}`)
	waitFor(t, tl.out, `#3 After`)
	tl.stop()

	code, log := do(t, "GET", srv.URL+"/api/v1/events?limit=200", "test-key", "")
	evs, _ := log["events"].([]any)
	if code != http.StatusOK || len(evs) < 4 {
		t.Fatalf("event log = %d %v", code, log)
	}
	var want []string
	for i := len(evs) - 1; i >= 0; i-- { // the log is newest first
		want = append(want, evs[i].(map[string]any)["id"].(string))
	}
	var printed []string
	for _, m := range regexp.MustCompile(`  (evt_\w+)\n`).FindAllStringSubmatch(tl.out.String(), -1) {
		printed = append(printed, m[1])
	}
	if strings.Join(printed, " ") != strings.Join(want, " ") {
		t.Errorf("printed events\n%v\nwant the log's\n%v\noutput:\n%s", printed, want, tl.out.String())
	}
}

func TestListenEventsFilter(t *testing.T) {
	_, srv := newTestService(t, nil)
	tl := startListen(t, srv, "--events", "task.completed, task.deleted")
	if !strings.Contains(tl.out.String(), "for task.completed,task.deleted") {
		t.Errorf("banner:\n%s", tl.out.String())
	}
	do(t, "POST", srv.URL+"/api/v1/tasks", "test-key", `{"title":"Ship it"}`)
	do(t, "POST", srv.URL+"/api/v1/tasks/1/complete", "test-key", ``)
	waitFor(t, tl.out, `task\.completed\s+#1 Ship it`)
	if strings.Contains(tl.out.String(), "task.created") {
		t.Errorf("--events task.completed printed other types:\n%s", tl.out.String())
	}
}

func TestListenRefusals(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"tasker", "listen", "--help"}, &out, &errOut); err != nil {
		t.Errorf("listen --help = %v, want nil", err)
	}
	if !strings.Contains(out.String()+errOut.String(), "usage: tasker listen") {
		t.Errorf("listen --help printed %q", out.String()+errOut.String())
	}
	t.Setenv("TASKER_API_KEY", "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no API key"},
		{[]string{"--api-key", "k", "--events", "task.created,task.exploded"}, `unknown event type "task.exploded"; want some of task.created, task.updated`},
		{[]string{"--api-key", "k", "--forward-to", "localhost:4000"}, "--forward-to"},
		{[]string{"--api-key", "k", "extra"}, "unexpected argument"},
	} {
		if err := runListen(t.Context(), c.args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("listen %q = %v, want an error containing %q", c.args, err, c.want)
		}
	}

	_, srv := newTestService(t, nil)
	done := make(chan error, 1)
	go func() {
		done <- runListen(t.Context(), []string{"--url", srv.URL, "--api-key", "wrong-key"}, io.Discard, io.Discard)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("wrong key: %v, want a 401 error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a refused key is retried instead of reported")
	}
}

func TestReadEvents(t *testing.T) {
	in := "retry: 3000\r\n: connected\r\n\r\nid: 1\nevent: a\ndata: {\"x\":\ndata: 1}\n\n: keep-alive\n\nid: 2\ndata:{}\n\nid: 3\ndata: cut"
	var got []string
	if err := readEvents(strings.NewReader(in), func(e sseEvent) {
		got = append(got, e.id+"|"+e.event+"|"+string(e.data))
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1|a|{\"x\":\n1}", "2||{}"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("readEvents = %q, want %q", got, want)
	}
}

// TestListenRetryAfter: a stream refused with 503 or 429 is tried again
// after the server's Retry-After (seconds or a date; at most 5 minutes)
// when that is longer than the backoff, and a dropped stream after the
// backoff alone.
func TestListenRetryAfter(t *testing.T) {
	answers := []func(w http.ResponseWriter){
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }, // connects, then ends
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", listenClock.Add(90*time.Second).Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		},
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) },
	}
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := min(n, len(answers)-1)
		n++
		mu.Unlock()
		answers[i](w)
	}))
	t.Cleanup(srv.Close)
	tl := startListen(t, srv)
	// The backoff is n+1 ms for the nth failure since the last connection.
	for i, want := range []time.Duration{time.Millisecond, 7 * time.Second, 5 * time.Minute, 90 * time.Second, 5 * time.Millisecond} {
		if got := <-tl.waits; got != want {
			t.Errorf("wait %d = %s, want %s", i, got, want)
		}
		tl.gate <- struct{}{}
	}
}
