package cliqtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/taskerhq/tasker/cliq"
)

// The fake of Cliq's REST API v3 provisioning endpoints (commands, bots,
// functions, message actions and their handlers), written from Zoho's
// OpenAPI documents as REFERENCE section 14 sums them up: the same required
// fields, lengths, name rules and error codes, the 10-a-minute and
// 30-a-minute thresholds with their 5-minute lock, and Cliq's answer
// shapes. Where the documents are silent the fake picks the strict reading
// and says so: unknown body fields are refused, a handler type a component
// already has cannot be added twice, and a missing scope answers 403
// oauthtoken_scope_invalid.

// Provisioning thresholds (REFERENCE 4.5): per user, in a window of
// ProvisionWindow, then a lock of ProvisionLock.
const (
	ProvisionWriteLimit = 10 // create, update, delete, every handler call, GET of one message action
	ProvisionReadLimit  = 30 // list and get of commands, bots, functions; list and create of message actions
	ProvisionWindow     = time.Minute
	ProvisionLock       = 5 * time.Minute
)

// ProvisionFailure is a canned answer for the first provisioning call
// whose method is Method and whose path ends with PathSuffix.
type ProvisionFailure struct {
	Method, PathSuffix string
	Status             int
	Code, Message      string
	// AfterApplying carries the call out before failing it, as when the
	// answer is lost on the way back.
	AfterApplying bool
}

type provision struct {
	seq      int64
	comps    map[cliq.Resource][]*fakeComponent
	hits     map[string][]time.Time // bucket → times of its calls in the window
	lockedTo map[string]time.Time
	peak     map[string]int // bucket → most calls seen in one window
	exceeded []string
	pooled   bool
	scopes   map[string]bool // nil: every scope granted
	failures []ProvisionFailure
	owner    string // the token's user, creator of what the API makes
}

type fakeComponent struct {
	ID, Name, UniqueName string
	Creator              string
	Fields               map[string]any
	Handlers             []*fakeHandler
}

type fakeHandler struct {
	Type, ID, Name, Script string
	Position               int
}

func (s *Server) provState() *provision {
	if s.prov == nil {
		s.prov = &provision{
			comps:    make(map[cliq.Resource][]*fakeComponent),
			hits:     make(map[string][]time.Time),
			lockedTo: make(map[string]time.Time),
			peak:     make(map[string]int),
			owner:    "65113112",
			seq:      53719000002124000,
		}
	}
	return s.prov
}

func (s *Server) addProvisionRoutes(mux *http.ServeMux) {
	s.mu.Lock()
	s.provState()
	s.mu.Unlock()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "Zoho Cliq fake\n")
	})
	mux.HandleFunc("GET /api/v2/channels", s.handleChannels)
	for _, res := range []cliq.Resource{cliq.Commands, cliq.Bots, cliq.Functions, cliq.MessageActions} {
		p := "/api/v3/" + string(res)
		mux.Handle("GET "+p, s.provAPI(res, false, s.handleList))
		mux.Handle("POST "+p, s.provAPI(res, false, s.handleCreate))
		mux.Handle("DELETE "+p+"/{id}", s.provAPI(res, false, s.handleDelete))
		mux.Handle("GET "+p+"/{id}/handlers/{type}", s.provAPI(res, true, s.handleGetHandler))
		mux.Handle("PATCH "+p+"/{id}/handlers/{type}", s.provAPI(res, true, s.handlePatchHandler))
		if res != cliq.MessageActions { // one execution handler from creation, no POST or DELETE
			mux.Handle("POST "+p+"/{id}/handlers", s.provAPI(res, true, s.handleAddHandler))
			mux.Handle("DELETE "+p+"/{id}/handlers/{type}", s.provAPI(res, true, s.handleDeleteHandler))
		}
	}
}

// PoolThresholds makes every provisioning endpoint share one bucket of
// ProvisionWriteLimit calls a window: the strictest reading of Zoho's
// documents, which do not say whether endpoints share the budget.
func (s *Server) PoolThresholds(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.provState().pooled = on
}

