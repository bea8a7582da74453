package deluge

// Attr is one attribute a Cliq handler passes its Deluge script, which the
// script forwards under the same name.
type Attr struct {
	// Name is the variable Cliq binds, and the key it is forwarded under.
	Name string
	// Empty is the Deluge value forwarded when Cliq passes null ("Map()",
	// "List()", `""`, "false"); "" forwards the value as it is (user, form).
	Empty string
	// Source says which of Zoho's documents name the attribute for this
	// handler, in the keys of REFERENCE.md section 7: H the help page, P the
	// params list of the v3 API, S Zoho's sample payload.
	Source string
}

// Component kinds: where a handler lives in Cliq's developer console and in
// its REST API v3 (REFERENCE.md section 14).
const (
	KindCommand       = "command"
	KindFunction      = "function"
	KindBot           = "bot"
	KindMessageAction = "messageaction"
	KindExtension     = "extension"
)

// Handler is one Cliq handler Tasker serves: what Cliq passes it, where its
// script forwards, and how that script answers when Tasker cannot.
type Handler struct {
	// Name is the script's path without ".dg", e.g. "bot/message".
	Name string
	// Kind and Component name the Cliq component the handler belongs to:
	// the command "task", the function "taskaction", the bot "taskerbot", …
	Kind, Component string
	// Type is the handler's type in Cliq's REST API v3 (execution_handler,
	// menu_handler, button_handler, …), which `tasker install` sets.
	Type string
	// Envelope is the value the script sends as "handler" (SPEC 7.1).
	Envelope string
	// MenuAction is the bot menu action a menu_handler serves; the script
	// sends it as "menu_action", since each action has its own handler and
	// Cliq passes no attribute naming it.
	MenuAction string
	// Route is the backend path the script POSTs to (SPEC 7.1).
	Route string
	// Location says where in Cliq's developer console the script is pasted.
	Location string
	// Attrs are the attributes forwarded, each documented for this handler.
	Attrs []Attr
	// Note explains where Zoho's sources disagree and what was left out.
	Note string
	// Answers says what the backend answers with, for the script's header.
	Answers string
	// Fallback is the Deluge map the script returns when Tasker fails.
	Fallback string
	// template is the script text template under scripts/ the handler uses.
	template string
}

// The menu actions of the bot (SPEC 7.1). Cliq allows five, names ≤15 chars.
const (
	MenuNewTask = "New task"
	MenuMyTasks = "My tasks"
	MenuOverdue = "Overdue"
	MenuHelp    = "Help"
)

// Templates the scripts are rendered from.
const (
	tmplForward  = "forward.dg.tmpl"
	tmplIncoming = "incoming.dg.tmpl"
)

// Fallback answers.
const (
	fallbackText   = `{"text":"Tasker is unreachable right now. Please try again in a minute."}`
	fallbackBanner = `{"type":"banner","status":"failure","text":"Tasker is unreachable right now. Please try again in a minute."}`
)

// botHandler fills in what every handler of the Tasker bot shares.
func botHandler(h Handler) Handler {
	h.Kind, h.Component = KindBot, "taskerbot"
	if h.template == "" {
		h.template = tmplForward
	}
	if h.Fallback == "" {
		h.Fallback = fallbackText
	}
	return h
}

// menuHandler is the handler of one bot menu action. Its attributes are the
// ones Zoho's help page, the v3 params list and the sample all name: the
// sample has no location (and carries sub_action outside params), so
// location is not forwarded.
func menuHandler(script, action string) Handler {
	src := "H bothandler-menu.html, P bots.yml, S bot/action_handler.json"
	return botHandler(Handler{
		Name: "bot/" + script, Type: "menu_handler", Envelope: "bot_menu", MenuAction: action,
		Route:    "/cliq/bot/menu",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Menu Actions > \"" + action + "\" > its handler",
		Attrs: []Attr{
			{Name: "user", Source: src},
			{Name: "chat", Empty: "Map()", Source: src},
			{Name: "sub_action", Empty: `""`, Source: "H subactions.html, P bots.yml, S bot/action_handler.json (outside params)"},
		},
		Note: "Each menu action is its own handler; Cliq names none of them in an attribute, so the script sends its action as menu_action. " +
			"No Zoho source names target for menu handlers. location: H and P name it, S does not, so it is left out.",
		Answers: "a message, banner or form",
	})
}

