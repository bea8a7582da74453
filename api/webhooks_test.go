package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// newTestWebhookEnv is the API test environment with the webhook routes on
// a service of its store, loopback URLs allowed. With worker, an asynq
// worker delivers the messages.
func newTestWebhookEnv(t *testing.T, worker bool) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	rdb := redistest.Client(t)
	queue := fmt.Sprintf("api-wh-%x", rand.Uint64())
	svc, err := webhooks.NewService(slog.New(slog.NewTextHandler(io.Discard, nil)), rdb, e.store,
		prometheus.NewRegistry(), webhooks.Config{AllowPrivate: true, Queue: queue, Timeout: 2 * time.Second,
			Workspaces: []tasks.WorkspaceID{e.wsA, e.wsB}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseKeys(fmt.Sprintf("%s@%s, %s@%s", e.keyA, e.wsA, e.keyB, e.wsB))
	if err != nil {
		t.Fatal(err)
	}
	AddWebhookRoutes(e.router, slog.New(slog.NewTextHandler(e.logs, nil)), svc, keys)
	if worker {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.Run(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
	}
	return e
}

// wireSubscription is a subscription as a client reads it: null fields
// stay distinguishable from absent ones.
type wireSubscription struct {
	ID                  string    `json:"id"`
	URL                 string    `json:"url"`
	Events              []string  `json:"events"`
	Secret              string    `json:"secret"`
	Enabled             bool      `json:"enabled"`
	Ordering            string    `json:"ordering"`
	Status              string    `json:"status"`
	DisabledReason      *string   `json:"disabled_reason"`
	CreatedAt           time.Time `json:"created_at"`
	LastTriggered       *string   `json:"last_triggered"`
	DeliverySuccessRate *float64  `json:"delivery_success_rate"`
	CreatedBy           *string   `json:"created_by"`
}

type wireDelivery struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Test      bool   `json:"test"`
	Attempts  []struct {
		ID         string    `json:"id"`
		At         time.Time `json:"at"`
		StatusCode *int      `json:"status_code"`
		DurationMS *int64    `json:"duration_ms"`
		Error      *string   `json:"error"`
		Response   *string   `json:"response"`
		Pending    bool      `json:"pending"`
	} `json:"attempts"`
}

func TestWebhookRoutes(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(receiver.Close)
	e := newTestWebhookEnv(t, true)

	w := e.mustDo(t, call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"` + receiver.URL + `","events":["task.created","task.completed"],"description":"CI"}`}, http.StatusCreated)
	sub := mustDecode[wireSubscription](t, w.Body.Bytes())
	if !strings.HasPrefix(sub.ID, "wh_") || !strings.HasPrefix(sub.Secret, "whsec_") || sub.Status != "active" || !sub.Enabled ||
		sub.Ordering != "none" || sub.DisabledReason != nil || sub.LastTriggered != nil || sub.DeliverySuccessRate != nil || sub.CreatedAt.IsZero() {
		t.Fatalf("POST /api/v1/webhooks = %s", w.Body)
	}
	for _, key := range []string{`"disabled_reason":null`, `"last_triggered":null`, `"delivery_success_rate":null`, `"created_by":null`} {
		if !strings.Contains(w.Body.String(), key) {
			t.Errorf("created subscription lacks %s: %s", key, w.Body)
		}
	}
	path := "/api/v1/webhooks/" + sub.ID

	got := mustDecode[wireSubscription](t, e.mustDo(t, call{method: "GET", path: path}, http.StatusOK).Body.Bytes())
	if got.Secret != sub.Secret {
		t.Errorf("GET secret = %q, want the created one", got.Secret)
	}
	list := e.mustDo(t, call{method: "GET", path: "/api/v1/webhooks"}, http.StatusOK).Body.String()
	if !strings.Contains(list, `"webhooks":[{`) || !strings.Contains(list, `"next_cursor":null`) {
		t.Errorf("GET /api/v1/webhooks = %s", list)
	}
	mustError(t, e.do(t, call{method: "GET", path: path, header: map[string]string{"Authorization": "Bearer " + e.keyB}}), http.StatusNotFound, "not_found")

	rot := mustDecode[wireSubscription](t, e.mustDo(t, call{method: "POST", path: path + "/rotate-secret"}, http.StatusOK).Body.Bytes())
	if rot.Secret == sub.Secret || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Errorf("rotate-secret secret = %q", rot.Secret)
	}

	w = e.mustDo(t, call{method: "POST", path: path + "/test", body: `{"event_type":"task.completed"}`}, http.StatusAccepted)
	queued := mustDecode[wireDelivery](t, w.Body.Bytes())
	if !strings.HasPrefix(queued.ID, "msg_") || queued.Status != "pending" || !queued.Test || len(queued.Attempts) != 1 || !queued.Attempts[0].Pending {
		t.Fatalf("POST test = %s", w.Body)
	}

	var page struct {
		Deliveries []wireDelivery `json:"deliveries"`
		NextCursor *string        `json:"next_cursor"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		page.Deliveries = nil
		page = mustDecode[struct {
			Deliveries []wireDelivery `json:"deliveries"`
			NextCursor *string        `json:"next_cursor"`
		}](t, e.mustDo(t, call{method: "GET", path: path + "/deliveries"}, http.StatusOK).Body.Bytes())
		if len(page.Deliveries) == 1 && page.Deliveries[0].Status == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries never delivered: %+v", page)
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := page.Deliveries[0]
	a := d.Attempts[0]
	if d.ID != queued.ID || d.EventType != "task.completed" || !strings.HasPrefix(d.EventID, "evt_") || len(d.Attempts) != 1 || page.NextCursor != nil ||
		!strings.HasPrefix(a.ID, "del_") || a.StatusCode == nil || *a.StatusCode != 200 || a.Error != nil || a.Response == nil || *a.Response != "ok" || a.DurationMS == nil {
		t.Fatalf("delivery = %+v", page)
	}

	for _, tt := range []struct {
		status string
		want   int
	}{{"delivered", 1}, {"failed", 0}, {"pending", 0}} {
		body := e.mustDo(t, call{method: "GET", path: path + "/deliveries?status=" + tt.status}, http.StatusOK).Body.Bytes()
		got := mustDecode[struct {
			Deliveries []wireDelivery `json:"deliveries"`
			NextCursor *string        `json:"next_cursor"`
		}](t, body)
		if len(got.Deliveries) != tt.want || got.NextCursor != nil || (tt.want == 1 && got.Deliveries[0].ID != d.ID) {
			t.Errorf("GET deliveries?status=%s = %s; want %d and no next cursor", tt.status, body, tt.want)
		}
	}

	w = e.mustDo(t, call{method: "POST", path: path + "/deliveries/" + d.ID + "/redeliver"}, http.StatusOK)
	re := mustDecode[wireDelivery](t, w.Body.Bytes())
	if re.Status != "pending" || len(re.Attempts) != 2 || !re.Attempts[1].Pending || re.Attempts[1].StatusCode != nil {
		t.Fatalf("redeliver = %s", w.Body)
	}
	mustError(t, e.do(t, call{method: "POST", path: path + "/deliveries/msg_nope/redeliver"}), http.StatusNotFound, "not_found")

	w = e.mustDo(t, call{method: "POST", path: path + "/recover", body: `{"since":"2026-01-01T00:00:00Z"}`}, http.StatusOK)
	if strings.TrimSpace(w.Body.String()) != `{"queued":0}` {
		t.Errorf("recover = %s", w.Body)
	}

	w = e.mustDo(t, call{method: "PATCH", path: path, body: `{"enabled":false,"ordering":"task","events":["*"]}`}, http.StatusOK)
	upd := mustDecode[wireSubscription](t, w.Body.Bytes())
	if upd.Status != "disabled" || upd.Enabled || upd.Ordering != "task" || upd.Events[0] != "*" {
		t.Errorf("PATCH = %s", w.Body)
	}

	e.mustDo(t, call{method: "DELETE", path: path}, http.StatusNoContent)
	mustError(t, e.do(t, call{method: "GET", path: path}), http.StatusNotFound, "not_found")
	mustError(t, e.do(t, call{method: "GET", path: path + "/deliveries"}), http.StatusNotFound, "not_found")
}

func TestWebhookRouteErrors(t *testing.T) {
	e := newTestWebhookEnv(t, false)
	w := e.mustDo(t, call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1:9/","events":["*"]}`}, http.StatusCreated)
	path := "/api/v1/webhooks/" + mustDecode[wireSubscription](t, w.Body.Bytes()).ID
	tests := []struct {
		name       string
		rq         call
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"NoAuth", call{method: "GET", path: "/api/v1/webhooks", noAuth: true}, 401, "unauthenticated", ""},
		{"MetadataURL", call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://169.254.169.254/latest","events":["*"]}`}, 400, "invalid_argument", "url"},
		{"SchemeURL", call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"ftp://example.com/","events":["*"]}`}, 400, "invalid_argument", "url"},
		{"UnknownEvent", call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1/","events":["task.exploded"]}`}, 400, "invalid_argument", "events"},
		{"NoEvents", call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1/"}`}, 400, "invalid_argument", "events"},
		{"UnknownCreator", call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1/","events":["*"],"created_by":"usr_nobody"}`}, 400, "invalid_argument", "created_by"},
		{"UnknownField", call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1/","events":["*"],"colour":"red"}`}, 400, "invalid_argument", "colour"},
		{"BadOrdering", call{method: "PATCH", path: path, body: `{"ordering":"fifo"}`}, 400, "invalid_argument", "ordering"},
		{"PatchUnknown", call{method: "PATCH", path: "/api/v1/webhooks/wh_nope", body: `{"enabled":true}`}, 404, "not_found", ""},
		{"TestNoType", call{method: "POST", path: path + "/test", body: `{}`}, 400, "invalid_argument", "event_type"},
		{"TestUnknownType", call{method: "POST", path: path + "/test", body: `{"event_type":"task.nope"}`}, 400, "invalid_argument", "event_type"},
		{"TestUnknownWebhook", call{method: "POST", path: "/api/v1/webhooks/wh_nope/test", body: `{"event_type":"task.created"}`}, 404, "not_found", ""},
		{"RecoverNoSince", call{method: "POST", path: path + "/recover", body: `{}`}, 400, "invalid_argument", "since"},
		{"RecoverBadSince", call{method: "POST", path: path + "/recover", body: `{"since":"yesterday"}`}, 400, "invalid_argument", "since"},
		{"DeliveriesBadCursor", call{method: "GET", path: path + "/deliveries?cursor=zzz"}, 400, "invalid_argument", "cursor"},
		{"DeliveriesBadLimit", call{method: "GET", path: path + "/deliveries?limit=0"}, 400, "invalid_argument", "limit"},
		{"DeliveriesBadStatus", call{method: "GET", path: path + "/deliveries?status=sent"}, 400, "invalid_argument", "status"},
		{"ListBadCursor", call{method: "GET", path: "/api/v1/webhooks?cursor=zzz"}, 400, "invalid_argument", "cursor"},
		{"DeleteUnknown", call{method: "DELETE", path: "/api/v1/webhooks/wh_nope"}, 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustError(t, e.do(t, tt.rq), tt.wantStatus, tt.wantCode)
			if tt.wantField != "" && got.Error.Fields[tt.wantField] == "" {
				t.Errorf("fields = %v, want one for %s", got.Error.Fields, tt.wantField)
			}
			// An unknown event type is answered with the known ones.
			if strings.Contains(tt.name, "UnknownEvent") || strings.Contains(tt.name, "UnknownType") {
				if msg := got.Error.Message; !strings.Contains(msg, "task.created") || !strings.Contains(msg, "user.linked") {
					t.Errorf("message %q does not list the event types", msg)
				}
			}
		})
	}
}

func TestWebhookLimitAndPaging(t *testing.T) {
	e := newTestWebhookEnv(t, false)
	for i := range webhooks.MaxSubscriptions {
		e.mustDo(t, call{method: "POST", path: "/api/v1/webhooks", body: fmt.Sprintf(`{"url":"http://127.0.0.1:%d/","events":["*"]}`, 1000+i)}, http.StatusCreated)
	}
	got := mustError(t, e.do(t, call{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1/","events":["*"]}`}), http.StatusConflict, "conflict")
	if !strings.Contains(got.Error.Message, "50") {
		t.Errorf("51st subscription message = %q", got.Error.Message)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/api/v1/webhooks?limit=20"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := mustDecode[struct {
			Webhooks   []wireSubscription `json:"webhooks"`
			NextCursor *string            `json:"next_cursor"`
		}](t, e.mustDo(t, call{method: "GET", path: path}, http.StatusOK).Body.Bytes())
		for _, s := range page.Webhooks {
			if seen[s.ID] {
				t.Fatalf("page %d repeats %s", pages, s.ID)
			}
			seen[s.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != webhooks.MaxSubscriptions {
		t.Fatalf("paged through %d subscriptions, want %d", len(seen), webhooks.MaxSubscriptions)
	}
}

// TestWebhookRoutesCoexist registers the webhook routes beside AddRoutes
// and the other packages' routes: httprouter panics on a conflict.
func TestWebhookRoutesCoexist(t *testing.T) {
	keys, err := ParseKeys("k")
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	store := tasks.NewStore(redistest.Client(t), time.Now)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	AddRoutes(r, logger, store, keys)
	AddOpsRoutes(r, store, prometheus.NewRegistry())
	svc, err := webhooks.NewService(logger, redistest.Client(t), store, prometheus.NewRegistry(), webhooks.Config{})
	if err != nil {
		t.Fatal(err)
	}
	AddWebhookRoutes(r, logger, svc, keys)
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, rt := range []struct{ method, path string }{
		{"POST", "/api/cliq/webhook"}, {"POST", "/api/incoming-webhook"},
		{"POST", "/hooks/gitlab"}, {"POST", "/hooks/github"}, {"POST", "/cliq/commands/task"}, {"POST", "/cliq/functions/:name"},
	} {
		r.Handler(rt.method, rt.path, nop)
	}
}
