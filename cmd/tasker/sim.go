package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"

	"github.com/taskerhq/tasker/cliq"
)

const simUsage = `usage: tasker sim [flags] TEXT

Plays a Cliq user against a running Tasker: sends the signed request the
Deluge script would send and prints the answer as Cliq would show it.

  tasker sim /task add Water plants due:tomorrow   the /task command
  tasker sim list overdue                          a message to the bot
  tasker sim --button done:1                       a click on a task button
  tasker sim --form '{"title":"Ship it","due":"2026-12-01T17:00"}'

flags:
`

// simOptions are the flags of tasker sim.
type simOptions struct {
	url, secret           string
	userID, email, tz     string
	org, channel, botName string
	button, form          string
	mentions              []cliq.Mention
	json                  bool
}

// runSim is "tasker sim": it builds the request a Deluge forwarder would
// send for TEXT (a /task command or a message to the bot), a button click
// or a form submission, signs it with the Cliq secret (SPEC 4.1), sends it
// and prints the answer.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := simOptions{}
	fs := newFlagSet("sim", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simUsage); fs.PrintDefaults() }
	fs.StringVar(&o.url, "url", envOr("TASKER_PUBLIC_URL", "http://localhost:8080"), "Tasker's base URL")
	fs.StringVar(&o.secret, "secret", os.Getenv("TASKER_CLIQ_SECRET"), "the Deluge forwarders' secret (TASKER_CLIQ_SECRET)")
	fs.StringVar(&o.userID, "user-id", "1000000001", "the Cliq user id of the simulated user")
	fs.StringVar(&o.email, "user-email", "sim.user@example.com", "the simulated user's email; the name comes from its local part")
	fs.StringVar(&o.tz, "tz", "", "the simulated user's timezone, e.g. Europe/Berlin; without it, the one Tasker has stored for the user")
	fs.StringVar(&o.org, "org", "sim", "the Cliq organization id (the workspace in org tenancy)")
	fs.StringVar(&o.channel, "channel", "", "run in this channel (unique name) instead of the bot's chat")
	fs.StringVar(&o.botName, "bot", "taskerbot", "the bot's unique name")
	fs.StringVar(&o.button, "button", "", "click the taskaction button with this key, e.g. done:42")
	fs.StringVar(&o.form, "form", "", `submit the create_task form with these values (JSON), e.g. {"title":"Ship it"}`)
	fs.BoolVar(&o.json, "json", false, "print the raw answer")
	fs.Func("mention", `mention a user in TEXT, as "ID:First Last[:email]" (repeatable); write @First Last in TEXT`, func(s string) error {
		parts := strings.SplitN(s, ":", 3)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return errors.New(`want "ID:First Last[:email]"`)
		}
		first, last, _ := strings.Cut(parts[1], " ")
		m := cliq.Mention{ID: parts[0], Type: "user", FirstName: first, LastName: last, DName: "@" + strings.ToLower(strings.ReplaceAll(parts[1], " ", ""))}
		if len(parts) == 3 {
			m.Email = parts[2]
		}
		o.mentions = append(o.mentions, m)
		return nil
	})
	// Flags may come after the words of TEXT too ("tasker sim list --json"),
	// so parse again after each word.
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		words, args = append(words, fs.Arg(0)), fs.Args()[1:]
	}
	if o.secret == "" {
		return errors.New("sim: no secret: pass --secret or set TASKER_CLIQ_SECRET (a server without one prints the secret it generated)")
	}
	path, payload, err := simPayload(o, strings.TrimSpace(strings.Join(words, " ")), time.Now())
	if err != nil {
		fs.Usage()
		return err
	}
	raw, err := simSend(ctx, strings.TrimRight(o.url, "/")+path, o.secret, payload)
	if err != nil {
		return err
	}
	if o.json {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return fmt.Errorf("sim: the answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := io.WriteString(stdout, escapeJSONControls(buf.String()))
		return err
	}
	return renderAnswer(stdout, raw, isTerminal(stdout), o.names())
}

// names maps the Cliq user ids sim knows to names, for mentions in
// answers: the simulated user and every --mention.
func (o simOptions) names() map[string]string {
	names := map[string]string{o.userID: o.displayName()}
	for _, m := range o.mentions {
		names[m.ID] = strings.TrimSpace(m.FirstName + " " + m.LastName)
	}
	return names
}

// displayName is the simulated user's name, made from the email's local
// part as Cliq would show it: priya.raman@… is Priya Raman.
func (o simOptions) displayName() string {
	first, last := o.nameParts()
	return strings.TrimSpace(first + " " + last)
}

