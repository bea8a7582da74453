package cliq

import (
	"encoding/json"
	"regexp"
	"slices"
	"unicode/utf8"
)

// Limits the validator checks beyond those Truncate fixes (message.go).
const (
	// MaxSlidesText bounds the characters of all slides together
	// (REFERENCE §5, bots.yml).
	MaxSlidesText = 10000
	// MaxURLLength bounds each open.url address (buttons.yml).
	MaxURLLength = 256
	// MaxPreviewURLLength bounds a preview.url address (buttons.yml).
	MaxPreviewURLLength = 500
	// MaxCopyTextLength bounds a copy button's text (buttons.yml).
	MaxCopyTextLength = 200
	// MaxConfirmLength bounds a confirm dialog's title, description and
	// button labels; MaxConfirmInputLength its input prompt (buttons.yml).
	MaxConfirmLength      = 100
	MaxConfirmInputLength = 300
	// MaxPollOptions and MaxPollOptionLength bound a poll card's options,
	// of which it needs at least two (messagecards.yml).
	MaxPollOptions      = 10
	MaxPollOptionLength = 100
)

// actionInvokeBot is documented for v3 cards but refused live (REFERENCE §4.4).
const actionInvokeBot = "invoke.bot"

// systemAPI is the shape of a system.api action's data.api (REFERENCE §5,
// buttons.yml): an action and the user's ZUID, or locationpermission alone.
var systemAPI = regexp.MustCompile(`^((audiocall|videocall|startchat|invite)/[0-9A-Za-z._@-]+|locationpermission)$`)

// message checks a message map (REFERENCE §5) bound for d.
func (c *checker) message(d Destination, m map[string]any) {
	rules := destinationRules[d]
	c.only("", m, "text", "bot", "card", "buttons", "slides", "styles", "references")
	c.text("", m, "text", rules.textRequired, rules.maxText)
	if v, ok := m["bot"]; ok {
		c.bot(v)
	}
	theme := ""
	if v, ok := m["card"]; ok {
		theme = c.card(v)
	}
	var buttons []any
	if v, ok := m["buttons"]; ok {
		buttons, _ = c.array("buttons", v)
		c.count("buttons", len(buttons), 0, MaxButtons) // REFERENCE §5
		for i, b := range buttons {
			c.button(at("buttons", i), b, false)
		}
	}
	if theme == ThemePrompt && len(buttons) == 0 { // messagecards.yml: a prompt has 1 to 5 buttons
		c.add("buttons", "a prompt card needs at least one")
	}
	if v, ok := m["slides"]; ok {
		c.slides(v)
	}
	if v, ok := m["styles"]; ok { // REFERENCE §5, bots.yml
		if s, ok := c.object("styles", v); ok {
			c.only("styles", s, "background", "markdown")
			c.oneOf("styles", s, "background", false, "red", "yellow", "green", "blue", "grey")
			c.boolean("styles", s, "markdown")
		}
	}
	if v, ok := m["references"]; ok {
		c.references(v)
	}
}

// bot checks the sender override (REFERENCE §5).
func (c *checker) bot(v any) {
	b, ok := c.object("bot", v)
	if !ok {
		return
	}
	c.only("bot", b, "name", "image")
	c.text("bot", b, "name", false, 0)
	if s, ok := c.text("bot", b, "image", false, 0); ok {
		c.link("bot.image", s, 0, "https")
	}
}

// card checks the card header (REFERENCE §5 Card, messagecards.yml) and
// returns its theme.
func (c *checker) card(v any) string {
	card, ok := c.object("card", v)
	if !ok {
		return ""
	}
	c.only("card", card, "title", "theme", "thumbnail", "icon", "sections", "options", "buttons")
	if _, ok := card["buttons"]; ok { // REFERENCE §4.4: refused live
		c.add("card.buttons", "Cliq refuses buttons inside the card (extra_key_found); send them top-level")
	}
	theme, _ := c.oneOf("card", card, "theme", true, ThemeModernInline, ThemePoll, ThemePrompt)
	c.text("card", card, "title", true, MaxCardTitleLength)
	for _, k := range []string{"thumbnail", "icon"} {
		if s, ok := c.text("card", card, k, false, 0); ok {
			c.link(field("card", k), s, 0, "https")
		}
	}
	if v, ok := card["sections"]; ok {
		if theme != ThemeModernInline {
			c.add("card.sections", "only a %s card has sections", ThemeModernInline)
		}
		c.sections(v)
	}
	v, hasOptions := card["options"]
	switch {
	case theme == ThemePoll && !hasOptions:
		c.add("card.options", "is required on a poll card")
	case hasOptions && theme != ThemePoll:
		c.add("card.options", "only a poll card has options")
	case hasOptions:
		options, _ := c.array("card.options", v)
		c.count("card.options", len(options), 2, MaxPollOptions)
		for i, o := range options {
			p := at("card.options", i)
			if o, ok := c.object(p, o); ok {
				c.only(p, o, "text")
				c.text(p, o, "text", true, MaxPollOptionLength)
			}
		}
	}
	return theme
}

