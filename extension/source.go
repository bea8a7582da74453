package extension

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// Payload is one request from a third party: its headers and raw body.
// Header keys are canonical, so Get ignores the casing the sender (or Cliq's
// forwarder) used.
type Payload struct {
	Header http.Header
	Body   []byte
}

// Source turns one third party's webhook payloads into notices. Adding a
// source is adding one file that implements Source and registers it from an
// init function.
type Source interface {
	// Name is the display name shown on cards, e.g. "GitLab".
	Name() string
	// Code is the source's tag in track REFs, e.g. "gl". REFs live on in
	// posted cards, so a code never changes once released.
	Code() string
	// Detect reports whether p comes from this source, by headers or body.
	Detect(p Payload) bool
	// Decode describes p. It returns an error for a body it cannot read or
	// an event it does not know; the caller then falls back to a generic card.
	Decode(p Payload) (Notice, error)
}

// errUnsupported is what a source returns for an event it does not describe.
var errUnsupported = errors.New("extension: unsupported event")

// sources are the registered sources, tried in registration order.
var sources []Source

// register adds a source; each source file calls it from init.
func register(s Source) {
	for _, o := range sources {
		if o.Code() == s.Code() {
			panic(fmt.Sprintf("extension: source code %q registered twice", s.Code()))
		}
	}
	sources = append(sources, s)
}

// Notice is what a source makes of one event: who did what, where, with a
// link. render turns it into a card; sources never build cards themselves, so
// every card looks alike and stays within Cliq's limits.
type Notice struct {
	Source string // display name; filled in from the source
	Event  string // the event as the source names it, e.g. "issues.opened"

	// Title heads the card and becomes the tracked task's title, so it names
	// the item (an issue's title), not the event.
	Title string

	// The sentence: "*Actor* Action [Object](URL) in [Where](WhereURL)".
	Actor    string
	Action   string
	Object   string
	URL      string
	Where    string
	WhereURL string

	Fields       []cliq.Field // a details slide
	Excerpt      string       // description or comment, as a text slide
	ExcerptTitle string
	List         []string // e.g. commits; at most maxListItems are shown
	ListTitle    string
	ListTotal    int // items in all, when the payload lists only some

	// Track is the URL the "Track as task" button tracks; empty for none.
	Track string
}

// Limits that keep a card compact; Cliq's own limits are far above them.
const (
	maxListItems  = 5
	maxFields     = 8
	maxFieldValue = 200
	maxListItem   = 200
	maxExcerpt    = 600
	maxSentence   = 1000
	maxOpenURL    = 256 // Cliq's limit on open.url targets
)

// trackFunction is the bot's Cliq function a "Track as task" button
// invokes, with the key tasks.TrackKeyPrefix + REF (SPEC 7.3).
const trackFunction = "taskaction"

// Format describes p as a card: by the first source that detects it, else
// as a generic card. It never fails: an unreadable body still gets a card.
func Format(p Payload) cliq.Message {
	for _, s := range sources {
		if s.Detect(p) {
			return FormatAs(s, p)
		}
	}
	return render(genericNotice(p, genericName, ""), genericCode)
}

// FormatAs describes p as coming from s, falling back to a generic card
// labelled with s's name when s cannot decode it.
func FormatAs(s Source, p Payload) cliq.Message {
	n, err := s.Decode(p)
	if err != nil {
		return render(genericNotice(p, s.Name(), eventName(p)), s.Code())
	}
	n.Source = s.Name()
	return render(n, s.Code())
}

// eventName is the event a payload's headers name, for generic fallbacks.
func eventName(p Payload) string {
	for _, h := range []string{"X-Gitlab-Event", "X-GitHub-Event", "X-Event-Key", "X-Event-Type"} {
		if v := p.Header.Get(h); v != "" {
			return v
		}
	}
	return ""
}