func (o simOptions) nameParts() (first, last string) {
	local, _, _ := strings.Cut(o.email, "@")
	first, last, _ = strings.Cut(strings.ReplaceAll(local, "_", "."), ".")
	return title(first), title(last)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// field is one key of a JSON object, kept in order: Deluge's Map keeps
// insertion order, and the sim sends the keys as the scripts put them.
type field struct {
	key   string
	value any
}

// object marshals its fields in order.
type object []field

// MarshalJSON writes the fields in their order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// simPayload builds the route and body the Deluge script of the handler
// would send (the deluge package's handler table): the same keys, in the
// same order.
func simPayload(o simOptions, text string, now time.Time) (string, object, error) {
	first, last := o.nameParts()
	user := object{
		{"id", o.userID}, {"first_name", first}, {"last_name", last}, {"email", o.email},
		{"admin", false}, {"organization_id", o.org},
	}
	// The bot reads a timezone in the request before the one it has stored
	// for the user, so one is sent only when --tz asks: a default here
	// would override what the user set.
	if o.tz != "" {
		user = append(user, field{"timezone", o.tz})
	}
	user = append(user, field{"country", ""}, field{"language", "en"})
	chat := object{{"id", "CT_sim_" + o.userID + "-B1"}, {"type", "bot"}, {"title", o.botName}, {"owner", o.userID}}
	if o.channel != "" {
		chat = object{{"id", "CT_sim_" + o.channel}, {"type", "channel"}, {"title", "#" + o.channel}, {"owner", o.userID},
			{"channel_unique_name", o.channel}, {"channel_id", "O_sim_" + o.channel}}
	}
	access := object{{"user_id", o.userID}, {"user_agent", "tasker-sim"}, {"chat_id", chat[0].value}}
	environment := object{{"data_center", "US"}, {"tld", ".com"}, {"base_url", "https://cliq.zoho.com"}}
	sentAt := now.Format(time.RFC3339)
	mentions := o.mentions
	if mentions == nil {
		mentions = []cliq.Mention{}
	}
	envelope := func(handler, component string) object {
		return object{{"handler", handler}, {"component", component}, {"sent_at", sentAt}}
	}
	switch {
	case o.button != "" && o.form != "":
		return "", nil, errors.New("sim: give --button or --form, not both")
	case o.button != "":
		// the Deluge script functions/taskaction
		return "/cliq/functions/taskaction", append(envelope("button", "taskaction"),
			field{"arguments", object{{"key", o.button}}},
			field{"target", object{{"name", o.button}}},
			field{"message", object{}},
			field{"user", user}, field{"chat", chat}), nil
	case o.form != "":
		var form map[string]json.RawMessage
		if err := json.Unmarshal([]byte(o.form), &form); err != nil {
			return "", nil, fmt.Errorf("sim: --form is not a JSON object: %w", err)
		}
		submitted := object{{"name", "create_task"}, {"values", form}}
		if values, ok := form["values"]; ok {
			name := json.RawMessage(`"create_task"`)
			if n, ok := form["name"]; ok {
				name = n
			}
			submitted = object{{"name", name}, {"values", values}}
		}
		// the Deluge script functions/createtaskform
		return "/cliq/functions/createtaskform", append(envelope("form_submit", "createtaskform"),
			field{"form", submitted},
			field{"user", user}, field{"chat", chat}, field{"access", access}, field{"environment", environment}), nil
	case text == "":
		return "", nil, errors.New("sim: say something: TEXT, --button or --form")
	}
	if rest, ok := strings.CutPrefix(text, "/task"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		// the Deluge script commands/task
		return "/cliq/commands/task", append(envelope("command", "task"),
			field{"arguments", strings.TrimSpace(rest)}, field{"options", object{}},
			field{"user", user}, field{"chat", chat}, field{"mentions", mentions},
			field{"selections", []any{}}, field{"attachments", []any{}}, field{"location", object{}}), nil
	}
	// the Deluge script bot/message
	details := object{{"time", now.UnixMilli()}, {"message", object{{"type", "text"}, {"text", text}, {"mentions", mentions}}}}
	return "/cliq/bot/message", append(envelope("bot_message", "taskerbot"),
		field{"message", text}, field{"attachments", []any{}}, field{"mentions", mentions}, field{"links", []any{}},
		field{"user", user}, field{"chat", chat}, field{"location", object{}}, field{"message_details", details}), nil
}

func title(s string) string {
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// simSend signs payload as the Deluge scripts do and posts it.
func simSend(ctx context.Context, url, secret string, payload object) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(cliq.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(cliq.HeaderSignature, cliq.Sign(secret, ts, body))
	client := &http.Client{Timeout: 40 * time.Second} // Deluge's invokeurl gives up after 40 s
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("sim: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// The Deluge script would show its fallback line; show why instead.
		return nil, fmt.Errorf("sim: %s answered %d: %s", url, resp.StatusCode, printable(strings.TrimSpace(string(raw))))
	}
	return raw, nil
}

// isTerminal reports whether w is a terminal, where colours help.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// style wraps text in ANSI codes when colour is on.
type style bool

func (s style) wrap(code, text string) string {
	if !s || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) bold(t string) string  { return s.wrap("1", t) }
func (s style) dim(t string) string   { return s.wrap("2", t) }
func (s style) green(t string) string { return s.wrap("32", t) }
func (s style) red(t string) string   { return s.wrap("31", t) }
func (s style) cyan(t string) string  { return s.wrap("36", t) }

// answer is what a handler may answer (REFERENCE 5, 7, 8), read loosely:
// a message, a message edit, a banner or a form.
type answer struct {
	Type   string `json:"type"`
	Status string `json:"status"`
	Text   string `json:"text"`
	Title  string `json:"title"`
	Hint   string `json:"hint"`
	Name   string `json:"name"`
	Card   *struct {
		Title string `json:"title"`
	} `json:"card"`
	Slides []struct {
		Type  string          `json:"type"`
		Title string          `json:"title"`
		Data  json.RawMessage `json:"data"`
	} `json:"slides"`
	Buttons []struct {
		Label  string `json:"label"`
		Key    string `json:"key"`
		Type   string `json:"type"`
		Action struct {
			Type string `json:"type"`
			Data struct {
				Name string `json:"name"`
				Web  string `json:"web"`
			} `json:"data"`
		} `json:"action"`
	} `json:"buttons"`
	Inputs []struct {
		Type      string `json:"type"`
		Name      string `json:"name"`
		Label     string `json:"label"`
		Mandatory bool   `json:"mandatory"`
		Options   []struct {
			Value string `json:"value"`
		} `json:"options"`
	} `json:"inputs"`
}

// renderAnswer prints an answer as Cliq would show it, in plain text:
// the text, the card's title, its slides (fields, tables, lists) and its
// buttons with the keys that --button takes.
//
// names resolves the ids of Cliq mentions ({@id}) to names. Control
// characters in the answer are shown escaped, never sent to the terminal.
func renderAnswer(w io.Writer, raw []byte, colour bool, names map[string]string) error {
	st := style(colour)
	raw, err := readable(raw, names)
	if err != nil {
		return fmt.Errorf("sim: the answer is not a Cliq message: %w", err)
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("sim: the answer is not a Cliq message: %w", err)
	}
	var b strings.Builder
	switch a.Type {
	case "form":
		renderForm(&b, st, a)
		_, err := io.WriteString(w, b.String())
		return err
	case "banner":
		mark := st.green("✔")
		if a.Status != "success" {
			mark = st.red("✖")
		}
		fmt.Fprintf(&b, "%s %s\n", mark, a.Text)
		_, err := io.WriteString(w, b.String())
		return err
	case "message_edit":
		b.WriteString(st.dim("(replaces the message that held the button)") + "\n")
	}
	if a.Card != nil && a.Card.Title != "" {
		fmt.Fprintf(&b, "%s\n", st.bold("▌ "+a.Card.Title))
	}
	if a.Text != "" {
		fmt.Fprintf(&b, "%s\n", a.Text)
	}
	for _, s := range a.Slides {
		renderSlide(&b, st, s.Type, s.Title, s.Data)
	}
	if len(a.Buttons) > 0 {
		b.WriteString("\n")
		for _, bt := range a.Buttons {
			label := "[" + bt.Label + "]"
			if bt.Type == "-" {
				label = st.red(label)
			} else {
				label = st.cyan(label)
			}
			target := "--button " + bt.Key
			if bt.Action.Type == "open.url" {
				target = "opens " + bt.Action.Data.Web
			}
			fmt.Fprintf(&b, "  %s %s\n", label, st.dim(target))
		}
	}
	if b.Len() == 0 {
		b.WriteString(st.dim("(an empty answer: Cliq shows nothing)") + "\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func renderForm(b *strings.Builder, st style, a answer) {
	fmt.Fprintf(b, "%s %s\n", st.bold("▌ Form: "+a.Title), st.dim("("+a.Name+")"))
	if a.Hint != "" {
		fmt.Fprintf(b, "%s\n", a.Hint)
	}
	for _, in := range a.Inputs {
		req := ""
		if in.Mandatory {
			req = " *"
		}
		line := fmt.Sprintf("  %-15s %-13s %s%s", in.Name, in.Type, in.Label, req)
		if len(in.Options) > 0 {
			vals := make([]string, len(in.Options))
			for i, o := range in.Options {
				vals[i] = o.Value
			}
			line += st.dim(" [" + strings.Join(vals, "|") + "]")
		}
		b.WriteString(line + "\n")
	}
	b.WriteString(st.dim(`Submit it with: tasker sim --form '{"title":"…","due":"2026-12-01T17:00"}'`) + "\n")
}

// renderSlide prints one slide; shapes per REFERENCE 5.
func renderSlide(b *strings.Builder, st style, typ, title string, data json.RawMessage) {
	if title != "" {
		fmt.Fprintf(b, "%s\n", st.bold(title))
	}
	switch typ {
	case "label":
		var pairs []map[string]string
		_ = json.Unmarshal(data, &pairs)
		for _, p := range pairs {
			for k, v := range p {
				fmt.Fprintf(b, "  %s %s\n", st.dim(k+":"), v)
			}
		}
	case "table":
		var t struct {
			Headers []string            `json:"headers"`
			Rows    []map[string]string `json:"rows"`
		}
		_ = json.Unmarshal(data, &t)
		renderTable(b, st, t.Headers, t.Rows)
	case "list":
		var items []string
		_ = json.Unmarshal(data, &items)
		for _, it := range items {
			fmt.Fprintf(b, "  • %s\n", it)
		}
	default:
		var s string
		if json.Unmarshal(data, &s) == nil {
			for _, line := range strings.Split(s, "\n") {
				fmt.Fprintf(b, "  %s\n", line)
			}
		}
	}
}

// maxCell keeps wide tables readable in a terminal.
const maxCell = 48

func renderTable(b *strings.Builder, st style, headers []string, rows []map[string]string) {
	// Widths are terminal columns, not runes: a CJK character or an emoji
	// takes two.
	widths := make([]int, len(headers))
	cell := func(s string) string {
		s = strings.Join(strings.Fields(s), " ") // a line break would break the row
		return runewidth.Truncate(s, maxCell, "…")
	}
	for i, h := range headers {
		widths[i] = runewidth.StringWidth(h)
		for _, r := range rows {
			widths[i] = max(widths[i], runewidth.StringWidth(cell(r[h])))
		}
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-runewidth.StringWidth(s))) }
	line := make([]string, len(headers))
	for i, h := range headers {
		line[i] = pad(h, widths[i])
	}
	b.WriteString("  " + st.bold(strings.TrimRight(strings.Join(line, "  "), " ")) + "\n")
	for _, r := range rows {
		for i, h := range headers {
			line[i] = pad(cell(r[h]), widths[i])
		}
		b.WriteString("  " + strings.TrimRight(strings.Join(line, "  "), " ") + "\n")
	}
}

// mentionRe matches Cliq's mention markup in message text: {@user id},
// {#channel} (REFERENCE 5).
var mentionRe = regexp.MustCompile(`\{([@#])([^{}\s]{1,100})\}`)

// readable rewrites every string in the JSON answer raw as a person reads
// it in Cliq: mentions become @Name (@id when sim does not know the name)
// and control characters are escaped, so no text of the answer can move
// the cursor, retitle the window or ring the bell.
func readable(raw []byte, names map[string]string) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return printable(mentionRe.ReplaceAllStringFunc(v, func(m string) string {
				sub := mentionRe.FindStringSubmatch(m)
				if sub[1] == "@" && names[sub[2]] != "" {
					return "@" + names[sub[2]]
				}
				return sub[1] + sub[2]
			}))
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
		case map[string]any:
			for k, e := range v {
				delete(v, k)
				v[printable(k)] = walk(e)
			}
		}
		return v
	}
	return json.Marshal(walk(v))
}

// printable escapes the C0 and C1 control characters of s, and DEL, as
// \xNN or \u00NN; line breaks and tabs stay.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !isControl(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\n' && r != '\t' && unicode.IsControl(r)
}

// escapeJSONControls escapes the control characters JSON text may hold
// raw inside its strings — DEL and C1 (U+0080–U+009F), which some
// terminals act on — as \u00NN, which leaves the JSON meaning the same.
func escapeJSONControls(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) && r >= 0x7f {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
