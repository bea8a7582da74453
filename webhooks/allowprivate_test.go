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

// failingResolver answers every lookup as DNS does when it is down.
type failingResolver struct{}

func (failingResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
}

// TestStaticSubscriberSurvivesDNSBlip: TASKER_WEBHOOK_URL whose host does
// not resolve at start is kept (deliveries check it when dialling), while a
// URL that is refused for what it is still stops the start.
func TestStaticSubscriberSurvivesDNSBlip(t *testing.T) {
	e := newTestEnv(t, true, func(c *webhooks.Config) {
		c.AllowPrivate = false
		c.Resolver = failingResolver{}
	})
	sub, err := e.svc.EnsureStatic(context.Background(), e.ws, "https://hooks.example.com/tasker", "")
	if err != nil || sub.ID != webhooks.StaticID {
		t.Fatalf("EnsureStatic during a DNS outage = %+v, %v; want the subscription kept", sub, err)
	}
	for _, url := range []string{"http://hooks.example.com/", "https://127.0.0.1/", "ftp://hooks.example.com/"} {
		var ve *tasks.ValidationError
		if _, err := e.svc.EnsureStatic(context.Background(), e.ws, url, ""); !errors.As(err, &ve) {
			t.Errorf("EnsureStatic(%s) = %v, want a validation error", url, err)
		}
	}
}
