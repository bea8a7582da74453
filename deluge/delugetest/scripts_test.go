package delugetest

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/deluge"
)

// scripts returns every shipped script template by its file name, and the
// attributes its handler passes, from the deluge package's handler table.
func scripts(t testing.TB) (map[string]string, map[string][]string) {
	t.Helper()
	texts, attrs := map[string]string{}, map[string][]string{}
	for _, s := range deluge.Scripts() {
		texts[s.File()] = s.Template
		attrs[s.File()] = s.AttrNames()
	}
	if len(texts) == 0 {
		t.Fatal("the deluge package ships no scripts")
	}
	return texts, attrs
}

// oldMenuScript is the part of the first bot menu script that read target,
// an attribute no Zoho source gives a menu handler.
const oldMenuScript = `payload = Map();
payload.put("target", ifnull(target, Map()));
payload.put("user", user);
return payload;`

func TestOldMenuScriptIsRefused(t *testing.T) {
	err := mustParse(t, "menu.dg", oldMenuScript).Check([]string{"user", "chat", "location", "sub_action"})
	if err == nil || !strings.Contains(err.Error(), `line 2: variable "target" is not defined`) {
		t.Errorf("Check = %v, want target reported", err)
	}
	_, err = mustParse(t, "menu.dg", oldMenuScript).Run(context.Background(), Env{Attrs: map[string]any{"user": map[string]any{}}})
	if err == nil || !strings.Contains(err.Error(), `variable "target" is not defined`) {
		t.Errorf("Run = %v, want target undefined", err)
	}
}

func mustParse(t *testing.T, name, src string) *Program {
	t.Helper()
	p, err := Parse(name, src)
	if err != nil {
		t.Fatalf("Parse(%s) = %v", name, err)
	}
	return p
}

func TestShippedScriptsCheck(t *testing.T) {
	texts, attrs := scripts(t)
	for name, src := range texts {
		t.Run(name, func(t *testing.T) {
			if err := mustParse(t, name, src).Check(attrs[name]); err != nil {
				t.Errorf("Check = %v", err)
			}
		})
	}
}

// taskAttrs are /task execution attributes as Cliq might send them, text with
// quotes, backslashes and newlines included.
const taskAttrs = `{
	"arguments": "add \"Buy\" milk\\n\ttomorrow",
	"options": {},
	"user": {"id": "55", "first_name": "Ann", "email": "ann@example.com"},
	"chat": {"id": "CT_1", "type": "channel", "title": "Dev"},
	"mentions": [],
	"selections": [],
	"attachments": [],
	"location": {"latitude": 12.5, "longitude": 77}
}`

// newTaskScript returns commands/task.dg filled with url and secret, with every
// attribute of taskAttrs bound.
func newTaskScript(t *testing.T, url, secret string) (*Program, map[string]any) {
	t.Helper()
	texts, _ := scripts(t)
	src := texts["commands/task.dg"]
	src = strings.NewReplacer("{{PUBLIC_URL}}", url, "{{SECRET}}", secret).Replace(src)
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal([]byte(taskAttrs), &attrs); err != nil {
		t.Fatal(err)
	}
	bound := map[string]any{}
	for k, v := range attrs {
		bound[k] = v
	}
	return mustParse(t, "commands/task.dg", src), bound
}

var testNow = time.Date(2025, 3, 10, 14, 35, 2, 123e6, time.UTC)

