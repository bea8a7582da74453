package cliq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Resource is a kind of Cliq component that the REST API v3 provisions
// (REFERENCE section 14): its path segment under /api/v3.
type Resource string

// The resources `tasker install` provisions. Extensions cannot be created
// through the API (REFERENCE 14.6).
const (
	Commands       Resource = "commands"
	Bots           Resource = "bots"
	Functions      Resource = "functions"
	MessageActions Resource = "messageactions"
)

// scopePrefix is the OAuth scope family of each resource (REFERENCE 14.8).
var scopePrefix = map[Resource]string{
	Commands:       "ZohoCliq.Commands",
	Bots:           "ZohoCliq.Bots",
	Functions:      "ZohoCliq.Functions",
	MessageActions: "ZohoCliq.MessageActions",
}

// InstallScopes are the scopes `tasker install` and `tasker uninstall` need,
// in the order the README lists them (REFERENCE 14.8).
var InstallScopes = []string{
	"ZohoCliq.Commands.CREATE", "ZohoCliq.Commands.READ", "ZohoCliq.Commands.UPDATE", "ZohoCliq.Commands.DELETE",
	"ZohoCliq.Bots.CREATE", "ZohoCliq.Bots.READ", "ZohoCliq.Bots.UPDATE", "ZohoCliq.Bots.DELETE",
	"ZohoCliq.Functions.CREATE", "ZohoCliq.Functions.READ", "ZohoCliq.Functions.UPDATE", "ZohoCliq.Functions.DELETE",
	"ZohoCliq.MessageActions.CREATE", "ZohoCliq.MessageActions.READ", "ZohoCliq.MessageActions.UPDATE", "ZohoCliq.MessageActions.DELETE",
}

// Scope names the OAuth scope a provisioning call on res needs. Handler
// create, update and delete need the parent's UPDATE, reading a handler its
// READ (REFERENCE 14.8).
func (res Resource) Scope(method string, handler bool) string {
	op := "READ"
	switch {
	case method == http.MethodGet:
	case handler:
		op = "UPDATE"
	case method == http.MethodPost:
		op = "CREATE"
	case method == http.MethodDelete:
		op = "DELETE"
	default:
		op = "UPDATE"
	}
	return scopePrefix[res] + "." + op
}

// Component is a command, bot, function or message action as Cliq's v3
// list and create answers describe it.
type Component struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// UniqueName is a bot's messaging name, made by Cliq from its name.
	UniqueName string `json:"unique_name,omitempty"`
	// Handlers lists the handlers the component has; a bot's menu entries
	// add their ID and name.
	Handlers []HandlerRef `json:"handlers"`
}

// Handler returns the component's handler of type typ (menu: of that
// name), and whether it has one.
func (c Component) Handler(typ, menuName string) (HandlerRef, bool) {
	for _, h := range c.Handlers {
		if h.Type == typ && (menuName == "" || h.Name == menuName) {
			return h, true
		}
	}
	return HandlerRef{}, false
}

// HandlerRef names one handler of a component.
type HandlerRef struct {
	Type string `json:"type"`
	// ID and Name identify a bot's menu action; empty for other handlers.
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// NewHandler is a Deluge handler to add to a component.
type NewHandler struct {
	Type   string `json:"type"`
	Script string `json:"script"`
	// Name is a menu action's label (≤15 characters); menu handlers only.
	Name string `json:"name,omitempty"`
}

// ProvisionLock is how long Cliq refuses provisioning calls once their
// threshold is passed; a 429 without Retry-After is waited out this long.
const ProvisionLock = 5 * time.Minute

// Provisioner makes Cliq REST API v3 provisioning calls through a Client,
// all of them paced together by one Pacer: Zoho documents 10 calls a minute
// per endpoint and user with a 5-minute lock, but not whether endpoints
// share the budget. A 429 is waited out (Retry-After, else ProvisionLock)
// and the call repeated.
type Provisioner struct {
	c     *Client
	pacer *Pacer
	// Notify, when set, is told of every wait for a lock, to show progress.
	Notify func(msg string)
}

// NewProvisioner returns a Provisioner on c paced by p.
func NewProvisioner(c *Client, p *Pacer) *Provisioner {
	return &Provisioner{c: c, pacer: p}
}

// maxLockWaits bounds how many locks one call waits out before giving up.
const maxLockWaits = 3

// call runs one paced API call, waiting out rate-limit locks.
func (p *Provisioner) call(ctx context.Context, method, path string, body, v any) error {
	for attempt := 0; ; attempt++ {
		if err := p.pacer.Wait(ctx); err != nil {
			return err
		}
		req, err := p.c.newRequest(ctx, method, path, body)
		if err != nil {
			return err
		}
		err = p.c.do(req, v)
		e, ok := errors.AsType[*APIError](err)
		if !ok || !rateLimited(e) || attempt >= maxLockWaits {
			return err
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = ProvisionLock
		}
		if p.Notify != nil {
			p.Notify(fmt.Sprintf("Cliq refused %s %s for making too many calls: waiting %s for its lock to end", method, strings.SplitN(path, "?", 2)[0], wait))
		}
		if err := p.pacer.Pause(ctx, wait); err != nil {
			return err
		}
	}
}

// rateLimited reports whether e is Cliq's over-threshold answer: 429, or
// the older 400 "throttle" text.
func rateLimited(e *APIError) bool {
	return e.Status == http.StatusTooManyRequests ||
		(e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "throttle"))
}