// sections checks a modern-inline card's sections: [{title?, fields:[{title, value}]}].
func (c *checker) sections(v any) {
	sections, _ := c.array("card.sections", v)
	for i, s := range sections {
		p := at("card.sections", i)
		s, ok := c.object(p, s)
		if !ok {
			continue
		}
		c.only(p, s, "title", "fields")
		c.text(p, s, "title", false, 0)
		fp := field(p, "fields")
		v, ok := s["fields"]
		if !ok {
			c.add(fp, "is required")
			continue
		}
		fields, _ := c.array(fp, v)
		for j, f := range fields {
			q := at(fp, j)
			if f, ok := c.object(q, f); ok {
				c.only(q, f, "title", "value")
				c.text(q, f, "title", true, 0)
				c.text(q, f, "value", true, 0)
			}
		}
	}
}

// button checks a button (REFERENCE §5 Buttons, buttons.yml). An instant
// button, referenced from the text, has no hint or key but may carry
// arguments, and fewer action types.
func (c *checker) button(path string, v any, instant bool) {
	b, ok := c.object(path, v)
	if !ok {
		return
	}
	if instant {
		c.only(path, b, "label", "type", "action", "arguments")
		if v, ok := b["arguments"]; ok {
			c.object(field(path, "arguments"), v)
		}
	} else {
		c.only(path, b, "label", "hint", "type", "key", "action")
		c.text(path, b, "hint", false, MaxButtonHintLength)
		c.text(path, b, "key", false, MaxButtonKeyLength)
	}
	c.text(path, b, "label", true, MaxButtonLabelLength)
	c.oneOf(path, b, "type", !instant, ButtonPositive, ButtonNegative) // buttons.yml requires it on message buttons
	ap := field(path, "action")
	v, ok = b["action"]
	if !ok {
		c.add(ap, "is required")
		return
	}
	c.action(ap, v, instant)
}

// action checks a button's action, its data per type and its confirm dialog.
func (c *checker) action(path string, v any, instant bool) {
	a, ok := c.object(path, v)
	if !ok {
		return
	}
	c.only(path, a, "type", "data", "confirm")
	types := []string{ActionInvokeFunction, ActionOpenURL, ActionPreviewURL, ActionSystemAPI, ActionCopy}
	if instant { // REFERENCE §5: instant buttons take three types
		types = []string{ActionInvokeFunction, ActionSystemAPI, ActionCopy}
	}
	var typ string
	if a["type"] == actionInvokeBot {
		c.add(field(path, "type"), "%s is refused by Cliq (input_pattern_mismatch)", actionInvokeBot)
	} else {
		typ, ok = c.oneOf(path, a, "type", true, types...)
	}
	dp := field(path, "data")
	var data map[string]any
	if v, present := a["data"]; !present {
		c.add(dp, "is required")
	} else if data, ok = c.object(dp, v); ok && typ != "" {
		c.actionData(dp, typ, data)
	}
	if v, ok := a["confirm"]; ok {
		c.confirm(field(path, "confirm"), v)
	}
}

// actionData checks the data of an action of type typ (REFERENCE §5,
// buttons.yml).
func (c *checker) actionData(path, typ string, data map[string]any) {
	switch typ {
	case ActionInvokeFunction:
		c.only(path, data, "name", "owner")
		c.text(path, data, "name", true, 0)
		c.text(path, data, "owner", false, 0)
	case ActionOpenURL:
		c.only(path, data, "web", "windows", "iOS", "android")
		if len(data) == 0 {
			c.add(path, "an open.url action needs web, windows, iOS or android")
		}
		if s, ok := c.text(path, data, "web", false, 0); ok {
			c.link(field(path, "web"), s, MaxURLLength, "http", "https", "tel", "sms", "sip")
		}
		for _, k := range []string{"windows", "iOS", "android"} { // app links: any scheme
			c.text(path, data, k, false, MaxURLLength)
		}
	case ActionPreviewURL:
		c.only(path, data, "url")
		if s, ok := c.text(path, data, "url", true, 0); ok {
			c.link(field(path, "url"), s, MaxPreviewURLLength, "http", "https") // schemes: [inf], an iframe loads the web
		}
	case ActionSystemAPI:
		c.only(path, data, "api")
		if s, ok := c.text(path, data, "api", true, 0); ok && !systemAPI.MatchString(s) {
			c.add(field(path, "api"), "%q is not audiocall|videocall|startchat|invite/<zuid> or locationpermission", s)
		}
	case ActionCopy:
		c.only(path, data, "text")
		c.text(path, data, "text", true, MaxCopyTextLength)
	}
}

