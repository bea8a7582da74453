package deluge

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// validRoutes are the /cliq routes of SPEC.md section 7.1; every script must call one.
var validRoutes = []*regexp.Regexp{
	regexp.MustCompile(`^/cliq/commands/task$`),
	regexp.MustCompile(`^/cliq/functions/[a-z][a-z0-9_]*$`),
	regexp.MustCompile(`^/cliq/bot/(welcome|message|mention|context|menu|participation)$`),
	regexp.MustCompile(`^/cliq/messageactions/[a-z][a-z0-9_]*$`),
	regexp.MustCompile(`^/cliq/extension/incoming$`),
	regexp.MustCompile(`^/cliq/extension/install$`),
}

// wantRoutes are the handlers SPEC.md 7.1 and 7.3 need a forwarder for; the
// menu route once per menu action.
var wantRoutes = []string{
	"/cliq/commands/task",
	"/cliq/functions/taskaction",
	"/cliq/functions/createtaskform",
	"/cliq/bot/welcome", "/cliq/bot/message", "/cliq/bot/mention",
	"/cliq/bot/context", "/cliq/bot/participation",
	"/cliq/bot/menu", "/cliq/bot/menu", "/cliq/bot/menu", "/cliq/bot/menu",
	"/cliq/messageactions/addtask",
	"/cliq/extension/incoming",
	"/cliq/extension/install",
}

// envelope are the keys every script adds around Cliq's attributes (SPEC 4.1).
var envelope = []string{"handler", "component", "sent_at"}

// handlerAttributes are names Cliq binds in some handler; a script assigning to one
// would shadow Cliq's value (REFERENCE 13.1).
var handlerAttributes = []string{
	"arguments", "options", "user", "chat", "mentions", "selections", "attachments", "location",
	"access", "environment", "target", "message", "messages", "form", "links", "message_details", "newuser",
	"context_id", "answers", "operation", "data", "headers", "parameters", "body", "http_method", "app_info",
	"sub_action",
}

// reservedWords must not name variables (REFERENCE 13.1).
var reservedWords = []string{
	"if", "else", "for", "each", "in", "return", "info", "ifnull", "break", "continue",
	"true", "false", "null", "not", "zoho", "list", "map", "collection", "try", "catch",
}

// TestTable checks the handler table itself: unique script names, every
// attribute sourced, and each menu action its own handler.
func TestTable(t *testing.T) {
	names := map[string]bool{}
	var menus []string
	for _, h := range Handlers() {
		if names[h.Name] {
			t.Errorf("script name %s is used twice", h.Name)
		}
		names[h.Name] = true
		if h.Kind == "" || h.Component == "" || h.Type == "" || h.Envelope == "" || h.Location == "" || h.Fallback == "" {
			t.Errorf("%s: Kind, Component, Type, Envelope, Location and Fallback are required: %+v", h.Name, h)
		}
		for _, a := range h.Attrs {
			if a.Source == "" {
				t.Errorf("%s: attribute %s has no source", h.Name, a.Name)
			}
		}
		if !slices.Contains(h.AttrNames(), "user") {
			t.Errorf("%s does not forward user, which the backend requires", h.Name)
		}
		if h.Type == "menu_handler" {
			menus = append(menus, h.MenuAction)
			if len(h.MenuAction) > 15 {
				t.Errorf("menu action %q is longer than Cliq's 15 characters", h.MenuAction)
			}
			if slices.Contains(h.AttrNames(), "target") {
				t.Errorf("%s forwards target, which no Zoho source names for menu handlers", h.Name)
			}
		} else if h.MenuAction != "" {
			t.Errorf("%s is no menu handler but has a menu action", h.Name)
		}
	}
	if want := []string{MenuNewTask, MenuMyTasks, MenuOverdue, MenuHelp}; !slices.Equal(menus, want) {
		t.Errorf("menu actions = %q, want %q", menus, want)
	}
}

func TestScriptRoutes(t *testing.T) {
	var got []string
	for _, s := range Scripts() {
		t.Run(s.Name, func(t *testing.T) {
			if !slices.ContainsFunc(validRoutes, func(re *regexp.Regexp) bool { return re.MatchString(s.Route) }) {
				t.Errorf("route %q is not a SPEC 7.1 route", s.Route)
			}
			// The URL the script calls is the route the catalogue promises, and the only URL.
			if n := strings.Count(s.Template, "url :"); n != 1 {
				t.Errorf("%d invokeurl url keys, want 1", n)
			}
			if want := `url :"{{PUBLIC_URL}}` + s.Route + `"`; !strings.Contains(s.Template, want) {
				t.Errorf("template does not call %s", want)
			}
			if want := `payload.put("handler", "` + s.Envelope + `");`; !strings.Contains(s.Template, want) {
				t.Errorf("template does not send %s", want)
			}
		})
		got = append(got, s.Route)
	}
	slices.Sort(got)
	want := slices.Clone(wantRoutes)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
}

