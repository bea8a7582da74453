package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/taskerhq/tasker/tasks"
)

// The /task grammar (SPEC 7.2), also used without "/task" by the bot's
// message handler:
//
//	(empty) | help                     help card
//	add TITLE [due:WHEN] [every:RULE] [@user] [!low|!medium|!high|!urgent] [#tag ...]
//	new                                the create_task form
//	list [mine|all|today|overdue|@user|#tag]
//	show N | done N | reopen N | delete N
//	assign N @user | due N WHEN | snooze N DURATION | comment N TEXT
//	repeat N RULE | repeat N off | skip N
//	subscribe [EVENT ...] | unsubscribe [EVENT ...]
//	link
//
// Decisions the grammar leaves open:
//
//   - Verbs, filters, priorities, events and WHEN words are case-insensitive.
//     A leading "/task" is ignored, so pasted commands work in the bot's chat.
//   - N is a task number written 42 or #42.
//   - In add, the options may come anywhere, before, between or after the
//     title's words; every word that is not an option is the title.
//     A word starting with @, ! or # is an option, so to keep such a word in
//     a title ("Review PR #42"), quote the title: add "Review PR #42" !high.
//     Quotes are " or “ … ” (phones type the latter); inside them a backslash
//     keeps the next character as it is (\" and \\).
//   - due:WHEN takes as many of the following words as still form a valid
//     WHEN, stopping before any option word: in "add Call Bob due:friday 5pm
//     about the trip" the date is "friday 5pm" and the title "Call Bob about
//     the trip". due:"friday 5pm" (quoted) and "due: friday" also work.
//   - every:RULE reads a rule of SPEC 6.5 (tasks.ParseRule) the way due:
//     reads a WHEN: as many following words as still form a rule, or a
//     quoted rule. The leading "every" of the rule is the option's own:
//     every:weekday at 9:30 is "every weekday at 9:30", and every:every
//     weekday means the same. An RRULE works too: every:FREQ=DAILY.
//     repeat N takes the rest of the line as the rule, with or without its
//     "every"; "off" ends the series.
//   - @user must be one of the mentions Cliq sends with the command (see
//     ParseCommand), or @me for the person typing.
//   - A task has one assignee, one priority and one due date; tags are
//     lower-cased, duplicates are dropped, and at most 20 are allowed.
//   - list takes one filter. comment's TEXT is the rest of the line as typed.
//   - subscribe without events means created, completed and overdue;
//     unsubscribe without events means every event. Events may be separated
//     by commas, written as task.completed, or be "all".

// Verb names what a command does.
type Verb string

// The verbs of the /task grammar.
const (
	VerbHelp        Verb = "help"
	VerbAdd         Verb = "add"
	VerbNew         Verb = "new"
	VerbList        Verb = "list"
	VerbShow        Verb = "show"
	VerbDone        Verb = "done"
	VerbReopen      Verb = "reopen"
	VerbDelete      Verb = "delete"
	VerbAssign      Verb = "assign"
	VerbDue         Verb = "due"
	VerbSnooze      Verb = "snooze"
	VerbComment     Verb = "comment"
	VerbSubscribe   Verb = "subscribe"
	VerbUnsubscribe Verb = "unsubscribe"
	VerbLink        Verb = "link"
	VerbRepeat      Verb = "repeat"
	VerbSkip        Verb = "skip"
)

// verbs lists every verb with an example of its use, which error messages
// show (without the "/task " they add).
var verbs = []struct {
	verb    Verb
	example string
}{
	{VerbHelp, "help"},
	{VerbAdd, "add Buy milk due:tomorrow 5pm !high #home"},
	{VerbNew, "new"},
	{VerbList, "list overdue"},
	{VerbShow, "show 42"},
	{VerbDone, "done 42"},
	{VerbReopen, "reopen 42"},
	{VerbDelete, "delete 42"},
	{VerbAssign, "assign 42 @me"},
	{VerbDue, "due 42 friday 5pm"},
	{VerbSnooze, "snooze 42 2h"},
	{VerbComment, "comment 42 Waiting for the designs"},
	{VerbRepeat, "repeat 42 every weekday at 9:30"},
	{VerbSkip, "skip 42"},
	{VerbSubscribe, "subscribe created completed overdue"},
	{VerbUnsubscribe, "unsubscribe overdue"},
	{VerbLink, "link"},
}

