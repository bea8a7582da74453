package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

const listenUsage = `usage: tasker listen [--forward-to URL] [--events TYPES] [flags]

Follows a running Tasker's event stream (GET /api/v1/events/stream) and
prints one line per event as it happens. With --forward-to, it also POSTs
each event to URL exactly as a webhook subscription would (SPEC 8.3):
signed with the secret it prints at the start, with the same headers, and
prints the receiver's status and time. For developing a receiver.

  tasker listen
  tasker listen --events task.created,task.completed
  tasker listen --forward-to http://localhost:4000/hooks

A dropped connection is retried with a growing delay and resumes after the
last event seen (Last-Event-ID): nothing is lost or shown twice. Ctrl-C
stops it.

flags:
`

// listenOptions are the flags of tasker listen.
type listenOptions struct {
	url, apiKey       string
	forwardTo, secret string
	events            string
	timeout           time.Duration
}

// listener follows one server's event stream; its fields are the seams
// tests replace.
type listener struct {
	opts   listenOptions
	out    io.Writer
	stream *http.Client // no timeout: a stream lasts
	fwd    *http.Client
	now    func() time.Time
	loc    *time.Location
	// backoff is the wait before reconnect attempt n (0 first).
	backoff func(n int) time.Duration
	// sleep waits d, or returns false when ctx ends first.
	sleep func(ctx context.Context, d time.Duration) bool

	mu     sync.Mutex // out, for printing whole lines
	lastID string     // the last event handled: Last-Event-ID on reconnect
}

// runListen is "tasker listen" (SPEC 2).
func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseListen(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return newListener(o, stdout).run(ctx)
}

// parseListen reads and checks the flags of tasker listen; it returns
// flag.ErrHelp when they ask for help.
func parseListen(args []string, stderr io.Writer) (listenOptions, error) {
	o := listenOptions{}
	fs := newFlagSet("listen", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, listenUsage); fs.PrintDefaults() }
	fs.StringVar(&o.url, "url", envOr("TASKER_PUBLIC_URL", "http://localhost:8080"), "Tasker's base URL (TASKER_PUBLIC_URL)")
	fs.StringVar(&o.apiKey, "api-key", os.Getenv("TASKER_API_KEY"), "an API key of the workspace to follow (TASKER_API_KEY)")
	fs.StringVar(&o.forwardTo, "forward-to", "", "POST each event, signed, to this URL")
	fs.StringVar(&o.secret, "secret", "", "sign forwarded events with this secret instead of a new whsec_ one")
	fs.StringVar(&o.events, "events", "", "only these event types, a comma list (default all): "+tasks.EventTypeList())
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long the receiver may take to answer")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("listen: unexpected argument %q", fs.Arg(0))
	}
	return o, o.check()
}

// check validates the options and fills in a secret when forwarding.
func (o *listenOptions) check() error {
	if o.apiKey == "" {
		return errors.New("listen: no API key: pass --api-key or set TASKER_API_KEY (a server without TASKER_API_KEYS prints the key it generated)")
	}
	if u, err := url.Parse(o.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("listen: --url %q is not an http(s) URL", o.url)
	}
	if o.forwardTo != "" {
		if u, err := url.Parse(o.forwardTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("listen: --forward-to %q is not an http(s) URL", o.forwardTo)
		}
		if o.secret == "" {
			o.secret = webhooks.NewSecret()
		}
	}
	if o.events != "" {
		var types []string
		for _, t := range strings.Split(o.events, ",") {
			t = strings.TrimSpace(t)
			if t == "*" {
				types = nil
				break
			}
			if !tasks.EventType(t).Valid() {
				return fmt.Errorf("listen: --events: unknown event type %q; want some of %s", t, tasks.EventTypeList())
			}
			types = append(types, t)
		}
		o.events = strings.Join(types, ",")
	}
	return nil
}

func newListener(o listenOptions, out io.Writer) *listener {
	// A local receiver is the point: no SSRF guard, no proxy, and, as in
	// real deliveries, redirects are answers, not followed.
	fwd := &http.Client{
		Timeout:       o.timeout,
		Transport:     &http.Transport{Proxy: nil, MaxIdleConns: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &listener{
		opts: o, out: out, fwd: fwd, now: time.Now, loc: time.Local,
		stream:  &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}},
		backoff: listenBackoff,
		sleep: func(ctx context.Context, d time.Duration) bool {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
				return true
			}
		},
	}
}

// listenBackoff doubles from half a second up to 30 s.
func listenBackoff(n int) time.Duration {
	return min(30*time.Second, 500*time.Millisecond<<min(n, 10))
}

// permanentError is an answer that trying again will not change.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }

// run follows the stream until ctx ends (nil) or the server refuses the
// request for good (an error). Every drop is retried after backoff.
func (l *listener) run(ctx context.Context) error {
	what := "all events"
	if l.opts.events != "" {
		what = l.opts.events
	}
	l.printf("Listening to %s for %s. Ctrl-C stops.\n", strings.TrimRight(l.opts.url, "/"), what)
	if l.opts.forwardTo != "" {
		l.printf("Forwarding to %s, signed with the secret\n  %s\n", l.opts.forwardTo, l.opts.secret)
	}
	failures := 0
	for {
		connected, retryAfter, err := l.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return perm.err
		}
		if connected {
			failures = 0
		}
		wait := max(l.backoff(failures), retryAfter)
		failures++
		why := "the stream ended"
		if err != nil {
			why = err.Error()
		}
		l.printf("%s; reconnecting in %s\n", why, wait.Round(time.Millisecond))
		if !l.sleep(ctx, wait) {
			return nil
		}
	}
}

