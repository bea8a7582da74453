package extension

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// sample is one real payload of testdata/samples with the header its
// platform sends it with (samples/README.md).
type sample struct {
	source string // "gitlab" or "github"
	name   string // file name without .json
	header string
	event  string
	body   []byte
}

var gitlabEvents = map[string]string{
	"issue": "Issue Hook", "merge_request": "Merge Request Hook", "push": "Push Hook",
	"note_issue": "Note Hook", "note_commit": "Note Hook", "pipeline": "Pipeline Hook",
}

func loadSamples(t testing.TB) []sample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*", "*.json"))
	if err != nil || len(files) != 12 {
		t.Fatalf("want the 12 samples in testdata/samples, got %d (%v)", len(files), err)
	}
	var out []sample
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := sample{source: filepath.Base(filepath.Dir(f)), name: strings.TrimSuffix(filepath.Base(f), ".json"), body: body}
		if s.source == "gitlab" {
			s.header, s.event = "X-Gitlab-Event", gitlabEvents[s.name]
		} else {
			s.header, s.event = "X-GitHub-Event", strings.Split(s.name, ".")[0]
		}
		out = append(out, s)
	}
	return out
}

// forwarded is the body incoming.dg sends for a third-party request.
func forwarded(t *testing.T, headers, params map[string]string, body []byte, base64Body bool) []byte {
	t.Helper()
	m := map[string]any{
		"handler": "extension_incoming_webhook", "component": "tasker", "sent_at": "2026-03-10T11:45:04+01:00",
		"http_method": "POST", "headers": headers, "parameters": params,
		"user": map[string]any{"id": "60012345678", "first_name": "Priya", "last_name": "Raman",
			"email": "priya.raman@example.com", "organization_id": "60009876543"},
	}
	if base64Body {
		m["body_base64"] = base64.StdEncoding.EncodeToString(body)
	} else {
		m["body"] = string(body)
	}
	return mustJSON(t, m)
}

