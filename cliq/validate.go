package cliq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Destination is where a message goes. Cliq's rules differ a little by
// endpoint, so the validator takes one: see Message.ValidateFor.
type Destination int

// Destinations Tasker sends to.
const (
	// HandlerResponse is the map a handler returns through its Deluge script
	// (REFERENCE §7.3): a message, a banner or a form. It may be empty.
	HandlerResponse Destination = iota
	// ChannelPost is POST /api/v2/channelsbyname/{name}/message, and a channel
	// or bot message URL authenticated by a zapikey (REFERENCE §4.1 a, f, g).
	ChannelPost
	// BotMessage is POST /api/v2/bots/{bot}/message: a bot DM (REFERENCE §4.1 d).
	BotMessage
	// ChatPost is POST /api/v2/chats/{id}/message (REFERENCE §4.1 c).
	ChatPost
)

// destinationRules are what sets destinations apart. REFERENCE §5 gives text
// 5000 on the v2 post schemas and on the v3 message and bot-message
// endpoints (messages.yml, bots.yml); the 10,000 of the v3 message-format,
// button and card pages contradicts messages.yml for the same paths, and no
// document gives handler responses a figure. Cliq posts a handler's answer as
// a message, so every destination gets the lowest documented figure.
var destinationRules = map[Destination]struct {
	name         string
	maxText      int
	textRequired bool // REFERENCE §5: text is "required on most endpoints"
}{
	HandlerResponse: {"handler response", MaxTextLength, false},
	ChannelPost:     {"channel post", MaxTextLength, true},
	BotMessage:      {"bot message", MaxTextLength, true},
	ChatPost:        {"chat post", MaxTextLength, true},
}

// String names d for errors.
func (d Destination) String() string {
	if r, ok := destinationRules[d]; ok {
		return r.name
	}
	return fmt.Sprintf("destination %d", int(d))
}

// ValidationError lists every rule a message, banner or form breaks.
type ValidationError struct {
	Problems []Problem
}

// Problem is one broken rule: Path is the JSON path of the field, such as
// buttons[2].label ("" for the whole value).
type Problem struct {
	Path    string
	Message string
}

// String gives "path: message", or the message alone for the whole value.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Error lists every problem, separated by semicolons.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "cliq: invalid: " + strings.Join(parts, "; ")
}

// ValidateResponse checks raw, a handler's JSON answer, as Cliq would receive
// it: a banner or a form when its "type" says so, else a message. It returns a
// *ValidationError naming each bad field, or an error for JSON that is not an
// object.
func ValidateResponse(raw []byte) error {
	return ValidateJSON(HandlerResponse, raw)
}

// ValidateJSON checks raw as a body for d. Banners and forms are valid only
// as handler responses; the REST endpoints take messages.
func ValidateJSON(d Destination, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keeps integers exact for the limits
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("cliq: invalid: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("cliq: invalid: data after the JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return &ValidationError{[]Problem{{"", "want a JSON object, got " + kind(v)}}}
	}
	var c checker
	switch typ := obj["type"]; {
	case typ == nil:
		c.message(d, obj)
	case d != HandlerResponse:
		c.add("type", "a %s takes a message, not a %v", d, typ)
	case typ == "banner":
		c.banner(obj)
	case typ == "form":
		c.form(obj)
	default:
		c.add("type", "%v is neither banner nor form", typ)
	}
	return c.err()
}

// validateValue marshals v as it will be sent and checks it for d.
func validateValue(d Destination, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cliq: invalid: %w", err)
	}
	return ValidateJSON(d, b)
}

// checker collects problems while walking decoded JSON.
type checker struct {
	problems []Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{path, fmt.Sprintf(format, args...)})
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &ValidationError{c.problems}
}

// field joins a path and an object key; at names an array element.
func field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func at(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// kind names a JSON value's type for messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// object returns v as an object, reporting anything else.
func (c *checker) object(path string, v any) (map[string]any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.add(path, "want an object, got %s", kind(v))
	}
	return obj, ok
}