// follow opens the stream once and handles its events until it ends.
// connected reports whether the server accepted the stream; retryAfter is
// the server's wish on a 429 or 503.
func (l *listener) follow(ctx context.Context) (connected bool, retryAfter time.Duration, err error) {
	u := strings.TrimRight(l.opts.url, "/") + "/api/v1/events/stream"
	if l.opts.events != "" {
		u += "?type=" + url.QueryEscape(l.opts.events)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, 0, permanentError{fmt.Errorf("listen: %w", err)}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+l.opts.apiKey)
	if l.lastID != "" {
		req.Header.Set("Last-Event-ID", l.lastID)
	}
	resp, err := l.stream.Do(req)
	if err != nil {
		return false, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// A listener is watched by a person: wait 5 minutes at most.
		retryAfter := min(webhooks.ParseRetryAfter(resp.Header.Get("Retry-After"), l.now()), 5*time.Minute)
		return false, retryAfter, answerError(resp)
	}
	if l.lastID == "" {
		l.printf("Ready: connected, waiting for events.\n")
	} else {
		l.printf("Reconnected; resuming after %s.\n", l.lastID)
	}
	err = readEvents(resp.Body, func(ev sseEvent) {
		l.handle(ctx, ev)
	})
	return true, 0, err
}

// answerError describes a refusal of the stream; only server trouble and
// too many streams are worth trying again.
func answerError(resp *http.Response) error {
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	msg := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &body) == nil && body.Error.Message != "" {
		msg = body.Error.Message
	}
	err := fmt.Errorf("listen: the server answered %d: %s", resp.StatusCode, printable(msg))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return err
	case resp.StatusCode == http.StatusUnauthorized:
		return permanentError{fmt.Errorf("%w (check --api-key or TASKER_API_KEY)", err)}
	}
	return permanentError{err}
}

// sseEvent is one event of a Server-Sent Events stream.
type sseEvent struct {
	id, event string
	data      []byte
}

// readEvents parses a Server-Sent Events stream (the WHATWG EventSource
// rules the server writes to: "field: value" lines, comments starting
// with ':', an event ending at a blank line, several data lines joined by
// newlines) and calls fn for each event that has data. It returns the
// read error; io.EOF becomes nil.
func readEvents(r io.Reader, fn func(sseEvent)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var ev sseEvent
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // a half-written event is dropped, as EventSource does
			}
			return err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if len(data) > 0 {
				ev.data = []byte(strings.Join(data, "\n"))
				fn(ev)
			}
			ev, data = sseEvent{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			ev.id = value
		case "event":
			ev.event = value
		case "data":
			data = append(data, value)
		}
	}
}

// handle prints one event and, when forwarding, delivers it.
func (l *listener) handle(ctx context.Context, ev sseEvent) {
	var env struct {
		ID        string    `json:"id"`
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      struct {
			Task *struct {
				Number int64  `json:"number"`
				Title  string `json:"title"`
			} `json:"task"`
			User *struct {
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"user"`
		} `json:"data"`
	}
	if err := json.Unmarshal(ev.data, &env); err != nil {
		l.printf("%s %s (unreadable data: %v)\n", printable(ev.id), printable(ev.event), err)
		return
	}
	id, typ := env.ID, env.Type
	if id == "" {
		id = ev.id
	}
	if typ == "" {
		typ = ev.event
	}
	ts := env.Timestamp
	if ts.IsZero() {
		ts = l.now()
	}
	line := fmt.Sprintf("%s  %-19s", ts.In(l.loc).Format("2006-01-02 15:04:05"), typ)
	switch {
	case env.Data.Task != nil:
		line += fmt.Sprintf("  #%d %s", env.Data.Task.Number, env.Data.Task.Title)
	case env.Data.User != nil:
		line += "  " + strings.TrimSpace(env.Data.User.Name+" "+env.Data.User.Email)
	}
	l.printf("%s  %s\n", printable(line), printable(id))
	if l.opts.forwardTo != "" {
		l.forward(ctx, id, typ, ev.data)
	}
	if ev.id != "" {
		l.lastID = ev.id
	}
}

// forward makes one delivery of the event with the webhooks package's
// own Send, so the request is signed and shaped as a subscription's
// (SPEC 8.3); a failure is printed, never retried.
func (l *listener) forward(ctx context.Context, id, typ string, body []byte) {
	a := webhooks.Send(ctx, l.fwd, webhooks.Request{
		URL: l.opts.forwardTo, MessageID: id, EventType: typ, Body: body,
		Secrets: []string{l.opts.secret}, Now: l.now,
	})
	status := "no answer"
	if a.StatusCode != nil {
		status = fmt.Sprintf("%d %s", *a.StatusCode, http.StatusText(*a.StatusCode))
	}
	line := fmt.Sprintf("  → %s [%s] %dms", status, a.ID, a.DurationMS)
	if a.Error != "" {
		line += ": " + a.Error
	}
	l.printf("%s\n", printable(line))
}

func (l *listener) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.out, format, args...)
}