// priorities are what may follow "!": the task priorities of SPEC 6.2.
var priorities = []string{"low", "medium", "high", "urgent"}

// ListFilter says which tasks "list" shows.
type ListFilter string

// The list filters. FilterUser and FilterTag take their argument from
// Command.User and Command.Tags.
const (
	FilterDefault ListFilter = ""        // open tasks assigned to me, and unassigned ones I created
	FilterMine    ListFilter = "mine"    // open tasks assigned to me
	FilterAll     ListFilter = "all"     // every open task
	FilterToday   ListFilter = "today"   // open tasks due today
	FilterOverdue ListFilter = "overdue" // open tasks past their due time
	FilterUser    ListFilter = "user"    // open tasks assigned to Command.User
	FilterTag     ListFilter = "tag"     // open tasks tagged Command.Tags[0]
)

var listFilters = []string{"mine", "all", "today", "overdue"}

// EventName is an event a channel can subscribe to. Each stands for one
// event type of SPEC 8.2: created for task.created, comment for
// comment.created, and so on.
type EventName string

// The events of SPEC 8.2 that a channel can subscribe to.
const (
	EventCreated       EventName = "created"
	EventUpdated       EventName = "updated"
	EventStatusChanged EventName = "status_changed"
	EventCompleted     EventName = "completed"
	EventAssigned      EventName = "assigned"
	EventDeleted       EventName = "deleted"
	EventReminder      EventName = "reminder"
	EventOverdue       EventName = "overdue"
	EventComment       EventName = "comment"
)

var eventNames = []EventName{
	EventCreated, EventUpdated, EventStatusChanged, EventCompleted, EventAssigned,
	EventDeleted, EventReminder, EventOverdue, EventComment,
}

// DefaultEvents are what "subscribe" alone subscribes to (SPEC 7.4).
var DefaultEvents = []EventName{EventCreated, EventCompleted, EventOverdue}

// Limits from SPEC 6.2, counted in Unicode code points.
const (
	MaxTitle       = 300
	MaxTag         = 40
	MaxTags        = 20
	MaxCommentText = 10000
)

// MentionMe is Mention.Index for "@me", the person typing the command.
const MentionMe = -1

// Mention is an @user in a command, matched to one of the mentions Cliq sent
// with it.
type Mention struct {
	Index int    // into the mentions given to ParseCommand, or MentionMe
	Name  string // that mention's display name, trimmed; "me" for MentionMe
}

// Command is a parsed /task command: plain data, checked for syntax and
// limits but not against the store. Fields a verb does not use are zero.
type Command struct {
	Verb     Verb
	Number   int            // show, done, reopen, delete, assign, due, snooze, comment
	Title    string         // add: 1 to MaxTitle code points
	When     string         // add (due:), due: canonical WHEN text, resolve with ParseWhen
	Snooze   string         // snooze: canonical text, resolve with ParseSnooze
	User     *Mention       // add (assignee), assign, list with FilterUser
	Priority tasks.Priority // add; "" when not given
	Tags     []string       // add; list with FilterTag (one tag)
	Filter   ListFilter     // list
	Text     string         // comment: the rest of the line, trimmed
	Rule     string         // add (every:), repeat: the rule, "every …" or an RRULE; RuleOff ends a series
	Events   []EventName
}

// RuleOff is Command.Rule of "repeat N off".
const RuleOff = "off"

// addRuleExample is add's example with a rule.
const addRuleExample = "/task add Stand-up every:weekday at 9:30"

// SyntaxError is a command, WHEN or snooze the user typed that could not be
// understood. Its message is meant for the chat, so unlike other errors it
// is a full sentence: what was not understood, why, and a correct example.
type SyntaxError struct {
	Input   string // what the user typed
	Reason  string // what is wrong, or "" when the input is unknown as a whole
	Example string // a correct form, preferably of what the user meant
}

// Error returns a message such as
// `I didn't understand "dnoe 42". Try: /task done 42`.
func (e *SyntaxError) Error() string {
	msg := `I didn't understand "` + shorten(e.Input) + `"`
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg + ". Try: " + e.Example
}

