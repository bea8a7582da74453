package extension

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/taskerhq/tasker/tasks"
)

// The generic source describes what no registered source detects. It is not
// registered: Format falls back to it.
const (
	genericName = "Webhook"
	genericCode = "x"
)

// Keys that tell most about an event, best first. A shallower key beats a
// deeper one; at the same depth, the earlier key in its list wins.
var (
	titleKeys  = []string{"title", "name", "subject", "summary", "headline", "message", "text", "description"}
	actionKeys = []string{"action", "event", "event_type", "eventType", "event_name", "type", "status", "state"}
	urlKeys    = []string{"html_url", "web_url", "permalink", "link", "href", "url", "web_link"}
	userKeys   = []string{"user", "sender", "actor", "author", "creator", "owner", "username", "login", "user_name", "email"}
	// nameKeys name a person inside a user-ish object.
	nameKeys = []string{"name", "display_name", "displayName", "full_name", "login", "username", "email"}
	// secretWords mark keys whose values never go to a channel.
	secretWords = []string{"secret", "token", "password", "passwd", "signature", "authorization", "apikey", "api_key", "credential"}
)

// Bounds on the work the generic source does with an arbitrary body.
const (
	genericMaxDepth = 3
	genericMaxNodes = 500
)

// genericNotice describes any payload by its most telling fields. name and
// event label a payload a known source could not describe.
func genericNotice(p Payload, name, event string) Notice {
	n := Notice{Source: name, Event: event}
	body := bytes.TrimSpace(p.Body)
	var top json.RawMessage = body
	if len(body) > 0 && body[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(body, &items) == nil && len(items) > 0 {
			top = items[0]
			n.Fields = append(n.Fields, field("Items", strconv.Itoa(len(items))))
		}
	}
	fields, ok := objectFields(top)
	if !ok || !json.Valid(body) {
		return opaqueNotice(n, p)
	}
	f := findTelling(fields)
	n.Title = f.title
	n.Actor = f.user
	n.URL = f.url
	n.Track = f.url
	what := event
	if what == "" {
		what = f.action
	}
	n.Action = "sent an event"
	if what != "" {
		n.Action = "sent a *" + humanize(what) + "* event"
	}
	if n.Actor == "" {
		n.Actor = name
	}
	if n.Title == "" {
		n.Title = joinNonEmpty(": ", name, humanize(what))
	}
	for _, kv := range fields {
		if len(n.Fields) >= maxFields {
			break
		}
		v, ok := scalar(kv.val)
		if indexOf(urlKeys, kv.key) >= 0 && tasks.SafeWebURL(v) == "" {
			continue // not a web link: nothing a reader could open safely
		}
		if ok && v != "" && !isSecretKey(kv.key) && v != f.title && v != f.url {
			n.Fields = append(n.Fields, field(capitalize(humanize(kv.key)), v))
		}
	}
	return n
}

// opaqueNotice describes a body that is not a JSON object: its size, type
// and, when it is text, its beginning.
func opaqueNotice(n Notice, p Payload) Notice {
	n.Actor = n.Source
	n.Title = n.Source + " event"
	switch {
	case len(bytes.TrimSpace(p.Body)) == 0:
		n.Action = "sent an empty request"
	default:
		n.Action = "sent a request Tasker could not read as a JSON object"
		if utf8.Valid(p.Body) {
			n.Excerpt, n.ExcerptTitle = string(p.Body), "Body"
		}
	}
	if e := n.Event; e != "" {
		n.Fields = append(n.Fields, field("Event", e))
	}
	n.Fields = append(n.Fields,
		field("Content type", p.Header.Get("Content-Type")),
		field("Size", fmt.Sprintf("%d bytes", len(p.Body))))
	return n
}

// jsonField is one key of a JSON object, in document order.
type jsonField struct {
	key string
	val json.RawMessage
}

// objectFields lists raw's keys in the order the sender wrote them (which
// usually puts the important ones first); false when raw is not an object.
func objectFields(raw json.RawMessage) ([]jsonField, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []jsonField
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, jsonField{key, v})
	}
	return out, true
}

// scalar returns a string, number or bool value as text.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	case '{', '[', 'n':
		return "", false
	}
	return string(raw), true
}

// scalarText is scalar's text, or "" for anything else.
func scalarText(raw json.RawMessage) string {
	s, _ := scalar(raw)
	return s
}

func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// telling is what findTelling found.
type telling struct {
	title, action, url, user string
}

// findTelling searches the object breadth first, to genericMaxDepth levels
// and genericMaxNodes values, for the best title, action, URL and user.
func findTelling(top []jsonField) telling {
	type candidate struct {
		value       string
		depth, rank int
	}
	best := map[string]candidate{}
	consider := func(kind, value string, depth, rank int) {
		if value == "" {
			return
		}
		if c, ok := best[kind]; !ok || depth < c.depth || depth == c.depth && rank < c.rank {
			best[kind] = candidate{value, depth, rank}
		}
	}
	level, visited := [][]jsonField{top}, 0
	for depth := 0; depth < genericMaxDepth && len(level) > 0; depth++ {
		var next [][]jsonField
		for _, obj := range level {
			for _, kv := range obj {
				if visited++; visited > genericMaxNodes {
					break
				}
				if isSecretKey(kv.key) {
					continue
				}
				s, isScalar := scalar(kv.val)
				if i := indexOf(titleKeys, kv.key); i >= 0 && isScalar {
					consider("title", oneLine(s), depth, i)
				}
				if i := indexOf(actionKeys, kv.key); i >= 0 && isScalar {
					consider("action", s, depth, i)
				}
				if i := indexOf(urlKeys, kv.key); i >= 0 && isScalar && tasks.SafeWebURL(s) != "" {
					consider("url", s, depth, i)
				}
				if i := indexOf(userKeys, kv.key); i >= 0 {
					if isScalar {
						consider("user", s, depth, i)
					} else if inner, ok := objectFields(kv.val); ok {
						consider("user", personName(inner), depth, i)
					}
				}
				if inner, ok := objectFields(kv.val); ok {
					next = append(next, inner)
				}
			}
		}
		level = next
	}
	return telling{best["title"].value, best["action"].value, best["url"].value, best["user"].value}
}

// personName is the best name field of a user-ish object.
func personName(fields []jsonField) string {
	found := ""
	rank := len(nameKeys)
	for _, kv := range fields {
		if i := indexOf(nameKeys, kv.key); i >= 0 && i < rank {
			if s, ok := scalar(kv.val); ok && s != "" {
				found, rank = s, i
			}
		}
	}
	return found
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