// GrantScopes limits the token to scopes; calls needing another answer 403
// oauthtoken_scope_invalid. Without a call, every scope is granted.
func (s *Server) GrantScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.provState()
	p.scopes = make(map[string]bool)
	for _, sc := range scopes {
		p.scopes[sc] = true
	}
}

// FailProvision answers the first matching provisioning call with f.
func (s *Server) FailProvision(f ProvisionFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.provState()
	p.failures = append(p.failures, f)
}

// ThresholdsExceeded lists the provisioning calls refused for passing a
// threshold or arriving during a lock, as "METHOD PATH"; empty when the
// caller kept within every documented threshold.
func (s *Server) ThresholdsExceeded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.provState().exceeded)
}

// FakeComponent is a component of the fake as a test sees it.
type FakeComponent struct {
	ID, Name, UniqueName string
	// Foreign is true for a component another user made.
	Foreign bool
	// Scripts maps handler type (menu handlers: "menu_handler:NAME") to
	// its script.
	Scripts map[string]string
}

// Components returns the components of res, oldest first.
func (s *Server) Components(res cliq.Resource) []FakeComponent {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.provState()
	var out []FakeComponent
	for _, c := range p.comps[res] {
		fc := FakeComponent{ID: c.ID, Name: c.Name, UniqueName: c.UniqueName, Foreign: c.Creator != p.owner, Scripts: map[string]string{}}
		for _, h := range c.Handlers {
			key := h.Type
			if h.Type == "menu_handler" {
				key += ":" + h.Name
			}
			fc.Scripts[key] = h.Script
		}
		out = append(out, fc)
	}
	return out
}

// AddComponent makes a component of res named name as if by hand, with
// the default handlers Cliq gives it; foreign makes it another user's, so
// a functions list does not show it. It returns the component's ID.
func (s *Server) AddComponent(res cliq.Resource, name string, foreign bool, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.provState()
	c := p.newComponent(res, name, fields)
	if foreign {
		c.Creator = "99999999"
	}
	return c.ID
}

func (p *provision) newComponent(res cliq.Resource, name string, fields map[string]any) *fakeComponent {
	p.seq++
	c := &fakeComponent{ID: strconv.FormatInt(p.seq, 10), Name: name, Creator: p.owner, Fields: fields}
	switch res {
	case cliq.Bots:
		c.UniqueName = strings.Map(func(r rune) rune {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				return r
			}
			return -1
		}, strings.ToLower(name))
	case cliq.Commands, cliq.MessageActions:
		c.Handlers = []*fakeHandler{{Type: "execution_handler"}}
	case cliq.Functions:
		ft, _ := fields["function_type"].(string)
		c.Handlers = []*fakeHandler{{Type: defaultFunctionHandler[ft]}}
	}
	p.comps[res] = append(p.comps[res], c)
	return c
}

var defaultFunctionHandler = map[string]string{
	"button": "button_handler", "form": "form_submit_handler", "widget_button": "widget_button_handler",
}

// provHandler serves one provisioning call under s.mu and returns the
// status it wrote.
type provHandler func(w http.ResponseWriter, r *http.Request, res cliq.Resource, body map[string]any) int

// provAPI records the call as api does, applies canned failures, checks
// the token, its scope and the thresholds, then serves the call.
func (s *Server) provAPI(res cliq.Resource, handler bool, h provHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if len(strings.TrimSpace(string(raw))) > 0 && json.Unmarshal(raw, &body) != nil {
			body = nil
		}
		s.mu.Lock()
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		i := len(s.calls)
		s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
		var fail *Failure
		if len(s.failures) > 0 {
			fail = &s.failures[0]
			s.failures = s.failures[1:]
		}
		s.mu.Unlock()
		status := s.answerProvision(w, r, res, handler, raw, body, fail, h)
		s.mu.Lock()
		s.calls[i].Status = status
		s.mu.Unlock()
	})
}