// shorten returns s on one line and at most 80 code points long, so an
// error quoting a pasted paragraph stays readable.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= 80 {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:79])) + "…"
}

// ParseCommand parses the text of a /task command (Cliq's "arguments") or
// of a message to the bot. mentions are the display names of the users Cliq
// reports as mentioned, in its order (first and last name, "Lars Becker").
//
// An @ at the start of a word is a mention, matched in this order:
//
//  1. the longest display name that follows the @, case-insensitively, up
//     to a space or the end: "@Lars Becker" and "@lars becker" both match
//     "Lars Becker" (the earliest mention wins a tie);
//  2. else the word after the @ compared, case-insensitively, with each
//     display name without its spaces: "@larsbecker" matches "Lars Becker",
//     as Cliq's own @handles are written;
//  3. else "@me", the person typing.
//
// Anything else after an @ is an error, because a name Cliq did not resolve
// cannot be turned into a user.
//
// A command that is not understood returns a *SyntaxError; Command.String
// renders a command back to text that parses to the same Command.
func ParseCommand(text string, mentions []string) (Command, error) {
	return parseCommand(text, mentions, true)
}

// parseCommand is ParseCommand; suggest is false while checking a candidate
// example, so that building examples cannot recurse.
func parseCommand(text string, mentions []string, suggest bool) (Command, error) {
	p := &parser{s: strings.TrimSpace(text), suggest: suggest}
	if !utf8.ValidString(text) {
		return Command{}, &SyntaxError{Input: strings.ToValidUTF8(p.s, "?"), Reason: "it contains bytes that are not text", Example: "/task help"}
	}
	for _, m := range mentions {
		if m = strings.TrimSpace(m); !utf8.ValidString(m) {
			m = "" // never matches
		}
		p.mentions = append(p.mentions, m)
	}
	first := p.word()
	if strings.EqualFold(first, "/task") {
		p.s = strings.TrimSpace(p.s[p.pos:])
		p.pos = 0
		first = p.word()
	}
	if first == "" {
		return Command{Verb: VerbHelp}, nil
	}
	verb := Verb(strings.ToLower(first))
	switch verb {
	case VerbHelp:
		return Command{Verb: VerbHelp}, nil // "help add" still deserves the help card
	case VerbNew, VerbLink:
		return Command{Verb: verb}, p.end(verb)
	case VerbAdd:
		return p.add()
	case VerbList:
		return p.list()
	case VerbShow, VerbDone, VerbReopen, VerbDelete, VerbSkip:
		n, err := p.number(verb)
		if err != nil {
			return Command{}, err
		}
		return Command{Verb: verb, Number: n}, p.end(verb)
	case VerbAssign:
		return p.assign()
	case VerbDue, VerbSnooze:
		return p.dueOrSnooze(verb)
	case VerbComment:
		return p.comment()
	case VerbRepeat:
		return p.repeat()
	case VerbSubscribe, VerbUnsubscribe:
		return p.subscribe(verb)
	}
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = string(v.verb)
	}
	suggestion := "/task help"
	// help ignores what follows it, so "help" + the rest always parses:
	// "Hello there" must not suggest "/task help there".
	if fix := closestWord(strings.ToLower(first), names); fix != "" && Verb(fix) != VerbHelp {
		suggestion = p.tryExample(fix+p.s[p.pos:], example(Verb(fix)))
	}
	return Command{}, &SyntaxError{Input: p.s, Example: suggestion}
}

// example returns the usual example of v, with "/task ".
func example(v Verb) string {
	for _, e := range verbs {
		if e.verb == v {
			return "/task " + e.example
		}
	}
	return "/task help"
}

// parser reads a command left to right; pos is a byte offset into s.
type parser struct {
	s        string
	pos      int
	mentions []string // trimmed display names; "" never matches
	suggest  bool
}

// fail returns a *SyntaxError about the whole command.
func (p *parser) fail(reason, try string) error {
	return &SyntaxError{Input: p.s, Reason: reason, Example: try}
}

