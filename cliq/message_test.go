package cliq_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/taskerhq/tasker/cliq"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// overdueMessage is the reminder of fixture card_message.json, built with the
// package's types.
func overdueMessage() cliq.Message {
	snooze := cliq.FunctionButton("Snooze 1h", "taskaction", "snooze:1042:60")
	snooze.Type = cliq.ButtonNegative
	snooze.Hint = "Remind me again in one hour"
	snooze.Action.Confirm = &cliq.Confirm{
		Title: "Snooze reminder?", Description: "You will be reminded again in 1 hour.",
		ButtonLabel: "Snooze", Emotion: "neutral",
	}
	done := cliq.FunctionButton("Done", "taskaction", "done:1042")
	done.Hint = "Mark the task as done"
	table := cliq.TableSlide("Task details", []string{"Field", "Value"},
		[]string{"Task", "#1042 Update release notes"},
		[]string{"Assignee", "Priya Raman"},
		[]string{"Due", "2025-03-14 17:00 CET"},
		[]string{"Priority", "High"},
	)
	table.Styles = &cliq.SlideStyles{Width: []int{30, 70}}
	return cliq.Message{
		Text: "{@60012345678} task *#1042* is overdue by 2 hours.",
		Bot:  &cliq.Bot{Name: "TaskBot", Image: "https://assets.example.com/taskbot/avatar.png"},
		Card: &cliq.Card{
			Title: "Overdue: Update release notes", Theme: cliq.ThemeModernInline,
			Thumbnail: "https://assets.example.com/taskbot/overdue.png",
		},
		Buttons: []cliq.Button{done, snooze, cliq.URLButton("Open task", "https://tasks.example.com/t/1042")},
		Slides:  []cliq.Slide{table},
	}
}

