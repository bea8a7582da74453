package cliq

import (
	"encoding/json"
)

// Card themes Cliq renders. Unknown themes must not be sent.
const (
	ThemeModernInline = "modern-inline"
	ThemePoll         = "poll"
	ThemePrompt       = "prompt"
)

// Card is the header of a card message.
type Card struct {
	Title     string `json:"title,omitempty"`
	Theme     string `json:"theme,omitempty"`
	Thumbnail string `json:"thumbnail,omitempty"` // public HTTPS image URL
	Icon      string `json:"icon,omitempty"`      // public HTTPS image URL (older v2 cards)
}

// Button styles: Cliq draws "+" green and "-" red.
const (
	ButtonPositive = "+"
	ButtonNegative = "-"
)

// Button is a message button. Key comes back to an invoke.function function as
// arguments.key, so it carries what the click means (for example "done:42").
type Button struct {
	Label  string `json:"label"`
	Hint   string `json:"hint,omitempty"`
	Type   string `json:"type,omitempty"` // ButtonPositive or ButtonNegative
	Key    string `json:"key,omitempty"`
	Action Action `json:"action"`
}

// FunctionButton returns a button that invokes the Cliq function named
// function with key as arguments.key.
func FunctionButton(label, function, key string) Button {
	return Button{
		Label:  label,
		Type:   ButtonPositive,
		Key:    key,
		Action: Action{Type: ActionInvokeFunction, Data: ActionData{Name: function}},
	}
}

// URLButton returns a button that opens url in the browser.
func URLButton(label, url string) Button {
	return Button{
		Label:  label,
		Type:   ButtonPositive,
		Action: Action{Type: ActionOpenURL, Data: ActionData{Web: url}},
	}
}

// Button action types.
const (
	ActionInvokeFunction = "invoke.function" // Data.Name (and optional Data.Owner)
	ActionOpenURL        = "open.url"        // Data.Web (and optional per-platform URLs)
	ActionPreviewURL     = "preview.url"     // Data.URL
	ActionSystemAPI      = "system.api"      // Data.API, e.g. "startchat/<zuid>"
	ActionCopy           = "copy"            // Data.Text
)

// Action is what a button does when clicked.
type Action struct {
	Type    string     `json:"type"`
	Data    ActionData `json:"data"`
	Confirm *Confirm   `json:"confirm,omitempty"`
}

// ActionData holds the fields of every action type; each type uses the ones
// named beside its constant and the rest stay empty.
type ActionData struct {
	Name    string `json:"name,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Web     string `json:"web,omitempty"`
	Windows string `json:"windows,omitempty"`
	IOS     string `json:"iOS,omitempty"`
	Android string `json:"android,omitempty"`
	URL     string `json:"url,omitempty"`
	API     string `json:"api,omitempty"`
	Text    string `json:"text,omitempty"`
}

// Confirm asks the user before the action runs; with Input set Cliq also
// prompts for text, which reaches the function.
type Confirm struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Input       string `json:"input,omitempty"`
	ButtonLabel string `json:"button_label,omitempty"`
	Emotion     string `json:"emotion,omitempty"` // positive, neutral or negative
}

// Slide types.
const (
	SlideTable  = "table"
	SlideList   = "list"
	SlideLabel  = "label"
	SlideText   = "text"
	SlideImages = "images"
)

// Slide is one block below a card. Data's shape depends on Type, so build
// slides with TableSlide, ListSlide, LabelSlide, TextSlide or ImagesSlide.
type Slide struct {
	Type   string       `json:"type"`
	Title  string       `json:"title,omitempty"`
	Styles *SlideStyles `json:"styles,omitempty"`
	Data   any          `json:"data"`
}

// SlideStyles tunes how a slide is drawn.
type SlideStyles struct {
	Width []int  `json:"width,omitempty"` // table column widths in percent, summing to 100
	Type  string `json:"type,omitempty"`  // list bullet style: disc, decimal, …
}

// Table is the data of a table slide. Each row maps a header to its cell.
type Table struct {
	Headers []string            `json:"headers"`
	Rows    []map[string]string `json:"rows"`
}

// TableSlide returns a table slide. Each row gives one cell per header, in
// header order; missing cells are empty and extra ones are dropped, because
// Cliq wants row keys equal to the headers.
func TableSlide(title string, headers []string, rows ...[]string) Slide {
	t := Table{Headers: headers, Rows: make([]map[string]string, len(rows))}
	for i, row := range rows {
		m := make(map[string]string, len(headers))
		for j, h := range headers {
			if j < len(row) {
				m[h] = row[j]
			} else {
				m[h] = ""
			}
		}
		t.Rows[i] = m
	}
	return Slide{Type: SlideTable, Title: title, Data: t}
}

// ListSlide returns a bulleted list slide.
func ListSlide(title string, items ...string) Slide {
	return Slide{Type: SlideList, Title: title, Data: nonNil(items)}
}

// Field is one label and its value.
type Field struct {
	Label string
	Value string
}

// LabelSlide returns a slide of label/value pairs, marshalled as Cliq's v2
// form: one single-key object per pair, which keeps their order.
func LabelSlide(title string, fields ...Field) Slide {
	data := make([]map[string]string, len(fields))
	for i, f := range fields {
		data[i] = map[string]string{f.Label: f.Value}
	}
	return Slide{Type: SlideLabel, Title: title, Data: data}
}

// TextSlide returns a slide of plain text.
func TextSlide(title, text string) Slide {
	return Slide{Type: SlideText, Title: title, Data: text}
}

// ImagesSlide returns a slide of images given by public HTTPS URLs.
func ImagesSlide(title string, urls ...string) Slide {
	return Slide{Type: SlideImages, Title: title, Data: nonNil(urls)}
}

// nonNil makes an empty list marshal as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Banner is a short status line a handler may return instead of a message.
type Banner struct {
	Success bool
	Text    string
}

// MarshalJSON gives Cliq's {"type":"banner","status":"success|failure","text":…}.
func (b Banner) MarshalJSON() ([]byte, error) {
	status := "failure"
	if b.Success {
		status = "success"
	}
	return json.Marshal(struct {
		Type   string `json:"type"`
		Status string `json:"status"`
		Text   string `json:"text"`
	}{"banner", status, b.Text})
}
