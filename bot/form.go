package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskerhq/tasker/cards"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// The create_task form (SPEC 7.3, 12) and the function it submits to.
const (
	formName     = "create_task"
	formFunction = "createtaskform"
)

// defaultLabels are offered in the form's labels input besides the tags of
// the caller's recent tasks, so a new team has something to pick.
var defaultLabels = []string{"bug", "docs", "feature", "release"}

// maxFormLabels bounds the labels input's options.
const maxFormLabels = 30

// Cliq's input limits (REFERENCE.md section 8.1): the form keeps within them,
// or Cliq refuses to show it. Longer titles and descriptions stay possible
// through the command and the API.
const (
	formTitleMax         = 100  // text max_length and default value
	formDescriptionMax   = 5000 // textarea max_length
	formDescriptionValue = 1000 // textarea default value
	formMaxSelections    = 10   // select max_selections
)

// taskPrefill is what the form shows filled in: the message action Add as
// task passes the message it was run on.
type taskPrefill struct {
	Title, Description string
}

// remindChoices are the remind_before options, in minutes before due.
var remindChoices = []cliq.Option{
	{Label: "At the due time", Value: "0"},
	{Label: "15 minutes before", Value: "15"},
	{Label: "30 minutes before", Value: "30"},
	{Label: "1 hour before", Value: "60"},
	{Label: "3 hours before", Value: "180"},
	{Label: "1 day before", Value: "1440"},
}

// repeatChoices are the repeat select's options (SPEC 7.3): each value is a
// rule of SPEC 6.5, read in the user's timezone at due's time of day (17:00
// without one); "none" makes a one-off task.
var repeatChoices = []cliq.Option{
	{Label: "Does not repeat", Value: "none"},
	{Label: "Every day", Value: "every day"},
	{Label: "Every weekday (Mon to Fri)", Value: "every weekday"},
	{Label: "Every week", Value: "every week"},
	{Label: "Every month", Value: "every month"},
}

var priorityChoices = []cliq.Option{
	{Label: "Low", Value: "low"},
	{Label: "Medium", Value: "medium"},
	{Label: "High", Value: "high"},
	{Label: "Urgent", Value: "urgent"},
}

// createTaskForm returns the create_task form. Its labels are the default
// ones and the tags of the caller's recent open tasks; in a channel,
// "Post in this chat" starts switched on.
func (c *call) createTaskForm(ctx context.Context, prefill taskPrefill) cliq.Form {
	labels := slices.Clone(defaultLabels)
	recent, _, err := c.store.ListTasks(ctx, c.ws, tasks.TaskFilter{Status: tasks.StatusOpen, CreatedBy: c.user.ID}, "", 50)
	if err == nil { // the form still works with the default labels
		for _, t := range recent {
			labels = append(labels, t.Tags...)
		}
	}
	slices.Sort(labels)
	labels = slices.Compact(labels)
	if len(labels) > maxFormLabels {
		labels = labels[:maxFormLabels]
	}
	return newTaskForm(labels, c.channel() != "", prefill)
}

// newTaskForm builds the form; see createTaskForm. Select defaults are an
// option's value, as Cliq documents, not the option.
func newTaskForm(labels []string, inChannel bool, prefill taskPrefill) cliq.Form {
	labelOptions := make([]cliq.Option, len(labels))
	for i, l := range labels {
		labelOptions[i] = cliq.Option{Label: l, Value: l}
	}
	return cliq.Form{
		Name:        formName,
		Title:       "New task",
		Hint:        "Create a task; only the title is required.",
		ButtonLabel: "Create",
		Action:      cliq.SubmitTo(formFunction),
		Inputs: []cliq.FormInput{
			{Type: cliq.InputText, Name: "title", Label: "Title", Placeholder: "What needs doing?", Mandatory: true,
				MaxLength: min(tasks.MaxTitle, formTitleMax), Value: optional(clipRunes(prefill.Title, formTitleMax))},
			{Type: cliq.InputTextarea, Name: "description", Label: "Description", Placeholder: "Details, links, acceptance criteria",
				MaxLength: min(tasks.MaxDescription, formDescriptionMax), Value: optional(clipRunes(prefill.Description, formDescriptionValue))},
			{Type: cliq.InputNativeSelect, Name: "assignee", Label: "Assignee", Placeholder: "Pick a person", DataSource: "contacts"},
			{Type: cliq.InputSelect, Name: "priority", Label: "Priority", Placeholder: "Priority", Options: priorityChoices, Value: priorityChoices[1].Value},
			{Type: cliq.InputDatetime, Name: "due", Label: "Due", Placeholder: "When is it due?"},
			{Type: cliq.InputSelect, Name: "remind_before", Label: "Remind", Placeholder: "Before it is due", Options: remindChoices, Value: remindChoices[3].Value},
			{Type: cliq.InputSelect, Name: "labels", Label: "Labels", Placeholder: "Tags", Options: labelOptions, Multiple: true,
				MaxSelections: min(tasks.MaxTags, formMaxSelections)},
			{Type: cliq.InputToggle, Name: "notify_channel", Label: "Post in this chat", Value: inChannel},
			// Last, so the inputs of the form's first version keep their places.
			{Type: cliq.InputSelect, Name: "repeat", Label: "Repeat", Placeholder: "Repeat", Options: repeatChoices, Value: repeatChoices[0].Value},
		},
	}
}