func indented(t *testing.T, m cliq.Message) []byte {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func githubSignature(body []byte) string {
	m := hmac.New(sha256.New, []byte(testGitHubSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestSamples runs every sample through the extension route (as the Deluge
// forwarder sends it, base64 and plain) and through its direct hook: all
// three give the golden card.
func TestSamples(t *testing.T) {
	env := newTestEnv(t, Config{})
	for _, s := range loadSamples(t) {
		t.Run(s.source+"/"+s.name, func(t *testing.T) {
			var viaExtension [2]cliq.Message
			for i, b64 := range []bool{true, false} {
				// Lower-case header names: Cliq's casing is undocumented.
				headers := map[string]string{strings.ToLower(s.header): s.event, "content-type": "application/json"}
				rec := env.serve(signedRequest("/cliq/extension/incoming", forwarded(t, headers, map[string]string{"channel": "devtasks"}, s.body, b64)))
				if rec.Code != http.StatusOK {
					t.Fatalf("extension: status %d: %s", rec.Code, rec.Body.String())
				}
				got := mustDecode[struct {
					Channel *string      `json:"channel"`
					Message cliq.Message `json:"message"`
				}](t, rec)
				if got.Channel == nil || *got.Channel != "devtasks" {
					t.Errorf("channel = %v, want devtasks", got.Channel)
				}
				viaExtension[i] = got.Message
			}
			msg := viaExtension[0]
			checkLimits(t, msg)
			checkGolden(t, s.source+"_"+s.name, indented(t, msg))
			if diff := cmp.Diff(indented(t, msg), indented(t, viaExtension[1])); diff != "" {
				t.Errorf("body and body_base64 differ:\n%s", diff)
			}

			req := httptest.NewRequest(http.MethodPost, "/hooks/"+s.source, strings.NewReader(string(s.body)))
			req.Header.Set(s.header, s.event)
			if s.source == "gitlab" {
				req.Header.Set("X-Gitlab-Token", testGitLabToken)
			} else {
				req.Header.Set("X-Hub-Signature-256", githubSignature(s.body))
			}
			before := len(env.poster.all())
			if rec := env.serve(req); rec.Code != http.StatusAccepted {
				t.Fatalf("hook: status %d: %s", rec.Code, rec.Body.String())
			}
			posts := env.poster.all()
			if len(posts) != before {
				t.Fatalf("hook posted without a channel: %+v", posts[before:])
			}

			req = httptest.NewRequest(http.MethodPost, "/hooks/"+s.source+"?channel=devtasks", strings.NewReader(string(s.body)))
			req.Header.Set(s.header, s.event)
			req.Header.Set("X-Gitlab-Token", testGitLabToken)
			req.Header.Set("X-Hub-Signature-256", githubSignature(s.body))
			if rec := env.serve(req); rec.Code != http.StatusAccepted {
				t.Fatalf("hook: status %d: %s", rec.Code, rec.Body.String())
			}
			posts = env.poster.all()
			if len(posts) != before+1 {
				t.Fatalf("hook made %d posts, want 1", len(posts)-before)
			}
			if diff := cmp.Diff(indented(t, msg), indented(t, posts[before].msg)); diff != "" {
				t.Errorf("hook card differs from extension card:\n%s", diff)
			}
		})
	}
}

// TestSamplesWithoutHeaders checks that a forwarder that drops the event
// header still gets the source's card, detected from the body.
func TestSamplesWithoutHeaders(t *testing.T) {
	for _, s := range loadSamples(t) {
		t.Run(s.source+"/"+s.name, func(t *testing.T) {
			with := Format(Payload{Header: http.Header{http.CanonicalHeaderKey(s.header): {s.event}}, Body: s.body})
			without := Format(Payload{Header: http.Header{}, Body: s.body})
			if diff := cmp.Diff(with, without); diff != "" {
				t.Errorf("card without the event header differs (-with +without):\n%s", diff)
			}
		})
	}
}

func TestFixtureExtensionIncoming(t *testing.T) {
	env := newTestEnv(t, Config{})
	body, err := os.ReadFile(filepath.Join("testdata", "extension_incoming_webhook.json"))
	if err != nil {
		t.Fatal(err)
	}
	rec := env.serve(signedRequest("/cliq/extension/incoming", body))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	checkGolden(t, "fixture_extension_incoming", append(rec.Body.Bytes()[:0:0], rec.Body.Bytes()...))
}

func TestGenericCards(t *testing.T) {
	cases := []struct {
		name   string
		header http.Header
		body   string
	}{
		{"automation", http.Header{}, `{"event":"deal.won","data":{"title":"ACME renewal","url":"https://crm.example.com/deals/7","owner":{"name":"Sam Lee"},"api_token":"hidden"},"amount":1200}`},
		{"not_json", http.Header{"Content-Type": {"text/plain"}}, "hello <<< not json"},
		{"empty", http.Header{}, ""},
		{"gitlab_unknown_kind", http.Header{"X-Gitlab-Event": {"Wiki Page Hook"}}, `{"object_kind":"wiki_page","user":{"name":"Ann"},"object_attributes":{"title":"Home","url":"https://gitlab.example.com/g/p/-/wikis/home"}}`},
		{"github_unknown_event", http.Header{"X-Github-Event": {"star"}}, `{"action":"created","sender":{"login":"octo"},"repository":{"full_name":"o/r","html_url":"https://github.com/o/r"}}`},
		{"mention_injection", http.Header{}, `{"title":"{@all} look [here](javascript:alert(1))","url":"javascript:alert(1)"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Format(Payload{Header: c.header, Body: []byte(c.body)})
			checkLimits(t, m)
			out := string(indented(t, m))
			links := m.Text + string(mustJSON(t, m.Buttons))
			if strings.Contains(out, "{@all}") || strings.Contains(links, "javascript:") || strings.Contains(out, "hidden") {
				t.Errorf("card shows unsafe content:\n%s", out)
			}
			checkGolden(t, "generic_"+c.name, indented(t, m))
		})
	}
}

func TestExtensionIncomingErrors(t *testing.T) {
	env := newTestEnv(t, Config{})
	t.Run("NotAnObject", func(t *testing.T) {
		wantAPIError(t, env.serve(signedRequest("/cliq/extension/incoming", []byte(`["x"]`))), http.StatusBadRequest, "invalid_argument")
	})
	t.Run("NoUser", func(t *testing.T) {
		wantAPIError(t, env.serve(signedRequest("/cliq/extension/incoming", []byte(`{"body":"{}"}`))), http.StatusBadRequest, "invalid_argument")
	})
	t.Run("UserNotObject", func(t *testing.T) {
		wantAPIError(t, env.serve(signedRequest("/cliq/extension/incoming", []byte(`{"user":"x","body":"{}"}`))), http.StatusBadRequest, "invalid_argument")
	})
	t.Run("BadBase64", func(t *testing.T) {
		wantAPIError(t, env.serve(signedRequest("/cliq/extension/incoming", []byte(`{"user":{"id":"1"},"body_base64":"%%%"}`))), http.StatusBadRequest, "invalid_argument")
	})
	t.Run("BadSignature", func(t *testing.T) {
		req := signedRequest("/cliq/extension/incoming", []byte(`{"user":{"id":"1"}}`))
		req.Header.Set(cliq.HeaderSignature, "v1="+strings.Repeat("0", 64))
		wantAPIError(t, env.serve(req), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("Unsigned", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/cliq/extension/incoming", strings.NewReader(`{"user":{"id":"1"}}`))
		wantAPIError(t, env.serve(req), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("UndecodableThirdPartyBody", func(t *testing.T) {
		rec := env.serve(signedRequest("/cliq/extension/incoming", forwarded(t, nil, nil, []byte("\x00\xffnot json"), true)))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		got := mustDecode[incomingAnswer](t, rec)
		checkLimits(t, got.Message)
		if got.Channel != nil {
			t.Errorf("channel = %q, want null without parameter or default", *got.Channel)
		}
	})
}

func TestExtensionIncomingChannel(t *testing.T) {
	env := newTestEnv(t, Config{DefaultChannel: "general"})
	for _, c := range []struct {
		params map[string]string
		want   string
	}{{nil, "general"}, {map[string]string{"channel": "devtasks"}, "devtasks"}} {
		rec := env.serve(signedRequest("/cliq/extension/incoming", forwarded(t, nil, c.params, []byte(`{"title":"x"}`), false)))
		got := mustDecode[incomingAnswer](t, rec)
		if got.Channel == nil || *got.Channel != c.want {
			t.Errorf("params %v: channel = %v, want %q", c.params, got.Channel, c.want)
		}
	}
}

func TestExtensionIncomingOrgTenancy(t *testing.T) {
	env := newTestEnv(t, Config{Tenancy: "org"})
	rec := env.serve(signedRequest("/cliq/extension/incoming", []byte(`{"user":{"id":"1"},"body":"{}"}`)))
	wantAPIError(t, rec, http.StatusBadRequest, "invalid_argument")
}

// TestSampleRefsTrack checks that every sample card's button key is a REF
// that Track accepts, and that its URL is the item's.
func TestSampleRefsTrack(t *testing.T) {
	store, ws := newTestStore(t)
	for _, s := range loadSamples(t) {
		m := Format(Payload{Header: http.Header{http.CanonicalHeaderKey(s.header): {s.event}}, Body: s.body})
		for _, b := range m.Buttons {
			ref, ok := strings.CutPrefix(b.Key, tasks.TrackKeyPrefix)
			if !ok {
				continue
			}
			task, _, err := store.Track(context.Background(), ws, tasks.Actor{}, ref, m.Card.Title)
			if err != nil {
				t.Fatalf("%s/%s: Track(%q) = %v", s.source, s.name, ref, err)
			}
			if task.SourceURL == nil || !strings.Contains(*task.SourceURL, strings.SplitN(ref, ":", 2)[1]) {
				t.Errorf("%s/%s: source_url = %v, want the REF's URL", s.source, s.name, task.SourceURL)
			}
		}
	}
}
