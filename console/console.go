// Package console is Tasker's web console (SPEC section 15), served at
// /console/ by the binary: server-rendered pages over the same stores and
// services the REST API uses, for the people who run Tasker. Everything it
// serves is embedded (html/template pages, one stylesheet, one small
// script); charts are SVG drawn on the server. Nothing is loaded from
// elsewhere, and there is no build step.
//
// A person signs in with an API key; the console keeps a session cookie
// (HttpOnly, SameSite=Strict) for the key's workspace, never the key.
// Every form carries the session's CSRF token.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/taskerhq/tasker/notify"
	"github.com/taskerhq/tasker/tasks"
	"github.com/taskerhq/tasker/webhooks"
)

//go:embed templates/*.html static/*
var files embed.FS

// Queue is one job queue's depth, as the health page shows it.
type Queue struct {
	Name                                        string
	Pending, Active, Scheduled, Retry, Archived int
}

// Config is what the console works with. Authenticate, Stream and Queues
// come from cmd, which knows the API keys, the event stream and the job
// queue; the console imports neither api nor asynq.
type Config struct {
	Logger   *slog.Logger
	Store    *tasks.Store
	Outbox   *notify.Outbox // the Cliq outbox log
	Webhooks *webhooks.Service
	// Authenticate returns the workspace of the API key a request presents
	// in X-Api-Key (api.Keys.Authenticate).
	Authenticate func(*http.Request) (tasks.WorkspaceID, bool)
	// Stream returns the event stream handler (api.NewEventStream) for
	// requests identify names: their workspace and the key their streams
	// are counted under.
	Stream func(identify func(*http.Request) (tasks.WorkspaceID, string, bool)) http.Handler
	// Queues reports the job queues' depths; nil leaves them off the
	// health page.
	Queues func(context.Context) ([]Queue, error)
	// SessionTTL is how long a sign-in lasts; default 12 hours.
	SessionTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Console serves the pages under /console/.
type Console struct {
	cfg      Config
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
	stream   http.Handler
}

// Prefix is where the console is served.
const Prefix = "/console/"

// New builds the console. Its handler serves every path under Prefix.
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil || cfg.Outbox == nil {
		return nil, errors.New("console: Config needs Store and Outbox")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	c := &Console{cfg: cfg, sessions: newSessions(cfg.Now, cfg.SessionTTL), pages: make(map[string]*template.Template)}
	if err := c.parse(); err != nil {
		return nil, err
	}
	if cfg.Stream != nil {
		c.stream = cfg.Stream(c.identify)
	}
	c.routes()
	return c, nil
}

// parse reads the embedded templates: one layout, one file per page.
func (c *Console) parse() error {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		if name == "templates/layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, name)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		c.pages[name[len("templates/"):len(name)-len(".html")]] = t
	}
	return nil
}

// ServeHTTP serves the console, with headers that keep its pages from
// loading anything from elsewhere or being framed.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title     string
	Nav       string
	Workspace tasks.WorkspaceID
	CSRF      string
	Notice    string
	Error     string
	Data      any
}

// render writes a page with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	if s, ok := sessionFrom(r); ok {
		p.Workspace, p.CSRF = s.ws, s.csrf
	}
	if p.Notice == "" {
		p.Notice = notices[r.URL.Query().Get("done")]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout.html", p); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console page failed", "page", name, "err", err)
	}
}

// notices are the fixed messages a redirect after a form names in ?done=.
var notices = map[string]string{
	"created": "Created.", "enabled": "Enabled.", "disabled": "Disabled.", "rotated": "New secret made; the old one signs too for 24 hours.",
	"tested": "Test event queued.", "redelivered": "A new attempt is queued.", "recovered": "Failed messages queued again.",
	"deleted": "Deleted.",
}

// fail answers a failed request with an error page; internal errors are
// logged and not shown.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong; the log has the detail."
	var invalid *tasks.ValidationError
	var conflict *tasks.ConflictError
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		status, msg = http.StatusNotFound, "Not found."
	case errors.As(err, &invalid):
		status, msg = http.StatusBadRequest, invalid.Error()
	case errors.As(err, &conflict):
		status, msg = http.StatusConflict, conflict.Reason
	default:
		c.cfg.Logger.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	c.render(w, r, status, "error", page{Title: "Error", Error: msg})
}

// redirect answers a form with 303 to path, naming a notice.
func redirect(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		path += "?done=" + done
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}
