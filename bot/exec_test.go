package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// TestGrammarEndToEnd runs every form of the /task grammar, in order, as
// one user in one workspace, and checks each answer and what it stored.
func TestGrammarEndToEnd(t *testing.T) {
	tb := newTestBot(t, nil)
	steps := []struct {
		args       string
		chat       map[string]any
		wantText   []string // in the answer's text
		wantTitle  string   // in the card title
		wantType   string   // "form" for forms
		wantButton string   // among the button keys
	}{
		{args: "", wantTitle: "Tasker commands", wantButton: "new"},
		{args: "help", wantTitle: "Tasker commands", wantButton: "list::"},
		{args: "add Water plants due:tomorrow", wantText: []string{"Created task #1"}, wantTitle: "#1 Water plants", wantButton: "done:1"},
		{args: "add Review PR due:friday 5pm @Lars Becker !high #backend #Review", wantText: []string{"Created task #2"}, wantButton: "assign_me:2"},
		{args: `add "Fix #42 crash" !urgent`, wantText: []string{"Created task #3"}, wantTitle: "#3 Fix #42 crash"},
		{args: "add Call Bob due:in 3h @me", wantText: []string{"Created task #4"}},
		{args: "new", wantType: "form"},
		{args: "list", wantTitle: "Your tasks", wantText: []string{"3 tasks, newest first."}},
		{args: "list mine", wantTitle: "Assigned to you", wantText: []string{"1 task, newest first."}},
		{args: "list all", wantTitle: "All open tasks", wantText: []string{"4 tasks, newest first."}},
		{args: "list today", wantTitle: "Due today", wantText: []string{"1 task, newest first."}},
		{args: "list overdue", wantText: []string{"Nothing is overdue"}},
		{args: "list @Lars Becker", wantTitle: "Assigned to Lars Becker"},
		{args: "list #backend", wantTitle: "Tagged #backend"},
		{args: "list #nothing", wantText: []string{"No open task is tagged #nothing"}},
		{args: "show 2", wantTitle: "#2 Review PR", wantButton: "done:2"},
		{args: "done 1", wantText: []string{"Task #1 is done"}, wantButton: "reopen:1"},
		{args: "reopen #1", wantText: []string{"Task #1 is open again"}, wantButton: "done:1"},
		{args: "assign 1 @Lars Becker", wantText: []string{"assigned to Lars Becker"}},
		{args: "assign 1 @me", wantText: []string{"assigned to Priya Raman"}},
		{args: "due 1 2025-03-20 10:30", wantText: []string{"now due Thu 20 Mar 10:30 CET"}},
		{args: "snooze 1 2h", wantText: []string{"snoozed until today 11:15 CET"}, wantButton: "snooze:1:tomorrow"},
		{args: "comment 1 Waiting for the designs", wantText: []string{"Comment added to task #1: Waiting for the designs"}},
		{args: "delete 3", wantText: []string{"Deleted task #3 Fix #42 crash"}},
		{args: "subscribe", wantText: []string{"run this in the channel"}},
		{args: "subscribe", chat: channelChat(), wantText: []string{"#devtasks", "created, completed, overdue"}},
		{args: "subscribe comment assigned", chat: channelChat(), wantText: []string{"created, completed, assigned, overdue, comment"}},
		{args: "unsubscribe overdue", chat: channelChat(), wantText: []string{"created, completed, assigned, comment."}},
		{args: "unsubscribe", chat: channelChat(), wantText: []string{"no task events now"}},
		{args: "link", wantText: []string{"linked to the Tasker user Priya Raman (priya.raman@example.com)", "Europe/Berlin"}},
	}
	for _, s := range steps {
		got := tb.command(t, s.args, s.chat)
		if s.wantType != "" && got["type"] != s.wantType {
			t.Errorf("/task %s: type = %v, want %s", s.args, got["type"], s.wantType)
		}
		for _, w := range s.wantText {
			mustContain(t, "/task "+s.args+": text", text(got), w)
		}
		if s.wantTitle != "" {
			mustContain(t, "/task "+s.args+": card title", cardTitle(got), s.wantTitle)
		}
		if s.wantButton != "" && !strings.Contains(strings.Join(buttonKeys(got), " "), s.wantButton) {
			t.Errorf("/task %s: buttons = %v, want %s", s.args, buttonKeys(got), s.wantButton)
		}
	}

	ctx := t.Context()
	two, _ := tb.store.GetTask(ctx, tb.ws, "2")
	friday := time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)
	if two.Priority != tasks.PriorityHigh || strings.Join(two.Tags, ",") != "backend,review" || two.DueAt == nil || !two.DueAt.Equal(friday) {
		t.Errorf("task 2 = %+v", two)
	}
	one, _ := tb.store.GetTask(ctx, tb.ws, "1")
	if one.SnoozedUntil == nil || !one.SnoozedUntil.Equal(testNow.Add(2*time.Hour)) {
		t.Errorf("task 1 snoozed until %v", one.SnoozedUntil)
	}
	subs, _ := tb.store.ChannelSubscriptions(ctx, tb.ws)
	if len(subs) != 0 {
		t.Errorf("subscriptions left = %+v", subs)
	}
}

