package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/taskerhq/tasker/webhooks"
)

// A receiver checks each delivery with the subscription's secret before
// trusting it. Here the receiver runs on loopback, hence allowPrivate.
func ExampleVerify() {
	secret := webhooks.NewSecret() // as returned by POST /api/v1/webhooks
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := webhooks.Verify(secret, r.Header, body, time.Now(), webhooks.DefaultTolerance); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println("verified", r.Header.Get("X-Tasker-Event"))
	}))
	defer receiver.Close()

	a := webhooks.Send(context.Background(), webhooks.NewHTTPClient(10*time.Second, true, nil), webhooks.Request{
		URL:       receiver.URL,
		MessageID: "evt_01JD",
		EventType: "task.completed",
		Body:      []byte(`{"id":"evt_01JD","type":"task.completed"}`),
		Secrets:   []string{secret},
	})
	fmt.Println(a.Outcome, *a.StatusCode)
	// Output:
	// verified task.completed
	// success 200
}