func (s *Server) answerProvision(w http.ResponseWriter, r *http.Request, res cliq.Resource, handler bool,
	raw []byte, body map[string]any, fail *Failure, h provHandler) int {
	if status, refused := s.refuse(w, r, fail, "Request was rejected because of invalid AuthToken."); refused {
		return status
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.provState()
	if p.scopes != nil && !p.scopes[res.Scope(r.Method, handler)] {
		return writeJSON(w, http.StatusForbidden, cliqError{cliq.CodeScopeInvalid, "The OAuth token does not have the required scope " + res.Scope(r.Method, handler) + "."})
	}
	if status, ok := p.throttle(w, r, res, handler, s.now()); !ok {
		return status
	}
	var pf *ProvisionFailure
	for j, f := range p.failures {
		if f.Method == r.Method && strings.HasSuffix(r.URL.Path, f.PathSuffix) {
			pf = &f
			p.failures = slices.Delete(p.failures, j, j+1)
			break
		}
	}
	if pf != nil && !pf.AfterApplying {
		return writeJSON(w, pf.Status, cliqError{pf.Code, pf.Message})
	}
	if body == nil && len(strings.TrimSpace(string(raw))) > 0 {
		return writeJSON(w, http.StatusBadRequest, cliqError{"invalid_inputs", "The body is not a JSON object."})
	}
	if (r.Method == http.MethodPost || r.Method == http.MethodPatch) && body == nil {
		return writeJSON(w, http.StatusBadRequest, cliqError{"invalid_inputs", "A JSON body is required."})
	}
	if pf != nil {
		h(discard{w.Header()}, r, res, body)
		return writeJSON(w, pf.Status, cliqError{pf.Code, pf.Message})
	}
	return h(w, r, res, body)
}

// discard is a ResponseWriter that drops what a handler writes.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// throttle counts the call against its endpoint's threshold and refuses it
// with 429 while the endpoint is locked. The reply carries no Retry-After:
// Zoho documents none.
func (p *provision) throttle(w http.ResponseWriter, r *http.Request, res cliq.Resource, handler bool, now time.Time) (int, bool) {
	limit := ProvisionWriteLimit
	if !handler && ((r.Method == http.MethodGet) || (res == cliq.MessageActions && r.Method == http.MethodPost)) {
		limit = ProvisionReadLimit
	}
	bucket := r.Method + " " + r.Pattern
	if p.pooled {
		bucket, limit = "all", ProvisionWriteLimit
	}
	refuse := func() (int, bool) {
		p.exceeded = append(p.exceeded, r.Method+" "+r.URL.Path)
		return writeJSON(w, http.StatusTooManyRequests, cliqError{"too_many_requests", "Too many requests. Please try again later."}), false
	}
	if now.Before(p.lockedTo[bucket]) {
		return refuse()
	}
	hits := p.hits[bucket]
	k := 0
	for k < len(hits) && !hits[k].After(now.Add(-ProvisionWindow)) {
		k++
	}
	hits = hits[k:]
	if len(hits) >= limit {
		p.hits[bucket] = hits
		p.lockedTo[bucket] = now.Add(ProvisionLock)
		return refuse()
	}
	p.hits[bucket] = append(hits, now)
	p.peak[bucket] = max(p.peak[bucket], len(p.hits[bucket]))
	return 0, true
}

func provError(w http.ResponseWriter, status int, code, msg string) int {
	return writeJSON(w, status, cliqError{code, msg})
}

// singular names a resource in answers' "type" and in error codes.
var singular = map[cliq.Resource]string{
	cliq.Commands: "command", cliq.Bots: "bot", cliq.Functions: "function", cliq.MessageActions: "msgaction",
}

func notFound(w http.ResponseWriter, res cliq.Resource) int {
	return provError(w, http.StatusNotFound, singular[res]+"_not_found", "No "+singular[res]+" exists with the given id.")
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, res cliq.Resource, _ map[string]any) int {
	p := s.prov
	maxLimit := 50
	if res == cliq.MessageActions {
		maxLimit = 100
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return provError(w, http.StatusBadRequest, "invalid_inputs", fmt.Sprintf("'limit' must be between 1 and %d.", maxLimit))
		}
		limit = n
	}
	var visible []*fakeComponent
	for _, c := range p.comps[res] {
		if res == cliq.Functions && c.Creator != p.owner {
			continue // a functions list shows the caller's own only
		}
		visible = append(visible, c)
	}
	start := 0
	if t := r.URL.Query().Get("next_token"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "nt-"))
		if err != nil || n < 0 || n > len(visible) {
			return provError(w, http.StatusBadRequest, "invalid_inputs", "'next_token' is not valid.")
		}
		start = n
	}
	end := min(start+limit, len(visible))
	data := []any{}
	for _, c := range visible[start:end] {
		data = append(data, c.view(res))
	}
	out := map[string]any{"url": "/api/v3/" + string(res), "type": singular[res], "data": data, "sync_token": "MTB8MTc3NzM2MDM5OTQ5Mnw="}
	if end < len(visible) {
		out["next_token"] = "nt-" + strconv.Itoa(end)
	}
	return writeJSON(w, http.StatusOK, out)
}