// tryExample returns "/task candidate" when candidate parses, else
// fallback, so that no error ever suggests a command that would fail in turn.
func (p *parser) tryExample(candidate, fallback string) string {
	if !p.suggest {
		return fallback
	}
	if _, err := parseCommand(candidate, p.mentions, false); err != nil {
		return fallback
	}
	return "/task " + strings.Join(strings.Fields(candidate), " ")
}

// replaced returns the command with s[start:end] replaced, for examples.
func (p *parser) replaced(start, end int, with string) string {
	return p.s[:start] + with + p.s[end:]
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

// word skips spaces and returns the next run of non-space characters.
func (p *parser) word() string {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if unicode.IsSpace(r) {
			break
		}
		p.pos += n
	}
	return p.s[start:p.pos]
}

// peek returns the first character of the next word, or 0 at the end.
func (p *parser) peek() rune {
	p.skipSpace()
	if p.pos == len(p.s) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	return r
}

// end reports an error unless nothing but spaces is left.
func (p *parser) end(v Verb) error {
	start := p.pos
	if w := p.word(); w != "" {
		return p.fail(fmt.Sprintf("I did not expect %q after %s", w, strings.TrimSpace(p.s[:start])), example(v))
	}
	return nil
}

// number reads a task number, 42 or #42.
func (p *parser) number(v Verb) (int, error) {
	w := p.word()
	if w == "" {
		return 0, p.fail(string(v)+" needs a task number", example(v))
	}
	digits := strings.TrimLeft(strings.TrimPrefix(w, "#"), "0")
	if !isDigits(digits) || len(digits) > 9 {
		return 0, p.fail(fmt.Sprintf("%q is not a task number", w), example(v))
	}
	n, _ := strconv.Atoi(digits)
	return n, nil
}

func isOpenQuote(r rune) bool  { return r == '"' || r == '“' }
func isCloseQuote(r rune) bool { return r == '"' || r == '”' }