// submitTaskForm creates the task a create_task form describes and answers
// with its card. Values the form could not have sent (a title too long, a
// date that is no date) get a message naming each problem and a button to
// open the form again.
func (c *call) submitTaskForm(ctx context.Context) (any, error) {
	f := c.req.Form
	if f == nil {
		return nil, badRequest("form is missing")
	}
	if f.Name != formName {
		return nil, sayf(fmt.Sprintf("I don't know the form %q. Open a new one with /task new.", clipText(f.Name, 50)))
	}
	in, notify, problems := c.readTaskForm(ctx, f.Values)
	if len(problems) > 0 {
		return formProblems(problems), nil
	}
	t, _, err := c.store.CreateTask(ctx, c.ws, c.actor, in, nil)
	var ve *tasks.ValidationError
	if errors.As(err, &ve) {
		return formProblems(ve.Fields), nil
	}
	if err != nil {
		return nil, err
	}
	msg := c.card(ctx, t, "", fmt.Sprintf("Created task #%d.", t.Number))
	if ch := c.channel(); notify && ch != "" && c.opts.Poster != nil {
		post := c.card(ctx, t, "", fmt.Sprintf("%s created task #%d.", c.user.DisplayName(), t.Number))
		if err := c.opts.Poster.PostToChannel(ctx, c.ws, ch, post, "form:"+t.ID); err != nil {
			return nil, err
		}
		msg.Text = fmt.Sprintf("Created task #%d and posted it in this channel.", t.Number)
	}
	return msg, nil
}

// readTaskForm turns form values into a new task, collecting what is wrong
// by input name. An assignee unknown to Tasker is created and linked under
// the name the form shows for them (SPEC 12).
func (c *call) readTaskForm(ctx context.Context, v map[string]cliq.FormValue) (tasks.NewTask, bool, map[string]string) {
	problems := make(map[string]string)
	in := tasks.NewTask{
		Title:       strings.TrimSpace(v["title"].String()),
		Description: strings.TrimSpace(v["description"].String()),
		Priority:    tasks.Priority(strings.ToLower(v["priority"].String())),
	}
	switch n := utf8.RuneCountInString(in.Title); {
	case n == 0:
		problems["title"] = "is required"
	case n > tasks.MaxTitle:
		problems["title"] = fmt.Sprintf("has %d characters, more than %d", n, tasks.MaxTitle)
	}
	if in.Priority != "" && !in.Priority.Valid() {
		problems["priority"] = "must be low, medium, high or urgent"
	}
	if at, problem := c.formDue(v["due"]); problem != "" {
		problems["due"] = problem
	} else if at != nil {
		in.DueAt = at
	}
	if rule := strings.ToLower(strings.TrimSpace(v["repeat"].String())); rule != "" && rule != repeatChoices[0].Value {
		if !slices.ContainsFunc(repeatChoices, func(o cliq.Option) bool { return o.Value == rule }) {
			problems["repeat"] = "must be none, every day, every weekday, every week or every month"
		} else {
			zone := c.loc.String()
			in.Recurrence, in.RecurrenceTimezone = &rule, &zone
		}
	}
	if rb := strings.TrimSpace(v["remind_before"].String()); rb != "" {
		m, err := strconv.Atoi(rb)
		if err != nil || m < 0 || m > 60*24*30 {
			problems["remind_before"] = "must be minutes between 0 and 43200"
		} else {
			in.RemindBefore = &m
		}
	}
	if lv, ok := v["labels"]; ok && !lv.IsNull() {
		var tags []string
		if opts, ok := lv.Options(); ok {
			for _, o := range opts {
				tags = append(tags, o.Value)
			}
		} else {
			tags = strings.FieldsFunc(lv.String(), func(r rune) bool { return r == ',' || r == ' ' })
		}
		in.Tags = tasks.NormalizeTags(tags)
	}
	// Check the rest before the assignee, whose first sight writes a user:
	// a rejected form changes nothing.
	check := tasks.Task{Title: in.Title, Description: in.Description, Status: tasks.StatusOpen,
		Priority: in.Priority, Tags: in.Tags, RemindBefore: in.RemindBefore}
	if check.Priority == "" {
		check.Priority = tasks.PriorityMedium
	}
	for name, p := range check.Valid() {
		if problems[name] == "" {
			problems[name] = p
		}
	}
	if a, ok := v["assignee"].Option(); ok && len(problems) == 0 && strings.TrimSpace(a.Value) != "" {
		u, err := c.formAssignee(ctx, strings.TrimSpace(a.Value), strings.TrimSpace(a.Label))
		if err != nil {
			problems["assignee"] = "is not a person I can assign tasks to"
		} else {
			in.Assignee = &u.ID
		}
	}
	notify, _ := v["notify_channel"].Bool()
	return in, notify, problems
}