// view is the component as list and create answers show it.
func (c *fakeComponent) view(res cliq.Resource) map[string]any {
	v := map[string]any{"id": c.ID, "name": c.Name, "creator": map[string]any{"name": "James", "id": c.Creator},
		"status": "enabled", "execution_type": "deluge"}
	for k, f := range c.Fields {
		if _, set := v[k]; !set {
			v[k] = f
		}
	}
	if res == cliq.Bots {
		v["unique_name"] = c.UniqueName
	}
	hs := []any{}
	for _, h := range c.Handlers {
		e := map[string]any{"type": h.Type}
		if h.Type == "menu_handler" {
			e["id"], e["name"], e["position"] = h.ID, h.Name, h.Position
		}
		hs = append(hs, e)
	}
	v["handlers"] = hs
	return v
}

// createFields are the fields each create body may hold (REFERENCE 14.2–14.5).
var createFields = map[cliq.Resource][]string{
	cliq.Commands: {"name", "hint", "scope", "description", "options", "team_ids", "image", "max_suggestions", "execution_type", "execution_url"},
	cliq.Bots: {"name", "description", "scope", "team_ids", "status_messages", "image", "channel_participation", "calls",
		"execution_type", "execution_url"},
	cliq.Functions:      {"name", "description", "function_type", "execution_type", "execution_url"},
	cliq.MessageActions: {"name", "hint", "scope", "team_ids", "multi_selectable", "image", "message_types", "execution_type", "execution_url"},
}

// commandName is the create schema's rule: lower-case letters only.
var commandName = regexp.MustCompile(`^[a-z]+$`)

func invalid(w http.ResponseWriter, format string, args ...any) int {
	return provError(w, http.StatusBadRequest, "invalid_inputs", fmt.Sprintf(format, args...))
}

