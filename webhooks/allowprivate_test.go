package webhooks_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

// publicResolver answers every host with one public address.
type publicResolver struct{}

func (publicResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return []net.IPAddr{{IP: net.ParseIP("93.184.216.34")}}, nil
}

// TestLocalReceiverNamesTheSetting: refusing a receiver on this machine
// says which setting allows it, and a public https URL gets no such hint.
func TestLocalReceiverNamesTheSetting(t *testing.T) {
	e := newTestEnv(t, true, func(c *webhooks.Config) {
		c.AllowPrivate = false
		c.Resolver = publicResolver{}
	})
	for _, url := range []string{"http://127.0.0.1:9000/hook", "https://127.0.0.1/hook", "http://hooks.example.com/"} {
		_, err := e.svc.Create(context.Background(), e.ws, webhooks.NewSubscription{URL: url, Events: []string{"*"}})
		var ve *tasks.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Fields["url"], "TASKER_WEBHOOK_ALLOW_PRIVATE=true") {
			t.Errorf("Create(%s) = %v, want a url problem naming TASKER_WEBHOOK_ALLOW_PRIVATE", url, err)
		}
	}
	if _, err := e.svc.Create(context.Background(), e.ws, webhooks.NewSubscription{URL: "https://hooks.example.com/", Events: []string{"*"}}); err != nil {
		t.Errorf("a public https receiver was refused: %v", err)
	}
}
