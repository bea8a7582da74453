package cliq

import (
	"slices"
	"sort"
	"unicode/utf8"
)

// Limits Cliq enforces on a message (REFERENCE §5). Lengths count Unicode
// code points.
const (
	// MaxTextLength is the longest text the v2 message endpoints accept, and
	// the lowest figure any document gives (see destinationRules).
	MaxTextLength = 5000
	// MaxButtons is the number of buttons a message may carry (bots.yml,
	// buttons.yml).
	MaxButtons = 5
	// MaxSlides is the number of slides a message may carry (bots.yml).
	MaxSlides = 20
	// MaxCardTitleLength is the longest card title (messagecards.yml).
	MaxCardTitleLength = 200
	// MaxButtonLabelLength is the longest button label (buttons.yml); some
	// Cliq pages allow 30, but 20 is accepted everywhere.
	MaxButtonLabelLength = 20
	// MaxButtonHintLength is the longest button hint (buttons.yml).
	MaxButtonHintLength = 100
	// MaxButtonKeyLength is the longest button key, returned as
	// arguments.key (buttons.yml).
	MaxButtonKeyLength = 100
)

// ellipsis marks text cut by Truncate, so readers see it was cut.
const ellipsis = "…"

// Message is what Cliq posts or renders: text with an optional card, buttons
// and slides. It is both the body of the REST message endpoints and the map a
// handler returns. The zero value marshals to {}, which Cliq shows as nothing.
type Message struct {
	Text    string   `json:"text,omitempty"`
	Bot     *Bot     `json:"bot,omitempty"`
	Card    *Card    `json:"card,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`
	Slides  []Slide  `json:"slides,omitempty"`
}

// Text returns a message with only text: the usual answer to a user in chat.
func Text(s string) Message {
	return Message{Text: s}
}

// Bot overrides the sender's display name and avatar for one message; it does
// not change who really sent it.
type Bot struct {
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"` // public HTTPS URL
}

// Validate reports every way m breaks the rules Cliq applies wherever a
// message goes, as a *ValidationError naming each bad field, or nil. They are
// the rules of a HandlerResponse; ValidateFor adds a destination's own.
// Truncate fixes the limits it can.
func (m Message) Validate() error {
	return validateValue(HandlerResponse, m)
}

// ValidateFor reports every way m breaks Cliq's rules for d, as Validate does.
func (m Message) ValidateFor(d Destination) error {
	return validateValue(d, m)
}

// Truncate returns a copy of m within Cliq's limits: text, card title, button
// labels and hints, and confirm dialogs cut with an ellipsis (text never
// inside a mention or a link); buttons beyond MaxButtons and slides beyond
// MaxSlides dropped, then slides shortened or dropped from the end until they
// fit MaxSlidesText. Button keys, names and URLs are left alone, because a cut
// one would do the wrong thing; Validate still reports them.
func (m Message) Truncate() Message {
	m.Text = truncate(m.Text, MaxTextLength)
	if m.Card != nil {
		c := *m.Card
		c.Title = truncate(c.Title, MaxCardTitleLength)
		m.Card = &c
	}
	if len(m.Buttons) > 0 {
		n := min(len(m.Buttons), MaxButtons)
		buttons := make([]Button, n)
		for i, b := range m.Buttons[:n] {
			b.Label = truncate(b.Label, MaxButtonLabelLength)
			b.Hint = truncate(b.Hint, MaxButtonHintLength)
			if b.Action.Confirm != nil {
				c := *b.Action.Confirm
				c.Title = truncate(c.Title, MaxConfirmLength)
				c.Description = truncate(c.Description, MaxConfirmLength)
				c.Input = truncate(c.Input, MaxConfirmInputLength)
				c.ButtonLabel = truncate(c.ButtonLabel, MaxConfirmLength)
				b.Action.Confirm = &c
			}
			buttons[i] = b
		}
		m.Buttons = buttons
	}
	if len(m.Slides) > 0 {
		m.Slides = fitSlides(m.Slides[:min(len(m.Slides), MaxSlides)])
	}
	return m
}

