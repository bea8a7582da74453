package cliq_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/cliq"
)

func mustDecodeFixture(t *testing.T, name string) *cliq.Request {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	req, err := cliq.DecodeRequest(body)
	if err != nil {
		t.Fatalf("DecodeRequest(%s) = %v", name, err)
	}
	return req
}

var priya = cliq.User{
	ID: "60012345678", FirstName: "Priya", LastName: "Raman", Email: "priya.raman@example.com",
	OrganizationID: "60009876543", Timezone: "Europe/Berlin", Country: "de", Language: "en",
}

func TestDecodeFixtures(t *testing.T) {
	t.Run("SlashCommand", func(t *testing.T) {
		req := mustDecodeFixture(t, "slash_command.json")
		if diff := cmp.Diff(priya, req.User); diff != "" {
			t.Errorf("user (-want +got):\n%s", diff)
		}
		if req.Handler != "command" || req.Component != "task" {
			t.Errorf("envelope = %q %q", req.Handler, req.Component)
		}
		if req.Arguments.Text != "add Update release notes @Lars Becker due:2025-03-14" || req.Arguments.Key != "" {
			t.Errorf("arguments = %+v", req.Arguments)
		}
		if req.Options["priority"] != "high" {
			t.Errorf("options = %v", req.Options)
		}
		wantMention := cliq.Mention{ID: "60087654321", Type: "user", FirstName: "Lars", LastName: "Becker", Email: "lars.becker@example.com", DName: "@larsbecker"}
		if len(req.Mentions) != 1 || req.Mentions[0] != wantMention {
			t.Errorf("mentions = %+v", req.Mentions)
		}
		if req.Chat == nil || req.Chat.Type != cliq.ChatChannel || req.Chat.ChannelUniqueName != "devtasks" {
			t.Errorf("chat = %+v", req.Chat)
		}
		if req.Environment == nil || req.Environment.DataCenter != "EU" || req.Access == nil || req.Access.UserID != priya.ID {
			t.Errorf("environment %+v, access %+v", req.Environment, req.Access)
		}
		sent, ok := req.SentTime()
		if want := time.Date(2025, 3, 10, 8, 15, 2, 0, time.UTC); !ok || !sent.Equal(want) {
			t.Errorf("SentTime() = %v, %v; want %v", sent, ok, want)
		}
	})
	t.Run("Button", func(t *testing.T) {
		req := mustDecodeFixture(t, "button_function.json")
		if req.Arguments.Key != "done:1042" || req.Target == nil || req.Target.Name != "Done" {
			t.Errorf("arguments %+v, target %+v", req.Arguments, req.Target)
		}
		m := req.Message
		if m == nil || m.Text != "Task *#1042* is overdue" || m.Card == nil || m.Card.Theme != cliq.ThemeModernInline ||
			len(m.Buttons) != 2 || m.Buttons[1].Key != "snooze:1042:60" || m.Buttons[1].Action.Data.Name != "taskaction" {
			t.Errorf("message = %+v", m)
		}
	})
	t.Run("FormSubmission", func(t *testing.T) {
		req := mustDecodeFixture(t, "form_submission.json")
		f := req.Form
		if f == nil || f.Name != "create_task" {
			t.Fatalf("form = %+v", f)
		}
		v := f.Values
		if got := v["title"].String(); got != "Update release notes" {
			t.Errorf("title = %q", got)
		}
		if o, ok := v["assignee"].Option(); !ok || o != (cliq.Option{Label: "Lars Becker", Value: "60087654321"}) {
			t.Errorf("assignee = %+v, %v", o, ok)
		}
		if got := v["remind_before"].String(); got != "60" {
			t.Errorf("remind_before = %q", got)
		}
		labels, ok := v["labels"].Options()
		if !ok || len(labels) != 2 || labels[1].Value != "release" {
			t.Errorf("labels = %+v, %v", labels, ok)
		}
		if b, ok := v["notify_channel"].Bool(); !ok || !b {
			t.Errorf("notify_channel = %v, %v", b, ok)
		}
		if _, ok := v["title"].Option(); ok {
			t.Error("title read as an option")
		}
		// A datetime arrives as an object, which String cannot read (REFERENCE 8.1).
		if d, ok := v["due"].DateTime(); !ok || d != (cliq.DateTime{DateTime: "2025-03-14T17:00", TimeZoneID: "Europe/Berlin"}) {
			t.Errorf("due = %+v, %v", d, ok)
		}
		if _, ok := v["title"].DateTime(); ok {
			t.Error("title read as a datetime")
		}
		if !v["missing"].IsNull() || v["due"].IsNull() {
			t.Error("IsNull wrong for missing or due")
		}
	})
	t.Run("BotMessage", func(t *testing.T) {
		req := mustDecodeFixture(t, "bot_message.json")
		if req.Message == nil || req.Message.Text != "remind me to review PR 318 tomorrow at 10:00" || req.Message.Card != nil {
			t.Errorf("message = %+v", req.Message)
		}
		if req.MessageDetails == nil || req.MessageDetails.Time != 1741602612345 || req.MessageDetails.Message.Type != "text" {
			t.Errorf("message_details = %+v", req.MessageDetails)
		}
		if req.Chat.Type != cliq.ChatBot {
			t.Errorf("chat type = %q", req.Chat.Type)
		}
	})
	t.Run("ExtensionIncoming", func(t *testing.T) {
		req := mustDecodeFixture(t, "extension_incoming_webhook.json")
		if req.Header("x-gitlab-event") != "Issue Hook" || req.Parameters["channel"] != "devtasks" || req.HTTPMethod != "POST" {
			t.Errorf("headers %v, parameters %v", req.Headers, req.Parameters)
		}
		body, err := req.IncomingBody()
		var gitlab struct {
			ObjectKind string `json:"object_kind"`
		}
		if err != nil || json.Unmarshal(body, &gitlab) != nil || gitlab.ObjectKind != "issue" {
			t.Errorf("IncomingBody() = %.40s…, %v; want the GitLab issue JSON", body, err)
		}
	})
}