// TestGrammarMistakes checks that every mistake gets a 200 answer saying
// what was not understood, with an example, and changes nothing.
func TestGrammarMistakes(t *testing.T) {
	tb := newTestBot(t, nil)
	tb.command(t, "add Existing task", nil)
	for _, c := range []struct{ args, want string }{
		{"dnoe 1", "Try: /task done 1"},
		{"frobnicate", `I didn't understand "frobnicate". Try: /task help`},
		{"add", "a task needs a title"},
		{"add Buy milk due:frday", "Try: /task add Buy milk due:friday"},
		{"add Buy milk !hihg", "Try: /task add Buy milk !high"},
		{"add Call @Nobody Known", `I don't know who "@Nobody"`},
		{"done", "done needs a task number"},
		{"done 99", "There is no task #99"},
		{"reopen 99", "There is no task #99"},
		{"show 99", "There is no task #99"},
		{"delete 99", "There is no task #99"},
		{"assign 99 @me", "There is no task #99"},
		{"due 99 tomorrow", "There is no task #99"},
		{"snooze 99 1h", "There is no task #99"},
		{"comment 99 hello", "There is no task #99"},
		{"assign 1", "assign needs a number and an @mention"},
		{"due 1 someday", `"someday" is not a day or time I know`},
		{"snooze 1 3 hourss", "Try: /task snooze 1 3 hours"},
		{"snooze 1", "snooze needs a task number and then a time"},
		{"list sometimes", "is not a list I know"},
		{"comment 1", "comment needs a task number and then the text"},
		{"subscribe nonsense", `"nonsense" is not an event`},
		{"link now", `I did not expect "now"`},
	} {
		got := tb.command(t, c.args, nil)
		mustContain(t, "/task "+c.args, text(got), c.want)
		if text(got) == "" {
			t.Errorf("/task %s: empty answer", c.args)
		}
	}
	if _, err := tb.store.GetTask(t.Context(), tb.ws, "2"); err == nil {
		t.Error("a mistaken command created a task")
	}
}

func TestMentionsOfUnknownUsersAreCreatedAndLinked(t *testing.T) {
	tb := newTestBot(t, nil)
	newcomer := map[string]any{"id": "60055555555", "type": "user", "first_name": "Ana", "last_name": "Lima", "email": "ana@example.com"}
	bot := map[string]any{"id": "b-1", "type": "bot", "first_name": "Tasker"}
	payload := func(args string) map[string]any {
		return map[string]any{"handler": "command", "arguments": args, "user": priyaUser(), "mentions": []any{newcomer, bot}}
	}
	got := tb.post(t, "/cliq/commands/task", payload("add Onboard @Ana Lima"))
	mustContain(t, "text", text(got), "Created task #1")
	ana, err := tb.store.UserByCliqID(t.Context(), tb.ws, "60055555555")
	if err != nil || ana.Name != "Ana Lima" || ana.Email != "ana@example.com" {
		t.Fatalf("ana = %+v, %v", ana, err)
	}
	task, _ := tb.store.GetTask(t.Context(), tb.ws, "1")
	if task.Assignee == nil || *task.Assignee != ana.ID {
		t.Errorf("assignee = %v, want %s", task.Assignee, ana.ID)
	}
	// A second mention finds the same user.
	tb.post(t, "/cliq/commands/task", payload("assign 1 @analima"))
	again, _ := tb.store.UserByCliqID(t.Context(), tb.ws, "60055555555")
	if again.ID != ana.ID {
		t.Errorf("second mention made user %s, want %s", again.ID, ana.ID)
	}
	got = tb.post(t, "/cliq/commands/task", payload("assign 1 @Tasker"))
	mustContain(t, "text", text(got), "@Tasker is a bot, not a person")
}

func TestDefaultListPages(t *testing.T) {
	tb := newTestBot(t, nil) // five tasks a page
	ctx := t.Context()
	other, _, err := tb.store.EnsureCliqUser(ctx, tb.ws, tasks.CliqProfile{ID: "60099999999", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	priya := tb.command(t, "link", nil) // first contact
	_ = priya
	me, _ := tb.store.UserByCliqID(ctx, tb.ws, "60012345678")
	want := map[string]bool{}
	for i := 1; i <= 17; i++ {
		in := tasks.NewTask{Title: "Task " + strings.Repeat("x", i%3+1)}
		actor := tasks.Actor{UserID: me.ID}
		switch i % 4 {
		case 0: // assigned to me by someone else
			actor.UserID = other.ID
			in.Assignee = &me.ID
		case 1: // unassigned, mine
		case 2: // unassigned, someone else's
			actor.UserID = other.ID
		case 3: // mine, assigned to someone else
			in.Assignee = &other.ID
		}
		task, _, err := tb.store.CreateTask(ctx, tb.ws, actor, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 || i%4 == 1 {
			want[task.Title+"#"+itoa(task.Number)] = true
		}
	}
	seen := map[string]bool{}
	got := tb.command(t, "list", nil)
	var last int64 = 1 << 40
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("paging does not end")
		}
		for _, row := range tableRows(got) {
			n := row["#"].(string)
			num := atoi(n)
			if num >= last {
				t.Errorf("row %d after %d: not newest first", num, last)
			}
			last = num
			seen[row["Title"].(string)+"#"+n] = true
		}
		keys := buttonKeys(got)
		if len(keys) == 0 {
			break
		}
		if len(keys[0]) > 100 {
			t.Errorf("key %q is longer than Cliq allows", keys[0])
		}
		got = tb.press(t, keys[0])
		if got["type"] != "message_edit" {
			t.Errorf("page answer type = %v, want message_edit", got["type"])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("saw %d tasks, want %d: %v", len(seen), len(want), seen)
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("default list missed %s", k)
		}
	}
}

func TestHelpExamplesParse(t *testing.T) {
	for _, row := range helpRows {
		ex, ok := strings.CutPrefix(row[1], "/task ")
		if !ok {
			continue
		}
		ex = strings.TrimSuffix(ex, " (in a channel)")
		if _, err := ParseCommand(ex, nil); err != nil {
			t.Errorf("help example %q: %v", row[1], err)
		}
	}
}