func TestTaskScriptSignsAndRelays(t *testing.T) {
	const secret = `s3cr"et`
	answer := `{"text":"Added task #12","card":{"theme":"modern-inline"}}`
	var gotBody []byte
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/cliq/commands/task" {
			t.Errorf("request %s %s, want POST /cliq/commands/task", r.Method, r.URL.Path)
		}
		gotBody, _ = io.ReadAll(r.Body)
		gotHeader = r.Header
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	defer srv.Close()

	// The secret is escaped for the Deluge literal, as deluge.Render does.
	prog, attrs := newTaskScript(t, srv.URL, strings.ReplaceAll(secret, `"`, `\"`))
	var infos []string
	got, err := prog.Run(context.Background(), Env{
		Attrs:      attrs,
		HTTPClient: srv.Client(),
		Now:        func() time.Time { return testNow },
		Location:   time.FixedZone("IST", 5*3600+1800),
		Info:       func(s string) { infos = append(infos, s) },
	})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}

	ts := gotHeader.Get("X-Tasker-Timestamp")
	if want := "1741617302"; ts != want {
		t.Errorf("X-Tasker-Timestamp = %q, want %q", ts, want)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(gotBody)))
	if sig, want := gotHeader.Get("X-Tasker-Signature"), "v1="+hex.EncodeToString(mac.Sum(nil)); sig != want {
		t.Errorf("X-Tasker-Signature = %q, want %q", sig, want)
	}
	if ct := gotHeader.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}

	var sent map[string]any
	if err := json.Unmarshal(gotBody, &sent); err != nil {
		t.Fatalf("body %s is not JSON: %v", gotBody, err)
	}
	var wantAttrs map[string]any
	if err := json.Unmarshal([]byte(taskAttrs), &wantAttrs); err != nil {
		t.Fatal(err)
	}
	for k, v := range wantAttrs {
		if !reflect.DeepEqual(sent[k], v) {
			t.Errorf("sent %s = %#v, want %#v", k, sent[k], v)
		}
	}
	for k, want := range map[string]any{
		"handler": "command", "component": "task", "sent_at": "2025-03-10T20:05:02+05:30",
	} {
		if !reflect.DeepEqual(sent[k], want) {
			t.Errorf("sent %s = %#v, want %#v", k, sent[k], want)
		}
	}
	// Keys go out in the order the script puts them.
	if !strings.HasPrefix(string(gotBody), `{"handler":"command","component":"task","sent_at":`) {
		t.Errorf("body starts %.60s", gotBody)
	}

	b, err := json.Marshal(got)
	if err != nil || string(b) != answer {
		t.Errorf("result = %s, %v; want %s", b, err, answer)
	}
	if len(infos) != 0 {
		t.Errorf("info lines %q, want none", infos)
	}
}