func (s *Server) handleCreate(w http.ResponseWriter, _ *http.Request, res cliq.Resource, body map[string]any) int {
	p := s.prov
	for k := range body {
		if !slices.Contains(createFields[res], k) {
			return invalid(w, "'%s' is an extra key in the JSON Object.", k)
		}
	}
	str := func(k string) string { v, _ := body[k].(string); return v }
	name := str("name")
	required := map[cliq.Resource][]string{
		cliq.Commands: {"name", "hint", "scope"}, cliq.Bots: {"name", "description"},
		cliq.Functions: {"name", "description", "function_type"}, cliq.MessageActions: {"name", "hint"},
	}[res]
	for _, k := range required {
		if strings.TrimSpace(str(k)) == "" {
			return invalid(w, "Security validation error: '%s' is mandatory.", k)
		}
	}
	nameMax := map[cliq.Resource]int{cliq.Commands: 30, cliq.Bots: 20, cliq.Functions: 30, cliq.MessageActions: 30}[res]
	if len([]rune(name)) > nameMax {
		return invalid(w, "Security validation error: 'name' exceeds %d characters.", nameMax)
	}
	if res == cliq.Commands && !commandName.MatchString(name) {
		return invalid(w, "Security validation error: 'name' allows lower-case letters only.")
	}
	for k, n := range map[string]int{"hint": 128, "description": 300, "execution_url": 225} {
		if len([]rune(str(k))) > n {
			return invalid(w, "Security validation error: '%s' exceeds %d characters.", k, n)
		}
	}
	if sc, ok := body["scope"]; ok {
		switch sc {
		case "organization", "personal":
		case "team":
			ids, _ := body["team_ids"].([]any)
			if len(ids) == 0 || len(ids) > 4 {
				return provError(w, http.StatusBadRequest, "invalid_scope", "'team_ids' must hold 1 to 4 team ids for scope team.")
			}
		default:
			return provError(w, http.StatusBadRequest, "invalid_scope", "'scope' must be organization, team or personal.")
		}
	}
	switch et := str("execution_type"); et {
	case "", "deluge":
		if str("execution_url") != "" {
			return provError(w, http.StatusBadRequest, "execution_url_not_allowed", "'execution_url' is not allowed for Deluge components.")
		}
	case "webhook":
		if str("execution_url") == "" {
			return provError(w, http.StatusBadRequest, "execution_url_required", "'execution_url' is required for webhook components.")
		}
	default:
		return invalid(w, "'execution_type' must be deluge or webhook.")
	}
	switch res {
	case cliq.Commands:
		if opts, _ := body["options"].(map[string]any); len(opts) > 5 {
			return invalid(w, "'options' allows at most 5 pairs.")
		}
		if n, ok := body["max_suggestions"].(float64); ok && (n < 0 || n > 5) {
			return invalid(w, "'max_suggestions' allows at most 5.")
		}
	case cliq.Functions:
		if _, ok := defaultFunctionHandler[str("function_type")]; !ok {
			return invalid(w, "'function_type' must be button, form or widget_button.")
		}
	case cliq.MessageActions:
		if mt, ok := body["message_types"]; ok {
			list, _ := mt.([]any)
			if len(list) < 1 || len(list) > 3 {
				return invalid(w, "'message_types' must hold 1 to 3 of text, link, attachment.")
			}
			for _, t := range list {
				if t != "text" && t != "link" && t != "attachment" {
					return invalid(w, "'message_types' must hold 1 to 3 of text, link, attachment.")
				}
			}
		}
	}
	for _, c := range p.comps[res] {
		if strings.EqualFold(c.Name, name) {
			return provError(w, http.StatusBadRequest, singular[res]+"_name_already_exists", "A "+singular[res]+" with this name already exists.")
		}
	}
	fields := make(map[string]any)
	for k, v := range body {
		if k != "name" && k != "image" {
			fields[k] = v
		}
	}
	c := p.newComponent(res, name, fields)
	return writeJSON(w, http.StatusOK, map[string]any{"url": "/api/v3/" + string(res), "type": singular[res], "data": c.view(res)})
}

