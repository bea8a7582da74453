package console_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts one headless Chromium for the test, 360 px wide (the
// narrowest screen the console supports). It fails, never skips, without
// a browser: the test command installs one (scripts/ensure-test-tools).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium on PATH: run scripts/ensure-test-tools (make test does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI containers run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(360, 780),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// Headless windows are at least 500 px wide; the viewport is not.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780)); err != nil { // starts the browser, without a deadline
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// run runs browser steps with a deadline, failing the test on error.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// shot saves a full-page screenshot of the current page when screenshots
// are asked for.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := screenshotDir()
	if dir == "" {
		return
	}
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(screenshotPath(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleInBrowser drives the console in a real headless Chromium, as
// an operator would: sign in, find a task made through the API (whose
// title holds a script tag, shown as text), disable a subscription, read
// a delivery's attempts, watch an event arrive live.
func TestConsoleInBrowser(t *testing.T) {
	e := newTestEnv(t)
	const title = `<script>window.pwned=1</script> Ship <b>it</b>`
	task := e.apiCall(t, "POST", "/api/v1/tasks", `{"title":"<script>window.pwned=1</script> Ship <b>it</b>","tags":["release"],"priority":"high"}`, 201)
	taskID := between(task, `"id":"`, `"`)
	e.apiCall(t, "POST", "/api/v1/tasks/"+taskID+"/comments", `{"text":"<img src=x onerror=window.pwned=2> looks good"}`, 201)
	e.apiCall(t, "POST", "/api/v1/tasks", `{"title":"Write the changelog","status":"in_progress"}`, 201)
	sub := e.apiCall(t, "POST", "/api/v1/webhooks", `{"url":"`+e.receiver.URL+`/hook","events":["*"],"description":"release bot"}`, 201)
	subID := between(sub, `"id":"`, `"`)
	e.apiCall(t, "POST", "/api/v1/webhooks/"+subID+"/test", `{"event_type":"task.completed"}`, 202)
	// Two attempts (the first and its one retry) fail at the receiver.
	deadline := time.Now().Add(10 * time.Second)
	for e.received.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	ctx := newBrowser(t)
	base := e.srv.URL + "/console/"
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	scripted := func() bool {
		return value(t, ctx, "check for injected script", chromedp.Evaluate[bool](`window.pwned !== undefined`))
	}

	// Sign in.
	run(t, ctx, "open the console", chromedp.Navigate(base+"tasks"), chromedp.WaitVisible(chromedp.ID("key")))
	shot(t, ctx, "01-signin")
	run(t, ctx, "submit the key",
		chromedp.SendKeys(chromedp.ID("key"), e.key),
		chromedp.Submit(chromedp.ID("key")),
		chromedp.WaitVisible(css(`table.list`)),
	)
	if path := value(t, ctx, "location", chromedp.Evaluate[string](`location.pathname`)); path != "/console/tasks" {
		t.Fatalf("after sign-in at %s, want /console/tasks", path)
	}

	// The task is found; its title is text, and no script of it ran.
	run(t, ctx, "search the task",
		chromedp.SendKeys(css(`input[name=q]`), "ship"),
		chromedp.Submit(css(`input[name=q]`)),
		// The list before the search shows the task too: wait for the
		// answer's page, whose search box holds the query.
		chromedp.WaitVisible(css(`input[name=q][value="ship"]`)),
		chromedp.WaitVisible(css(`table.list tbody a`)),
	)
	if cell := value(t, ctx, "task cell", chromedp.Text(css(`table.list tbody a`))); cell != title || scripted() {
		t.Fatalf("task cell = %q (script ran: %v), want the title as text %q", cell, scripted(), title)
	}
	shot(t, ctx, "02-tasks")

	run(t, ctx, "board", chromedp.Navigate(base+"tasks?view=board"), chromedp.WaitVisible(css(`.board`)))
	if n := value(t, ctx, "columns", chromedp.Evaluate[int](`document.querySelectorAll('.board .column').length`)); n != 4 {
		t.Errorf("board has %d columns, want 4 statuses", n)
	}
	shot(t, ctx, "03-board")

	run(t, ctx, "task page", chromedp.Navigate(base+"tasks/"+taskID), chromedp.WaitVisible(css(`h1`)))
	heading := value(t, ctx, "heading", chromedp.Text(css(`h1`)))
	comment := value(t, ctx, "comment", chromedp.Text(css(`.comment p`)))
	if !strings.Contains(heading, title) || !strings.Contains(comment, "<img src=x") || scripted() {
		t.Fatalf("task page h1 %q, comment %q, script ran %v", heading, comment, scripted())
	}
	shot(t, ctx, "04-task")

	// Disable the subscription from the list.
	row := `tr[data-webhook="` + subID + `"]`
	run(t, ctx, "disable the subscription",
		chromedp.Navigate(base+"webhooks"),
		chromedp.WaitVisible(css(row)),
		chromedp.Click(css(row+` button`)),
		chromedp.WaitVisible(css(`.notice`)),
	)
	if status := value(t, ctx, "status", chromedp.Text(css(row+` .status`))); status != "disabled" {
		t.Fatalf("subscription status after Disable = %q, want disabled", status)
	}
	shot(t, ctx, "05-webhooks")

	// The delivery log shows every attempt of the test message.
	run(t, ctx, "delivery log", chromedp.Navigate(base+"webhooks/"+subID), chromedp.WaitVisible(css(`.delivery`)))
	attempts := value(t, ctx, "attempts", chromedp.Evaluate[int](`document.querySelectorAll('.delivery .attempts tbody tr').length`))
	codes := value(t, ctx, "attempt rows", chromedp.Text(css(`.delivery .attempts tbody`)))
	if attempts < 2 || !strings.Contains(codes, "500") || !strings.Contains(codes, "receiver is down") {
		t.Fatalf("delivery log shows %d attempts %q, want 2 with status 500 and the response", attempts, codes)
	}
	shot(t, ctx, "06-webhook")

	run(t, ctx, "outbox", chromedp.Navigate(base+"notifications"), chromedp.WaitVisible(css(`table.list`)))
	shot(t, ctx, "07-outbox")

	// Events arrive live from the stream.
	run(t, ctx, "events page", chromedp.Navigate(base+"events"), chromedp.WaitVisible(css(`#live.on`)))
	e.apiCall(t, "POST", "/api/v1/tasks", `{"title":"Arrived live"}`, 201)
	run(t, ctx, "live event", chromedp.WaitVisible(css(`tr.fresh`)))
	if fresh := value(t, ctx, "live row", chromedp.Text(css(`tr.fresh`))); !strings.Contains(fresh, "Arrived live") || !strings.Contains(fresh, "task.created") {
		t.Fatalf("live row = %q", fresh)
	}
	shot(t, ctx, "08-events")

	run(t, ctx, "health", chromedp.Navigate(base+"health"), chromedp.WaitVisible(css(`svg.chart`)))
	if n := value(t, ctx, "failed bars", chromedp.Evaluate[int](`document.querySelectorAll('svg.chart rect.bad').length`)); n == 0 {
		t.Error("the health chart shows no failed deliveries")
	}
	shot(t, ctx, "09-health")

	// Nothing is wider than the screen.
	if value(t, ctx, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)) {
		t.Error("the health page scrolls sideways at 360 px")
	}

	run(t, ctx, "sign out", chromedp.Click(css(`.signout button`)), chromedp.WaitVisible(chromedp.ID("key")))
}
