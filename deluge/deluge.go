// Package deluge holds the Deluge scripts that run inside Zoho Cliq and forward each
// handler's attributes to Tasker, and renders them for one deployment.
//
// Every script follows SPEC.md sections 4.1 and 10: it collects its handler's
// attributes (Cliq's own names plus the envelope keys handler, component and
// sent_at) into a map, serialises it once, signs timestamp + "." + that text with
// HMAC-SHA256 under the shared secret, POSTs the same text to its /cliq/... route
// and returns Tasker's answer to Cliq, or a short fixed text when Tasker cannot be
// reached. The templates carry two placeholders, {{PUBLIC_URL}} and {{SECRET}},
// which Render fills; `tasker deluge` prints the result or writes it with WriteDir.
//
// No script has been run on a live Cliq organisation: each uses only the Deluge
// forms of cliq/REFERENCE.md section 13 and says at its top what is unverified.
package deluge

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// The placeholders the templates carry.
const (
	placeholderURL    = "{{PUBLIC_URL}}"
	placeholderSecret = "{{SECRET}}"
)

//go:embed scripts
var templates embed.FS

// Script is one forwarder: a Cliq handler, where it is pasted and what it calls.
type Script struct {
	// Name is the script's path without ".dg", e.g. "bot/message"; it names the
	// file under scripts/ and under `tasker deluge --out DIR`.
	Name string
	// Handler is the envelope value the script sends as "handler" (e.g.
	// "bot_message"), telling the backend which Cliq handler forwarded the body.
	Handler string
	// Location says where in Cliq's developer console the script is pasted.
	Location string
	// Route is the backend path the script POSTs to (SPEC.md section 7.1).
	Route string
	// Template is the script text with its {{PUBLIC_URL}} and {{SECRET}} placeholders.
	Template string
}

// File is the script's relative path with forward slashes, e.g. "bot/message.dg".
func (s Script) File() string { return s.Name + ".dg" }

// catalogue lists every script; the order is the order of a newcomer's setup
// (command, functions, bot, extension), which Print and the README follow.
var catalogue = []Script{
	{
		Name: "commands/task", Handler: "command", Route: "/cliq/commands/task",
		Location: "Bots & Tools > Commands > create the command \"task\" > Edit Code > Execution Handler",
	},
	{
		Name: "functions/taskaction", Handler: "button", Route: "/cliq/functions/taskaction",
		Location: "Bots & Tools > Functions > create the function \"taskaction\", type Button > Edit Code",
	},
	{
		Name: "functions/createtaskform", Handler: "form_submit", Route: "/cliq/functions/createtaskform",
		Location: "Bots & Tools > Functions > create the function \"createtaskform\", type Form > Edit Code > Submit Handler",
	},
	{
		Name: "bot/welcome", Handler: "bot_welcome", Route: "/cliq/bot/welcome",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Welcome Handler",
	},
	{
		Name: "bot/message", Handler: "bot_message", Route: "/cliq/bot/message",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Message Handler",
	},
	{
		Name: "bot/mention", Handler: "bot_mention", Route: "/cliq/bot/mention",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Mention Handler",
	},
	{
		Name: "bot/context", Handler: "bot_context", Route: "/cliq/bot/context",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Context Handler",
	},
	{
		Name: "bot/menu", Handler: "bot_menu", Route: "/cliq/bot/menu",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Menu Actions > each action's handler (the same script for every action)",
	},
	{
		Name: "bot/participation", Handler: "bot_participation", Route: "/cliq/bot/participation",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Participation Handler",
	},
	{
		Name: "extension/incoming", Handler: "extension_incoming_webhook", Route: "/cliq/extension/incoming",
		Location: "Bots & Tools > Extensions > the Tasker extension > Handlers > Incoming Webhook Handler",
	},
	{
		Name: "extension/install", Handler: "extension_installation", Route: "/cliq/extension/install",
		Location: "Bots & Tools > Extensions > the Tasker extension > Handlers > Installation Handler",
	},
}

// Scripts returns every forwarder with its template, in setup order. The slice is
// the caller's own.
func Scripts() []Script {
	out := make([]Script, len(catalogue))
	for i, s := range catalogue {
		b, err := fs.ReadFile(templates, "scripts/"+s.File())
		if err != nil { // the catalogue and the embedded files disagree: a build mistake the tests catch
			panic(fmt.Sprintf("deluge: template %s: %v", s.File(), err))
		}
		s.Template = string(b)
		out[i] = s
	}
	return out
}

// Rendered is a script filled in for one deployment, ready to paste into Cliq.
type Rendered struct {
	Script Script
	// URL is the absolute URL the script calls: the public URL plus Script.Route.
	URL string
	// Text is the script with every placeholder replaced. It contains the secret.
	Text string
}

