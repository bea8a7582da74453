package extension

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// Config holds the settings of the extension's routes, read by cmd from
// TASKER_* variables (SPEC 3). An empty secret disables its endpoint (404).
type Config struct {
	Tenancy         tasks.Tenancy    // TASKER_TENANCY
	DefaultChannel  string           // TASKER_CLIQ_CHANNEL; "" for none
	DefaultTimezone string           // TASKER_TIMEZONE, given to users that user.link creates
	IncomingSecrets []IncomingSecret // ParseIncomingSecrets(TASKER_INCOMING_SECRET)
	GitLabToken     string           // TASKER_GITLAB_TOKEN
	GitHubSecret    string           // TASKER_GITHUB_SECRET
	MaxBody         int64            // TASKER_MAX_BODY; 0 means 1 MiB
	FunctionOwner   string           // TASKER_CLIQ_FUNCTION_OWNER: named by the buttons of cards the scripts post
	Now             func() time.Time // the clock; nil means time.Now
}

// defaultMaxBody is TASKER_MAX_BODY's default.
const defaultMaxBody = 1 << 20

// AddRoutes registers the extension's endpoints. v authenticates the Cliq
// forwarders (SPEC 4.1); authenticate checks a REST API key and names its
// workspace (SPEC 4.2; cmd passes the api package's checker); poster queues
// the cards of the direct GitLab and GitHub hooks.
func AddRoutes(r *httprouter.Router, logger *slog.Logger, store *tasks.Store, v *cliq.Verifier, poster Poster,
	authenticate func(*http.Request) (tasks.WorkspaceID, bool), cfg Config) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = defaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	runner := actionRunner{store: store, defaultTimezone: cfg.DefaultTimezone}
	hooks := hookConfig{logger: logger, poster: poster, defaultChannel: cfg.DefaultChannel, maxBody: cfg.MaxBody}

	// Deluge: the Deluge script extension/incoming (extension incoming webhook handler).
	r.Handler(http.MethodPost, "/cliq/extension/incoming", v.Verify(handleExtensionIncoming(logger, cfg.Tenancy, cfg.DefaultChannel, cfg.FunctionOwner)))
	// Deluge: the Deluge script extension/install (extension installation handler).
	r.Handler(http.MethodPost, "/cliq/extension/install", v.Verify(handleExtensionInstall(logger, store, cfg.Tenancy, cfg.DefaultTimezone)))
	// Third parties with a REST API key: the action envelope (SPEC 4.4).
	r.Handler(http.MethodPost, "/api/cliq/webhook", handleActionWebhook(logger, runner, authenticate, cfg.MaxBody))
	// Automation tools (Make.com, Zapier) with TASKER_INCOMING_SECRET (SPEC 4.3).
	r.Handler(http.MethodPost, "/api/incoming-webhook", handleAutomationWebhook(logger, store, runner, cfg.IncomingSecrets, cfg.MaxBody, cfg.Now))
	// GitLab project webhooks with TASKER_GITLAB_TOKEN (SPEC 4.5).
	r.Handler(http.MethodPost, "/hooks/gitlab", handleHook(hooks, gitlab{}, gitlabCheck(cfg.GitLabToken)))
	// GitHub repository webhooks with TASKER_GITHUB_SECRET (SPEC 4.5).
	r.Handler(http.MethodPost, "/hooks/github", handleHook(hooks, github{}, githubCheck(cfg.GitHubSecret)))
}