var (
	reBody      = regexp.MustCompile(`(?m)^\t*(\w+) = payload\.toString\(\);$`)
	reTimestamp = regexp.MustCompile(`(?m)^\t*(\w+) = \(zoho\.currenttime\.toLong\(\) / 1000\)\.toLong\(\)\.toString\(\);$`)
	reSign      = regexp.MustCompile(`(?m)^\t*(\w+) = zoho\.encryption\.hmacsha256\(secret, (\w+) \+ "\." \+ (\w+), "hex"\);$`)
	reSendBody  = regexp.MustCompile(`(?m)^\t*body:(\w+)$`)
	rePut       = regexp.MustCompile(`payload\.put\("(\w+)",`)
	reAssign    = regexp.MustCompile(`(?m)^\t*(\w+) = `)
	reForEach   = regexp.MustCompile(`for each (\w+) in`)
)

// only returns the submatches of re's single match in text, failing when there are more or none.
func only(t *testing.T, re *regexp.Regexp, text string) []string {
	t.Helper()
	m := re.FindAllStringSubmatch(text, -1)
	if len(m) != 1 {
		t.Fatalf("%d matches of %s, want 1", len(m), re)
	}
	return m[0]
}

func TestScriptSigning(t *testing.T) {
	for _, s := range Scripts() {
		t.Run(s.Name, func(t *testing.T) {
			text := s.Template
			body := only(t, reBody, text)[1]
			ts := only(t, reTimestamp, text)[1]
			sign := only(t, reSign, text)
			if sign[2] != ts || sign[3] != body {
				t.Errorf("signs %s + \".\" + %s, want %s + \".\" + %s", sign[2], sign[3], ts, body)
			}
			if sent := only(t, reSendBody, text)[1]; sent != body {
				t.Errorf("sends body:%s, signs %s", sent, body)
			}
			for _, want := range []string{
				`secret = "{{SECRET}}";`,
				`reqHeaders.put("Content-Type", "application/json");`,
				`reqHeaders.put("X-Tasker-Timestamp", ` + ts + `);`,
				`reqHeaders.put("X-Tasker-Signature", "v1=" + ` + sign[1] + `);`,
				"headers:reqHeaders\n",
				"type :POST\n",
				"detailed:true\n",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("template lacks %q", want)
				}
			}
			if n := strings.Count(text, placeholderSecret); n != 1 {
				t.Errorf("%d %s placeholders, want 1", n, placeholderSecret)
			}
		})
	}
}

func TestScriptFailureHandling(t *testing.T) {
	for _, s := range Scripts() {
		t.Run(s.Name, func(t *testing.T) {
			text := s.Template
			for _, want := range []string{"\ntry\n{\n", "\ncatch (e)\n{\n", `code = resp.get("responseCode");`, "if(code == 200)", `if(respText != "")`, "if(answer != null)"} {
				if !strings.Contains(text, want) {
					t.Errorf("template lacks %q", want)
				}
			}
			// The call sits inside try, and the script ends with a fallback return after catch.
			tryAt, invokeAt, catchAt := strings.Index(text, "\ntry\n"), strings.Index(text, "invokeurl"), strings.Index(text, "\ncatch (e)")
			if !(tryAt < invokeAt && invokeAt < catchAt) {
				t.Errorf("invokeurl is not between try and catch")
			}
			lines := strings.Split(strings.TrimSpace(text), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "return ") || !strings.HasSuffix(last, ";") {
				t.Errorf("last line = %q, want a fallback return", last)
			}
			if s.Name != "bot/participation" && !strings.Contains(text, "Tasker is unreachable right now.") && !strings.Contains(last, `"failed"`) {
				t.Errorf("no friendly fallback text")
			}
		})
	}
}