func TestTaskScriptFallback(t *testing.T) {
	const fallback = `{"text":"Tasker is unreachable right now. Please try again in a minute."}`
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"text":"Something went wrong."}`, http.StatusInternalServerError)
	}))
	defer failing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name     string
		srv      *httptest.Server
		wantInfo string
	}{
		{"Status500", failing, "tasker answered 500"},
		{"Closed", closed, "tasker call failed at line "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, attrs := newTaskScript(t, tc.srv.URL, "secret")
			var infos []string
			got, err := prog.Run(context.Background(), Env{
				Attrs:      attrs,
				HTTPClient: tc.srv.Client(),
				Now:        func() time.Time { return testNow },
				Info:       func(s string) { infos = append(infos, s) },
			})
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
			if b, _ := json.Marshal(got); string(b) != fallback {
				t.Errorf("result = %s, want %s", b, fallback)
			}
			if len(infos) != 1 || !strings.HasPrefix(infos[0], tc.wantInfo) {
				t.Errorf("info lines %q, want one starting %q", infos, tc.wantInfo)
			}
		})
	}
}

// TestIncomingScriptPosts runs the extension incoming script: it filters Cliq's
// credentials out of the parameters, sends the body base64-encoded and posts the
// backend's message to the backend's channel.
func TestIncomingScriptPosts(t *testing.T) {
	var sent map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&sent); err != nil {
			t.Errorf("body: %v", err)
		}
		io.WriteString(w, `{"channel":"devtasks","message":{"text":"Pipeline failed"}}`)
	}))
	defer srv.Close()
	texts, _ := scripts(t)
	src := strings.NewReplacer("{{PUBLIC_URL}}", srv.URL, "{{SECRET}}", "k").Replace(texts["extension/incoming.dg"])
	var posted []string
	got, err := mustParse(t, "incoming.dg", src).Run(context.Background(), Env{
		Attrs: map[string]any{
			"headers":     map[string]any{"X-Gitlab-Event": "Pipeline Hook"},
			"parameters":  map[string]any{"zapikey": "secret", "appkey": "x", "project": "web"},
			"body":        `{"a":"b"}`,
			"http_method": "POST",
			"user":        map[string]any{"id": "55"},
		},
		HTTPClient: srv.Client(),
		PostToChannel: func(channel string, message any) any {
			b, _ := json.Marshal(message)
			posted = append(posted, channel+" "+string(b))
			return map[string]any{"code": "ok"}
		},
	})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if want := []string{`devtasks {"text":"Pipeline failed"}`}; !reflect.DeepEqual(posted, want) {
		t.Errorf("posted %q, want %q", posted, want)
	}
	if b, _ := json.Marshal(got); string(b) != `{"status":"received"}` {
		t.Errorf("result = %s", b)
	}
	if p := sent["parameters"]; !reflect.DeepEqual(p, map[string]any{"project": "web"}) {
		t.Errorf("sent parameters = %v", p)
	}
	if b := sent["body_base64"]; b != "eyJhIjoiYiJ9" {
		t.Errorf("sent body_base64 = %v", b)
	}
}

// TestShippedScriptsRun runs every script with exactly its attributes bound, each
// a distinct value, against a backend that checks the signature and answers.
func TestShippedScriptsRun(t *testing.T) {
	const secret = "topsecret"
	const answer = `{"text":"ok"}`
	// What a script returns on success when it is not the backend's answer, and the
	// attributes it forwards changed (so the body cannot hold them as bound).
	want := map[string]string{"extension/incoming.dg": `{"status":"received"}`}
	transformed := map[string][]string{"extension/incoming.dg": {"parameters", "body"}}
	texts, attrSets := scripts(t)
	for name, src := range texts {
		attrNames := attrSets[name]
		t.Run(name, func(t *testing.T) {
			var sent map[string]any
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				path = r.URL.Path
				ts := r.Header.Get("X-Tasker-Timestamp")
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write([]byte(ts + "." + string(body)))
				if got, want := r.Header.Get("X-Tasker-Signature"), "v1="+hex.EncodeToString(mac.Sum(nil)); got != want {
					t.Errorf("signature %q, want %q", got, want)
				}
				if err := json.Unmarshal(body, &sent); err != nil {
					t.Errorf("body %s: %v", body, err)
				}
				io.WriteString(w, answer)
			}))
			defer srv.Close()
			attrs := map[string]any{}
			for _, a := range attrNames {
				attrs[a] = map[string]any{"attribute": a}
			}
			attrs["body"] = "raw third-party body" // text, as Cliq gives it
			if !slices.Contains(attrNames, "body") {
				delete(attrs, "body")
			}
			src = strings.NewReplacer("{{PUBLIC_URL}}", srv.URL, "{{SECRET}}", secret).Replace(src)
			got, err := mustParse(t, name, src).Run(context.Background(), Env{
				Attrs:         attrs,
				HTTPClient:    srv.Client(),
				PostToChannel: func(string, any) any { return map[string]any{} },
			})
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
			b, _ := json.Marshal(got)
			wantResult := cmp.Or(want[name], answer)
			if string(b) != wantResult {
				t.Errorf("result = %s, want %s", b, wantResult)
			}
			if !strings.HasPrefix(path, "/cliq/") {
				t.Errorf("called %s, want a /cliq/ route", path)
			}
			for _, a := range attrNames {
				if !slices.Contains(transformed[name], a) && !reflect.DeepEqual(sent[a], attrs[a]) {
					t.Errorf("sent %s = %#v, want %#v", a, sent[a], attrs[a])
				}
			}
		})
	}
}
