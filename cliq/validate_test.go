package cliq_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/taskerhq/tasker/cliq"
)

// okButton is a valid button; cases replace one of its fields.
const okButton = `{"label":"Done","type":"+","key":"done:1","action":{"type":"invoke.function","data":{"name":"taskaction"}}}`

// withButton is a message with one button whose action is action.
func withButton(action string) string {
	return `{"text":"t","buttons":[{"label":"Go","type":"+","action":` + action + `}]}`
}

// withSlide is a message with one slide.
func withSlide(slide string) string {
	return `{"text":"t","slides":[` + slide + `]}`
}

// formWith is a valid form with one more input.
func formWith(input string) string {
	return `{"type":"form","name":"f","title":"T","action":{"type":"invoke.function","name":"fn"},"inputs":[` + input + `]}`
}

// repeat joins n copies of s with sep.
func repeat(s string, n int, sep string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = s
	}
	return strings.Join(parts, sep)
}

// manyButtons is n valid buttons as a JSON array.
func manyButtons(n int) string { return "[" + repeat(okButton, n, ",") + "]" }

// options is n select options as a JSON array, values v0…
func options(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"label":"L%d","value":"v%d"}`, i, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

type validateCase struct {
	name string
	dest cliq.Destination
	json string
	want string // a problem the error must contain, "path: message"; "" means valid
}

// TestValidateRules has one case per rule: each breaks the rule just past
// its limit (so it fails when the rule goes) and, where a limit is exact,
// a twin at the limit passes.
func TestValidateRules(t *testing.T) {
	s := strings.Repeat
	tests := []validateCase{
		// Messages (REFERENCE §5).
		{"EmptyHandlerAnswer", cliq.HandlerResponse, `{}`, ""},
		{"TextRequiredInPost", cliq.ChannelPost, `{"card":{"theme":"modern-inline","title":"x"}}`, "text: is required"},
		{"TextRequiredInBotMessage", cliq.BotMessage, `{"text":""}`, "text: is empty"},
		{"TextAtLimit", cliq.ChatPost, `{"text":"` + s("é", 5000) + `"}`, ""},
		{"TextTooLong", cliq.ChannelPost, `{"text":"` + s("é", 5001) + `"}`, "text: 5001 characters, limit 5000"},
		{"TextTooLongInHandler", cliq.HandlerResponse, `{"text":"` + s("x", 5001) + `"}`, "text: 5001 characters, limit 5000"},
		{"TextNotString", cliq.HandlerResponse, `{"text":5}`, "text: want a string, got a number"},
		{"UnknownKey", cliq.HandlerResponse, `{"text":"t","chatid":"x"}`, "chatid: unknown field"},
		{"FormNotPosted", cliq.ChannelPost, formWith(`{"type":"toggle","name":"n","label":"L"}`), "type: a channel post takes a message"},
		{"UnknownType", cliq.HandlerResponse, `{"type":"widget"}`, "type: widget is neither banner nor form"},
		{"BotImageHTTPS", cliq.HandlerResponse, `{"text":"t","bot":{"name":"B","image":"http://x.example/a.png"}}`, `bot.image: "http://x.example/a.png" is not an absolute https url`},
		{"StylesBackground", cliq.HandlerResponse, `{"text":"t","styles":{"background":"pink"}}`, `styles.background: "pink" is not one of`},
		{"StylesMarkdownBool", cliq.HandlerResponse, `{"text":"t","styles":{"markdown":"yes"}}`, "styles.markdown: want a boolean"},

		// Cards (REFERENCE §5 Card, §4.4, messagecards.yml).
		{"CardThemeRequired", cliq.HandlerResponse, `{"text":"t","card":{"title":"x"}}`, "card.theme: is required"},
		{"CardThemeKnown", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern","title":"x"}}`, `card.theme: "modern" is not one of`},
		{"CardTitleRequired", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline"}}`, "card.title: is required"},
		{"CardTitleAtLimit", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"` + s("t", 200) + `"}}`, ""},
		{"CardTitleTooLong", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"` + s("t", 201) + `"}}`, "card.title: 201 characters, limit 200"},
		{"CardThumbnailHTTPS", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"x","thumbnail":"ftp://x.example/a.png"}}`, "card.thumbnail: "},
		{"CardIconHTTPS", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"x","icon":"/a.png"}}`, "card.icon: "},
		{"CardButtonsRefused", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"x","buttons":[]}}`, "card.buttons: Cliq refuses buttons inside the card"},
		{"SectionsOK", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"x","sections":[{"title":"S","fields":[{"title":"A","value":"1"}]}]}}`, ""},
		{"SectionsOnlyModernInline", cliq.HandlerResponse, `{"text":"t","card":{"theme":"prompt","title":"x","sections":[]},"buttons":` + manyButtons(1) + `}`, "card.sections: only a modern-inline card has sections"},
		{"SectionFieldsRequired", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"x","sections":[{"title":"S"}]}}`, "card.sections[0].fields: is required"},
		{"SectionFieldValue", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"x","sections":[{"fields":[{"title":"A"}]}]}}`, "card.sections[0].fields[0].value: is required"},
		{"PollOK", cliq.HandlerResponse, `{"text":"t","card":{"theme":"poll","title":"Q","options":[{"text":"a"},{"text":"b"}]}}`, ""},
		{"PollNeedsOptions", cliq.HandlerResponse, `{"text":"t","card":{"theme":"poll","title":"Q"}}`, "card.options: is required on a poll card"},
		{"PollTwoOptions", cliq.HandlerResponse, `{"text":"t","card":{"theme":"poll","title":"Q","options":[{"text":"a"}]}}`, "card.options: 1 items, want at least 2"},
		{"PollTenOptions", cliq.HandlerResponse, `{"text":"t","card":{"theme":"poll","title":"Q","options":[` + repeat(`{"text":"a"}`, 11, ",") + `]}}`, "card.options: 11 items, limit 10"},
		{"PollOptionText", cliq.HandlerResponse, `{"text":"t","card":{"theme":"poll","title":"Q","options":[{"text":"a"},{"text":"` + s("o", 101) + `"}]}}`, "card.options[1].text: 101 characters, limit 100"},
		{"OptionsOnlyPoll", cliq.HandlerResponse, `{"text":"t","card":{"theme":"modern-inline","title":"Q","options":[{"text":"a"},{"text":"b"}]}}`, "card.options: only a poll card has options"},
		{"PromptNeedsButton", cliq.HandlerResponse, `{"text":"t","card":{"theme":"prompt","title":"Q"}}`, "buttons: a prompt card needs at least one"},
		{"PromptWithButton", cliq.HandlerResponse, `{"text":"t","card":{"theme":"prompt","title":"Q"},"buttons":` + manyButtons(1) + `}`, ""},

		// Buttons (REFERENCE §5 Buttons, buttons.yml).
		{"FiveButtons", cliq.BotMessage, `{"text":"t","buttons":` + manyButtons(5) + `}`, ""},
		{"SixButtons", cliq.BotMessage, `{"text":"t","buttons":` + manyButtons(6) + `}`, "buttons: 6 items, limit 5"},
		{"LabelRequired", cliq.HandlerResponse, `{"text":"t","buttons":[{"type":"+","action":{"type":"copy","data":{"text":"x"}}}]}`, "buttons[0].label: is required"},
		{"LabelAtLimit", cliq.HandlerResponse, `{"text":"t","buttons":[{"label":"` + s("l", 20) + `","type":"+","action":{"type":"copy","data":{"text":"x"}}}]}`, ""},
		{"LabelTooLong", cliq.HandlerResponse, `{"text":"t","buttons":[` + okButton + `,` + okButton + `,{"label":"` + s("l", 23) + `","type":"+","action":{"type":"copy","data":{"text":"x"}}}]}`, "buttons[2].label: 23 characters, limit 20"},
		{"HintTooLong", cliq.HandlerResponse, `{"text":"t","buttons":[{"label":"L","hint":"` + s("h", 101) + `","type":"+","action":{"type":"copy","data":{"text":"x"}}}]}`, "buttons[0].hint: 101 characters, limit 100"},
		{"KeyTooLong", cliq.HandlerResponse, `{"text":"t","buttons":[{"label":"L","key":"` + s("k", 101) + `","type":"+","action":{"type":"copy","data":{"text":"x"}}}]}`, "buttons[0].key: 101 characters, limit 100"},
		{"ButtonTypeRequired", cliq.HandlerResponse, `{"text":"t","buttons":[{"label":"L","action":{"type":"copy","data":{"text":"x"}}}]}`, "buttons[0].type: is required"},
		{"ButtonTypeSign", cliq.HandlerResponse, `{"text":"t","buttons":[{"label":"L","type":"positive","action":{"type":"copy","data":{"text":"x"}}}]}`, `buttons[0].type: "positive" is not one of +, -`},
		{"ButtonUnknownKey", cliq.HandlerResponse, `{"text":"t","buttons":[{"label":"L","type":"-","url":"x","action":{"type":"copy","data":{"text":"x"}}}]}`, "buttons[0].url: unknown field"},
		{"ActionRequired", cliq.HandlerResponse, `{"text":"t","buttons":[{"label":"L","type":"+"}]}`, "buttons[0].action: is required"},
		{"ActionTypeKnown", cliq.HandlerResponse, withButton(`{"type":"invoke","data":{}}`), `buttons[0].action.type: "invoke" is not one of`},
		{"InvokeBotRefused", cliq.HandlerResponse, withButton(`{"type":"invoke.bot","data":{"bot_name":"b","message":"m"}}`), "buttons[0].action.type: invoke.bot is refused by Cliq"},
		{"ActionDataRequired", cliq.HandlerResponse, withButton(`{"type":"copy"}`), "buttons[0].action.data: is required"},
		{"FunctionName", cliq.HandlerResponse, withButton(`{"type":"invoke.function","data":{"owner":"a@example.com"}}`), "buttons[0].action.data.name: is required"},
		{"FunctionWithOwner", cliq.HandlerResponse, withButton(`{"type":"invoke.function","data":{"name":"f","owner":"a@example.com"}}`), ""},
		{"FunctionForeignData", cliq.HandlerResponse, withButton(`{"type":"invoke.function","data":{"name":"f","web":"https://x.example"}}`), "buttons[0].action.data.web: unknown field"},
		{"OpenURLNeedsTarget", cliq.HandlerResponse, withButton(`{"type":"open.url","data":{}}`), "buttons[0].action.data: an open.url action needs web"},
		{"OpenURLScheme", cliq.HandlerResponse, withButton(`{"type":"open.url","data":{"web":"javascript:alert(1)"}}`), `buttons[0].action.data.web: "javascript:alert(1)" is not an absolute http/https/tel/sms/sip url`},
		{"OpenURLHost", cliq.HandlerResponse, withButton(`{"type":"open.url","data":{"web":"https:/path"}}`), "buttons[0].action.data.web: "},
		{"OpenURLTel", cliq.HandlerResponse, withButton(`{"type":"open.url","data":{"web":"tel:+4912345"}}`), ""},
		{"OpenURLAtLimit", cliq.HandlerResponse, withButton(`{"type":"open.url","data":{"web":"https://x.example/` + s("p", 256-18) + `"}}`), ""},
		{"OpenURLTooLong", cliq.HandlerResponse, withButton(`{"type":"open.url","data":{"web":"https://x.example/` + s("p", 256-17) + `"}}`), "buttons[0].action.data.web: 257 characters, limit 256"},
		{"OpenURLAppTooLong", cliq.HandlerResponse, withButton(`{"type":"open.url","data":{"iOS":"app://` + s("p", 251) + `"}}`), "buttons[0].action.data.iOS: 257 characters, limit 256"},
		{"PreviewURLRequired", cliq.HandlerResponse, withButton(`{"type":"preview.url","data":{}}`), "buttons[0].action.data.url: is required"},
		{"PreviewURLTooLong", cliq.HandlerResponse, withButton(`{"type":"preview.url","data":{"url":"https://x.example/` + s("p", 500-17) + `"}}`), "buttons[0].action.data.url: 501 characters, limit 500"},
		{"SystemAPI", cliq.HandlerResponse, withButton(`{"type":"system.api","data":{"api":"startchat/60012345678"}}`), ""},
		{"SystemAPILocation", cliq.HandlerResponse, withButton(`{"type":"system.api","data":{"api":"locationpermission"}}`), ""},
		{"SystemAPIUnknown", cliq.HandlerResponse, withButton(`{"type":"system.api","data":{"api":"delete/600"}}`), `buttons[0].action.data.api: "delete/600" is not`},
		{"SystemAPINoUser", cliq.HandlerResponse, withButton(`{"type":"system.api","data":{"api":"audiocall/"}}`), `buttons[0].action.data.api: "audiocall/" is not`},
		{"CopyText", cliq.HandlerResponse, withButton(`{"type":"copy","data":{}}`), "buttons[0].action.data.text: is required"},
		{"CopyTooLong", cliq.HandlerResponse, withButton(`{"type":"copy","data":{"text":"` + s("c", 201) + `"}}`), "buttons[0].action.data.text: 201 characters, limit 200"},
		{"ConfirmOK", cliq.HandlerResponse, withButton(`{"type":"copy","data":{"text":"x"},"confirm":{"title":"` + s("t", 100) + `","input":"` + s("i", 300) + `","emotion":"negative"}}`), ""},
		{"ConfirmTitle", cliq.HandlerResponse, withButton(`{"type":"copy","data":{"text":"x"},"confirm":{"title":"` + s("t", 101) + `"}}`), "buttons[0].action.confirm.title: 101 characters, limit 100"},
		{"ConfirmDescription", cliq.HandlerResponse, withButton(`{"type":"copy","data":{"text":"x"},"confirm":{"description":"` + s("d", 101) + `"}}`), "buttons[0].action.confirm.description: 101 characters, limit 100"},
		{"ConfirmButtonLabel", cliq.HandlerResponse, withButton(`{"type":"copy","data":{"text":"x"},"confirm":{"button_label":"` + s("b", 101) + `"}}`), "buttons[0].action.confirm.button_label: 101 characters, limit 100"},
		{"ConfirmInput", cliq.HandlerResponse, withButton(`{"type":"copy","data":{"text":"x"},"confirm":{"input":"` + s("i", 301) + `"}}`), "buttons[0].action.confirm.input: 301 characters, limit 300"},
		{"ConfirmEmotion", cliq.HandlerResponse, withButton(`{"type":"copy","data":{"text":"x"},"confirm":{"emotion":"happy"}}`), `buttons[0].action.confirm.emotion: "happy" is not one of positive, neutral, negative`},
		{"InstantButton", cliq.HandlerResponse, `{"text":"Go [Yes]($1)","references":{"1":{"type":"button","object":{"label":"Yes","action":{"type":"invoke.function","data":{"name":"f"}},"arguments":{"a":"b"}}}}}`, ""},
		{"InstantButtonType", cliq.HandlerResponse, `{"text":"Go [Yes]($1)","references":{"1":{"type":"button","object":{"label":"Yes","action":{"type":"open.url","data":{"web":"https://x.example"}}}}}}`, `references.1.object.action.type: "open.url" is not one of invoke.function, system.api, copy`},
		{"ReferenceType", cliq.HandlerResponse, `{"text":"Go [Yes]($1)","references":{"1":{"type":"link","object":{"label":"Yes","action":{"type":"copy","data":{"text":"x"}}}}}}`, `references.1.type: "link" is not one of button`},

		// Slides (REFERENCE §5 Slides, messageformat.yml, bots.yml).
		{"TwentySlides", cliq.HandlerResponse, `{"text":"t","slides":[` + repeat(`{"type":"text","data":"x"}`, 20, ",") + `]}`, ""},
		{"TwentyOneSlides", cliq.HandlerResponse, `{"text":"t","slides":[` + repeat(`{"type":"text","data":"x"}`, 21, ",") + `]}`, "slides: 21 items, limit 20"},
		{"SlidesTotalAtLimit", cliq.HandlerResponse, `{"text":"t","slides":[{"type":"text","title":"ab","data":"` + s("x", 4998) + `"},{"type":"text","data":"` + s("y", 5000) + `"}]}`, ""},
		{"SlidesTotalTooLong", cliq.HandlerResponse, `{"text":"t","slides":[{"type":"text","title":"abc","data":"` + s("x", 4998) + `"},{"type":"text","data":"` + s("y", 5000) + `"}]}`, "slides: 10001 characters in all, limit 10000"},
		{"SlideTypeKnown", cliq.HandlerResponse, withSlide(`{"type":"image","data":["https://x.example/a.png"]}`), `slides[0].type: "image" is not one of`},
		{"SlideDataRequired", cliq.HandlerResponse, withSlide(`{"type":"text"}`), "slides[0].data: is required"},
		{"TableOK", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A","B"],"rows":[{"A":"1","B":"2"}]},"styles":{"width":[30,70],"sticky":{"rows":1,"columns":2}}}`), ""},
		{"TableMissingCell", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A","B"],"rows":[{"A":"1"}]}}`), `slides[0].data.rows[0]: no cell for header "B"`},
		{"TableExtraCell", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A"],"rows":[{"A":"1","C":"3"}]}}`), "slides[0].data.rows[0].C: is not a header"},
		{"TableCellText", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A"],"rows":[{"A":1}]}}`), "slides[0].data.rows[0].A: want a string, got a number"},
		{"TableHeadersRequired", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"rows":[]}}`), "slides[0].data.headers: is required"},
		{"TableHeadersEmpty", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":[],"rows":[]}}`), "slides[0].data.headers: is empty"},
		{"TableHeaderTwice", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A","A"],"rows":[]}}`), `slides[0].data.headers[1]: "A" appears twice`},
		{"TableRowsRequired", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A"]}}`), "slides[0].data.rows: is required"},
		{"TableWidthCount", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A","B"],"rows":[]},"styles":{"width":[100]}}`), "slides[0].styles.width: 1 widths for 2 columns"},
		{"TableWidthSum", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A","B"],"rows":[]},"styles":{"width":[30,60]}}`), "slides[0].styles.width: widths sum to 90, want 100"},
		{"TableWidthRange", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A","B"],"rows":[]},"styles":{"width":[0,100]}}`), "slides[0].styles.width[0]: 0 is out of range 1 to 100"},
		{"TableSticky", cliq.HandlerResponse, withSlide(`{"type":"table","data":{"headers":["A"],"rows":[]},"styles":{"sticky":{"rows":3}}}`), "slides[0].styles.sticky.rows: 3 is out of range 0 to 2"},
		{"ListOK", cliq.HandlerResponse, withSlide(`{"type":"list","title":"L","data":["a","b"],"styles":{"type":"decimal"}}`), ""},
		{"ListItemsText", cliq.HandlerResponse, withSlide(`{"type":"list","data":["a",{"b":"c"}]}`), "slides[0].data[1]: want a string, got an object"},
		{"ListStyle", cliq.HandlerResponse, withSlide(`{"type":"list","data":["a"],"styles":{"type":"dash"}}`), `slides[0].styles.type: "dash" is not one of`},
		{"ListNoWidth", cliq.HandlerResponse, withSlide(`{"type":"list","data":["a"],"styles":{"width":[100]}}`), "slides[0].styles.width: unknown field"},
		{"LabelOK", cliq.HandlerResponse, withSlide(`{"type":"label","data":[{"Status":"open"},{"Due":"today"}]}`), ""},
		{"LabelOnePair", cliq.HandlerResponse, withSlide(`{"type":"label","data":[{"label":"Status","value":"open"}]}`), "slides[0].data[0]: 2 pairs, want one label and its value"},
		{"LabelValueText", cliq.HandlerResponse, withSlide(`{"type":"label","data":[{"Status":true}]}`), "slides[0].data[0].Status: want a string, got a boolean"},
		{"TextSlideString", cliq.HandlerResponse, withSlide(`{"type":"text","data":["x"]}`), "slides[0].data: want a string, got an array"},
		{"ImagesHTTPS", cliq.HandlerResponse, withSlide(`{"type":"images","data":["https://x.example/a.png","http://x.example/b.png"]}`), `slides[0].data[1]: "http://x.example/b.png" is not an absolute https url`},

		// Banners (REFERENCE §7.3).
		{"BannerOK", cliq.HandlerResponse, `{"type":"banner","status":"success","text":"Done"}`, ""},
		{"BannerStatus", cliq.HandlerResponse, `{"type":"banner","status":"ok","text":"Done"}`, `status: "ok" is not one of success, failure`},
		{"BannerText", cliq.HandlerResponse, `{"type":"banner","status":"failure"}`, "text: is required"},
		{"BannerUnknownKey", cliq.HandlerResponse, `{"type":"banner","status":"failure","text":"x","card":{}}`, "card: unknown field"},

		// Forms (REFERENCE §8).
		{"FormOK", cliq.HandlerResponse, formWith(`{"type":"text","name":"title","label":"Title","placeholder":"P","max_length":100,"value":"` + s("v", 100) + `"}`), ""},
		{"FormName", cliq.HandlerResponse, `{"type":"form","name":"` + s("n", 51) + `","title":"T","action":{"type":"invoke.function","name":"fn"},"inputs":[{"type":"toggle","name":"n","label":"L"}]}`, "name: 51 characters, limit 50"},
		{"FormNameRequired", cliq.HandlerResponse, `{"type":"form","title":"T","action":{"type":"invoke.function","name":"fn"},"inputs":[{"type":"toggle","name":"n","label":"L"}]}`, "name: is required"},
		{"FormTitle", cliq.HandlerResponse, `{"type":"form","name":"f","action":{"type":"invoke.function","name":"fn"},"inputs":[{"type":"toggle","name":"n","label":"L"}]}`, "title: is required"},
		{"FormActionType", cliq.HandlerResponse, `{"type":"form","name":"f","title":"T","action":{"type":"open.url","name":"fn"},"inputs":[{"type":"toggle","name":"n","label":"L"}]}`, `action.type: "open.url" is not one of invoke.function`},
		{"FormActionName", cliq.HandlerResponse, `{"type":"form","name":"f","title":"T","action":{"type":"invoke.function"},"inputs":[{"type":"toggle","name":"n","label":"L"}]}`, "action.name: is required"},
		{"FormActionRequired", cliq.HandlerResponse, `{"type":"form","name":"f","title":"T","inputs":[{"type":"toggle","name":"n","label":"L"}]}`, "action: is required"},
		{"FormNoInputs", cliq.HandlerResponse, `{"type":"form","name":"f","title":"T","action":{"type":"invoke.function","name":"fn"},"inputs":[]}`, "inputs: 0 items, want at least 1"},
		{"Form25Inputs", cliq.HandlerResponse, formInputs(25), ""},
		{"Form26Inputs", cliq.HandlerResponse, formInputs(26), "inputs: 26 items, limit 25"},
		{"FormUnknownKey", cliq.HandlerResponse, `{"type":"form","name":"f","title":"T","actions":{},"action":{"type":"invoke.function","name":"fn"},"inputs":[{"type":"toggle","name":"n","label":"L"}]}`, "actions: unknown field"},
		{"InputTypeKnown", cliq.HandlerResponse, formWith(`{"type":"slider","name":"n","label":"L"}`), `inputs[0].type: "slider" is not one of`},
		{"InputNameUnique", cliq.HandlerResponse, formWith(`{"type":"toggle","name":"n","label":"L"},{"type":"toggle","name":"n","label":"M"}`), `inputs[1].name: "n" is also the name of inputs[0]`},
		{"InputNameLength", cliq.HandlerResponse, formWith(`{"type":"toggle","name":"` + s("n", 51) + `","label":"L"}`), "inputs[0].name: 51 characters, limit 50"},
		{"SelectNameCharacters", cliq.HandlerResponse, formWith(`{"type":"select","name":"remind before","label":"L","options":` + options(2) + `}`), `inputs[0].name: "remind before" has characters other than a-z A-Z 0-9 _ -`},
		{"TextNameAnyCharacters", cliq.HandlerResponse, formWith(`{"type":"text","name":"remind before","label":"L"}`), ""},
		{"InputLabelRequired", cliq.HandlerResponse, formWith(`{"type":"text","name":"n"}`), "inputs[0].label: is required"},
		{"HiddenNeedsNoLabel", cliq.HandlerResponse, formWith(`{"type":"hidden","name":"n","value":"x"}`), ""},
		{"InputLabelLength", cliq.HandlerResponse, formWith(`{"type":"text","name":"n","label":"` + s("l", 51) + `"}`), "inputs[0].label: 51 characters, limit 50"},
		{"InputHintLength", cliq.HandlerResponse, formWith(`{"type":"text","name":"n","label":"L","hint":"` + s("h", 101) + `"}`), "inputs[0].hint: 101 characters, limit 100"},
		{"InputPlaceholderLength", cliq.HandlerResponse, formWith(`{"type":"text","name":"n","label":"L","placeholder":"` + s("p", 101) + `"}`), "inputs[0].placeholder: 101 characters, limit 100"},
		{"InputMandatoryBool", cliq.HandlerResponse, formWith(`{"type":"text","name":"n","label":"L","mandatory":"true"}`), "inputs[0].mandatory: want a boolean, got a string"},
		{"TextMaxLength", cliq.HandlerResponse, formWith(`{"type":"text","name":"n","label":"L","max_length":300}`), "inputs[0].max_length: 300 is out of range 1 to 100"},
		{"TextMinLength", cliq.HandlerResponse, formWith(`{"type":"text","name":"n","label":"L","max_length":10,"min_length":11}`), "inputs[0].min_length: 11 is out of range 0 to 10"},
		{"TextValue", cliq.HandlerResponse, formWith(`{"type":"text","name":"n","label":"L","value":"` + s("v", 101) + `"}`), "inputs[0].value: 101 characters, limit 100"},
		{"TextareaMaxLength", cliq.HandlerResponse, formWith(`{"type":"textarea","name":"n","label":"L","max_length":10000}`), "inputs[0].max_length: 10000 is out of range 1 to 5000"},
		{"TextareaAtLimit", cliq.HandlerResponse, formWith(`{"type":"textarea","name":"n","label":"L","max_length":5000,"value":"` + s("v", 1000) + `"}`), ""},
		{"TextareaValue", cliq.HandlerResponse, formWith(`{"type":"textarea","name":"n","label":"L","value":"` + s("v", 1001) + `"}`), "inputs[0].value: 1001 characters, limit 1000"},
		{"SelectOptionsRequired", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L"}`), "inputs[0].options: is required"},
		{"Select100Options", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":` + options(100) + `}`), ""},
		{"Select101Options", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":` + options(101) + `}`), "inputs[0].options: 101 options, limit 100"},
		{"SelectOptionLabel", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":[{"label":"` + s("l", 101) + `","value":"v"}]}`), "inputs[0].options[0].label: 101 characters, limit 100"},
		{"SelectOptionValue", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":[{"label":"l","value":"` + s("v", 101) + `"}]}`), "inputs[0].options[0].value: 101 characters, limit 100"},
		{"SelectGroups", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","value":"v1","options":[{"label":"G","options":` + options(2) + `}]}`), ""},
		{"SelectDefaultObject", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":` + options(2) + `,"value":{"label":"L1","value":"v1"}}`), "inputs[0].value: want an option's value as a string, got an object"},
		{"SelectDefaultUnknown", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":` + options(2) + `,"value":"v7"}`), `inputs[0].value: "v7" is not the value of an option`},
		{"SelectDefaultMultiple", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":` + options(2) + `,"multiple":true,"value":"v0,v1"}`), ""},
		{"SelectMaxSelections", cliq.HandlerResponse, formWith(`{"type":"select","name":"n","label":"L","options":` + options(2) + `,"multiple":true,"max_selections":20}`), "inputs[0].max_selections: 20 is out of range 1 to 10"},
		{"NativeSelectOK", cliq.HandlerResponse, formWith(`{"type":"native_select","name":"n","label":"L","data_source":"contacts","filter":"colleagues","value":"60012345678"}`), ""},
		{"NativeSelectSource", cliq.HandlerResponse, formWith(`{"type":"native_select","name":"n","label":"L","data_source":"users"}`), `inputs[0].data_source: "users" is not one of channels, contacts, conversations, teams`},
		{"NativeSelectSourceRequired", cliq.HandlerResponse, formWith(`{"type":"native_select","name":"n","label":"L"}`), "inputs[0].data_source: is required"},
		{"NativeSelectFilter", cliq.HandlerResponse, formWith(`{"type":"native_select","name":"n","label":"L","data_source":"channels","filter":"dm"}`), `inputs[0].filter: "dm" is not one of organization, team, private, external`},
		{"NativeSelectTeamsFilter", cliq.HandlerResponse, formWith(`{"type":"native_select","name":"n","label":"L","data_source":"teams","filter":"team"}`), "inputs[0].filter: data source teams takes no filter"},
		{"NativeSelectMaxSelections", cliq.HandlerResponse, formWith(`{"type":"native_select","name":"n","label":"L","data_source":"teams","max_selections":11}`), "inputs[0].max_selections: 11 is out of range 1 to 10"},
		{"NativeSelectDefaultText", cliq.HandlerResponse, formWith(`{"type":"native_select","name":"n","label":"L","data_source":"contacts","value":{"id":"1"}}`), "inputs[0].value: want a string, got an object"},
		{"CheckboxOK", cliq.HandlerResponse, formWith(`{"type":"checkbox","name":"n","label":"L","options":` + options(5) + `,"value":"v0,v4"}`), ""},
		{"CheckboxSixOptions", cliq.HandlerResponse, formWith(`{"type":"checkbox","name":"n","label":"L","options":` + options(6) + `}`), "inputs[0].options: 6 options, limit 5"},
		{"CheckboxNoOptions", cliq.HandlerResponse, formWith(`{"type":"checkbox","name":"n","label":"L","options":[]}`), "inputs[0].options: has no options"},
		{"CheckboxValueLength", cliq.HandlerResponse, formWith(`{"type":"checkbox","name":"n","label":"L","options":[{"label":"l","value":"` + s("v", 51) + `"}]}`), "inputs[0].options[0].value: 51 characters, limit 50"},
		{"CheckboxDefault", cliq.HandlerResponse, formWith(`{"type":"checkbox","name":"n","label":"L","options":` + options(2) + `,"value":"v0,v9"}`), `inputs[0].value: "v9" is not the value of an option`},
		{"CheckboxMaxSelections", cliq.HandlerResponse, formWith(`{"type":"checkbox","name":"n","label":"L","options":` + options(2) + `,"max_selections":6}`), "inputs[0].max_selections: 6 is out of range 1 to 5"},
		{"RadioDefault", cliq.HandlerResponse, formWith(`{"type":"radio","name":"n","label":"L","options":` + options(2) + `,"value":{"value":"v0"}}`), "inputs[0].value: want an option's value as a string"},
		{"ToggleValue", cliq.HandlerResponse, formWith(`{"type":"toggle","name":"n","label":"L","value":"false"}`), "inputs[0].value: want a boolean, got a string"},
		{"DateOK", cliq.HandlerResponse, formWith(`{"type":"date","name":"n","label":"L","value":"2026-12-01","filter":{"from":"2026-01-01","allowed_days":["monday"]}}`), ""},
		{"DateValue", cliq.HandlerResponse, formWith(`{"type":"date","name":"n","label":"L","value":"01/12/2026"}`), `inputs[0].value: "01/12/2026" is not a yyyy-MM-dd`},
		{"DateFilterEmpty", cliq.HandlerResponse, formWith(`{"type":"date","name":"n","label":"L","filter":{}}`), "inputs[0].filter: is empty"},
		{"DateFilterDay", cliq.HandlerResponse, formWith(`{"type":"date","name":"n","label":"L","filter":{"allowed_days":["mon"]}}`), `inputs[0].filter.allowed_days[0]: "mon" is not a day`},
		{"DatetimeOK", cliq.HandlerResponse, formWith(`{"type":"datetime","name":"n","label":"L","value":{"date_time":"2026-12-01T17:30","time_zone_id":"Europe/Berlin"},"filter":{"to":"2027-01-01T00:00"}}`), ""},
		{"DatetimeSeconds", cliq.HandlerResponse, formWith(`{"type":"datetime","name":"n","label":"L","value":{"date_time":"2026-12-01T17:30:00"}}`), ""},
		{"DatetimeValueObject", cliq.HandlerResponse, formWith(`{"type":"datetime","name":"n","label":"L","value":"2026-12-01T17:30"}`), "inputs[0].value: want an object {date_time, time_zone_id}, got a string"},
		{"DatetimeValueRequired", cliq.HandlerResponse, formWith(`{"type":"datetime","name":"n","label":"L","value":{"time_zone_id":"UTC"}}`), "inputs[0].value.date_time: is required"},
		{"DatetimeValueFormat", cliq.HandlerResponse, formWith(`{"type":"datetime","name":"n","label":"L","value":{"date_time":"2026-12-01 17:30"}}`), `inputs[0].value.date_time: "2026-12-01 17:30" is not a yyyy-MM-ddTHH:mm`},
		{"DatetimeFilterFormat", cliq.HandlerResponse, formWith(`{"type":"datetime","name":"n","label":"L","filter":{"from":"2026-12-01"}}`), `inputs[0].filter.from: "2026-12-01" is not a yyyy-MM-ddTHH:mm`},
		{"FileLimits", cliq.HandlerResponse, formWith(`{"type":"file","name":"n","label":"L","max_size":51201}`), "inputs[0].max_size: 51201 is out of range 1 to 51200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidate(t, tt)
		})
	}
}

// formInputs is a valid form with n toggle inputs.
func formInputs(n int) string {
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = fmt.Sprintf(`{"type":"toggle","name":"n%d","label":"L"}`, i)
	}
	return formWith(strings.Join(inputs, ","))
}

func checkValidate(t *testing.T, tt validateCase) {
	t.Helper()
	if !json.Valid([]byte(tt.json)) {
		t.Fatalf("case is not JSON: %s", tt.json)
	}
	err := cliq.ValidateJSON(tt.dest, []byte(tt.json))
	if tt.want == "" {
		if err != nil {
			t.Errorf("ValidateJSON(%s) = %v, want nil", tt.dest, err)
		}
		return
	}
	var verr *cliq.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("ValidateJSON(%s) = %v, want a *ValidationError", tt.dest, err)
	}
	for _, p := range verr.Problems {
		if strings.HasPrefix(p.String(), tt.want) {
			if len(verr.Problems) > 1 {
				t.Errorf("ValidateJSON(%s) = %v, want only %q", tt.dest, err, tt.want)
			}
			return
		}
	}
	t.Errorf("ValidateJSON(%s) = %v, want %q", tt.dest, err, tt.want)
}

func TestValidateJSONRejectsNonObjects(t *testing.T) {
	for _, in := range []string{`[]`, `"text"`, `null`, `{"text":"a"} {}`, `{`} {
		if err := cliq.ValidateResponse([]byte(in)); err == nil {
			t.Errorf("ValidateResponse(%s) = nil, want an error", in)
		}
	}
}
