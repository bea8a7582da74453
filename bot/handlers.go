package bot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// answerFunc answers one Cliq call whose caller is resolved.
type answerFunc func(ctx context.Context, c *call) (any, error)

// serveCall is the frame of every bot handler: decode the forwarded body
// (400 when it is not what a forwarder sends), resolve the workspace and
// the caller, answer, and write the answer or the error.
func serveCall(logger *slog.Logger, store *tasks.Store, opts Options, zones *zoneCache, answer answerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := decode(r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		c, err := newCall(r.Context(), store, opts, zones, req)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		reply, err := answer(r.Context(), c)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if m, ok := reply.(cliq.Message); ok {
			// Cut to Cliq's limits rather than have the answer refused.
			reply = m.Truncate().WithFunctionOwner(opts.FunctionOwner)
		}
		encode(w, http.StatusOK, reply)
	}
}

// handleTaskCommand serves POST /cliq/commands/task, called by
// the Deluge script commands/task with the /task command's arguments.
func handleTaskCommand(logger *slog.Logger, store *tasks.Store, opts Options, zones *zoneCache) http.Handler {
	return serveCall(logger, store, opts, zones, func(ctx context.Context, c *call) (any, error) {
		return c.runText(ctx, c.req.Arguments.Text)
	})
}

// handleFunction serves POST /cliq/functions/:name: taskaction, the button
// function of every task card (the Deluge script functions/taskaction), and
// createtaskform, the submit function of the create_task form
// (the Deluge script functions/createtaskform). Other names are 404.
func handleFunction(logger *slog.Logger, store *tasks.Store, opts Options, zones *zoneCache) http.Handler {
	functions := map[string]http.Handler{
		"taskaction": serveCall(logger, store, opts, zones, func(ctx context.Context, c *call) (any, error) {
			return c.pressButton(ctx, c.req.Arguments.Key)
		}),
		formFunction: serveCall(logger, store, opts, zones, func(ctx context.Context, c *call) (any, error) {
			return c.submitTaskForm(ctx)
		}),
	}
	return routeByParam("name", "function", functions)
}

// handleBot serves POST /cliq/bot/:handler, one route per bot handler, each
// called by its script rendered from the deluge package's handler table. Other names are 404.
func handleBot(logger *slog.Logger, store *tasks.Store, opts Options, zones *zoneCache) http.Handler {
	serve := func(a answerFunc) http.Handler { return serveCall(logger, store, opts, zones, a) }
	handlers := map[string]http.Handler{
		// welcome.dg: the user opened the bot's chat.
		"welcome": serve(func(ctx context.Context, c *call) (any, error) {
			return c.welcome(), nil
		}),
		// message.dg: the /task grammar without "/task".
		"message": serve(func(ctx context.Context, c *call) (any, error) {
			return c.botMessage(ctx, messageText(c.req))
		}),
		// mention.dg: "@taskerbot add …" in a channel.
		"mention": serve(func(ctx context.Context, c *call) (any, error) {
			return c.botMessage(ctx, c.stripBotMention(messageText(c.req)))
		}),
		// context.dg: Tasker starts no context conversations, so an answer
		// to one is from an old bot version; say what works instead.
		"context": serve(func(ctx context.Context, c *call) (any, error) {
			msg := helpCard()
			msg.Text = "I'm not waiting for an answer from you. Here is what I can do:"
			return msg, nil
		}),
		// bot/menu-*.dg: the bot's menu actions, one script each, told
		// apart by the menu_action they send.
		"menu": serve(func(ctx context.Context, c *call) (any, error) {
			return c.menu(ctx)
		}),
		// participation.dg: the bot joined or left a channel. Nobody
		// waits for an answer, and no user need be resolved.
		"participation": handleParticipation(logger),
	}
	return routeByParam("handler", "bot handler", handlers)
}

// handleParticipation acknowledges a participation event with an empty
// map, which shows nothing; the body must still be a forwarder's.
func handleParticipation(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := decode(r); err != nil {
			respondError(w, r, logger, err)
			return
		}
		encode(w, http.StatusOK, struct{}{})
	})
}

// routeByParam sends a request to the handler named by the path parameter
// param, or answers 404 in the SPEC 5 error shape.
func routeByParam(param, what string, handlers map[string]http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := httprouter.ParamsFromContext(r.Context()).ByName(param)
		h, ok := handlers[name]
		if !ok {
			writeError(w, http.StatusNotFound, "not_found", "no "+what+" named "+clipText(name, 50))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// messageText is the text a bot handler received: the message attribute
// (a plain string), else the text in message_details.
func messageText(req *cliq.Request) string {
	if req.Message != nil && req.Message.Text != "" {
		return req.Message.Text
	}
	if req.MessageDetails != nil {
		return req.MessageDetails.Message.Text
	}
	return ""
}

// botMessage runs text as a command. Words that are no verb at all get a
// suggestion to add them as a task, the likeliest intent of a sentence
// typed to a task bot.
func (c *call) botMessage(ctx context.Context, text string) (any, error) {
	reply, err := c.runText(ctx, text)
	var se *SyntaxError
	if errors.As(err, &se) && se.Reason == "" && se.Example == "/task help" {
		if _, perr := ParseCommand("add "+text, c.mentionNames()); perr == nil {
			se.Example = "add " + strings.Join(strings.Fields(text), " ") + " (or /task help for everything I understand)"
		}
		return nil, se
	}
	return reply, err
}

// stripBotMention drops the mention of the bot that starts a mention
// handler's text ("@Tasker add …"), in any form Cliq may write it.
func (c *call) stripBotMention(text string) string {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "{@") {
		if i := strings.Index(text, "}"); i > 0 {
			return strings.TrimSpace(text[i+1:])
		}
	}
	if !strings.HasPrefix(text, "@") {
		return text
	}
	names := []string{c.opts.BotName}
	for _, m := range c.req.Mentions {
		if m.Type == "bot" {
			names = append(names, mentionName(m), strings.TrimPrefix(m.DName, "@"))
		}
	}
	for _, name := range names {
		if n, ok := foldPrefix(text[1:], name); ok && name != "" {
			return strings.TrimSpace(text[1+n:])
		}
	}
	return text
}

// menu answers the bot's menu actions by their name: menu_action, which
// each action's script sends, or target.name, which scripts before it sent.
func (c *call) menu(ctx context.Context) (any, error) {
	name := c.req.MenuAction
	if name == "" && c.req.Target != nil {
		name = c.req.Target.Name
	}
	switch action := strings.ToLower(strings.TrimSpace(name)); action {
	case "my tasks", "tasks", "list":
		return c.listPage(ctx, listSpec{}, "")
	case "new task", "new", "add":
		return c.createTaskForm(ctx, taskPrefill{}), nil
	case "overdue":
		return c.listPage(ctx, listSpec{filter: FilterOverdue}, "")
	case "today", "due today":
		return c.listPage(ctx, listSpec{filter: FilterToday}, "")
	case "help", "":
		return helpCard(), nil
	}
	msg := helpCard()
	msg.Text = "I don't know the menu action " + clipText(name, 30) + ". Here is what I can do:"
	return msg, nil
}