// formAssignee returns the user linked to the Cliq user id, creating and
// linking one named label on first sight.
func (c *call) formAssignee(ctx context.Context, cliqID, label string) (tasks.User, error) {
	if cliqID == c.req.User.ID {
		return c.user, nil
	}
	if label == "" {
		label = "Cliq user " + cliqID
	}
	u, _, err := c.store.EnsureCliqUser(ctx, c.ws, tasks.CliqProfile{ID: cliqID, Name: label})
	return u, err
}

// formDue reads the due input: a datetime's {date_time, time_zone_id} in its
// own zone (else the user's), or text as a date input or an older forwarder
// sends it. It returns nil without a problem when the input was left empty.
func (c *call) formDue(v cliq.FormValue) (*time.Time, string) {
	const unreadable = "is not a date and time I can read, like 2026-12-01T17:00"
	text, loc := strings.TrimSpace(v.String()), c.loc
	if d, ok := v.DateTime(); ok {
		text = strings.TrimSpace(d.DateTime)
		if d.TimeZoneID != "" {
			l, err := time.LoadLocation(d.TimeZoneID)
			if err != nil {
				return nil, "has the unknown time zone " + clipText(d.TimeZoneID, 40)
			}
			loc = l
		}
	}
	if text == "" {
		return nil, ""
	}
	at, err := parseFormTime(text, loc, c.now)
	if err != nil {
		return nil, unreadable
	}
	return &at, ""
}

// optional is v as a default value, or nil (no default) when v is empty.
func optional(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// clipRunes cuts s to at most n code points.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// formTimeLayouts are the shapes a datetime input may arrive in: our Deluge
// script normalises to ISO-8601, but Cliq's own format is undocumented.
var formTimeLayouts = []string{
	time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04",
}

// parseFormTime reads a form's date or datetime: ISO-8601 with or without a
// zone (without one, in the user's zone), a date alone (17:00, SPEC 12),
// epoch milliseconds, or any WHEN a person would type.
func parseFormTime(s string, loc *time.Location, now time.Time) (time.Time, error) {
	for _, layout := range formTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return time.Date(d.Year(), d.Month(), d.Day(), defaultDueHour, 0, 0, 0, loc).UTC(), nil
	}
	if isDigits(s) && len(s) >= 12 && len(s) <= 14 {
		ms, _ := strconv.ParseInt(s, 10, 64)
		return time.UnixMilli(ms).UTC(), nil
	}
	return ParseWhen(s, now, loc)
}

// formProblems answers a submission that could not become a task.
func formProblems(problems map[string]string) cliq.Message {
	names := make([]string, 0, len(problems))
	for name := range problems {
		names = append(names, name)
	}
	slices.Sort(names)
	lines := make([]string, len(names))
	for i, name := range names {
		lines[i] = strings.ReplaceAll(name, "_", " ") + " " + problems[name]
	}
	return cliq.Message{
		Text:    "I couldn't create the task: " + strings.Join(lines, "; ") + ". Open the form again to fix it.",
		Buttons: []cliq.Button{cliq.FunctionButton("New task", cards.ActionFunction, "new")},
	}
}