// WithFunctionOwner returns a copy of m whose invoke.function buttons name
// owner (an e-mail address) as their function's owner, unless they name one
// already. Functions in Cliq belong to the user who made them (REFERENCE
// §5, §14.4), so buttons sent to anyone else must say whose function to run.
// An empty owner leaves m as it is.
func (m Message) WithFunctionOwner(owner string) Message {
	if owner == "" || len(m.Buttons) == 0 {
		return m
	}
	m.Buttons = slices.Clone(m.Buttons)
	for i, b := range m.Buttons {
		if b.Action.Type == ActionInvokeFunction && b.Action.Data.Owner == "" {
			m.Buttons[i].Action.Data.Owner = owner
		}
	}
	return m
}

// fitSlides returns the slides that fit MaxSlidesText: the first that
// would pass it is shortened (fewer rows, items or pairs, or cut text) or
// dropped, and the rest are dropped, so what remains reads in order.
func fitSlides(slides []Slide) []Slide {
	out := make([]Slide, 0, len(slides))
	budget := MaxSlidesText
	for _, s := range slides {
		size := slideSize(s)
		if size <= budget {
			out = append(out, s)
			budget -= size
			continue
		}
		if s, ok := shrinkSlide(s, budget); ok {
			out = append(out, s)
		}
		break
	}
	return out
}

// slideSize is what s counts towards MaxSlidesText (see slideTextSize).
func slideSize(s Slide) int {
	return slideTextSize(jsonValue(s))
}

// shrinkSlide shortens s to at most budget characters, keeping a prefix of
// its rows, items or pairs, or cutting its text; ok is false when nothing
// of it fits or its data has no known shape.
func shrinkSlide(s Slide, budget int) (Slide, bool) {
	// keep finds how many of n parts fit, using prefix(k) to build s with k.
	keep := func(n int, prefix func(k int) Slide) (Slide, bool) {
		k := sort.Search(n+1, func(k int) bool { return slideSize(prefix(k)) > budget }) - 1
		if k < 1 {
			return Slide{}, false
		}
		return prefix(k), true
	}
	with := func(data any) Slide { s.Data = data; return s }
	switch d := s.Data.(type) {
	case string:
		title := utf8.RuneCountInString(s.Title)
		if budget-title < 2 { // room for a character and the ellipsis
			return Slide{}, false
		}
		return with(truncate(d, budget-title)), true
	case []string:
		return keep(len(d), func(k int) Slide { return with(d[:k:k]) })
	case []map[string]string:
		return keep(len(d), func(k int) Slide { return with(d[:k:k]) })
	case Table:
		return keep(len(d.Rows), func(k int) Slide { return with(Table{Headers: d.Headers, Rows: d.Rows[:k:k]}) })
	}
	return Slide{}, false
}

// truncate cuts s to at most limit code points, the last being an ellipsis.
// It cuts before a mention ({@…}, {#…}) or a link ([text](url)) that would
// otherwise be split, since half of one renders as markup debris.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	if limit < 1 {
		return ""
	}
	runes := []rune(s)
	cut := safeCut(runes, limit-1)
	return string(runes[:cut]) + ellipsis
}

// safeCut returns the largest n <= cut such that runes[:n] ends neither
// inside a mention nor inside a link.
func safeCut(runes []rune, cut int) int {
mention:
	for i := cut - 1; i >= 0; i-- {
		switch runes[i] {
		case '}': // the last brace before the cut closes: no mention is split
			break mention
		case '{':
			if i+1 < len(runes) && (runes[i+1] == '@' || runes[i+1] == '#') && slices.Contains(runes[cut:], '}') {
				return safeCut(runes, i)
			}
			break mention
		}
	}
	if i := lastIndex(runes[:cut], '['); i >= 0 && linkEnd(runes, i) > cut {
		return safeCut(runes, i)
	}
	return cut
}

// lastIndex returns the index of the last r in runes, or -1.
func lastIndex(runes []rune, r rune) int {
	for i := len(runes) - 1; i >= 0; i-- {
		if runes[i] == r {
			return i
		}
	}
	return -1
}

// linkEnd returns the index after the [text](url) starting at runes[i], or
// -1 if none starts there.
func linkEnd(runes []rune, i int) int {
	j := slices.Index(runes[i:], ']')
	if j < 0 || i+j+1 >= len(runes) || runes[i+j+1] != '(' {
		return -1
	}
	k := slices.Index(runes[i+j+1:], ')')
	if k < 0 {
		return -1
	}
	return i + j + 1 + k + 1
}