// idPath is the path segment of component id: bots take "b-" + their
// numeric id (REFERENCE 14.3, unverified), the others the id as it is.
func idPath(res Resource, id string) string {
	if res == Bots && !strings.HasPrefix(id, "b-") {
		id = "b-" + id
	}
	return url.PathEscape(id)
}

func base(res Resource) string { return "api/v3/" + string(res) }

// listPage is the answer of a v3 list.
type listPage struct {
	Data      []Component `json:"data"`
	NextToken string      `json:"next_token"`
}

// maxListPages bounds paging, in case Cliq kept answering a next_token.
const maxListPages = 100

// List returns every component of res the token's user can see, following
// next_token to the last page.
func (p *Provisioner) List(ctx context.Context, res Resource) ([]Component, error) {
	var all []Component
	next := ""
	for range maxListPages {
		q := url.Values{"limit": {"50"}}
		if next != "" {
			q.Set("next_token", next)
		}
		var page listPage
		if err := p.call(ctx, http.MethodGet, base(res)+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.NextToken == "" || page.NextToken == next {
			return all, nil
		}
		next = page.NextToken
	}
	return nil, fmt.Errorf("cliq: list %s: more than %d pages", res, maxListPages)
}

// envelope is the shape of v3 create, update and get answers.
type envelope[T any] struct {
	Data T `json:"data"`
}

// Create makes a component of res from body (the fields of REFERENCE 14.2
// to 14.5) and returns what Cliq made.
func (p *Provisioner) Create(ctx context.Context, res Resource, body any) (Component, error) {
	var out envelope[Component]
	if err := p.call(ctx, http.MethodPost, base(res), body, &out); err != nil {
		return Component{}, err
	}
	if out.Data.ID == "" {
		return Component{}, fmt.Errorf("cliq: create %s: answer has no id", res)
	}
	return out.Data, nil
}

// Delete removes a component of res and its handlers. Cliq answers 204 or
// 200 with a "Response Code"; both are success.
func (p *Provisioner) Delete(ctx context.Context, res Resource, id string) error {
	return p.call(ctx, http.MethodDelete, base(res)+"/"+idPath(res, id), nil, nil)
}

// handlerPath is the path of one handler; menuID picks a bot menu action.
func handlerPath(res Resource, id, typ, menuID string) string {
	path := base(res) + "/" + idPath(res, id) + "/handlers/" + url.PathEscape(typ)
	if menuID != "" {
		path += "?handler_id=" + url.QueryEscape(menuID)
	}
	return path
}

// HandlerScript returns the Deluge script of a handler of component id.
func (p *Provisioner) HandlerScript(ctx context.Context, res Resource, id, typ, menuID string) (string, error) {
	var out envelope[struct {
		Script string `json:"script"`
	}]
	if err := p.call(ctx, http.MethodGet, handlerPath(res, id, typ, menuID), nil, &out); err != nil {
		return "", err
	}
	return out.Data.Script, nil
}

// AddHandler adds handler h to component id and returns its reference; a
// menu handler's carries the ID Cliq gave it.
func (p *Provisioner) AddHandler(ctx context.Context, res Resource, id string, h NewHandler) (HandlerRef, error) {
	var out envelope[json.RawMessage]
	if err := p.call(ctx, http.MethodPost, base(res)+"/"+idPath(res, id)+"/handlers", h, &out); err != nil {
		return HandlerRef{}, err
	}
	var got struct {
		ID           string `json:"id"`
		HandlerID    string `json:"handler_id"`
		DisplayProps struct {
			Name string `json:"name"`
		} `json:"display_props"`
	}
	_ = json.Unmarshal(out.Data, &got) // the examples disagree on its shape; the ID matters for menus only
	ref := HandlerRef{Type: h.Type, ID: got.ID, Name: h.Name}
	if ref.ID == "" {
		ref.ID = got.HandlerID
	}
	if h.Type != "menu_handler" {
		ref.ID, ref.Name = "", ""
	}
	return ref, nil
}

// SetHandlerScript replaces the script of a handler of component id.
func (p *Provisioner) SetHandlerScript(ctx context.Context, res Resource, id, typ, menuID, script string) error {
	return p.call(ctx, http.MethodPatch, handlerPath(res, id, typ, menuID), map[string]string{"script": script}, nil)
}

// DeleteHandler removes a handler of component id. Default handlers (a
// command's execution handler, a function's) cannot be deleted.
func (p *Provisioner) DeleteHandler(ctx context.Context, res Resource, id, typ, menuID string) error {
	return p.call(ctx, http.MethodDelete, handlerPath(res, id, typ, menuID), nil, nil)
}

// IsNotFound reports whether err is Cliq answering that the thing asked
// for does not exist (404, or a *_not_found code).
func IsNotFound(err error) bool {
	e, ok := errors.AsType[*APIError](err)
	return ok && (e.Status == http.StatusNotFound || strings.HasSuffix(e.Code, "_not_found"))
}

// IsScopeError reports whether err is Cliq refusing a call because the
// token lacks the scope it needs (oauthtoken_scope_invalid).
func IsScopeError(err error) bool {
	e, ok := errors.AsType[*APIError](err)
	return ok && (e.Code == CodeScopeInvalid || (e.Status == http.StatusForbidden && strings.Contains(strings.ToLower(e.Message), "scope")))
}