// createTaskForm is the form whose submission is fixture form_submission.json.
func createTaskForm() cliq.Form {
	priorities := []cliq.Option{{Label: "Low", Value: "low"}, {Label: "Medium", Value: "medium"}, {Label: "High", Value: "high"}, {Label: "Urgent", Value: "urgent"}}
	return cliq.Form{
		Name: "create_task", Title: "New task", Hint: "Create a task", ButtonLabel: "Create",
		Action: cliq.SubmitTo("createtaskform"),
		Inputs: []cliq.FormInput{
			{Type: cliq.InputText, Name: "title", Label: "Title", Placeholder: "What needs doing?", Mandatory: true, MaxLength: 100},
			{Type: cliq.InputTextarea, Name: "description", Label: "Description", Placeholder: "Details", MaxLength: 5000},
			{Type: cliq.InputNativeSelect, Name: "assignee", Label: "Assignee", Placeholder: "Pick a person", DataSource: "contacts", Filter: "colleagues"},
			{Type: cliq.InputSelect, Name: "priority", Label: "Priority", Placeholder: "Priority", Options: priorities, Value: priorities[1].Value},
			{Type: cliq.InputDatetime, Name: "due", Label: "Due", Placeholder: "When"},
			{Type: cliq.InputSelect, Name: "remind_before", Label: "Remind me", Placeholder: "Before due",
				Options: []cliq.Option{{Label: "15 minutes before", Value: "15"}, {Label: "1 hour before", Value: "60"}}},
			{Type: cliq.InputSelect, Name: "labels", Label: "Labels", Placeholder: "Tags", Multiple: true, MaxSelections: 2,
				Options: []cliq.Option{{Label: "docs", Value: "docs"}, {Label: "release", Value: "release"}}},
			{Type: cliq.InputToggle, Name: "notify_channel", Label: "Post in this chat", Value: true},
		},
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"text", cliq.Text("Task #42 created.")},
		{"overdue_card", overdueMessage()},
		{"create_task_form", createTaskForm()},
		{"banner", cliq.Banner{Success: true, Text: "Task #42 completed"}},
		{"slides", cliq.Message{Text: "Digest", Slides: []cliq.Slide{
			cliq.ListSlide("Overdue", "#1 Water plants", "#2 Pay rent"),
			cliq.LabelSlide("Task", cliq.Field{Label: "Status", Value: "open"}, cliq.Field{Label: "Due", Value: "today"}),
			cliq.TextSlide("Note", "Two tasks need you."),
			cliq.ImagesSlide("Chart", "https://assets.example.com/chart.png"),
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.MarshalIndent(tt.v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// decodeAny decodes JSON into plain maps, for comparing shapes.
func decodeAny(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOverdueCardMatchesFixture(t *testing.T) {
	fixture, err := os.ReadFile("testdata/card_message.json")
	if err != nil {
		t.Fatal(err)
	}
	want := decodeAny(t, fixture)
	// The endpoint's own keys are added by PostToBotUsers (see TestPostEndpoints).
	delete(want, "userids")
	delete(want, "sync_message")
	b, err := json.Marshal(overdueMessage())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, decodeAny(t, b)); diff != "" {
		t.Errorf("overdue card differs from card_message.json (-fixture +ours):\n%s", diff)
	}
	if err := overdueMessage().Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestFormAnswerShape(t *testing.T) {
	b, err := json.Marshal(createTaskForm())
	if err != nil {
		t.Fatal(err)
	}
	got := decodeAny(t, b)
	action, _ := got["action"].(map[string]any)
	if got["type"] != "form" || got["name"] != "create_task" || action["type"] != "invoke.function" || action["name"] != "createtaskform" {
		t.Errorf("form JSON = %s, want type form submitting to createtaskform", b)
	}
	if err := createTaskForm().Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	// Every field the submission fixture carries is an input of the form.
	sub := mustDecodeFixture(t, "form_submission.json")
	names := map[string]bool{}
	for _, in := range createTaskForm().Inputs {
		names[in.Name] = true
	}
	for name := range sub.Form.Values {
		if !names[name] {
			t.Errorf("submitted field %q is not an input of the form", name)
		}
	}
}

func TestFormValidate(t *testing.T) {
	bad := cliq.Form{Name: strings.Repeat("n", 51), Inputs: []cliq.FormInput{
		{Type: cliq.InputSelect, Name: "p", Label: "P"},
		{Type: cliq.InputText, Name: "p", Label: "P"},
		{Type: cliq.InputNativeSelect, Name: "u", Label: "U"},
	}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate() = nil for a broken form")
	}
	for _, want := range []string{"name: 51 characters", "title: is empty", "action.name: is empty",
		"inputs[0].options: is required", `inputs[1].name: "p" is also the name of inputs[0]`, "inputs[2].data_source: is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

func TestValidateAndTruncate(t *testing.T) {
	m := cliq.Message{
		Text: strings.Repeat("é", cliq.MaxTextLength+1),
		Card: &cliq.Card{Title: strings.Repeat("t", 201), Theme: cliq.ThemeModernInline},
	}
	for range cliq.MaxButtons + 1 {
		m.Buttons = append(m.Buttons, cliq.FunctionButton("A label far longer than twenty", "f", "k"))
	}
	for range cliq.MaxSlides + 1 {
		m.Slides = append(m.Slides, cliq.TextSlide("", "x"))
	}
	err := m.Validate()
	if err == nil {
		t.Fatal("Validate() = nil for a message over every limit")
	}
	for _, want := range []string{"text: 5001 characters, limit 5000", "card.title: 201 characters", "buttons: 6 items, limit 5",
		"buttons[5].label: 30 characters, limit 20", "slides: 21 items, limit 20"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}

	cut := m.Truncate()
	if err := cut.Validate(); err != nil {
		t.Errorf("Truncate().Validate() = %v, want nil", err)
	}
	if n := utf8.RuneCountInString(cut.Text); n != cliq.MaxTextLength || !strings.HasSuffix(cut.Text, "…") {
		t.Errorf("cut text has %d characters, want %d ending in an ellipsis", n, cliq.MaxTextLength)
	}
	if utf8.RuneCountInString(m.Text) != cliq.MaxTextLength+1 || len(m.Buttons) != cliq.MaxButtons+1 || m.Buttons[0].Label != "A label far longer than twenty" {
		t.Error("Truncate changed the original message")
	}
	short := cliq.Text("fine")
	if got := short.Truncate(); got.Text != "fine" {
		t.Errorf("Truncate() of a short text = %q", got.Text)
	}
}

func TestEmptyMessageMarshalsToEmptyObject(t *testing.T) {
	b, err := json.Marshal(cliq.Message{})
	if err != nil || !bytes.Equal(b, []byte("{}")) {
		t.Errorf("Marshal(Message{}) = %s, %v; want {}", b, err)
	}
}

func TestTruncateKeepsMentionsAndLinksWhole(t *testing.T) {
	pad := strings.Repeat("a", cliq.MaxTextLength-10)
	tests := []struct {
		name, text, want string
	}{
		{"Mention", pad + " hi {@60012345678} there", pad + " hi …"},
		{"Channel", pad + " in {#O123456789} now", pad + " in …"},
		{"Link", pad + " see [the task](https://x.example/t/1) now", pad + " see …"},
		{"SilentMention", pad + "[Priya Raman](zohoid:600123) ok", pad + "…"},
		{"ClosedMention", pad + "{@1} b c d e f g h", pad + "{@1} b c …"},
		{"PlainBrackets", pad + " [a] and {b} and more words", pad + " [a] and …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cliq.Text(tt.text).Truncate().Text
			if got != tt.want {
				t.Errorf("Truncate() ends %q, want %q", got[len(pad)-5:], tt.want[len(pad)-5:])
			}
			if n := utf8.RuneCountInString(got); n > cliq.MaxTextLength {
				t.Errorf("Truncate() has %d characters, limit %d", n, cliq.MaxTextLength)
			}
		})
	}
}

func TestTruncateFitsSlides(t *testing.T) {
	long := strings.Repeat("x", 4000)
	m := cliq.Message{Text: "t", Slides: []cliq.Slide{
		cliq.TextSlide("A", long),
		cliq.ListSlide("B", long, long, "short"),
		cliq.TextSlide("C", "dropped after the slide that was cut"),
	}}
	got := m.Truncate()
	if err := got.Validate(); err != nil {
		t.Fatalf("Truncate().Validate() = %v", err)
	}
	want := []cliq.Slide{cliq.TextSlide("A", long), cliq.ListSlide("B", long)}
	if diff := cmp.Diff(want, got.Slides); diff != "" {
		t.Errorf("Truncate() slides (-want +got):\n%s", diff)
	}

	rows := make([][]string, 3000)
	for i := range rows {
		rows[i] = []string{"n", "v"}
	}
	got = cliq.Message{Text: "t", Slides: []cliq.Slide{cliq.TableSlide("T", []string{"N", "V"}, rows...)}}.Truncate()
	if err := got.Validate(); err != nil {
		t.Fatalf("Truncate().Validate() of a long table = %v", err)
	}
	if n := len(got.Slides[0].Data.(cliq.Table).Rows); n == 0 || n == len(rows) {
		t.Errorf("Truncate() kept %d of %d rows, want some", n, len(rows))
	}

	got = cliq.Message{Text: "t", Slides: []cliq.Slide{cliq.TextSlide("T", strings.Repeat("y", 12000))}}.Truncate()
	if n := utf8.RuneCountInString(got.Slides[0].Data.(string)); n != cliq.MaxSlidesText-1 {
		t.Errorf("Truncate() cut a text slide to %d characters, want %d", n, cliq.MaxSlidesText-1)
	}
}

func TestTruncateCutsConfirmButNotKeys(t *testing.T) {
	b := cliq.FunctionButton("Done", "taskaction", strings.Repeat("k", 101))
	b.Action.Confirm = &cliq.Confirm{Title: strings.Repeat("t", 101), Input: strings.Repeat("i", 301)}
	m := cliq.Message{Text: "t", Buttons: []cliq.Button{b}}
	got := m.Truncate()
	var verr *cliq.ValidationError
	if err := got.Validate(); !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Path != "buttons[0].key" {
		t.Errorf("Truncate().Validate() = %v, want only the key reported", err)
	}
	if got.Buttons[0].Key != b.Key || m.Buttons[0].Action.Confirm.Title != b.Action.Confirm.Title {
		t.Error("Truncate() cut the key or changed the original confirm")
	}
}

func TestWithFunctionOwner(t *testing.T) {
	mine := cliq.FunctionButton("Done", "taskaction", "done:1")
	theirs := cliq.FunctionButton("Other", "otherfn", "x")
	theirs.Action.Data.Owner = "them@example.com"
	m := cliq.Message{Text: "t", Buttons: []cliq.Button{mine, theirs, cliq.URLButton("Open", "https://x.example")}}

	got := m.WithFunctionOwner("me@example.com")
	owners := []string{got.Buttons[0].Action.Data.Owner, got.Buttons[1].Action.Data.Owner, got.Buttons[2].Action.Data.Owner}
	if diff := cmp.Diff([]string{"me@example.com", "them@example.com", ""}, owners); diff != "" {
		t.Errorf("WithFunctionOwner() owners (-want +got):\n%s", diff)
	}
	if m.Buttons[0].Action.Data.Owner != "" {
		t.Error("WithFunctionOwner() changed the original message")
	}
	if err := got.Validate(); err != nil {
		t.Errorf("WithFunctionOwner().Validate() = %v", err)
	}
	if got := m.WithFunctionOwner(""); got.Buttons[0].Action.Data.Owner != "" {
		t.Error("WithFunctionOwner(\"\") set an owner")
	}
}
