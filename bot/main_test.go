package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/julienschmidt/httprouter"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var update = flag.Bool("update", false, "rewrite golden files")

const testSecret = "test-secret-for-the-bot"

// testNow is the fixtures' morning: Monday 10 March 2025, 09:15 in Berlin.
var testNow = time.Date(2025, 3, 10, 8, 15, 2, 0, time.UTC)

// testBot is the bot's routes on a real Redis, in org tenancy with an
// organisation of its own, so tests run in parallel without sharing data.
type testBot struct {
	handler http.Handler
	store   *tasks.Store
	org     string
	ws      tasks.WorkspaceID
	logs    *bytes.Buffer
	now     time.Time
	seq     atomic.Int64 // makes every signature unique
	poster  *fakePoster
}

// newTestBot returns the bot's routes; change adjusts the options.
func newTestBot(t testing.TB, change func(*Options)) *testBot {
	t.Helper()
	store := tasks.NewStore(redistest.Client(t), func() time.Time { return testNow })
	return newTestBotOn(t, store, change)
}

func newTestBotOn(t testing.TB, store *tasks.Store, change func(*Options)) *testBot {
	t.Helper()
	tb := &testBot{store: store, org: fmt.Sprintf("org%x", rand.Uint64()), logs: &bytes.Buffer{}, now: testNow, poster: &fakePoster{}}
	tb.ws = tasks.WorkspaceID(tb.org)
	v, err := cliq.NewVerifier(testSecret, nil, store, 1<<20, func() time.Time { return tb.now })
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Tenancy: tasks.OrgTenancy, DefaultTimezone: "Europe/Berlin", BotName: "taskerbot",
		PublicURL: "https://tasker.example.com", Now: func() time.Time { return tb.now }, PageSize: 5,
		Poster: tb.poster,
	}
	if change != nil {
		change(&opts)
	}
	r := httprouter.New()
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: tb.logs}, nil))
	AddRoutes(r, logger, store, v, opts)
	tb.handler = r
	return tb
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fakePoster records what the form asks to post in a channel.
type fakePoster struct {
	mu    sync.Mutex
	posts []post
}

type post struct {
	channel, dedupe string
	msg             cliq.Message
}

func (p *fakePoster) PostToChannel(_ context.Context, _ tasks.WorkspaceID, channel string, msg cliq.Message, dedupeKey string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, post{channel, dedupeKey, msg})
	return nil
}

// sign returns headers that authenticate body, with a timestamp a few
// seconds before now that differs for every request.
func (tb *testBot) sign(body []byte) http.Header {
	ts := tb.now.Unix() - tb.seq.Add(1)%200
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(cliq.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(cliq.HeaderSignature, cliq.Sign(testSecret, ts, body))
	return h
}

// do sends body, signed, to path and returns the status and raw answer.
func (tb *testBot) do(t testing.TB, path string, body []byte, h http.Header) (int, []byte) {
	t.Helper()
	if h == nil {
		h = tb.sign(body)
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header = h
	rec := httptest.NewRecorder()
	tb.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// raw sends a payload map as post does and returns the answer as sent.
func (tb *testBot) raw(t testing.TB, path string, payload map[string]any) []byte {
	t.Helper()
	status, raw := tb.do(t, path, tb.body(t, payload), nil)
	if status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", path, status, raw)
	}
	return raw
}

// post sends a payload map, with this test's organisation, and decodes the
// 200 answer.
func (tb *testBot) post(t testing.TB, path string, payload map[string]any) map[string]any {
	t.Helper()
	status, raw := tb.do(t, path, tb.body(t, payload), nil)
	if status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", path, status, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: answer %s is not a JSON object: %v", path, raw, err)
	}
	return out
}

// body marshals payload after putting the test's organisation in its user.
func (tb *testBot) body(t testing.TB, payload map[string]any) []byte {
	t.Helper()
	if u, ok := payload["user"].(map[string]any); ok {
		u["organization_id"] = tb.org
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture reads one of the shared Cliq fixtures (copied in cliq/testdata).
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cliq", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Callers of the tests: Priya types, Lars is mentioned.
func priyaUser() map[string]any {
	return map[string]any{"id": "60012345678", "first_name": "Priya", "last_name": "Raman",
		"email": "priya.raman@example.com", "timezone": "Europe/Berlin"}
}

func larsMention() map[string]any {
	return map[string]any{"id": "60087654321", "type": "user", "first_name": "Lars", "last_name": "Becker",
		"email": "lars.becker@example.com", "dname": "@larsbecker"}
}

func dmChat() map[string]any {
	return map[string]any{"id": "CT_1_60012345678-B2", "type": "bot", "title": "Tasker"}
}

func channelChat() map[string]any {
	return map[string]any{"id": "CT_2_60009876543", "type": "channel", "title": "#dev-tasks", "channel_unique_name": "devtasks"}
}

// command sends "/task ARGS" as Priya, in her chat with the bot unless chat
// is given, with Lars among the mentions.
func (tb *testBot) command(t testing.TB, args string, chat map[string]any) map[string]any {
	t.Helper()
	if chat == nil {
		chat = dmChat()
	}
	return tb.post(t, "/cliq/commands/task", map[string]any{
		"handler": "command", "component": "task", "arguments": args, "user": priyaUser(), "chat": chat,
		"mentions": []any{larsMention()},
	})
}

// press clicks the taskaction button with key as Priya.
func (tb *testBot) press(t testing.TB, key string) map[string]any {
	t.Helper()
	return tb.post(t, "/cliq/functions/taskaction", map[string]any{
		"handler": "button", "component": "taskaction", "arguments": map[string]any{"key": key},
		"user": priyaUser(), "chat": dmChat(), "message": map[string]any{"text": "card"},
	})
}

// text returns an answer's text.
func text(m map[string]any) string {
	s, _ := m["text"].(string)
	return s
}

// cardTitle returns an answer's card title.
func cardTitle(m map[string]any) string {
	c, _ := m["card"].(map[string]any)
	s, _ := c["title"].(string)
	return s
}

// buttonKeys lists the keys of an answer's buttons.
func buttonKeys(m map[string]any) []string {
	var keys []string
	bs, _ := m["buttons"].([]any)
	for _, b := range bs {
		bm, _ := b.(map[string]any)
		k, _ := bm["key"].(string)
		keys = append(keys, k)
	}
	return keys
}

// tableRows returns the first table slide's rows.
func tableRows(m map[string]any) []map[string]any {
	slides, _ := m["slides"].([]any)
	for _, s := range slides {
		sm, _ := s.(map[string]any)
		if sm["type"] != "table" {
			continue
		}
		data, _ := sm["data"].(map[string]any)
		rows, _ := data["rows"].([]any)
		out := make([]map[string]any, len(rows))
		for i, r := range rows {
			out[i], _ = r.(map[string]any)
		}
		return out
	}
	return nil
}

func mustContain(t testing.TB, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

// golden compares the JSON answer v, indented as sent (keys in the order
// the bot writes them), with testdata/name.golden.
func golden(t *testing.T, name string, v []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, v, "", "  "); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
