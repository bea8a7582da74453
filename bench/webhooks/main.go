// Command webhooks measures Tasker's outgoing webhooks end to end against a
// running server, over loopback: it subscribes a receiver of its own to
// task.created through the REST API, creates tasks at a fixed rate (open
// loop) through the REST API, and measures each delivery from the event's
// timestamp to its receipt. At the end it reads the delivery log and prints
// the ledger: events × subscriptions = distinct received + failed + pending
// + lost. The server must run with TASKER_WEBHOOK_ALLOW_PRIVATE=true.
//
//	go run ./bench/webhooks -url http://127.0.0.1:18081 -key benchkey -subs 10 -rate 500 -duration 20s
//	go run ./bench/webhooks -url http://127.0.0.1:18081 -key benchkey -subs 50 -rate 5 -duration 10s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskerhq/tasker/bench/internal/openloop"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webhooks:", err)
		os.Exit(1)
	}
}

type options struct {
	url      string
	key      string
	subs     int
	rate     int
	duration time.Duration
	workers  int
	drain    time.Duration
}

func run(args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("webhooks", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "Tasker base URL (loopback only)")
	fs.StringVar(&o.key, "key", os.Getenv("TASKER_API_KEY"), "REST API key")
	fs.IntVar(&o.subs, "subs", 10, "subscriptions to task.created (1..50)")
	fs.IntVar(&o.rate, "rate", 500, "task creations (events) per second")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to create tasks (at most 2m)")
	fs.IntVar(&o.workers, "workers", 128, "concurrent API connections")
	fs.DurationVar(&o.drain, "drain", 60*time.Second, "how long to wait for deliveries after the last event")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	rc, err := newReceiver()
	if err != nil {
		return err
	}
	defer rc.close()
	api := &client{base: o.url, key: o.key, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.workers, MaxConnsPerHost: o.workers}}}

	ids := make([]string, o.subs)
	for i := range ids {
		var sub struct {
			ID string `json:"id"`
		}
		body := fmt.Sprintf(`{"url":"%s/s/%d","events":["task.created"],"description":"bench/webhooks"}`, rc.url, i)
		if err := api.do(http.MethodPost, "/api/v1/webhooks", body, http.StatusCreated, &sub); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		ids[i] = sub.ID
	}
	defer func() {
		for _, id := range ids {
			_ = api.do(http.MethodDelete, "/api/v1/webhooks/"+id, "", http.StatusNoContent, nil)
		}
	}()

	start := time.Now()
	created, failed, createLat := drive(api, o)
	sent := time.Now()
	want := created * o.subs
	deadline := time.Now().Add(o.drain)
	for rc.distinct() < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got, dups, lat, first, last := rc.stats()
	slices.Sort(lat)

	var pend, fail int
	for _, id := range ids {
		n, err := api.count(id, "pending")
		if err != nil {
			return err
		}
		pend += n
		if n, err = api.count(id, "failed"); err != nil {
			return err
		}
		fail += n
	}
	lost := want - got - fail - pend
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }
	fmt.Fprintf(stdout, "subscriptions=%d rate=%d events/s duration=%s\n", o.subs, o.rate, o.duration)
	fmt.Fprintf(stdout, "events=%d (create errors %d, create p99 %s) sent in %s\n", created, failed, ms(openloop.Percentile(createLat, 99)), sent.Sub(start).Round(time.Millisecond))
	if got > 0 {
		span := last.Sub(start)
		fmt.Fprintf(stdout, "deliveries=%d in %s: %.0f deliveries/s (first receipt %s after start)\n", got, span.Round(time.Millisecond), float64(got)/span.Seconds(), first.Sub(start).Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "event->receipt p50=%s p99=%s p99.9=%s max=%s\n", ms(openloop.Percentile(lat, 50)), ms(openloop.Percentile(lat, 99)), ms(openloop.Percentile(lat, 99.9)), ms(openloop.Percentile(lat, 100)))
	fmt.Fprintf(stdout, "ledger: %d events x %d subscriptions = %d = %d received + %d failed + %d pending + %d lost; duplicates %d\n",
		created, o.subs, want, got, fail, pend, lost, dups)
	return nil
}

