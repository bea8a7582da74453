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
// The scripts are rendered from one table of handlers (handlers.go): each
// forwards exactly the attributes Zoho documents for its handler, so Cliq's
// editor, which refuses a script naming a variable its handler does not get,
// saves every one. The tests run each script in a Deluge interpreter against
// the real routes.
package deluge

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

// The placeholders the templates carry.
const (
	placeholderURL    = "{{PUBLIC_URL}}"
	placeholderSecret = "{{SECRET}}"
)

//go:embed scripts
var templates embed.FS

// Script is one forwarder: a Cliq handler of the table and its script text.
type Script struct {
	Handler
	// Template is the script text with its {{PUBLIC_URL}} and {{SECRET}} placeholders.
	Template string
}

// File is the script's relative path with forward slashes, e.g. "bot/message.dg".
func (s Script) File() string { return s.Name + ".dg" }

// Scripts returns every forwarder rendered from the handler table, in setup
// order. The slice is the caller's own.
func Scripts() []Script {
	tmpl := template.Must(template.New("").Delims("[[", "]]").ParseFS(templates, "scripts/*.dg.tmpl"))
	handlers := Handlers()
	out := make([]Script, len(handlers))
	for i, h := range handlers {
		var b strings.Builder
		data := struct {
			Handler
			Title     string
			NoteLines []string
		}{h, title(h), wrap(h.Note, 86)}
		if err := tmpl.ExecuteTemplate(&b, h.template, data); err != nil { // a build mistake the tests catch
			panic(fmt.Sprintf("deluge: template for %s: %v", h.Name, err))
		}
		out[i] = Script{Handler: h, Template: b.String()}
	}
	return out
}

// title names a handler for its script's first line.
func title(h Handler) string {
	switch h.Kind {
	case KindCommand:
		return "/" + h.Component + " slash command, " + h.Type
	case KindBot:
		if h.MenuAction != "" {
			return "bot " + h.Component + ", " + h.Type + " of the menu action \"" + h.MenuAction + "\""
		}
		return "bot " + h.Component + ", " + h.Type
	default:
		return h.Kind + " \"" + h.Component + "\", " + h.Type
	}
}

// wrap breaks text into lines of at most width bytes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
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