// Render fills every script with publicURL and secret.
//
// publicURL must be an absolute http or https URL without query, fragment or user
// info; a trailing slash is dropped, and a path prefix (a reverse proxy's) is kept.
// Plain http, other ports and private hosts are accepted because local setups use
// them, but Cliq cannot reach them: see Warnings. secret must be non-empty
// printable ASCII; " and \ are escaped for the Deluge string literal. Anything else
// (control characters, non-ASCII) is refused, since Deluge's handling of it, and so
// the HMAC key it signs with, is undocumented and a mismatch would fail silently.
func Render(publicURL, secret string) ([]Rendered, error) {
	base, err := normalizeURL(publicURL)
	if err != nil {
		return nil, err
	}
	lit, err := secretLiteral(secret)
	if err != nil {
		return nil, err
	}
	// One pass: a secret that happens to contain "{{PUBLIC_URL}}" stays as it is.
	r := strings.NewReplacer(placeholderURL, base, placeholderSecret, lit)
	scripts := Scripts()
	out := make([]Rendered, len(scripts))
	for i, s := range scripts {
		out[i] = Rendered{Script: s, URL: base + s.Route, Text: r.Replace(s.Template)}
	}
	return out, nil
}

// Warnings lists reasons why Cliq may be unable to reach publicURL, for the
// operator to read; it is empty for a public https URL on the standard port.
// Deluge's invokeurl calls only publicly trusted HTTPS on standard ports, so
// production needs a TLS-terminating proxy and development a tunnel. Render
// accepts such URLs anyway: the scripts may be rendered before the proxy exists.
func Warnings(publicURL string) []string {
	u, err := url.Parse(strings.TrimSpace(publicURL))
	if err != nil || u.Host == "" {
		return nil // Render reports malformed URLs
	}
	var w []string
	if u.Scheme != "https" {
		w = append(w, "public URL is not https: Cliq's invokeurl calls only publicly trusted HTTPS (put a TLS-terminating proxy or a tunnel in front)")
	}
	if p := u.Port(); p != "" && p != "443" {
		w = append(w, "public URL has port "+p+": Cliq may refuse ports other than 443")
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || strings.HasSuffix(host, ".localhost") ||
		(ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())) {
		w = append(w, "public URL host "+host+" is not reachable from Cliq's servers")
	}
	return w
}

// normalizeURL validates publicURL and returns it without trailing slashes.
func normalizeURL(publicURL string) (string, error) {
	if publicURL == "" {
		return "", errors.New("deluge: public URL is empty")
	}
	// It lands inside a Deluge string literal: refuse what would need escaping there.
	for _, c := range publicURL {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return "", fmt.Errorf("deluge: public URL contains %q; use a plain ASCII URL (punycode for international hosts)", c)
		}
	}
	u, err := url.Parse(publicURL)
	if err != nil {
		return "", errors.New("deluge: public URL does not parse")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("deluge: public URL must start with https:// (or http:// for local tests)")
	case u.Host == "":
		return "", errors.New("deluge: public URL has no host")
	case u.User != nil:
		return "", errors.New("deluge: public URL must not contain user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(publicURL, "#"):
		return "", errors.New("deluge: public URL must not have a query or fragment: routes are appended to it")
	}
	return strings.TrimRight(publicURL, "/"), nil
}

// secretLiteral returns secret escaped for the inside of a Deluge "..." literal.
func secretLiteral(secret string) (string, error) {
	if secret == "" {
		return "", errors.New("deluge: secret is empty")
	}
	var b strings.Builder
	for i, c := range secret {
		switch {
		case c < ' ' || c == 0x7f:
			return "", fmt.Errorf("deluge: secret has a control character at byte %d; use printable ASCII", i)
		case c > 0x7f:
			return "", fmt.Errorf("deluge: secret has a non-ASCII character at byte %d; use printable ASCII", i)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String(), nil
}

// WriteDir writes each rendered script to dir/<Script.File()>, creating folders.
// Files are readable by the owner only, since they contain the secret.
func WriteDir(dir string, rendered []Rendered) error {
	for _, r := range rendered {
		rel := filepath.FromSlash(r.Script.File())
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("deluge: write %s: not a path inside the output folder", r.Script.File())
		}
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("deluge: write %s: %w", r.Script.File(), err)
		}
		if err := os.WriteFile(path, []byte(r.Text), 0o600); err != nil {
			return fmt.Errorf("deluge: write %s: %w", r.Script.File(), err)
		}
	}
	return nil
}

// Print writes every rendered script to w, each under a heading that names the
// file, where it goes in Cliq and what it calls. Headings are Deluge comments, so
// a section pasted with its heading still saves.
func Print(w io.Writer, rendered []Rendered) error {
	const rule = "// ============================================================================\n"
	for _, r := range rendered {
		_, err := fmt.Fprintf(w, "%s// %s\n// Paste into: %s\n// Calls:      POST %s\n%s%s\n",
			rule, r.Script.File(), r.Script.Location, r.URL, rule, r.Text)
		if err != nil {
			return fmt.Errorf("deluge: print: %w", err)
		}
	}
	return nil
}