func (o options) check() error {
	u, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	if !openloop.Loopback(u.Hostname()) {
		return errors.New("-url must be a loopback address")
	}
	switch {
	case o.key == "":
		return errors.New("-key is required")
	case o.subs < 1 || o.subs > 50:
		return errors.New("-subs must be 1..50")
	case o.rate < 1 || o.rate > 20000:
		return errors.New("-rate must be 1..20000")
	case o.duration <= 0 || o.duration > 2*time.Minute:
		return errors.New("-duration must be within 2m")
	case o.workers < 1 || o.workers > 1024:
		return errors.New("-workers must be 1..1024")
	case o.drain <= 0 || o.drain > 10*time.Minute:
		return errors.New("-drain must be within 10m")
	}
	return nil
}

// client calls the REST API.
type client struct {
	base, key string
	hc        *http.Client
}

func (c *client) do(method, path, body string, want int, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// count pages through a subscription's delivery log with a status filter.
func (c *client) count(id, status string) (int, error) {
	n, cursor := 0, ""
	for range 10000 {
		var page struct {
			Deliveries []json.RawMessage `json:"deliveries"`
			NextCursor *string           `json:"next_cursor"`
		}
		path := "/api/v1/webhooks/" + id + "/deliveries?limit=200&status=" + status
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := c.do(http.MethodGet, path, "", http.StatusOK, &page); err != nil {
			return n, err
		}
		n += len(page.Deliveries)
		if page.NextCursor == nil {
			return n, nil
		}
		cursor = *page.NextCursor
	}
	return n, errors.New("delivery log too long")
}

// drive creates rate tasks a second for the duration, open loop, and
// returns how many were created, how many failed, and their latencies.
func drive(c *client, o options) (int, int, []time.Duration) {
	total := int(float64(o.rate) * o.duration.Seconds())
	lat := make([]time.Duration, total)
	ok := make([]bool, total)
	openloop.Run(o.rate, o.duration, o.workers, func(i int, at time.Time) {
		body := fmt.Sprintf(`{"title":"Webhook bench task %d","description":"Created by bench/webhooks.","tags":["bench"]}`, i)
		err := c.do(http.MethodPost, "/api/v1/tasks", body, http.StatusCreated, nil)
		lat[i], ok[i] = time.Since(at), err == nil
	})
	created, failed := 0, 0
	var okLat []time.Duration
	for i := range total {
		if ok[i] {
			created++
			okLat = append(okLat, lat[i])
		} else {
			failed++
		}
	}
	slices.Sort(okLat)
	return created, failed, okLat
}

// receiver is the webhook endpoint: it answers 200 at once and records the
// first receipt of each (event, subscription) pair with its latency from
// the event's timestamp.
type receiver struct {
	srv *http.Server
	url string

	mu       sync.Mutex
	seen     map[string]bool
	lat      []time.Duration
	first    time.Time
	last     time.Time
	dups     int
	requests atomic.Int64
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{seen: map[string]bool{}, url: "http://" + ln.Addr().String()}
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve), ReadHeaderTimeout: 5 * time.Second}
	go rc.srv.Serve(ln)
	return rc, nil
}

func (rc *receiver) close() { rc.srv.Shutdown(context.Background()) }

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rc.requests.Add(1)
	var ev struct {
		Timestamp time.Time `json:"timestamp"`
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &ev)
	key := r.Header.Get("webhook-id") + " " + r.URL.Path
	rc.mu.Lock()
	if rc.seen[key] {
		rc.dups++
	} else {
		rc.seen[key] = true
		rc.lat = append(rc.lat, now.Sub(ev.Timestamp))
		if rc.first.IsZero() {
			rc.first = now
		}
		rc.last = now
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

func (rc *receiver) stats() (got, dups int, lat []time.Duration, first, last time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen), rc.dups, slices.Clone(rc.lat), rc.first, rc.last
}