// confirm checks a confirm dialog (REFERENCE §5, buttons.yml).
func (c *checker) confirm(path string, v any) {
	cf, ok := c.object(path, v)
	if !ok {
		return
	}
	c.only(path, cf, "title", "description", "input", "button_label", "cancel_button_label", "emotion", "mandatory")
	for _, k := range []string{"title", "description", "button_label", "cancel_button_label"} {
		c.text(path, cf, k, false, MaxConfirmLength)
	}
	c.text(path, cf, "input", false, MaxConfirmInputLength)
	c.oneOf(path, cf, "emotion", false, "positive", "neutral", "negative")
}

// references checks instant buttons: {"1": {"type": "button", "object": {…}}}.
func (c *checker) references(v any) {
	refs, ok := c.object("references", v)
	if !ok {
		return
	}
	keys := make([]string, 0, len(refs))
	for k := range refs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := field("references", k)
		r, ok := c.object(p, refs[k])
		if !ok {
			continue
		}
		c.only(p, r, "type", "object")
		c.oneOf(p, r, "type", true, "button")
		if o, ok := r["object"]; ok {
			c.button(field(p, "object"), o, true)
		} else {
			c.add(field(p, "object"), "is required")
		}
	}
}

// slides checks the slides (REFERENCE §5 Slides): at most MaxSlides, at
// most MaxSlidesText characters together.
func (c *checker) slides(v any) {
	slides, _ := c.array("slides", v)
	c.count("slides", len(slides), 0, MaxSlides)
	total := 0
	for i, s := range slides {
		c.slide(at("slides", i), s)
		total += slideTextSize(s)
	}
	if total > MaxSlidesText {
		c.add("slides", "%d characters in all, limit %d", total, MaxSlidesText)
	}
}

// slideTextSize is what a slide counts towards MaxSlidesText: the code
// points of its title and of every string in its data, object keys included
// (table rows repeat the headers). Which characters Cliq counts is not
// documented; this is the strictest reading short of counting JSON syntax
// [inf].
func slideTextSize(slide any) int {
	s, ok := slide.(map[string]any)
	if !ok {
		return 0
	}
	n := 0
	if t, ok := s["title"].(string); ok {
		n += utf8.RuneCountInString(t)
	}
	return n + textSize(s["data"])
}