// startsOption reports whether the word at the start of s is an option of
// add rather than a word of its title.
func startsOption(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '@' || r == '!' || r == '#' || isOpenQuote(r) || hasPrefixFold(s, "due:") || hasPrefixFold(s, "every:")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// quoted reads a quoted string starting at pos; ok is false when it is not
// closed.
func (p *parser) quoted() (s string, ok bool) {
	_, n := utf8.DecodeRuneInString(p.s[p.pos:])
	var b strings.Builder
	for i := p.pos + n; i < len(p.s); {
		r, n := utf8.DecodeRuneInString(p.s[i:])
		switch {
		case r == '\\' && i+n < len(p.s):
			_, m := utf8.DecodeRuneInString(p.s[i+n:])
			b.WriteString(p.s[i+n : i+n+m])
			n += m
		case isCloseQuote(r):
			p.pos = i + n
			return b.String(), true
		default:
			b.WriteString(p.s[i : i+n])
		}
		i += n
	}
	return "", false
}

// quote renders a title so that add reads it back unchanged: as it is when
// it is plain words, else in quotes.
func quote(title string) string {
	words := strings.Fields(title)
	plain := strings.Join(words, " ") == title
	for _, w := range words {
		plain = plain && !startsOption(w)
	}
	if plain {
		return title
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range title {
		if r == '\\' || isCloseQuote(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func (p *parser) add() (Command, error) {
	cmd := Command{Verb: VerbAdd}
	var title []string
	for {
		start := p.pos
		r := p.peek()
		if r == 0 {
			break
		}
		switch {
		case r == '@':
			if cmd.User != nil {
				return Command{}, p.fail("a task has one assignee", example(VerbAdd))
			}
			m, err := p.mention(VerbAdd)
			if err != nil {
				return Command{}, err
			}
			cmd.User = &m
		case r == '!':
			w := p.word()
			name := strings.ToLower(w[1:])
			if !contains(priorities, name) {
				fallback := example(VerbAdd)
				if fix := closestWord(name, priorities); fix != "" {
					fallback = p.tryExample(p.replaced(start, p.pos, " !"+fix), fallback)
				}
				return Command{}, p.fail(fmt.Sprintf("%q is not a priority; use !low, !medium, !high or !urgent", w), fallback)
			}
			if cmd.Priority != "" {
				return Command{}, p.fail("a task has one priority", example(VerbAdd))
			}
			cmd.Priority = tasks.Priority(name)
		case r == '#':
			tag, err := p.tag(VerbAdd)
			if err != nil {
				return Command{}, err
			}
			if !contains(cmd.Tags, tag) {
				cmd.Tags = append(cmd.Tags, tag)
			}
		case isOpenQuote(r):
			s, ok := p.quoted()
			if !ok {
				return Command{}, p.fail("a quote is not closed", `/task add "Review PR #42" due:friday`)
			}
			if s = strings.TrimSpace(s); s != "" {
				title = append(title, s)
			}
		case hasPrefixFold(p.s[p.pos:], "due:"):
			if cmd.When != "" {
				return Command{}, p.fail("a task has one due date", example(VerbAdd))
			}
			when, err := p.due()
			if err != nil {
				return Command{}, err
			}
			cmd.When = when
		case hasPrefixFold(p.s[p.pos:], "every:"):
			if cmd.Rule != "" {
				return Command{}, p.fail("a task has one repeat rule", addRuleExample)
			}
			rule, err := p.every()
			if err != nil {
				return Command{}, err
			}
			cmd.Rule = rule
		default:
			title = append(title, p.word())
		}
	}
	cmd.Title = strings.Join(title, " ")
	switch n := utf8.RuneCountInString(cmd.Title); {
	case n == 0:
		return Command{}, p.fail("a task needs a title", example(VerbAdd))
	case n > MaxTitle:
		return Command{}, p.fail(fmt.Sprintf("the title has %d characters, more than %d", n, MaxTitle), example(VerbAdd))
	case len(cmd.Tags) > MaxTags:
		return Command{}, p.fail(fmt.Sprintf("a task has at most %d tags", MaxTags), example(VerbAdd))
	}
	return cmd, nil
}

// maxWhenWords bounds how far due:WHEN looks ahead; the longest WHEN people
// write ("on dec 1st, 2026 at 5 pm") has seven words.
const maxWhenWords = 8

// due reads "due:WHEN" and returns the WHEN's canonical text.
func (p *parser) due() (string, error) {
	p.pos += len("due:")
	if r, _ := utf8.DecodeRuneInString(p.s[p.pos:]); isOpenQuote(r) {
		start := p.pos
		phrase, ok := p.quoted()
		if !ok {
			return "", p.fail("a quote is not closed", `/task add Buy milk due:"tomorrow 5pm"`)
		}
		if _, err := parseWhen(phrase); err != nil {
			return "", p.whenError(err, phrase, start, p.pos, VerbAdd)
		}
		return normalizeWhen(phrase), nil
	}
	var words []string
	var ends []int
	start := -1
	for len(words) < maxWhenWords {
		p.skipSpace()
		if p.pos == len(p.s) || startsOption(p.s[p.pos:]) {
			break
		}
		if start < 0 {
			start = p.pos
		}
		words = append(words, p.word())
		ends = append(ends, p.pos)
	}
	if len(words) == 0 {
		return "", p.fail("due: needs a date or time", example(VerbAdd))
	}
	for k := len(words); k > 0; k-- {
		if phrase := strings.Join(words[:k], " "); validWhen(phrase) {
			p.pos = ends[k-1]
			return normalizeWhen(phrase), nil
		}
	}
	phrase := strings.Join(words, " ")
	_, err := parseWhen(phrase)
	return "", p.whenError(err, phrase, start, ends[len(ends)-1], VerbAdd)
}

// maxRuleWords bounds how far every:RULE looks ahead; "other week on mon,
// wed and fri at 9:30am until 2026-12-31" has twelve words.
const maxRuleWords = 14

// rulePhrase turns what follows every: or repeat N into a rule: an RRULE
// as it is, else words with one leading "every".
func rulePhrase(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if tasks.IsRRULE(s) {
		return s
	}
	if w, _, _ := strings.Cut(s, " "); strings.EqualFold(w, "every") {
		s = strings.TrimSpace(s[len(w):])
	}
	return "every " + s
}

func validRule(phrase string) error {
	_, err := tasks.ParseRule(phrase, time.UTC)
	return err
}

// ruleError reports a rule that did not parse.
func (p *parser) ruleError(err error, example string) error {
	return p.fail("in the repeat rule, "+err.Error(), example)
}

// every reads "every:RULE" and returns the rule.
func (p *parser) every() (string, error) {
	p.pos += len("every:")
	if r, _ := utf8.DecodeRuneInString(p.s[p.pos:]); isOpenQuote(r) {
		s, ok := p.quoted()
		if !ok {
			return "", p.fail("a quote is not closed", `/task add Stand-up every:"weekday at 9:30"`)
		}
		phrase := rulePhrase(s)
		if err := validRule(phrase); err != nil {
			return "", p.ruleError(err, addRuleExample)
		}
		return phrase, nil
	}
	var words []string
	var ends []int
	for len(words) < maxRuleWords {
		p.skipSpace()
		if p.pos == len(p.s) || startsOption(p.s[p.pos:]) {
			break
		}
		words = append(words, p.word())
		ends = append(ends, p.pos)
	}
	if len(words) == 0 {
		return "", p.fail("every: needs a rule", addRuleExample)
	}
	for k := len(words); k > 0; k-- {
		if phrase := rulePhrase(strings.Join(words[:k], " ")); validRule(phrase) == nil {
			p.pos = ends[k-1]
			return phrase, nil
		}
	}
	return "", p.ruleError(validRule(rulePhrase(strings.Join(words, " "))), addRuleExample)
}

// repeat reads "repeat N RULE" and "repeat N off".
func (p *parser) repeat() (Command, error) {
	n, err := p.number(VerbRepeat)
	if err != nil {
		return Command{}, err
	}
	rest := strings.TrimSpace(p.s[p.pos:])
	switch {
	case rest == "":
		return Command{}, p.fail("repeat needs a task number and then a rule, or off", example(VerbRepeat))
	case strings.EqualFold(rest, RuleOff):
		return Command{Verb: VerbRepeat, Number: n, Rule: RuleOff}, nil
	}
	phrase := rulePhrase(rest)
	if err := validRule(phrase); err != nil {
		return Command{}, p.ruleError(err, example(VerbRepeat))
	}
	return Command{Verb: VerbRepeat, Number: n, Rule: phrase}, nil
}

// whenError reports a WHEN or snooze phrase, found at s[start:end], that
// did not parse, suggesting the command with the phrase fixed.
func (p *parser) whenError(e *whenError, phrase string, start, end int, v Verb) error {
	fallback := example(v)
	if fixed := e.fixedPhrase(phrase); fixed != "" {
		fallback = p.tryExample(p.replaced(start, end, fixed), fallback)
	}
	return p.fail(e.reason, fallback)
}

// tag reads "#tag".
func (p *parser) tag(v Verb) (string, error) {
	w := p.word()
	tag := strings.ToLower(w[1:])
	hasLetter := false
	for _, r := range tag {
		switch {
		case unicode.IsLetter(r):
			hasLetter = true
		case unicode.IsDigit(r) || unicode.IsMark(r) || strings.ContainsRune("-_./", r):
		default:
			return "", p.fail(fmt.Sprintf("the tag %q may only have letters, digits and - _ . /", w), example(v))
		}
	}
	switch {
	case tag == "":
		return "", p.fail("# needs a tag name after it, like #home", example(v))
	case isDigits(tag):
		return "", p.fail(fmt.Sprintf("%q is a task number, not a tag; to keep it in a title, put the title in quotes", w), `/task add "Review PR #42" !high`)
	case !hasLetter:
		return "", p.fail(fmt.Sprintf("the tag %q needs a letter", w), example(v))
	case utf8.RuneCountInString(tag) > MaxTag:
		return "", p.fail(fmt.Sprintf("the tag %q is longer than %d characters", w, MaxTag), example(v))
	}
	return tag, nil
}

// mention reads "@name" as described at ParseCommand.
func (p *parser) mention(v Verb) (Mention, error) {
	p.skipSpace()
	after := p.s[p.pos+1:]
	best, bestLen, bestRunes := -1, 0, 0
	for i, name := range p.mentions {
		n, ok := foldPrefix(after, name)
		if !ok || name == "" {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(after[n:]); n < len(after) && !unicode.IsSpace(r) {
			continue
		}
		if runes := utf8.RuneCountInString(name); best < 0 || runes > bestRunes {
			best, bestLen, bestRunes = i, n, runes
		}
	}
	if best >= 0 {
		p.pos += 1 + bestLen
		return Mention{Index: best, Name: p.mentions[best]}, nil
	}
	w := p.word()
	handle := w[1:]
	for i, name := range p.mentions {
		if name != "" && strings.EqualFold(handle, strings.Join(strings.Fields(name), "")) {
			return Mention{Index: i, Name: name}, nil
		}
	}
	if strings.EqualFold(handle, "me") {
		return Mention{Index: MentionMe, Name: "me"}, nil
	}
	if handle == "" {
		return Mention{}, p.fail("@ needs a person after it", example(v))
	}
	return Mention{}, p.fail(fmt.Sprintf("I don't know who %q is; mention people with Cliq's @ so their name turns into a link, or write @me", w), example(v))
}

// foldPrefix reports whether s starts with prefix under Unicode case
// folding, and how many bytes of s that prefix takes.
func foldPrefix(s, prefix string) (int, bool) {
	n := 0
	for _, pr := range prefix {
		if n >= len(s) {
			return 0, false
		}
		sr, size := utf8.DecodeRuneInString(s[n:])
		if sr != pr && !strings.EqualFold(string(sr), string(pr)) {
			return 0, false
		}
		n += size
	}
	return n, true
}

func (p *parser) list() (Command, error) {
	cmd := Command{Verb: VerbList}
	start := p.pos
	switch r := p.peek(); {
	case r == 0:
		return cmd, nil
	case r == '@':
		m, err := p.mention(VerbList)
		if err != nil {
			return Command{}, err
		}
		cmd.Filter, cmd.User = FilterUser, &m
	case r == '#':
		tag, err := p.tag(VerbList)
		if err != nil {
			return Command{}, err
		}
		cmd.Filter, cmd.Tags = FilterTag, []string{tag}
	default:
		w := p.word()
		name := strings.ToLower(w)
		if !contains(listFilters, name) {
			fallback := example(VerbList)
			if fix := closestWord(name, listFilters); fix != "" {
				fallback = p.tryExample(p.replaced(start, p.pos, " "+fix), fallback)
			}
			return Command{}, p.fail(fmt.Sprintf("%q is not a list I know; use mine, all, today, overdue, @someone or #tag", w), fallback)
		}
		cmd.Filter = ListFilter(name)
	}
	return cmd, p.end(VerbList)
}

func (p *parser) assign() (Command, error) {
	n, err := p.number(VerbAssign)
	if err != nil {
		return Command{}, err
	}
	if p.peek() != '@' {
		return Command{}, p.fail("assign needs a number and an @mention", example(VerbAssign))
	}
	m, err := p.mention(VerbAssign)
	if err != nil {
		return Command{}, err
	}
	return Command{Verb: VerbAssign, Number: n, User: &m}, p.end(VerbAssign)
}

// dueOrSnooze reads "due N WHEN" and "snooze N DURATION".
func (p *parser) dueOrSnooze(v Verb) (Command, error) {
	n, err := p.number(v)
	if err != nil {
		return Command{}, err
	}
	p.skipSpace()
	start, phrase := p.pos, p.s[p.pos:]
	if phrase == "" {
		return Command{}, p.fail(fmt.Sprintf("%s needs a task number and then a time", v), example(v))
	}
	parse := func(s string) *whenError { _, err := parseWhen(s); return err }
	if v == VerbSnooze {
		parse = func(s string) *whenError { _, err := parseSnooze(s); return err }
	}
	if err := parse(phrase); err != nil {
		return Command{}, p.whenError(err, phrase, start, len(p.s), v)
	}
	cmd := Command{Verb: v, Number: n}
	if v == VerbSnooze {
		cmd.Snooze = normalizeWhen(phrase)
	} else {
		cmd.When = normalizeWhen(phrase)
	}
	return cmd, nil
}

func (p *parser) comment() (Command, error) {
	n, err := p.number(VerbComment)
	if err != nil {
		return Command{}, err
	}
	text := strings.TrimSpace(p.s[p.pos:])
	switch c := utf8.RuneCountInString(text); {
	case c == 0:
		return Command{}, p.fail("comment needs a task number and then the text", example(VerbComment))
	case c > MaxCommentText:
		return Command{}, p.fail(fmt.Sprintf("the comment has %d characters, more than %d", c, MaxCommentText), example(VerbComment))
	}
	return Command{Verb: VerbComment, Number: n, Text: text}, nil
}

func (p *parser) subscribe(v Verb) (Command, error) {
	cmd := Command{Verb: v}
	names := make([]string, len(eventNames))
	for i, e := range eventNames {
		names[i] = string(e)
	}
	words := strings.FieldsFunc(p.s[p.pos:], func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for _, w := range words {
		name := strings.ToLower(w)
		switch name {
		case "all", "*":
			for _, e := range eventNames {
				if !contains(cmd.Events, e) {
					cmd.Events = append(cmd.Events, e)
				}
			}
			continue
		case "comment.created":
			name = string(EventComment)
		}
		name = strings.TrimPrefix(name, "task.")
		if !contains(names, name) {
			fallback := example(v)
			if fix := closestWord(name, names); fix != "" {
				fallback = p.tryExample(string(v)+" "+fix, fallback)
			}
			return Command{}, p.fail(fmt.Sprintf("%q is not an event; use %s or all", w, strings.Join(names, ", ")), fallback)
		}
		if e := EventName(name); !contains(cmd.Events, e) {
			cmd.Events = append(cmd.Events, e)
		}
	}
	if v == VerbSubscribe && cmd.Events == nil {
		cmd.Events = append([]EventName(nil), DefaultEvents...)
	}
	return cmd, nil
}

// String renders c as the canonical text of its command, without "/task ":
// ParseCommand(c.String(), mentions) returns c again when given the
// mentions c was parsed with. In add, the mention comes last so that a
// display name can never swallow the words after it.
func (c Command) String() string {
	var b strings.Builder
	b.WriteString(string(c.Verb))
	switch c.Verb {
	case VerbAdd:
		b.WriteString(" " + quote(c.Title))
		if c.When != "" {
			b.WriteString(" due:" + c.When)
		}
		if c.Rule != "" {
			b.WriteString(` every:"` + strings.TrimPrefix(c.Rule, "every ") + `"`)
		}
		if c.Priority != "" {
			b.WriteString(" !" + string(c.Priority))
		}
		for _, t := range c.Tags {
			b.WriteString(" #" + t)
		}
		if c.User != nil {
			b.WriteString(" @" + c.User.Name)
		}
	case VerbList:
		switch {
		case c.Filter == FilterUser && c.User != nil:
			b.WriteString(" @" + c.User.Name)
		case c.Filter == FilterTag && len(c.Tags) > 0:
			b.WriteString(" #" + c.Tags[0])
		case c.Filter != FilterDefault:
			b.WriteString(" " + string(c.Filter))
		}
	case VerbShow, VerbDone, VerbReopen, VerbDelete, VerbSkip:
		fmt.Fprintf(&b, " %d", c.Number)
	case VerbRepeat:
		fmt.Fprintf(&b, " %d %s", c.Number, c.Rule)
	case VerbAssign:
		fmt.Fprintf(&b, " %d", c.Number)
		if c.User != nil {
			b.WriteString(" @" + c.User.Name)
		}
	case VerbDue:
		fmt.Fprintf(&b, " %d %s", c.Number, c.When)
	case VerbSnooze:
		fmt.Fprintf(&b, " %d %s", c.Number, c.Snooze)
	case VerbComment:
		fmt.Fprintf(&b, " %d %s", c.Number, c.Text)
	case VerbSubscribe, VerbUnsubscribe:
		for _, e := range c.Events {
			b.WriteString(" " + string(e))
		}
	}
	return b.String()
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// closestWord returns the word of vocabulary nearest to w when it is close
// enough to be a typo of it (one edit for short words, two for longer
// ones), else "".
func closestWord(w string, vocabulary []string) string {
	limit := 2
	if utf8.RuneCountInString(w) <= 4 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, v := range vocabulary {
		if d := editDistance(w, v); d > 0 && d < bestDist {
			best, bestDist = v, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours ("dnoe" is
// one edit from "done") each cost one. Long words are not typos of any
// vocabulary word, so they are not compared.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 32 || len(rb) > 32 {
		return 99
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
