// Command load drives a running Tasker server over loopback and prints
// throughput and latency percentiles. Latency is measured from each request's
// scheduled send time (open loop), so a server that stalls is charged for the
// requests that queued behind the stall instead of hiding them.
//
//	go run ./bench/load -url http://127.0.0.1:8080 -key KEY -scenario create -rate 5000 -duration 20s
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/taskerhq/tasker/bench/internal/openloop"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type options struct {
	url      string
	key      string
	scenario string
	rate     int
	duration time.Duration
	workers  int
	seed     int
	redis    string
}

func run(args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "Tasker base URL (loopback only)")
	fs.StringVar(&o.key, "key", os.Getenv("TASKER_API_KEY"), "REST API key")
	fs.StringVar(&o.scenario, "scenario", "create", "create | list")
	fs.IntVar(&o.rate, "rate", 1000, "requests per second to schedule")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send (at most 5m)")
	fs.IntVar(&o.workers, "workers", 256, "concurrent connections")
	fs.IntVar(&o.seed, "seed", 0, "create this many tasks first, unmeasured (at most 2,000,000)")
	fs.StringVar(&o.redis, "redis", "", "host:port of the server's Redis, to report memory per task (loopback only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.workers, MaxConnsPerHost: o.workers}}
	var before int64
	if o.redis != "" {
		before = usedMemory(o.redis)
	}
	if o.seed > 0 {
		start := time.Now()
		if err := seed(client, o); err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Fprintf(stdout, "seeded %d tasks in %s (%.0f/s)\n", o.seed, el.Round(time.Millisecond), float64(o.seed)/el.Seconds())
		if o.redis != "" {
			after := usedMemory(o.redis)
			fmt.Fprintf(stdout, "redis used_memory grew %d bytes: %.0f bytes per task\n", after-before, float64(after-before)/float64(o.seed))
		}
	}
	if o.rate == 0 {
		return nil
	}
	res := drive(client, o)
	res.print(stdout, o)
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
	if o.redis != "" {
		host, _, err := net.SplitHostPort(o.redis)
		if err != nil || !openloop.Loopback(host) {
			return errors.New("-redis must be a loopback host:port")
		}
	}
	switch {
	case o.key == "":
		return errors.New("-key is required")
	case o.scenario != "create" && o.scenario != "list":
		return fmt.Errorf("unknown scenario %q", o.scenario)
	case o.rate < 0 || o.rate > 100000:
		return errors.New("-rate must be 0..100000")
	case o.duration <= 0 || o.duration > 5*time.Minute:
		return errors.New("-duration must be within 5m")
	case o.workers < 1 || o.workers > 4096:
		return errors.New("-workers must be 1..4096")
	case o.seed < 0 || o.seed > 2000000:
		return errors.New("-seed must be 0..2000000")
	}
	return nil
}

var titles = []string{"Review the release notes", "Fix flaky login test", "Prepare the quarterly report", "Update the on-call rota", "Water the office plants"}

func taskBody(i int) []byte {
	b, _ := json.Marshal(map[string]any{
		"title":       fmt.Sprintf("%s %d", titles[i%len(titles)], i),
		"description": "Created by the load tool to measure Tasker.",
		"priority":    []string{"low", "medium", "high", "urgent"}[i%4],
		"tags":        []string{[]string{"backend", "frontend", "ops"}[i%3]},
		"due_at":      time.Now().Add(time.Duration(i%720) * time.Hour).UTC().Format(time.RFC3339),
	})
	return b
}

func (o options) request(i int) (*http.Request, error) {
	var req *http.Request
	var err error
	switch o.scenario {
	case "create":
		req, err = http.NewRequest(http.MethodPost, o.url+"/api/v1/tasks", bytes.NewReader(taskBody(i)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	case "list":
		q := []string{"limit=50", "limit=50&status=open", "limit=50&tag=ops"}[i%3]
		req, err = http.NewRequest(http.MethodGet, o.url+"/api/v1/tasks?"+q, nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+o.key)
	return req, nil
}

// seed creates o.seed tasks with every worker busy, unmeasured.
func seed(client *http.Client, o options) error {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > o.seed || firstErr.Load() != nil {
					return
				}
				seedOne := o
				seedOne.scenario = "create"
				req, _ := seedOne.request(i)
				resp, err := client.Do(req)
				if err != nil {
					firstErr.Store(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					firstErr.Store(fmt.Errorf("seed: status %d", resp.StatusCode))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	return nil
}

type result struct {
	latencies []time.Duration
	errors    int
	codes     map[int]int
	elapsed   time.Duration
}

// drive sends requests at o.rate for o.duration from o.workers connections.
func drive(client *http.Client, o options) result {
	total := int(float64(o.rate) * o.duration.Seconds())
	start := time.Now()
	lat := make([]time.Duration, total)
	codes := make([]int, total)
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+30*time.Second)
	defer cancel()
	openloop.Run(o.rate, o.duration, o.workers, func(i int, scheduled time.Time) {
		req, err := o.request(i + o.seed + 1)
		if err != nil {
			return
		}
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			codes[i] = -1
			lat[i] = time.Since(scheduled)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat[i] = time.Since(scheduled)
		codes[i] = resp.StatusCode
	})
	r := result{codes: map[int]int{}, elapsed: time.Since(start)}
	for i, c := range codes {
		r.codes[c]++
		if c < 200 || c > 299 {
			r.errors++
			continue
		}
		r.latencies = append(r.latencies, lat[i])
	}
	slices.Sort(r.latencies)
	return r
}

func (r result) pct(p float64) time.Duration { return openloop.Percentile(r.latencies, p) }

func (r result) print(w io.Writer, o options) {
	ok := len(r.latencies)
	fmt.Fprintf(w, "scenario=%s rate=%d/s duration=%s workers=%d\n", o.scenario, o.rate, o.duration, o.workers)
	fmt.Fprintf(w, "requests=%d ok=%d errors=%d codes=%v elapsed=%s\n", ok+r.errors, ok, r.errors, r.codes, r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "throughput=%.0f ok/s\n", float64(ok)/r.elapsed.Seconds())
	ms := func(d time.Duration) string {
		return strings.TrimSuffix(fmt.Sprintf("%.2f", float64(d)/1e6), "0") + "ms"
	}
	fmt.Fprintf(w, "latency p50=%s p99=%s p99.9=%s max=%s\n", ms(r.pct(50)), ms(r.pct(99)), ms(r.pct(99.9)), ms(r.pct(100)))
}

// usedMemory reads INFO memory's used_memory from the server's Redis.
func usedMemory(addr string) int64 {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	info, err := rdb.InfoMap(context.Background(), "memory").Result()
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	return n
}