func TestScriptAttributes(t *testing.T) {
	for _, s := range Scripts() {
		t.Run(s.Name, func(t *testing.T) {
			want := append(slices.Clone(envelope), s.AttrNames()...)
			if s.MenuAction != "" {
				want = append(want, "menu_action")
			}
			if s.Name == "extension/incoming" { // the body goes base64-encoded (SPEC 10)
				want[slices.Index(want, "body")] = "body_base64"
			}
			var got []string
			for _, m := range rePut.FindAllStringSubmatch(s.Template, -1) {
				got = append(got, m[1])
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("forwarded keys = %v, want %v", got, want)
			}
		})
	}
}

func TestScriptVariableNames(t *testing.T) {
	for _, s := range Scripts() {
		t.Run(s.Name, func(t *testing.T) {
			names := reAssign.FindAllStringSubmatch(s.Template, -1)
			names = append(names, reForEach.FindAllStringSubmatch(s.Template, -1)...)
			for _, m := range names {
				name := strings.ToLower(m[1])
				if slices.Contains(reservedWords, name) || slices.Contains(handlerAttributes, m[1]) {
					t.Errorf("variable %q is reserved or shadows a handler attribute", m[1])
				}
			}
		})
	}
}

// TestScriptsBalanced catches the typos Cliq's editor would refuse on save:
// unterminated strings and unbalanced brackets.
func TestScriptsBalanced(t *testing.T) {
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, s := range Scripts() {
		t.Run(s.Name, func(t *testing.T) {
			var stack []rune
			for n, line := range strings.Split(s.Template, "\n") {
				inString, escaped := false, false
				for i, c := range line {
					switch {
					case inString && escaped:
						escaped = false
					case inString && c == '\\':
						escaped = true
					case inString:
						inString = c != '"'
					case c == '"':
						inString = true
					case c == '/' && strings.HasPrefix(line[i:], "//"):
						goto next
					case c == '(' || c == '[' || c == '{':
						stack = append(stack, c)
					case c == ')' || c == ']' || c == '}':
						if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
							t.Fatalf("line %d: unbalanced %q", n+1, c)
						}
						stack = stack[:len(stack)-1]
					}
				}
				if inString {
					t.Fatalf("line %d: unterminated string", n+1)
				}
			next:
			}
			if len(stack) != 0 {
				t.Errorf("unclosed %q", string(stack))
			}
		})
	}
}

func TestRender(t *testing.T) {
	const secret = "s3cr3t-Value_with.distinctive~chars"
	rendered, err := Render("https://tasker.example.com/base/", secret)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if len(rendered) != len(table) {
		t.Fatalf("Render returned %d scripts, want %d", len(rendered), len(table))
	}
	for _, r := range rendered {
		t.Run(r.Script.Name, func(t *testing.T) {
			if strings.Contains(r.Text, "{{") {
				t.Errorf("placeholder left after Render")
			}
			if want := "https://tasker.example.com/base" + r.Script.Route; r.URL != want {
				t.Errorf("URL = %q, want %q", r.URL, want)
			}
			if !strings.Contains(r.Text, `url :"`+r.URL+`"`) {
				t.Errorf("text does not call %s", r.URL)
			}
			// The secret appears exactly where the placeholder was, and nowhere else.
			if n := strings.Count(r.Text, secret); n != 1 {
				t.Errorf("secret appears %d times, want 1", n)
			}
			if !strings.Contains(r.Text, "\nsecret = \""+secret+"\";\n") {
				t.Errorf("secret is not in the secret line")
			}
			if strings.Replace(r.Text, secret, placeholderSecret, 1) !=
				strings.ReplaceAll(r.Script.Template, placeholderURL, "https://tasker.example.com/base") {
				t.Errorf("Render changed more than the placeholders")
			}
		})
	}
}

