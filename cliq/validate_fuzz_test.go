package cliq_test

import (
	"strings"
	"testing"

	"github.com/taskerhq/tasker/cliq"
)

// FuzzTruncateValidates builds messages from fuzzed text with the package's
// builders, as cards and handlers do, and checks that Truncate always leaves
// something Cliq accepts. Keys, function names and URLs are fixed: Truncate
// leaves those alone by design.
func FuzzTruncateValidates(f *testing.F) {
	f.Add("Task {@60012345678} is due", "Overdue: #42", "Complete", "Mark it done", "cell", uint8(3))
	f.Add(strings.Repeat("see [the task](https://x.example/t/1) ", 200), strings.Repeat("t", 250), strings.Repeat("l", 30), strings.Repeat("h", 150), strings.Repeat("c", 600), uint8(30))
	f.Add("", "", "", "", "", uint8(0))
	f.Add("\xff\xfe{@", "é", "{#", "[", "](", uint8(7))
	f.Fuzz(func(t *testing.T, text, title, label, hint, cell string, n uint8) {
		m := cliq.Message{Text: text, Card: &cliq.Card{Title: "T" + title, Theme: cliq.ThemeModernInline}}
		for i := range int(n % 9) {
			b := cliq.FunctionButton("L"+label, "taskaction", "done:42")
			b.Hint = hint
			if i%2 == 1 {
				b = cliq.URLButton("L"+label, "https://tasks.example.com/t/42")
				b.Action.Confirm = &cliq.Confirm{Title: title, Description: hint, Input: cell, ButtonLabel: label, Emotion: "neutral"}
			}
			m.Buttons = append(m.Buttons, b)
		}
		rows := make([][]string, int(n))
		for i := range rows {
			rows[i] = []string{cell, text}
		}
		for i := range int(n % 26) {
			switch i % 5 {
			case 0:
				m.Slides = append(m.Slides, cliq.TableSlide(title, []string{"Name", "Value: " + label}, rows...))
			case 1:
				m.Slides = append(m.Slides, cliq.ListSlide(title, cell, text, hint))
			case 2:
				m.Slides = append(m.Slides, cliq.LabelSlide(title, cliq.Field{Label: label, Value: cell}, cliq.Field{Label: hint, Value: text}))
			case 3:
				m.Slides = append(m.Slides, cliq.TextSlide(title, text+cell))
			case 4:
				m.Slides = append(m.Slides, cliq.ImagesSlide(title, "https://assets.example.com/chart.png"))
			}
		}
		got := m.Truncate()
		if err := got.Validate(); err != nil {
			t.Fatalf("Truncate().Validate() = %v", err)
		}
		if err := got.WithFunctionOwner("owner@example.com").Validate(); err != nil {
			t.Fatalf("WithFunctionOwner().Validate() = %v", err)
		}
		if text != "" {
			if err := got.ValidateFor(cliq.BotMessage); err != nil {
				t.Fatalf("Truncate().ValidateFor(BotMessage) = %v", err)
			}
		}
	})
}

// FuzzValidateJSON feeds the validator arbitrary JSON: it must never panic,
// and must answer with a *ValidationError or a decoding error.
func FuzzValidateJSON(f *testing.F) {
	f.Add(`{"text":"t","buttons":[{"label":"L","type":"+","action":{"type":"copy","data":{"text":"x"}}}]}`)
	f.Add(`{"type":"form","name":"f","title":"T","action":{"type":"invoke.function","name":"fn"},"inputs":[{"type":"select","name":"n","label":"L","options":[{"label":"G","options":[{"label":"a","value":"b"}]}],"value":"b"}]}`)
	f.Add(`{"text":"t","slides":[{"type":"table","data":{"headers":["A"],"rows":[{"A":"1"}]},"styles":{"width":[100]}}]}`)
	f.Add(`{"type":"banner","status":"success","text":"x"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, d := range []cliq.Destination{cliq.HandlerResponse, cliq.ChannelPost} {
			_ = cliq.ValidateJSON(d, []byte(raw))
		}
	})
}