// table lists every handler in the order of a newcomer's setup (command,
// functions, bot, message action, extension), which Print and the README
// follow. Each attribute is one Zoho documents for that handler
// (REFERENCE.md section 7.1); where the sources disagree only what all of
// them name is forwarded, and Note says so.
var table = []Handler{
	{
		Name: "commands/task", Kind: KindCommand, Component: "task", Type: "execution_handler",
		Envelope: "command", Route: "/cliq/commands/task",
		Location: "Bots & Tools > Commands > create the command \"task\" > Edit Code > Execution Handler",
		Attrs: []Attr{
			{Name: "arguments", Empty: `""`, Source: "H commandexecution.html, S command/execution_handler.json"},
			{Name: "options", Empty: "Map()", Source: "H commandexecution.html, S"},
			{Name: "user", Source: "H commandexecution.html, S"},
			{Name: "chat", Empty: "Map()", Source: "H commandexecution.html, S"},
			{Name: "mentions", Empty: "List()", Source: "H commandexecution.html, S"},
			{Name: "selections", Empty: "List()", Source: "H commandexecution.html, S"},
			{Name: "attachments", Empty: "List()", Source: "H commandexecution.html, S"},
			{Name: "location", Empty: "Map()", Source: "H commandexecution.html, S"},
		},
		Note:     "access and environment appear only in Zoho's sample, not on the help page: left out.",
		Answers:  "a message, banner or form",
		Fallback: fallbackText, template: tmplForward,
	},
	{
		Name: "functions/taskaction", Kind: KindFunction, Component: "taskaction", Type: "button_handler",
		Envelope: "button", Route: "/cliq/functions/taskaction",
		Location: "Bots & Tools > Functions > create the function \"taskaction\", type Button > Edit Code",
		Attrs: []Attr{
			{Name: "arguments", Empty: "Map()", Source: "H functions_workflow.html, P functions.yml, S function/button_handler.json"},
			{Name: "target", Empty: "Map()", Source: "H functions_workflow.html, P, S"},
			{Name: "message", Empty: "Map()", Source: "H functions_workflow.html, P, S"},
			{Name: "user", Source: "H functions_workflow.html, P, S"},
			{Name: "chat", Empty: "Map()", Source: "H functions_workflow.html, P, S"},
		},
		Note:     "access, environment and event are in P and S but not on the help page, location in P only: left out.",
		Answers:  "a message, banner, form or message edit",
		Fallback: fallbackBanner, template: tmplForward,
	},
	{
		Name: "functions/createtaskform", Kind: KindFunction, Component: "createtaskform", Type: "form_submit_handler",
		Envelope: "form_submit", Route: "/cliq/functions/createtaskform",
		Location: "Bots & Tools > Functions > create the function \"createtaskform\", type Form > Edit Code > Submit Handler",
		Attrs: []Attr{
			{Name: "form", Source: "H form_functions_workflow/submit-handler.html, S function/form_handler.json"},
			{Name: "user", Source: "H submit-handler.html, S"},
			{Name: "chat", Empty: "Map()", Source: "H submit-handler.html, S"},
			{Name: "access", Empty: "Map()", Source: "H submit-handler.html, S"},
			{Name: "environment", Empty: "Map()", Source: "H submit-handler.html, S"},
		},
		Note:     "message is in S only (and empty there): left out.",
		Answers:  "a message, banner or message edit",
		Fallback: fallbackBanner, template: tmplForward,
	},
	botHandler(Handler{
		Name: "bot/welcome", Type: "welcome_handler", Envelope: "bot_welcome", Route: "/cliq/bot/welcome",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Welcome Handler",
		Attrs: []Attr{
			{Name: "user", Source: "H bot-welcomehandler.html, P bots.yml, S bot/welcome_handler.json"},
			{Name: "newuser", Empty: "false", Source: "H bot-welcomehandler.html, P, S"},
		},
		Note:    "access and environment are in P and S, not on the help page: left out.",
		Answers: "a message or banner",
	}),
	botHandler(Handler{
		Name: "bot/message", Type: "message_handler", Envelope: "bot_message", Route: "/cliq/bot/message",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Message Handler",
		Attrs: []Attr{
			{Name: "message", Empty: `""`, Source: "H bot-messagehandler.html, S bot/message_handler.json"},
			{Name: "attachments", Empty: "List()", Source: "H bot-messagehandler.html, S"},
			{Name: "mentions", Empty: "List()", Source: "H bot-messagehandler.html, S"},
			{Name: "links", Empty: "List()", Source: "H bot-messagehandler.html"},
			{Name: "user", Source: "H bot-messagehandler.html, S"},
			{Name: "chat", Empty: "Map()", Source: "H bot-messagehandler.html, S"},
			{Name: "location", Empty: "Map()", Source: "H bot-messagehandler.html, S"},
			{Name: "message_details", Empty: "Map()", Source: "H cliq-objects/message-details-object.html"},
		},
		Note: "links and message_details are named by help pages only, the sample has neither; they are kept because no source contradicts them. " +
			"access, environment, raw_message, options, selections and arguments are in S only: left out.",
		Answers: "a message, banner or form",
	}),
	botHandler(Handler{
		Name: "bot/mention", Type: "mention_handler", Envelope: "bot_mention", Route: "/cliq/bot/mention",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Mention Handler",
		Attrs: []Attr{
			{Name: "message", Empty: `""`, Source: "H bothandlers.html, S bot/mention_handler.json (a map there)"},
			{Name: "mentions", Empty: "List()", Source: "H bothandlers.html, S"},
			{Name: "user", Source: "H bothandlers.html, S"},
			{Name: "chat", Empty: "Map()", Source: "H bothandlers.html, S"},
			{Name: "message_details", Empty: "Map()", Source: "H cliq-objects/message-details-object.html"},
		},
		Note:    "location, access and environment are in S only: left out. message is text on the help page and a map in S; the backend reads both.",
		Answers: "a message or banner",
	}),
	botHandler(Handler{
		Name: "bot/context", Type: "context_handler", Envelope: "bot_context", Route: "/cliq/bot/context",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Context Handler",
		Attrs: []Attr{
			{Name: "context_id", Empty: `""`, Source: "S bot/context_handler.json"},
			{Name: "answers", Empty: "Map()", Source: "S"},
			{Name: "user", Source: "S"},
			{Name: "chat", Empty: "Map()", Source: "S"},
		},
		Note:    "Zoho's sample is the only source for this handler; only the attributes the backend reads are forwarded.",
		Answers: "a message or banner",
	}),
	menuHandler("menu-new-task", MenuNewTask),
	menuHandler("menu-my-tasks", MenuMyTasks),
	menuHandler("menu-overdue", MenuOverdue),
	menuHandler("menu-help", MenuHelp),
	botHandler(Handler{
		Name: "bot/participation", Type: "participation_handler", Envelope: "bot_participation", Route: "/cliq/bot/participation",
		Location: "Bots & Tools > Bots > the Tasker bot > Edit Handlers > Participation Handler",
		Attrs: []Attr{
			{Name: "operation", Empty: `""`, Source: "S bot/participation_handler.json"},
			{Name: "data", Empty: "Map()", Source: "S"},
			{Name: "user", Source: "S"},
			{Name: "chat", Empty: "Map()", Source: "S"},
		},
		Note:     "Zoho's sample is the only source for this handler's attributes. Nobody waits for its answer, so a failure returns an empty map.",
		Answers:  "an empty map (nothing is shown)",
		Fallback: "Map()",
	}),
	{
		Name: "messageactions/addtask", Kind: KindMessageAction, Component: "Add as task", Type: "execution_handler",
		Envelope: "message_action", Route: "/cliq/messageactions/addtask",
		Location: "Bots & Tools > Message Actions > create the action \"Add as task\" > Edit Code",
		Attrs: []Attr{
			{Name: "message", Empty: "Map()", Source: "H messageaction-handlers.html, S messageaction/execution_handler.json"},
			{Name: "messages", Empty: "Map()", Source: "H messageaction-handlers.html, S"},
			{Name: "attachments", Empty: "List()", Source: "H messageaction-handlers.html, S"},
			{Name: "mentions", Empty: "List()", Source: "H messageaction-handlers.html, S"},
			{Name: "user", Source: "H messageaction-handlers.html, S"},
			{Name: "chat", Empty: "Map()", Source: "H messageaction-handlers.html, S"},
			{Name: "location", Empty: "Map()", Source: "H messageaction-handlers.html, S"},
		},
		Note:     "access and environment are in S only: left out.",
		Answers:  "the create_task form, prefilled from the message",
		Fallback: fallbackText, template: tmplForward,
	},
	{
		Name: "extension/incoming", Kind: KindExtension, Component: "tasker", Type: "incoming_webhook_handler",
		Envelope: "extension_incoming_webhook", Route: "/cliq/extension/incoming",
		Location: "Bots & Tools > Extensions > the Tasker extension > Handlers > Incoming Webhook Handler",
		Attrs: []Attr{
			{Name: "http_method", Empty: `""`, Source: "H build-cliq-extensions/incoming-webhook-handler.html"},
			{Name: "headers", Empty: "Map()", Source: "H incoming-webhook-handler.html"},
			{Name: "parameters", Source: "H incoming-webhook-handler.html (the script filters it)"},
			{Name: "body", Source: "H incoming-webhook-handler.html (sent base64-encoded as body_base64)"},
			{Name: "user", Source: "H incoming-webhook-handler.html"},
		},
		Note: "No sample exists for this handler. The body goes base64-encoded as body_base64 (SPEC 10), and the zapikey and appkey " +
			"parameters, Cliq's credentials, are not forwarded.",
		Answers:  `{"channel":…, "message":…}, which the script posts to that channel`,
		Fallback: `{"status":"failed"}`, template: tmplIncoming,
	},
	{
		Name: "extension/install", Kind: KindExtension, Component: "tasker", Type: "installation_handler",
		Envelope: "extension_installation", Route: "/cliq/extension/install",
		Location: "Bots & Tools > Extensions > the Tasker extension > Handlers > Installation Handler",
		Attrs: []Attr{
			{Name: "user", Source: "H build-cliq-extensions/installation-handler.html, S extension/installation_handler.json"},
			{Name: "app_info", Empty: "Map()", Source: "H installation-handler.html, S"},
		},
		Note: "access, environment, form and authtoken are in S only: left out. Status is text, \"200\", as in Zoho's Deluge sample; " +
			"anything else leaves the extension inactive, so an unreachable Tasker is seen at install time.",
		Answers:  `{"status":"200"} to activate the extension, with title, message and note`,
		Fallback: `{"status":"503","title":"Tasker is unreachable","message":"Tasker is unreachable right now. Please try the installation again in a minute."}`,
		template: tmplForward,
	},
}

// Handlers returns every handler Tasker serves, in setup order. The slice
// and its attribute lists are the caller's own.
func Handlers() []Handler {
	out := make([]Handler, len(table))
	for i, h := range table {
		h.Attrs = append([]Attr(nil), h.Attrs...)
		out[i] = h
	}
	return out
}

// AttrNames returns the names of the attributes h forwards, which are the
// variables its script may read.
func (h Handler) AttrNames() []string {
	names := make([]string, len(h.Attrs))
	for i, a := range h.Attrs {
		names[i] = a.Name
	}
	return names
}