// find returns the component of res whose path id is id ("b-" + digits
// and bare digits both name a bot: the documents use both).
func (p *provision) find(res cliq.Resource, id string) (int, *fakeComponent) {
	if res == cliq.Bots {
		id = strings.TrimPrefix(id, "b-")
	}
	for i, c := range p.comps[res] {
		if c.ID == id && (res != cliq.Functions || c.Creator == p.owner) {
			return i, c
		}
	}
	return -1, nil
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, res cliq.Resource, _ map[string]any) int {
	p := s.prov
	i, c := p.find(res, r.PathValue("id"))
	if c == nil {
		return notFound(w, res)
	}
	p.comps[res] = slices.Delete(p.comps[res], i, i+1)
	if res == cliq.Bots {
		return writeJSON(w, http.StatusOK, map[string]string{"Response Code": "204 No response"})
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// handlerTypes are the handler types each resource takes (REFERENCE 14).
var handlerTypes = map[cliq.Resource][]string{
	cliq.Commands: {"execution_handler", "suggestion_handler"},
	cliq.Bots: {"welcome_handler", "message_handler", "mention_handler", "context_handler", "participation_handler",
		"incoming_webhook_handler", "menu_handler", "call_handler"},
	cliq.Functions: {"button_handler", "form_submit_handler", "form_change_handler", "form_dynamic_select_handler",
		"form_view_handler", "widget_button_handler"},
	cliq.MessageActions: {"execution_handler"},
}

// maxScript is the largest script a handler takes: 250 KB.
const maxScript = 250 << 10

// handlerOf finds the handler typ of c; a menu handler by handler_id, or
// the only one when there is one.
func handlerOf(c *fakeComponent, typ, handlerID string) (int, *fakeHandler) {
	var found []int
	for i, h := range c.Handlers {
		if h.Type == typ && (handlerID == "" || h.ID == handlerID) {
			found = append(found, i)
		}
	}
	if len(found) != 1 {
		return -1, nil
	}
	return found[0], c.Handlers[found[0]]
}

// handlerIn finds the handler a handler route names: the component's id
// and the handler type in the path, a menu handler's handler_id in the
// query. When either is missing it answers 404 and h is nil.
func (s *Server) handlerIn(w http.ResponseWriter, r *http.Request, res cliq.Resource) (c *fakeComponent, i int, h *fakeHandler, typ string, status int) {
	_, c = s.prov.find(res, r.PathValue("id"))
	if c == nil {
		return nil, 0, nil, "", notFound(w, res)
	}
	typ = r.PathValue("type")
	i, h = handlerOf(c, typ, r.URL.Query().Get("handler_id"))
	if h == nil {
		return nil, 0, nil, "", handlerNotFound(w)
	}
	return c, i, h, typ, 0
}

func handlerNotFound(w http.ResponseWriter) int {
	return provError(w, http.StatusNotFound, "execution_handler_not_found", "No handler exists with the given type.")
}

func (s *Server) handleGetHandler(w http.ResponseWriter, r *http.Request, res cliq.Resource, _ map[string]any) int {
	c, _, h, typ, status := s.handlerIn(w, r, res)
	if h == nil {
		return status
	}
	data := map[string]any{"name": typ, "script": h.Script, "function_id": c.ID}
	if typ == "menu_handler" {
		data = map[string]any{"script": h.Script, "handler_id": h.ID, "name": h.Name, "type": typ, "return_type": "map"}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"url": r.URL.Path, "type": typ, "data": data})
}

// checkHandlerBody applies the rules shared by handler POST and PATCH: a
// Deluge component's handler takes a script of at most 250 KB, never
// permissions.
func checkHandlerBody(w http.ResponseWriter, body map[string]any, menu bool) (int, bool) {
	allowed := []string{"type", "script", "permissions"}
	if menu {
		allowed = append(allowed, "name", "icon", "sub_actions")
	}
	for k := range body {
		if !slices.Contains(allowed, k) {
			return invalid(w, "'%s' is an extra key in the JSON Object.", k), false
		}
	}
	if _, ok := body["permissions"]; ok {
		return invalid(w, "'permissions' is for webhook components; a Deluge handler takes 'script'."), false
	}
	script, isString := body["script"].(string)
	if _, present := body["script"]; present && !isString {
		return provError(w, http.StatusBadRequest, "execution_handler_data_invalid", "'script' must be text."), false
	}
	if len(script) > maxScript {
		return provError(w, http.StatusBadRequest, "execution_handler_data_invalid", "'script' exceeds 250 KB."), false
	}
	if menu {
		if name, ok := body["name"].(string); ok && (name == "" || len([]rune(name)) > 15) {
			return invalid(w, "Security validation error: menu 'name' must be 1 to 15 characters."), false
		}
		if subs, _ := body["sub_actions"].([]any); len(subs) > 5 {
			return invalid(w, "'sub_actions' allows at most 5."), false
		}
	}
	return 0, true
}

func (s *Server) handleAddHandler(w http.ResponseWriter, r *http.Request, res cliq.Resource, body map[string]any) int {
	_, c := s.prov.find(res, r.PathValue("id"))
	if c == nil {
		return notFound(w, res)
	}
	typ, _ := body["type"].(string)
	if !slices.Contains(handlerTypes[res], typ) {
		return invalid(w, "Security validation error: 'type' must be one of %s.", strings.Join(handlerTypes[res], ", "))
	}
	if res == cliq.Functions {
		ft, _ := c.Fields["function_type"].(string)
		if !strings.HasPrefix(typ, strings.TrimSuffix(ft, "_button")) && !(ft == "widget_button" && typ == "widget_button_handler") {
			return invalid(w, "A %s function takes no %s.", ft, typ)
		}
	}
	menu := typ == "menu_handler"
	if status, ok := checkHandlerBody(w, body, menu); !ok {
		return status
	}
	if _, ok := body["script"].(string); !ok {
		return provError(w, http.StatusBadRequest, "execution_handler_data_required", "'script' is mandatory for a Deluge handler.")
	}
	h := &fakeHandler{Type: typ, Script: body["script"].(string)}
	if menu {
		name, _ := body["name"].(string)
		if name == "" {
			return invalid(w, "Security validation error: 'name' is mandatory for a menu handler.")
		}
		n := 0
		for _, o := range c.Handlers {
			if o.Type == typ {
				n++
				if o.Name == name {
					return invalid(w, "A menu action named %q exists.", name)
				}
			}
		}
		if n >= 5 {
			return invalid(w, "A bot has at most 5 menu actions.")
		}
		s.prov.seq++
		h.ID, h.Name, h.Position = strconv.FormatInt(s.prov.seq, 10), name, n+1
	} else {
		for _, o := range c.Handlers {
			if o.Type == typ {
				return provError(w, http.StatusBadRequest, "execution_handler_create_failed", "The "+typ+" exists; update it instead.")
			}
		}
	}
	c.Handlers = append(c.Handlers, h)
	data := map[string]any{"type": typ, "id": h.ID}
	if menu {
		data["display_props"] = map[string]any{"name": h.Name, "position": h.Position}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"url": r.URL.Path + "/" + typ, "type": "execution_handler", "data": data})
}