// textSize counts the code points of every string and key in v.
func textSize(v any) int {
	switch v := v.(type) {
	case string:
		return utf8.RuneCountInString(v)
	case []any:
		n := 0
		for _, e := range v {
			n += textSize(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range v {
			n += utf8.RuneCountInString(k) + textSize(e)
		}
		return n
	}
	return 0
}

// slide checks one slide: its type, the data shape of that type and the
// styles it may carry.
func (c *checker) slide(path string, v any) {
	s, ok := c.object(path, v)
	if !ok {
		return
	}
	c.only(path, s, "type", "title", "data", "styles")
	// percentage_chart and graph exist too (REFERENCE §5) but Tasker builds
	// neither, so their shapes are not checked and they are refused; "image"
	// (messageformat.yml) loses to "images" (bots.yml, Zoho's template).
	typ, ok := c.oneOf(path, s, "type", true, SlideTable, SlideList, SlideLabel, SlideText, SlideImages)
	c.text(path, s, "title", false, 0)
	dp := field(path, "data")
	data, present := s["data"]
	if !present {
		c.add(dp, "is required")
	}
	var styles map[string]any
	sp := field(path, "styles")
	if v, ok := s["styles"]; ok {
		styles, _ = c.object(sp, v)
	}
	if !ok || !present {
		return
	}
	switch typ {
	case SlideTable:
		headers := c.table(dp, data)
		c.only(sp, styles, "width", "sticky")
		c.tableStyles(sp, styles, len(headers))
	case SlideList:
		c.strings(dp, data, nil)
		c.only(sp, styles, "type")
		c.oneOf(sp, styles, "type", false, "disc", "circle", "square", "decimal",
			"lower-alpha", "upper-alpha", "lower-roman", "upper-roman")
	case SlideLabel:
		pairs, _ := c.array(dp, data)
		for i, p := range pairs {
			q := at(dp, i)
			if p, ok := c.object(q, p); ok {
				if len(p) != 1 { // v2 docs, messageformat.yml: one pair per object
					c.add(q, "%d pairs, want one label and its value", len(p))
				}
				for k, v := range p {
					if _, ok := v.(string); !ok {
						c.add(field(q, k), "want a string, got %s", kind(v))
					}
				}
			}
		}
		c.only(sp, styles)
	case SlideText:
		if _, ok := data.(string); !ok {
			c.add(dp, "want a string, got %s", kind(data))
		}
		c.only(sp, styles)
	case SlideImages:
		c.strings(dp, data, func(p, u string) { c.link(p, u, 0, "https") })
		c.only(sp, styles)
	}
}

// strings checks that v is an array of strings and returns them; each, if
// not nil, is called with every string and its path.
func (c *checker) strings(path string, v any, each func(path, s string)) []string {
	a, _ := c.array(path, v)
	out := make([]string, 0, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			c.add(at(path, i), "want a string, got %s", kind(e))
			continue
		}
		if each != nil {
			each(at(path, i), s)
		}
		out = append(out, s)
	}
	return out
}

// table checks a table slide's data: distinct headers, and rows whose keys
// are exactly the headers (messageformat.yml) with text cells. It returns
// the headers.
func (c *checker) table(path string, v any) []string {
	t, ok := c.object(path, v)
	if !ok {
		return nil
	}
	c.only(path, t, "headers", "rows")
	hp, rp := field(path, "headers"), field(path, "rows")
	var headers []string
	if h, ok := t["headers"]; !ok {
		c.add(hp, "is required")
	} else {
		c.strings(hp, h, func(p, name string) {
			if slices.Contains(headers, name) { // rows could not tell the columns apart
				c.add(p, "%q appears twice", name)
			}
			headers = append(headers, name)
		})
		if len(headers) == 0 {
			c.add(hp, "is empty")
		}
	}
	r, ok := t["rows"]
	if !ok {
		c.add(rp, "is required")
		return headers
	}
	rows, _ := c.array(rp, r)
	for i, row := range rows {
		p := at(rp, i)
		row, ok := c.object(p, row)
		if !ok {
			continue
		}
		for _, name := range headers {
			if _, ok := row[name]; !ok {
				c.add(p, "no cell for header %q", name)
			}
		}
		keys := make([]string, 0, len(row))
		for k := range row {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			switch cell := row[k]; {
			case !slices.Contains(headers, k):
				c.add(field(p, k), "is not a header")
			default:
				if _, ok := cell.(string); !ok {
					c.add(field(p, k), "want a string, got %s", kind(cell))
				}
			}
		}
	}
	return headers
}

// tableStyles checks styles.width (one percentage per column, 1 to 100,
// summing to 100) and styles.sticky (at most 2 rows and 2 columns), as
// messageformat.yml gives them.
func (c *checker) tableStyles(path string, styles map[string]any, columns int) {
	if v, ok := styles["width"]; ok {
		wp := field(path, "width")
		widths, _ := c.array(wp, v)
		if len(widths) != columns {
			c.add(wp, "%d widths for %d columns", len(widths), columns)
		}
		sum := int64(0)
		for i, w := range widths {
			n, _ := c.intValue(at(wp, i), w, 1, 100)
			sum += n
		}
		if sum != 100 {
			c.add(wp, "widths sum to %d, want 100", sum)
		}
	}
	if v, ok := styles["sticky"]; ok {
		p := field(path, "sticky")
		if s, ok := c.object(p, v); ok {
			c.only(p, s, "rows", "columns")
			c.integer(p, s, "rows", 0, 2)
			c.integer(p, s, "columns", 0, 2)
		}
	}
}

// banner checks a banner answer (REFERENCE §7.3).
func (c *checker) banner(b map[string]any) {
	c.only("", b, "type", "status", "text")
	c.oneOf("", b, "status", true, "success", "failure")
	c.text("", b, "text", true, 0)
}

// jsonValue marshals v and decodes it as the validator sees JSON.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}