func TestRenderEscapesSecret(t *testing.T) {
	rendered, err := Render("https://tasker.example.com", `se"cr\et`)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if want := `secret = "se\"cr\\et";`; !strings.Contains(rendered[0].Text, want) {
		t.Errorf("rendered text lacks %s", want)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name, url, secret, wantErr string
	}{
		{"EmptyURL", "", "k", "public URL is empty"},
		{"Relative", "tasker.example.com", "k", "https://"},
		{"FTP", "ftp://tasker.example.com", "k", "https://"},
		{"NoHost", "https://", "k", "no host"},
		{"Query", "https://tasker.example.com/?a=b", "k", "query"},
		{"Fragment", "https://tasker.example.com/#x", "k", "fragment"},
		{"UserInfo", "https://u:p@tasker.example.com", "k", "user info"},
		{"Quote", `https://tasker.example.com/"x`, "k", "contains"},
		{"Space", "https://tasker.example.com/a b", "k", "contains"},
		{"NonASCIIHost", "https://täsker.example.com", "k", "punycode"},
		{"EmptySecret", "https://tasker.example.com", "", "secret is empty"},
		{"NewlineSecret", "https://tasker.example.com", "abc\ndef", "control character"},
		{"NULSecret", "https://tasker.example.com", "abc\x00", "control character"},
		{"UnicodeSecret", "https://tasker.example.com", "geheim€", "non-ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.url, tt.secret)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render(%q, %q) = %v, want error containing %q", tt.url, tt.secret, err, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		url  string
		want int
	}{
		{"https://tasker.example.com", 0},
		{"https://tasker.example.com:443/x", 0},
		{"http://tasker.example.com", 1},
		{"https://tasker.example.com:8443", 1},
		{"http://localhost:8080", 3},
		{"https://10.0.0.5", 1},
		{"https://[::1]", 1},
	}
	for _, tt := range tests {
		if got := Warnings(tt.url); len(got) != tt.want {
			t.Errorf("Warnings(%q) = %q, want %d warnings", tt.url, got, tt.want)
		}
	}
}

func TestWriteDir(t *testing.T) {
	rendered, err := Render("https://tasker.example.com", "round-trip-secret")
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	dir := t.TempDir()
	if err := WriteDir(dir, rendered); err != nil {
		t.Fatalf("WriteDir: %v", err)
	}
	for _, r := range rendered {
		path := filepath.Join(dir, filepath.FromSlash(r.Script.File()))
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read back %s: %v", r.Script.File(), err)
		}
		if string(got) != r.Text {
			t.Errorf("%s differs from the rendered text", r.Script.File())
		}
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode = %v, want owner-only", r.Script.File(), info.Mode().Perm())
		}
	}
	// Writing again overwrites rather than failing.
	if err := WriteDir(dir, rendered); err != nil {
		t.Errorf("second WriteDir: %v", err)
	}
	bad := []Rendered{{Script: Script{Handler: Handler{Name: "../escape"}}, Text: "x"}}
	if err := WriteDir(dir, bad); err == nil {
		t.Errorf("WriteDir(%q) = nil, want an error", bad[0].Script.File())
	}
}

func TestPrint(t *testing.T) {
	rendered, err := Render("https://tasker.example.com", "print-secret")
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	var buf bytes.Buffer
	if err := Print(&buf, rendered); err != nil {
		t.Fatalf("Print: %v", err)
	}
	out := buf.String()
	for _, r := range rendered {
		for _, want := range []string{"// " + r.Script.File() + "\n", "// Paste into: " + r.Script.Location, "POST " + r.URL, r.Text} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	}
}

// delugeUnquote unquotes the inside of a Deluge string literal the way REFERENCE 13.1
// describes (\" and \\), to check that what Render embeds is the secret itself.
func delugeUnquote(lit string) string {
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(lit)
}

// signLikeScript computes what the scripts compute:
// zoho.encryption.hmacsha256(secret, ts + "." + bodyText, "hex").
func signLikeScript(secret, ts, bodyText string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + bodyText))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestSignature pins the signature to values computed independently (openssl dgst
// -sha256 -hmac), over a body with the escaped quotes and newline Deluge's toString()
// produces, and checks that the secret Render embeds signs the same.
func TestSignature(t *testing.T) {
	const (
		ts   = "1741594502"
		body = `{"handler":"command","component":"task","arguments":"add \"Ship it\" due:friday\nsecond line","user":{"id":"60012345678"}}`
	)
	tests := []struct{ secret, want string }{
		{"tasker-test-secret", "58c7b959e74978bca317d25d3029ee95f33f02b8e8994c97f14a36496909d2db"},
		{`se"cr\et`, "d0aece462d0e54e25161a08ef9d5e0f0a8603cd54d7e4a485d0a9e289af9b705"},
	}
	for _, tt := range tests {
		if got := signLikeScript(tt.secret, ts, body); got != tt.want {
			t.Errorf("signLikeScript(%q) = %s, want %s", tt.secret, got, tt.want)
		}
		lit, err := secretLiteral(tt.secret)
		if err != nil {
			t.Fatalf("secretLiteral(%q): %v", tt.secret, err)
		}
		if got := signLikeScript(delugeUnquote(lit), ts, body); got != tt.want {
			t.Errorf("signature with the embedded secret %s = %s, want %s", lit, got, tt.want)
		}
	}
}
