package bot

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// Options are the settings of the bot's routes, which cmd reads from
// TASKER_* variables (SPEC 3). A zero field takes the default named beside it.
type Options struct {
	// Tenancy decides the workspace of each call (TASKER_TENANCY); "" is single.
	Tenancy tasks.Tenancy
	// DefaultTimezone is TASKER_TIMEZONE: the zone of users whose Cliq
	// profile names none. "" or an unknown name means UTC.
	DefaultTimezone string
	// BotName is the bot's unique name (TASKER_CLIQ_BOT); "" is taskerbot.
	// A mention of it in a channel is not a command word.
	BotName string
	// PublicURL is TASKER_PUBLIC_URL, shown where the welcome message points
	// at the REST API.
	PublicURL string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// PageSize is how many tasks a list card shows; 0 is 10.
	PageSize int
	// Poster queues a message for a channel through the durable notification
	// queue, for the create_task form's notify_channel. nil: the form's own
	// answer is the only copy of the new task's card.
	Poster Poster
	// FunctionOwner is TASKER_CLIQ_FUNCTION_OWNER, the email of the Cliq
	// user who owns the functions; every button of an answer names it, so
	// Cliq finds the function whoever clicks. "" names none.
	FunctionOwner string
	// Webhooks answers the buttons of a disabled webhook endpoint's alert;
	// cmd passes the webhooks service. nil: those buttons explain that
	// webhooks are managed through the REST API.
	Webhooks WebhookActions
}

// Poster posts a message to a Cliq channel by its unique name. It has the
// method set of extension.Poster, so one queue-backed implementation serves
// both. dedupeKey is the same for repeats of one post.
type Poster interface {
	PostToChannel(ctx context.Context, ws tasks.WorkspaceID, channel string, msg cliq.Message, dedupeKey string) error
}

// Defaults of Options.
const (
	defaultBotName  = "taskerbot"
	defaultPageSize = 10
)

func (o Options) withDefaults() Options {
	if o.Tenancy == "" {
		o.Tenancy = tasks.SingleTenancy
	}
	if o.BotName == "" {
		o.BotName = defaultBotName
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PageSize <= 0 {
		o.PageSize = defaultPageSize
	}
	return o
}

// AddRoutes registers the bot's endpoints (SPEC 7.1), each behind v, which
// checks the forwarder's signature and rejects replays (SPEC 4.1). Every
// route answers 200 with a Cliq message map for anything meant for the user.
func AddRoutes(r *httprouter.Router, logger *slog.Logger, store *tasks.Store, v *cliq.Verifier, opts Options) {
	opts = opts.withDefaults()
	zones := newZoneCache(opts.DefaultTimezone)
	// the Deluge script commands/task
	r.Handler(http.MethodPost, "/cliq/commands/task", v.Verify(handleTaskCommand(logger, store, opts, zones)))
	// the Deluge script functions/taskaction and createtaskform.dg
	r.Handler(http.MethodPost, "/cliq/functions/:name", v.Verify(handleFunction(logger, store, opts, zones)))
	// deluge/scripts: bot/{welcome,message,mention,context,participation} and bot/menu-* (one per menu action)
	r.Handler(http.MethodPost, "/cliq/bot/:handler", v.Verify(handleBot(logger, store, opts, zones)))
	// deluge/scripts: messageactions/addtask, the message action Add as task
	r.Handler(http.MethodPost, "/cliq/messageactions/:name", v.Verify(handleMessageAction(logger, store, opts, zones)))
}