// array returns v as an array, reporting anything else.
func (c *checker) array(path string, v any) ([]any, bool) {
	a, ok := v.([]any)
	if !ok {
		c.add(path, "want an array, got %s", kind(v))
	}
	return a, ok
}

// only reports the keys of obj that are not in allowed: Cliq refuses them
// with extra_key_found (REFERENCE §4.1, §4.6).
func (c *checker) only(path string, obj map[string]any, allowed ...string) {
	var extra []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		c.add(field(path, k), "unknown field (Cliq answers extra_key_found)")
	}
}

// text checks obj[key], a string of at most limit code points (0: no
// limit). Absent is fine unless required, which also refuses "".
func (c *checker) text(path string, obj map[string]any, key string, required bool, limit int) (string, bool) {
	p := field(path, key)
	v, present := obj[key]
	if !present || v == nil {
		if required {
			c.add(p, "is required")
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.add(p, "want a string, got %s", kind(v))
		return "", false
	}
	if required && s == "" {
		c.add(p, "is empty")
	}
	c.length(p, s, limit)
	return s, true
}

// length reports s longer than limit code points (0: no limit).
func (c *checker) length(path, s string, limit int) {
	if n := utf8.RuneCountInString(s); limit > 0 && n > limit {
		c.add(path, "%d characters, limit %d", n, limit)
	}
}

// oneOf checks that obj[key], when present (or required), is one of values,
// and returns it with whether it is.
func (c *checker) oneOf(path string, obj map[string]any, key string, required bool, values ...string) (string, bool) {
	s, ok := c.text(path, obj, key, required, 0)
	switch {
	case !ok || (required && s == ""): // already reported if required
		return s, false
	case !slices.Contains(values, s):
		c.add(field(path, key), "%q is not one of %s", s, strings.Join(values, ", "))
		return s, false
	}
	return s, true
}

// boolean checks that obj[key], when present, is a JSON boolean.
func (c *checker) boolean(path string, obj map[string]any, key string) {
	if v, ok := obj[key]; ok {
		if _, ok := v.(bool); !ok {
			c.add(field(path, key), "want a boolean, got %s", kind(v))
		}
	}
}

// integer checks that obj[key], when present, is an integer in [lo, hi],
// and returns it.
func (c *checker) integer(path string, obj map[string]any, key string, lo, hi int64) (int64, bool) {
	v, present := obj[key]
	if !present {
		return 0, false
	}
	return c.intValue(field(path, key), v, lo, hi)
}

// intValue checks that v is an integer in [lo, hi] and returns it.
func (c *checker) intValue(path string, v any, lo, hi int64) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		c.add(path, "want an integer, got %s", kind(v))
		return 0, false
	}
	i, err := n.Int64()
	if err != nil {
		c.add(path, "want an integer, got %s", n)
		return 0, false
	}
	if i < lo || i > hi {
		c.add(path, "%d is out of range %d to %d", i, lo, hi)
	}
	return i, true
}

// count reports an array of n elements outside [lo, hi].
func (c *checker) count(path string, n, lo, hi int) {
	switch {
	case n < lo:
		c.add(path, "%d items, want at least %d", n, lo)
	case n > hi:
		c.add(path, "%d items, limit %d", n, hi)
	}
}

// link checks that s is an absolute URL with one of schemes and at most
// limit characters (0: no limit). http and https URLs need a host.
func (c *checker) link(path, s string, limit int, schemes ...string) {
	c.length(path, s, limit)
	u, err := url.Parse(s)
	ok := err == nil && slices.Contains(schemes, strings.ToLower(u.Scheme))
	if ok && (u.Scheme == "http" || u.Scheme == "https" || u.Opaque == "") {
		ok = u.Host != ""
	}
	if !ok {
		c.add(path, "%q is not an absolute %s url", s, strings.Join(schemes, "/"))
	}
}