func TestDecodeRequestBodyBase64(t *testing.T) {
	req, err := cliq.DecodeRequest([]byte(`{"user":{"id":"1"},"body_base64":"eyJhIjoxfQ=="}`))
	if err != nil {
		t.Fatal(err)
	}
	if body, err := req.IncomingBody(); err != nil || string(body) != `{"a":1}` {
		t.Errorf("IncomingBody() = %s, %v", body, err)
	}
	req.BodyBase64 = "!!"
	if _, err := req.IncomingBody(); !errors.Is(err, cliq.ErrMalformedRequest) {
		t.Errorf("IncomingBody() of bad base64 = %v, want ErrMalformedRequest", err)
	}
}

func TestDecodeRequestTolerates(t *testing.T) {
	req, err := cliq.DecodeRequest([]byte(`{"user":{"id":60012345678,"organization_id":600,"admin":"true","extra":[1]},
		"arguments":null,"future_attribute":{"x":1},"chat":{"id":"CT_1","chat_type":"dm"},"mentions":[{"id":42}]}`))
	if err != nil {
		t.Fatalf("DecodeRequest() = %v", err)
	}
	if req.User.ID != "60012345678" || req.User.OrganizationID != "600" || !req.User.Admin {
		t.Errorf("user = %+v", req.User)
	}
	if req.Chat.Type != cliq.ChatDM || req.Mentions[0].ID != "42" {
		t.Errorf("chat %+v, mentions %+v", req.Chat, req.Mentions)
	}
	if string(req.Raw["future_attribute"]) != `{"x":1}` {
		t.Errorf("Raw[future_attribute] = %s", req.Raw["future_attribute"])
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	for name, body := range map[string]string{
		"NotJSON":         `user=1`,
		"Array":           `[{"user":{}}]`,
		"Null":            `null`,
		"String":          `"x"`,
		"Empty":           ``,
		"NoUser":          `{"handler":"command"}`,
		"UserString":      `{"user":"60012345678"}`,
		"UserNull":        `{"user":null}`,
		"UserArray":       `{"user":[]}`,
		"ChatString":      `{"user":{"id":"1"},"chat":"CT_1"}`,
		"ArgumentsList":   `{"user":{"id":"1"},"arguments":[1]}`,
		"MessageNumber":   `{"user":{"id":"1"},"message":5}`,
		"UserIDObject":    `{"user":{"id":{}}}`,
		"TrailingGarbage": `{"user":{}} x`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := cliq.DecodeRequest([]byte(body)); !errors.Is(err, cliq.ErrMalformedRequest) {
				t.Errorf("DecodeRequest(%s) = %v, want ErrMalformedRequest", body, err)
			}
		})
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, name := range []string{"slash_command.json", "button_function.json", "form_submission.json", "bot_message.json", "extension_incoming_webhook.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"user":{"id":1},"arguments":{"key":"done:1"},"message":"hi"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := cliq.DecodeRequest(body)
		if err != nil {
			return
		}
		// What parses round-trips through its own encoding.
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("Marshal of a decoded request: %v", err)
		}
		req2, err := cliq.DecodeRequest(again)
		if err != nil {
			t.Fatalf("DecodeRequest of re-encoded %s: %v", again, err)
		}
		if req.User != req2.User || req.Arguments.Text != req2.Arguments.Text || req.Arguments.Key != req2.Arguments.Key {
			t.Fatalf("round trip changed the request: %+v then %+v", req, req2)
		}
	})
}
