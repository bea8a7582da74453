package bot

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/taskerhq/tasker/tasks"
)

// team is the mentions of most cases, in Cliq's order.
var team = []string{"Lars Becker", "Priya Raman"}

var (
	lars  = &Mention{Index: 0, Name: "Lars Becker"}
	priya = &Mention{Index: 1, Name: "Priya Raman"}
	me    = &Mention{Index: MentionMe, Name: "me"}
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		mentions []string
		want     Command
	}{
		{"Empty", "", nil, Command{Verb: VerbHelp}},
		{"Spaces", "  \t ", nil, Command{Verb: VerbHelp}},
		{"Help", "help", nil, Command{Verb: VerbHelp}},
		{"HelpWithTopic", "HELP add", nil, Command{Verb: VerbHelp}},
		{"SlashTaskOnly", "/task", nil, Command{Verb: VerbHelp}},
		{"SlashTaskPrefix", "/Task done 4", nil, Command{Verb: VerbDone, Number: 4}},

		{"Add", "add Buy milk", nil, Command{Verb: VerbAdd, Title: "Buy milk"}},
		{"AddUpperCaseVerb", "ADD Buy milk", nil, Command{Verb: VerbAdd, Title: "Buy milk"}},
		{"AddFixture", "add Update release notes @Lars Becker due:2025-03-14", team,
			Command{Verb: VerbAdd, Title: "Update release notes", When: "2025-03-14", User: lars}},
		{"AddDueTwoWords", "add Buy milk due:tomorrow 5pm", nil,
			Command{Verb: VerbAdd, Title: "Buy milk", When: "tomorrow 5pm"}},
		{"AddDueStopsAtTitle", "add Call Bob due:friday 5pm about the trip", nil,
			Command{Verb: VerbAdd, Title: "Call Bob about the trip", When: "friday 5pm"}},
		{"AddDueQuoted", `add Buy milk due:"Tomorrow  5PM"`, nil,
			Command{Verb: VerbAdd, Title: "Buy milk", When: "tomorrow 5pm"}},
		{"AddDueSpaceAfterColon", "add Buy milk due: tomorrow", nil,
			Command{Verb: VerbAdd, Title: "Buy milk", When: "tomorrow"}},
		{"AddDueUpperCase", "add Buy milk DUE:Friday", nil,
			Command{Verb: VerbAdd, Title: "Buy milk", When: "friday"}},
		{"AddDueFirstWithComma", "add due:friday, Buy milk", nil,
			Command{Verb: VerbAdd, Title: "Buy milk", When: "friday"}},
		{"AddDueIn", "add Deploy due:in 3 hours !urgent", nil,
			Command{Verb: VerbAdd, Title: "Deploy", When: "in 3 hours", Priority: tasks.PriorityUrgent}},
		{"AddEverything", "add Buy milk due:tomorrow 5pm @Lars Becker !high #Home #errands", team,
			Command{Verb: VerbAdd, Title: "Buy milk", When: "tomorrow 5pm", User: lars, Priority: tasks.PriorityHigh, Tags: []string{"home", "errands"}}},
		{"AddOptionsFirst", "add !URGENT #ops @larsbecker Restart the server", team,
			Command{Verb: VerbAdd, Title: "Restart the server", User: lars, Priority: tasks.PriorityUrgent, Tags: []string{"ops"}}},
		{"AddMentionMidTitle", "add Ask @Priya Raman about the budget", team,
			Command{Verb: VerbAdd, Title: "Ask about the budget", User: priya}},
		{"AddMe", "add Fix login @me", nil, Command{Verb: VerbAdd, Title: "Fix login", User: me}},
		{"AddMediumPriority", "add Fix login !medium", nil, Command{Verb: VerbAdd, Title: "Fix login", Priority: tasks.PriorityMedium}},
		{"AddDuplicateTags", "add Buy milk #home #HOME", nil, Command{Verb: VerbAdd, Title: "Buy milk", Tags: []string{"home"}}},
		{"AddTagCharacters", "add Ship #v1.2 #q3-launch #web/ui #Straße", nil,
			Command{Verb: VerbAdd, Title: "Ship", Tags: []string{"v1.2", "q3-launch", "web/ui", "straße"}}},
		{"AddQuotedTitle", `add "Review PR #42" !high`, nil, Command{Verb: VerbAdd, Title: "Review PR #42", Priority: tasks.PriorityHigh}},
		{"AddSmartQuotes", "add “Review PR #42” due:friday", nil, Command{Verb: VerbAdd, Title: "Review PR #42", When: "friday"}},
		{"AddQuoteEscapes", `add "say \"hi\" \\o/" now`, nil, Command{Verb: VerbAdd, Title: `say "hi" \o/ now`}},
		{"AddWordsJoined", "add  Buy\tmilk \n today", nil, Command{Verb: VerbAdd, Title: "Buy milk today"}},
		{"AddPunctuationInWords", "add Don't panic! It's fine", nil, Command{Verb: VerbAdd, Title: "Don't panic! It's fine"}},
		{"AddUnicode", "add Präsentation für Zoë 📊", nil, Command{Verb: VerbAdd, Title: "Präsentation für Zoë 📊"}},
		{"AddLongestTitle", "add " + strings.Repeat("ä", 300), nil, Command{Verb: VerbAdd, Title: strings.Repeat("ä", 300)}},

		{"New", "new", nil, Command{Verb: VerbNew}},
		{"Link", "Link", nil, Command{Verb: VerbLink}},

		{"List", "list", nil, Command{Verb: VerbList}},
		{"ListMine", "list mine", nil, Command{Verb: VerbList, Filter: FilterMine}},
		{"ListAll", "list ALL", nil, Command{Verb: VerbList, Filter: FilterAll}},
		{"ListToday", "list today", nil, Command{Verb: VerbList, Filter: FilterToday}},
		{"ListOverdue", "list overdue", nil, Command{Verb: VerbList, Filter: FilterOverdue}},
		{"ListUser", "list @Priya Raman", team, Command{Verb: VerbList, Filter: FilterUser, User: priya}},
		{"ListTag", "list #Backend", nil, Command{Verb: VerbList, Filter: FilterTag, Tags: []string{"backend"}}},

		{"Show", "show 42", nil, Command{Verb: VerbShow, Number: 42}},
		{"DoneHash", "done #42", nil, Command{Verb: VerbDone, Number: 42}},
		{"Reopen", "reopen 7", nil, Command{Verb: VerbReopen, Number: 7}},
		{"DeleteLeadingZeros", "delete 0042", nil, Command{Verb: VerbDelete, Number: 42}},

		{"Assign", "assign 42 @Lars Becker", team, Command{Verb: VerbAssign, Number: 42, User: lars}},
		{"AssignFolded", "assign #42 @lars becker", team, Command{Verb: VerbAssign, Number: 42, User: lars}},
		{"AssignHandle", "assign 42 @LarsBecker", team, Command{Verb: VerbAssign, Number: 42, User: lars}},
		{"AssignMe", "assign 42 @Me", team, Command{Verb: VerbAssign, Number: 42, User: me}},
		{"AssignLongestName", "assign 1 @Lars Becker", []string{"Lars", "Lars Becker"},
			Command{Verb: VerbAssign, Number: 1, User: &Mention{Index: 1, Name: "Lars Becker"}}},
		{"AssignEarliestOfEqualNames", "assign 1 @LARS BECKER", []string{"Lars Becker", "lars becker"},
			Command{Verb: VerbAssign, Number: 1, User: lars}},
		{"AssignTrimmedName", "assign 1 @Lars Becker", []string{"  Lars Becker "},
			Command{Verb: VerbAssign, Number: 1, User: lars}},
		{"AddNameLikeAnOption", "add Call @Lars !high", []string{"Lars", "Lars !high"},
			Command{Verb: VerbAdd, Title: "Call", User: &Mention{Index: 1, Name: "Lars !high"}}},
		{"AddShorterNameNeedsBoundary", "add Call @Lars Beckerman", []string{"Lars", "Lars Becker"},
			Command{Verb: VerbAdd, Title: "Call Beckerman", User: &Mention{Index: 0, Name: "Lars"}}},

		{"Due", "due 42 friday 5pm", nil, Command{Verb: VerbDue, Number: 42, When: "friday 5pm"}},
		{"DueCanonical", "due #42 Next  Monday 10AM", nil, Command{Verb: VerbDue, Number: 42, When: "next monday 10am"}},
		{"Snooze", "snooze 42 2h", nil, Command{Verb: VerbSnooze, Number: 42, Snooze: "2h"}},
		{"SnoozeWords", "snooze 42 30 Min", nil, Command{Verb: VerbSnooze, Number: 42, Snooze: "30 min"}},
		{"SnoozeMinutes", "snooze 42 90", nil, Command{Verb: VerbSnooze, Number: 42, Snooze: "90"}},
		{"SnoozeTomorrow", "snooze 42 tomorrow", nil, Command{Verb: VerbSnooze, Number: 42, Snooze: "tomorrow"}},
		{"SnoozeNextWeek", "snooze 42 nextweek", nil, Command{Verb: VerbSnooze, Number: 42, Snooze: "nextweek"}},

		{"Comment", "comment 42 Waiting for @Lars Becker #ui!", team,
			Command{Verb: VerbComment, Number: 42, Text: "Waiting for @Lars Becker #ui!"}},
		{"CommentMultiLine", "comment 42   first\n  second  ", nil, Command{Verb: VerbComment, Number: 42, Text: "first\n  second"}},

		{"Subscribe", "subscribe", nil, Command{Verb: VerbSubscribe, Events: DefaultEvents}},
		{"SubscribeSome", "subscribe created completed assigned overdue", nil,
			Command{Verb: VerbSubscribe, Events: []EventName{EventCreated, EventCompleted, EventAssigned, EventOverdue}}},
		{"SubscribeTypes", "subscribe task.Created, comment.created,status_changed", nil,
			Command{Verb: VerbSubscribe, Events: []EventName{EventCreated, EventComment, EventStatusChanged}}},
		{"SubscribeAll", "subscribe completed all", nil, Command{Verb: VerbSubscribe, Events: []EventName{
			EventCompleted, EventCreated, EventUpdated, EventStatusChanged, EventAssigned, EventDeleted, EventReminder, EventOverdue, EventComment}}},
		{"SubscribeDuplicates", "subscribe completed completed", nil, Command{Verb: VerbSubscribe, Events: []EventName{EventCompleted}}},
		{"Unsubscribe", "unsubscribe", nil, Command{Verb: VerbUnsubscribe}},
		{"UnsubscribeSome", "unsubscribe overdue reminder", nil, Command{Verb: VerbUnsubscribe, Events: []EventName{EventOverdue, EventReminder}}},

		{"AddEvery", "add Stand-up every:weekday at 9:30", nil, Command{Verb: VerbAdd, Title: "Stand-up", Rule: "every weekday at 9:30"}},
		{"AddEveryStopsAtTitle", "add every:mon, wed and fri at 9am Stand-up with @me #team", nil,
			Command{Verb: VerbAdd, Title: "Stand-up with", Rule: "every mon, wed and fri at 9am", User: me, Tags: []string{"team"}}},
		{"AddEveryAndDue", "add Rent due:2026-12-01 every:month on the 1st until 2027-06-30 !high", nil,
			Command{Verb: VerbAdd, Title: "Rent", When: "2026-12-01", Rule: "every month on the 1st until 2027-06-30", Priority: tasks.PriorityHigh}},
		{"AddEveryQuoted", `add Report every:"every other Friday at 17:00"`, nil, Command{Verb: VerbAdd, Title: "Report", Rule: "every other Friday at 17:00"}},
		{"AddEveryRRULE", "add Backup EVERY:FREQ=DAILY;BYHOUR=2", nil, Command{Verb: VerbAdd, Title: "Backup", Rule: "FREQ=DAILY;BYHOUR=2"}},
		{"Repeat", "repeat 42 every 2nd tuesday at 10am", nil, Command{Verb: VerbRepeat, Number: 42, Rule: "every 2nd tuesday at 10am"}},
		{"RepeatWithoutEvery", "repeat #42 last friday", nil, Command{Verb: VerbRepeat, Number: 42, Rule: "every last friday"}},
		{"RepeatOff", "repeat 42 OFF", nil, Command{Verb: VerbRepeat, Number: 42, Rule: RuleOff}},
		{"Skip", "skip 42", nil, Command{Verb: VerbSkip, Number: 42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.in, tt.mentions)
			if err != nil {
				t.Fatalf("ParseCommand(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCommand(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			again, err := ParseCommand(got.String(), tt.mentions)
			if err != nil {
				t.Fatalf("ParseCommand(%q) error: %v", got.String(), err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("ParseCommand(%q), from %q, mismatch (-first +again):\n%s", got.String(), tt.in, diff)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantReason  string // contained in the reason
		wantExample string
	}{
		{"VerbTypo", "dnoe 42", "", "/task done 42"},
		{"VerbTypoKeepsArguments", "ad Buy milk due:friday", "", "/task add Buy milk due:friday"},
		{"VerbTypoBadArguments", "dnoe 42 43", "", "/task done 42"},
		{"VerbMissingLetter", "lst overdue", "", "/task list overdue"},
		{"VerbUnknown", "remind me to review PR 318 tomorrow at 10:00", "", "/task help"},
		{"VerbTypoOfHelpKeepsNoWords", "hello there", "", "/task help"},
		{"InvalidUTF8", "add \xff", "bytes that are not text", "/task help"},

		{"NumberMissing", "done", "done needs a task number", "/task done 42"},
		{"NumberWord", "show abc", `"abc" is not a task number`, "/task show 42"},
		{"NumberZero", "reopen 0", `"0" is not a task number`, "/task reopen 42"},
		{"NumberNegative", "delete -3", `"-3" is not a task number`, "/task delete 42"},
		{"NumberHuge", "done 1234567890", `"1234567890" is not a task number`, "/task done 42"},
		{"NumberTwice", "done 42 43", `I did not expect "43" after done 42`, "/task done 42"},
		{"NewWithTitle", "new Buy milk", `I did not expect "Buy" after new`, "/task new"},
		{"LinkWithArgument", "link me", `I did not expect "me" after link`, "/task link"},

		{"AddNoTitle", "add", "a task needs a title", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddOnlyOptions", "add due:friday !high", "a task needs a title", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddTitleTooLong", "add " + strings.Repeat("x", 301), "the title has 301 characters, more than 300", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddDueTypo", "add Buy milk due:frday 5pm", `"frday" is not a day or time I know`, "/task add Buy milk due:friday 5pm"},
		{"AddEveryUnknown", "add Stand-up every:fortnight", `in the repeat rule, "fortnight" is not understood here`, "/task add Stand-up every:weekday at 9:30"},
		{"AddEveryEmpty", "add Stand-up every:", "every: needs a rule", "/task add Stand-up every:weekday at 9:30"},
		{"AddEveryTwice", "add Stand-up every:day every:week", "a task has one repeat rule", "/task add Stand-up every:weekday at 9:30"},
		{"AddEveryBadRRULE", "add Stand-up every:FREQ=HOURLY", `in the repeat rule, FREQ "HOURLY" is not supported`, "/task add Stand-up every:weekday at 9:30"},
		{"RepeatNoRule", "repeat 42", "repeat needs a task number and then a rule, or off", "/task repeat 42 every weekday at 9:30"},
		{"RepeatBadTime", "repeat 42 every day at 9:75", "in the repeat rule, at needs a time", "/task repeat 42 every weekday at 9:30"},
		{"SkipNoNumber", "skip", "skip needs a task number", "/task skip 42"},
		{"AddDueTypoBeforeTitle", "add due:tomorow Buy milk", `"tomorow" is not a day or time I know`, "/task add due:tomorrow Buy milk"},
		{"AddDueQuotedTypo", `add Buy milk due:"frday 5pm"`, `"frday" is not a day or time I know`, "/task add Buy milk due:friday 5pm"},
		{"AddDueEmpty", "add Buy milk due:", "due: needs a date or time", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddDueTwice", "add Buy milk due:friday due:monday", "a task has one due date", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddDueQuoteOpen", `add Buy milk due:"friday`, "a quote is not closed", `/task add Buy milk due:"tomorrow 5pm"`},
		{"AddQuoteOpen", `add "Review PR #42 !high`, "a quote is not closed", `/task add "Review PR #42" due:friday`},
		{"AddPriorityTypo", "add Fix login !hgh", `"!hgh" is not a priority; use !low, !medium, !high or !urgent`, "/task add Fix login !high"},
		{"AddPriorityUnknown", "add Fix login !asap", `"!asap" is not a priority`, "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddPriorityBare", "add Wow ! nice", `"!" is not a priority`, "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddPriorityTwice", "add Fix login !high !low", "a task has one priority", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddTagNumber", "add Review PR #42", `"#42" is a task number, not a tag; to keep it in a title, put the title in quotes`, `/task add "Review PR #42" !high`},
		{"AddTagEmpty", "add Buy milk #", "# needs a tag name after it", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddTagPunctuation", "add Buy milk #home,", `the tag "#home," may only have letters, digits and - _ . /`, "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddTagNoLetter", "add Buy milk #2-3", `the tag "#2-3" needs a letter`, "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddTagTooLong", "add Buy milk #" + strings.Repeat("a", 41), "is longer than 40 characters", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddTooManyTags", "add Buy milk" + tags(21), "a task has at most 20 tags", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddUnknownMention", "add Buy milk @bob", `I don't know who "@bob" is; mention people with Cliq's @`, "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddBareAt", "add Buy milk @ home", "@ needs a person after it", "/task add Buy milk due:tomorrow 5pm !high #home"},
		{"AddTwoAssignees", "add Buy milk @Lars Becker @Priya Raman", "a task has one assignee", "/task add Buy milk due:tomorrow 5pm !high #home"},

		{"ListTypo", "list overdeu", `"overdeu" is not a list I know; use mine, all, today, overdue, @someone or #tag`, "/task list overdue"},
		{"ListUnknown", "list everything", `"everything" is not a list I know`, "/task list overdue"},
		{"ListTwoFilters", "list mine overdue", `I did not expect "overdue" after list mine`, "/task list overdue"},
		{"ListUnknownMention", "list @bob", `I don't know who "@bob" is`, "/task list overdue"},
		{"ListBadTag", "list #42", `"#42" is a task number`, `/task add "Review PR #42" !high`},

		{"AssignNoUser", "assign 42", "assign needs a number and an @mention", "/task assign 42 @me"},
		{"AssignName", "assign 42 lars", "assign needs a number and an @mention", "/task assign 42 @me"},
		{"AssignNoNumber", "assign @Lars Becker", `"@Lars" is not a task number`, "/task assign 42 @me"},
		{"AssignExtra", "assign 42 @Lars Becker now", `I did not expect "now" after assign 42 @Lars Becker`, "/task assign 42 @me"},

		{"DueNoWhen", "due 42", "due needs a task number and then a time", "/task due 42 friday 5pm"},
		{"DueTypo", "due 42 tomorow 5pm", `"tomorow" is not a day or time I know`, "/task due 42 tomorrow 5pm"},
		{"DueBadTime", "due 42 friday 25:00", `"25:00" is not a time of day`, "/task due 42 friday 5pm"},
		{"SnoozeNoLength", "snooze 42", "snooze needs a task number and then a time", "/task snooze 42 2h"},
		{"SnoozeTypo", "snooze 42 2 dayz", `"dayz" is not a unit of time`, "/task snooze 42 2 days"},
		{"SnoozeZero", "snooze 42 0", "must be more than zero", "/task snooze 42 2h"},

		{"CommentEmpty", "comment 42", "comment needs a task number and then the text", "/task comment 42 Waiting for the designs"},
		{"CommentTooLong", "comment 42 " + strings.Repeat("x", 10001), "the comment has 10001 characters, more than 10000", "/task comment 42 Waiting for the designs"},

		{"SubscribeTypo", "subscribe created complted", `"complted" is not an event; use created, updated, status_changed, completed, assigned, deleted, reminder, overdue, comment or all`, "/task subscribe completed"},
		{"UnsubscribeUnknown", "unsubscribe everything", `"everything" is not an event`, "/task unsubscribe overdue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.in, team)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseCommand(%q) = %+v, %v, want a *SyntaxError", tt.in, got, err)
			}
			if (tt.wantReason == "") != (se.Reason == "") || !strings.Contains(se.Reason, tt.wantReason) || se.Example != tt.wantExample {
				t.Errorf("ParseCommand(%q) error = reason %q, example %q; want reason containing %q, example %q",
					tt.in, se.Reason, se.Example, tt.wantReason, tt.wantExample)
			}
			mustParseExample(t, se, team)
		})
	}
}

// tags returns " #t1 #t2 … #tn".
func tags(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(" #t" + strconv.Itoa(i))
	}
	return b.String()
}

// mustParseExample fails the test unless the example an error suggests is
// itself a command that parses.
func mustParseExample(t *testing.T, se *SyntaxError, mentions []string) {
	t.Helper()
	cmd, ok := strings.CutPrefix(se.Example, "/task ")
	if !ok {
		t.Fatalf("example %q of %q does not start with /task", se.Example, se.Input)
	}
	if _, err := ParseCommand(cmd, mentions); err != nil {
		t.Fatalf("example %q of %q fails: %v", se.Example, se.Input, err)
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"dnoe 42", `I didn't understand "dnoe 42". Try: /task done 42`},
		{"add Buy milk due:frday", `I didn't understand "add Buy milk due:frday": "frday" is not a day or time I know. Try: /task add Buy milk due:friday`},
		{"add " + strings.Repeat("word ", 30) + "!hgh",
			`I didn't understand "add ` + strings.Repeat("word ", 14) + `word…": "!hgh" is not a priority; use !low, !medium, !high or !urgent. Try: /task add ` + strings.Repeat("word ", 30) + `!high`},
		{"comment\n\n42", `I didn't understand "comment 42": comment needs a task number and then the text. Try: /task comment 42 Waiting for the designs`},
	}
	for _, tt := range tests {
		_, err := ParseCommand(tt.in, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseCommand(%q) error = %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestVerbExamplesParse(t *testing.T) {
	for _, v := range verbs {
		cmd, err := ParseCommand(v.example, nil)
		if err != nil || cmd.Verb != v.verb {
			t.Errorf("ParseCommand(%q) = %+v, %v, want verb %s", v.example, cmd, err, v.verb)
		}
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		cmd  Command
		want string
	}{
		{Command{Verb: VerbHelp}, "help"},
		{Command{Verb: VerbAdd, Title: "Buy milk", When: "tomorrow 5pm", Priority: tasks.PriorityHigh, Tags: []string{"home", "errands"}, User: lars},
			"add Buy milk due:tomorrow 5pm !high #home #errands @Lars Becker"},
		{Command{Verb: VerbAdd, Title: "Review PR #42"}, `add "Review PR #42"`},
		{Command{Verb: VerbAdd, Title: `say "hi" \o/`}, `add "say \"hi\" \\o/"`},
		{Command{Verb: VerbAdd, Title: "due:later"}, `add "due:later"`},
		{Command{Verb: VerbAdd, Title: "two  spaces"}, `add "two  spaces"`},
		{Command{Verb: VerbList}, "list"},
		{Command{Verb: VerbList, Filter: FilterOverdue}, "list overdue"},
		{Command{Verb: VerbList, Filter: FilterUser, User: priya}, "list @Priya Raman"},
		{Command{Verb: VerbList, Filter: FilterTag, Tags: []string{"backend"}}, "list #backend"},
		{Command{Verb: VerbDone, Number: 42}, "done 42"},
		{Command{Verb: VerbAssign, Number: 42, User: me}, "assign 42 @me"},
		{Command{Verb: VerbDue, Number: 42, When: "friday 5pm"}, "due 42 friday 5pm"},
		{Command{Verb: VerbSnooze, Number: 42, Snooze: "2h"}, "snooze 42 2h"},
		{Command{Verb: VerbComment, Number: 42, Text: "Looks good"}, "comment 42 Looks good"},
		{Command{Verb: VerbSubscribe, Events: DefaultEvents}, "subscribe created completed overdue"},
		{Command{Verb: VerbUnsubscribe}, "unsubscribe"},
	}
	for _, tt := range tests {
		if got := tt.cmd.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"done", "done", 0},
		{"dnoe", "done", 1},
		{"ad", "add", 1},
		{"lst", "list", 1},
		{"frday", "friday", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"ä", "a", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// splitMentions turns the fuzzer's second argument into display names.
func splitMentions(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []struct{ text, mentions string }{
		{"add Buy milk", ""},
		{"done 12", ""},
		{"due 4 tomorrow 9am", ""},
		{"list overdue", ""},
		{"", ""},
		{"add Update release notes @Lars Becker due:2025-03-14", "Lars Becker"},
		{"add Call Bob due:friday 5pm about the trip !high #home #Errands", ""},
		{`add "Review PR #42" due:"next monday 10am" @larsbecker`, "Lars Becker|Priya Raman"},
		{"add “smart” quotes \\\" @Lars", "Lars|Lars Becker"},
		{"assign #42 @me", ""},
		{"list @Priya Raman", "Lars Becker|Priya Raman"},
		{"list #backend", ""},
		{"snooze 42 1h30m", ""},
		{"comment 42 see @Lars Becker", "Lars Becker"},
		{"subscribe task.created, comment.created all", ""},
		{"unsubscribe", ""},
		{"dnoe 42", ""},
		{"/task new", ""},
		{"add Stand-up every:weekday at 9:30 #team", ""},
		{`add Rent every:"month on the last day until 2027-01-31" due:friday`, ""},
		{"repeat 4 every other monday, 3 times", ""},
		{"repeat 4 FREQ=MONTHLY;BYDAY=-1FR", ""},
		{"skip 4", ""},
	} {
		f.Add(seed.text, seed.mentions)
	}
	f.Fuzz(func(t *testing.T, in, mentionList string) {
		mentions := splitMentions(mentionList)
		cmd, err := ParseCommand(in, mentions)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseCommand(%q) error = %#v, want a *SyntaxError", in, err)
			}
			mustParseExample(t, se, mentions)
			return
		}
		again, err := ParseCommand(cmd.String(), mentions)
		if err != nil || !cmp.Equal(again, cmd) {
			t.Fatalf("round trip of %q (mentions %q) via %q: got %+v, %v; want %+v", in, mentions, cmd.String(), again, err, cmd)
		}
		if cmd.When != "" && !validWhen(cmd.When) {
			t.Fatalf("ParseCommand(%q).When = %q, which does not parse", in, cmd.When)
		}
		if cmd.Rule != "" && cmd.Rule != RuleOff && validRule(cmd.Rule) != nil {
			t.Fatalf("ParseCommand(%q).Rule = %q, which does not parse", in, cmd.Rule)
		}
		if cmd.Snooze != "" && !validSnooze(cmd.Snooze) {
			t.Fatalf("ParseCommand(%q).Snooze = %q, which does not parse", in, cmd.Snooze)
		}
		if cmd.Verb == VerbAdd && (cmd.Title == "" || len([]rune(cmd.Title)) > MaxTitle || len(cmd.Tags) > MaxTags) {
			t.Fatalf("ParseCommand(%q) = %+v, outside the limits", in, cmd)
		}
		for _, tag := range cmd.Tags {
			if tag != strings.ToLower(tag) || len([]rune(tag)) > MaxTag {
				t.Fatalf("ParseCommand(%q) has tag %q", in, tag)
			}
		}
		if cmd.User != nil && cmd.User.Index != MentionMe && (cmd.User.Index >= len(mentions) || strings.TrimSpace(mentions[cmd.User.Index]) != cmd.User.Name) {
			t.Fatalf("ParseCommand(%q, %q).User = %+v, not one of the mentions", in, mentions, cmd.User)
		}
	})
}