// render builds the card of n. code tags the track REF.
func render(n Notice, code string) cliq.Message {
	if n.Source == "" {
		n.Source = genericName
	}
	title := clean(n.Title)
	if title == "" {
		title = n.Source + " event"
	}
	msg := cliq.Message{
		Text: cut(sentence(n), maxSentence),
		Card: &cliq.Card{Title: title, Theme: cliq.ThemeModernInline},
	}
	if ref, ok := tasks.TrackRef(code, n.Track); ok {
		b := cliq.FunctionButton("Track as task", trackFunction, tasks.TrackKeyPrefix+ref)
		b.Hint = "Create a Tasker task for this"
		msg.Buttons = append(msg.Buttons, b)
	}
	if u := tasks.SafeWebURL(n.URL); u != "" && len(u) <= maxOpenURL {
		label := "Open in " + n.Source
		if n.Source == genericName {
			label = "Open link"
		}
		msg.Buttons = append(msg.Buttons, cliq.URLButton(cut(label, cliq.MaxButtonLabelLength), u))
	}
	if len(n.Fields) > 0 {
		fields := make([]cliq.Field, 0, min(len(n.Fields), maxFields))
		for _, f := range n.Fields {
			if len(fields) == maxFields {
				break
			}
			if v := cut(clean(f.Value), maxFieldValue); v != "" {
				fields = append(fields, cliq.Field{Label: cut(clean(f.Label), 40), Value: v})
			}
		}
		if len(fields) > 0 {
			msg.Slides = append(msg.Slides, cliq.LabelSlide("Details", fields...))
		}
	}
	if len(n.List) > 0 {
		msg.Slides = append(msg.Slides, cliq.ListSlide(n.ListTitle, listItems(n.List, n.ListTotal)...))
	}
	if ex := cut(strings.TrimSpace(clean(n.Excerpt)), maxExcerpt); ex != "" {
		msg.Slides = append(msg.Slides, cliq.TextSlide(n.ExcerptTitle, ex))
	}
	return msg.Truncate()
}

// sentence is the card's text: who did what, where, with links.
func sentence(n Notice) string {
	var b strings.Builder
	if a := clean(n.Actor); a != "" {
		b.WriteString("*" + a + "* ")
	}
	b.WriteString(clean(n.Action))
	if o := clean(n.Object); o != "" {
		b.WriteString(" " + link(o, n.URL))
	}
	if w := clean(n.Where); w != "" {
		b.WriteString(" in " + link(w, n.WhereURL))
	}
	return strings.TrimSpace(b.String())
}

// listItems keeps the first maxListItems items and says how many more there are.
func listItems(items []string, total int) []string {
	total = max(total, len(items))
	out := make([]string, 0, maxListItems+1)
	for _, it := range items[:min(len(items), maxListItems)] {
		out = append(out, cut(clean(it), maxListItem))
	}
	if more := total - len(out); more > 0 {
		out = append(out, fmt.Sprintf("and %d more", more))
	}
	return out
}

// mentionNeutralizer defuses Cliq's mention syntax in third-party text: an
// issue titled "{@all}" must not notify a whole channel.
var mentionNeutralizer = strings.NewReplacer("{@", "{ @", "{#", "{ #")

// clean makes third-party text safe to show: valid UTF-8, no control
// characters other than newlines and tabs, no mentions.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = tasks.CleanText(s, true)
	return mentionNeutralizer.Replace(strings.TrimSpace(s))
}

// oneLine is the first line of s, as commit messages are summarised.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// cut shortens s to at most n code points, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// linkTextEscaper keeps link text from closing the markdown link early.
var linkTextEscaper = strings.NewReplacer("[", "(", "]", ")")

// link is a markdown link to u, or plain text when u is not a web URL.
func link(text, u string) string {
	u = tasks.SafeWebURL(u)
	if u == "" {
		return text
	}
	return "[" + linkTextEscaper.Replace(text) + "](" + u + ")"
}

// flexString decodes a JSON string, number or bool as text, and null as "",
// because senders disagree on whether ids are numbers or strings.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*f = ""
	case string:
		*f = flexString(v)
	case float64, bool:
		*f = flexString(strings.TrimSpace(string(b)))
	default:
		return errors.New("want a string or a number")
	}
	return nil
}

// joinNonEmpty joins the non-empty items with sep.
func joinNonEmpty(sep string, items ...string) string {
	var kept []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			kept = append(kept, it)
		}
	}
	return strings.Join(kept, sep)
}

// humanize turns an event word such as "review_requested" into "review requested".
func humanize(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "_", " ")
}

// field is a details field; empty values are dropped by render.
func field(label, value string) cliq.Field {
	return cliq.Field{Label: label, Value: value}
}

// shortSHA is the 8-character form of a commit id people recognise.
func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