func (s *Server) handlePatchHandler(w http.ResponseWriter, r *http.Request, res cliq.Resource, body map[string]any) int {
	c, _, h, typ, status := s.handlerIn(w, r, res)
	if h == nil {
		return status
	}
	if _, ok := body["type"]; ok {
		return invalid(w, "'type' is an extra key in the JSON Object.")
	}
	if status, ok := checkHandlerBody(w, body, typ == "menu_handler"); !ok {
		return status
	}
	if len(body) == 0 {
		return provError(w, http.StatusBadRequest, "execution_handler_data_required", "Nothing to update.")
	}
	if script, ok := body["script"].(string); ok {
		h.Script = script
	}
	if name, ok := body["name"].(string); ok {
		h.Name = name
	}
	return writeJSON(w, http.StatusOK, map[string]any{"url": r.URL.Path, "type": typ,
		"data": map[string]any{"name": typ, "script": h.Script, "function_id": c.ID}})
}

func (s *Server) handleDeleteHandler(w http.ResponseWriter, r *http.Request, res cliq.Resource, _ map[string]any) int {
	c, i, h, typ, status := s.handlerIn(w, r, res)
	if h == nil {
		return status
	}
	if typ == "execution_handler" || (res == cliq.Functions && i == 0) {
		return provError(w, http.StatusBadRequest, "default_handler_delete_not_allowed", "The default handler cannot be deleted.")
	}
	c.Handlers = slices.Delete(c.Handlers, i, i+1)
	if res == cliq.Commands {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	return writeJSON(w, http.StatusOK, map[string]string{"Response Code": "204 No response"})
}

// handleChannels serves GET /api/v2/channels: the channels AddChannel made,
// in one page, under the scope ZohoCliq.Channels.READ.
func (s *Server) handleChannels(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, cliqError{cliq.CodeOAuthTokenInvalid, "Invalid OAuth token passed."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.provState(); p.scopes != nil && !p.scopes["ZohoCliq.Channels.READ"] {
		writeJSON(w, http.StatusForbidden, cliqError{cliq.CodeScopeInvalid, "The OAuth token does not have the required scope ZohoCliq.Channels.READ."})
		return
	}
	names := make([]string, 0, len(s.channels))
	for n := range s.channels {
		names = append(names, n)
	}
	slices.Sort(names)
	list := []map[string]string{}
	for _, n := range names {
		list = append(list, map[string]string{"unique_name": n, "name": n})
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": list})
}
