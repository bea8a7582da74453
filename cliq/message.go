package cliq

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits Cliq enforces on a message. Lengths count Unicode code points.
const (
	// MaxTextLength is the longest text the v2 message endpoints accept.
	MaxTextLength = 5000
	// MaxButtons is the number of buttons a message may carry.
	MaxButtons = 5
	// MaxSlides is the number of slides a message may carry.
	MaxSlides = 20
	// MaxCardTitleLength is the longest card title.
	MaxCardTitleLength = 200
	// MaxButtonLabelLength is the longest button label; some Cliq pages allow
	// 30, but 20 is accepted everywhere.
	MaxButtonLabelLength = 20
	// MaxButtonHintLength is the longest button hint.
	MaxButtonHintLength = 100
	// MaxButtonKeyLength is the longest button key (returned as arguments.key).
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

// Validate reports every way m breaks Cliq's limits, joined into one error,
// or nil. Posting such a message fails on Cliq's side; Truncate fixes the
// limits it can.
func (m Message) Validate() error {
	var errs []error
	if n := utf8.RuneCountInString(m.Text); n > MaxTextLength {
		errs = append(errs, fmt.Errorf("cliq: text has %d characters, limit %d", n, MaxTextLength))
	}
	if m.Card != nil {
		if n := utf8.RuneCountInString(m.Card.Title); n > MaxCardTitleLength {
			errs = append(errs, fmt.Errorf("cliq: card title has %d characters, limit %d", n, MaxCardTitleLength))
		}
	}
	if len(m.Buttons) > MaxButtons {
		errs = append(errs, fmt.Errorf("cliq: %d buttons, limit %d", len(m.Buttons), MaxButtons))
	}
	for i, b := range m.Buttons {
		if err := b.validate(); err != nil {
			errs = append(errs, fmt.Errorf("cliq: button %d: %w", i, err))
		}
	}
	if len(m.Slides) > MaxSlides {
		errs = append(errs, fmt.Errorf("cliq: %d slides, limit %d", len(m.Slides), MaxSlides))
	}
	return errors.Join(errs...)
}

// Truncate returns a copy of m within Cliq's limits: text and card title cut
// with an ellipsis, labels and hints cut, buttons beyond MaxButtons and slides
// beyond MaxSlides dropped. Button keys are left alone, because a cut key would
// invoke the wrong action; Validate still reports them.
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
			buttons[i] = b
		}
		m.Buttons = buttons
	}
	if len(m.Slides) > MaxSlides {
		m.Slides = m.Slides[:MaxSlides:MaxSlides]
	}
	return m
}

// truncate cuts s to at most limit code points, the last being an ellipsis.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	runes := []rune(s)
	return string(runes[:limit-1]) + ellipsis
}
