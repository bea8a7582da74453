package cliq

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrMalformedRequest is wrapped by DecodeRequest's errors: the body is not
// what a forwarder sends, so the caller answers 400 rather than a chat reply.
var ErrMalformedRequest = errors.New("cliq: malformed request")

// Request is the body a Deluge forwarder sends: the handler's attributes under
// Cliq's own names, plus our envelope keys handler, component and sent_at.
// Which attributes are set depends on the handler (REFERENCE section 7); the
// others stay zero. Unknown keys are ignored but kept in Raw.
type Request struct {
	Handler   string `json:"handler"`   // command, button, form_submit, bot_message, …
	Component string `json:"component"` // the command, function, bot or extension name
	SentAt    string `json:"sent_at"`   // as Deluge formatted it; see SentTime

	User        User         `json:"user"`
	Chat        *Chat        `json:"chat,omitempty"`
	Access      *Access      `json:"access,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Mentions    []Mention    `json:"mentions,omitempty"`

	// Slash commands and buttons.
	Arguments Arguments      `json:"arguments"`
	Options   map[string]any `json:"options,omitempty"`
	Target    *Target        `json:"target,omitempty"`

	// Bot menu actions: menu_action is our envelope key naming the action
	// (each action has its own script), sub_action Cliq's attribute.
	MenuAction string `json:"menu_action,omitempty"`
	SubAction  string `json:"sub_action,omitempty"`

	// Bot handlers and buttons: the typed text, or the card holding a button.
	Message        *ReceivedMessage `json:"message,omitempty"`
	MessageDetails *MessageDetails  `json:"message_details,omitempty"`
	NewUser        bool             `json:"newuser,omitempty"` // bot welcome
	// Messages are the messages a message action was run on, the acted-on
	// one included.
	Messages *SelectedMessages `json:"messages,omitempty"`

	// Form submissions.
	Form *SubmittedForm `json:"form,omitempty"`

	// Extension and bot incoming webhooks.
	HTTPMethod string            `json:"http_method,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`

	// Forwarded opaquely: their shapes are not documented.
	Selections  json.RawMessage `json:"selections,omitempty"`
	Attachments json.RawMessage `json:"attachments,omitempty"`
	Links       json.RawMessage `json:"links,omitempty"`
	Location    json.RawMessage `json:"location,omitempty"`

	// Raw holds every top-level key as sent, for attributes not modelled here.
	Raw map[string]json.RawMessage `json:"-"`
}

// DecodeRequest parses a forwarded body. Its errors wrap ErrMalformedRequest:
// the body is not a JSON object, user is missing or not an object, or a known
// attribute has the wrong type. Unknown keys are ignored.
func DecodeRequest(body []byte) (*Request, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%w: body is not a json object", ErrMalformedRequest)
	}
	if u, ok := raw["user"]; !ok || !isObject(u) {
		return nil, fmt.Errorf("%w: user is missing or not an object", ErrMalformedRequest)
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("%w: %s has the wrong type", ErrMalformedRequest, te.Field)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformedRequest, err)
	}
	req.Raw = raw
	return &req, nil
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// sentAtLayouts are the forms Deluge's toString patterns produce.
var sentAtLayouts = []string{time.RFC3339, "2006-01-02T15:04:05-0700", "2006-01-02 15:04:05"}

// SentTime parses SentAt, which the forwarder formats in the org's zone.
// It reports false when SentAt is empty or in no known layout.
func (r *Request) SentTime() (time.Time, bool) {
	for _, layout := range sentAtLayouts {
		if t, err := time.Parse(layout, r.SentAt); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Header returns the incoming webhook header named name, matched without
// regard to case because Cliq does not document the casing it passes on.
func (r *Request) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// IncomingBody returns the third-party body of an incoming webhook: body_base64
// decoded when the forwarder sent it (Deluge's escaping of arbitrary text is
// undocumented, SPEC section 10), else body.
func (r *Request) IncomingBody() ([]byte, error) {
	if r.BodyBase64 == "" {
		return []byte(r.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(r.BodyBase64)
	if err != nil {
		return nil, fmt.Errorf("%w: body_base64: %v", ErrMalformedRequest, err)
	}
	return b, nil
}

// User is the Cliq user who triggered the handler. IDs stay strings.
type User struct {
	ID             string `json:"id"`
	FirstName      string `json:"first_name,omitempty"`
	LastName       string `json:"last_name,omitempty"`
	Email          string `json:"email,omitempty"`
	Admin          bool   `json:"admin,omitempty"`
	OrganizationID string `json:"organization_id,omitempty"`
	Timezone       string `json:"timezone,omitempty"`
	Country        string `json:"country,omitempty"`
	Language       string `json:"language,omitempty"`
}

// UnmarshalJSON accepts ids as strings or numbers: Deluge turns ids it
// computed with toLong() into JSON numbers.
func (u *User) UnmarshalJSON(b []byte) error {
	var aux struct {
		ID             flexString `json:"id"`
		FirstName      string     `json:"first_name"`
		LastName       string     `json:"last_name"`
		Email          string     `json:"email"`
		Admin          flexBool   `json:"admin"`
		OrganizationID flexString `json:"organization_id"`
		Timezone       string     `json:"timezone"`
		Country        string     `json:"country"`
		Language       string     `json:"language"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*u = User{
		ID: string(aux.ID), FirstName: aux.FirstName, LastName: aux.LastName, Email: aux.Email,
		Admin: bool(aux.Admin), OrganizationID: string(aux.OrganizationID),
		Timezone: aux.Timezone, Country: aux.Country, Language: aux.Language,
	}
	return nil
}

// Name is the user's full name, or the email when Cliq gave no name.
func (u User) Name() string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	return u.Email
}

// Chat types.
const (
	ChatDM      = "dm"
	ChatChannel = "channel"
	ChatThread  = "thread"
	ChatBot     = "bot"
)

// Chat is the conversation the handler ran in. ChannelUniqueName is set only
// for channel chats.
type Chat struct {
	ID                string `json:"id"`
	Type              string `json:"type,omitempty"`
	Title             string `json:"title,omitempty"`
	Owner             string `json:"owner,omitempty"`
	ChannelUniqueName string `json:"channel_unique_name,omitempty"`
	ChannelID         string `json:"channel_id,omitempty"`
}

// UnmarshalJSON also accepts chat_type, the key's name on older Cliq pages.
func (c *Chat) UnmarshalJSON(b []byte) error {
	type chat Chat
	var aux struct {
		chat
		ChatType string `json:"chat_type"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = Chat(aux.chat)
	if c.Type == "" {
		c.Type = aux.ChatType
	}
	return nil
}

// Access describes where the call came from.
type Access struct {
	UserID    string `json:"user_id,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	ChatID    string `json:"chat_id,omitempty"`
}

// Environment names the caller's data centre, e.g. DataCenter "EU", TLD ".eu".
type Environment struct {
	DataCenter string `json:"data_center,omitempty"`
	TLD        string `json:"tld,omitempty"`
	BaseURL    string `json:"base_url,omitempty"`
}

// Mention is a user, bot or channel mentioned in the typed text.
type Mention struct {
	ID        string `json:"id"`
	Type      string `json:"type,omitempty"` // user, bot or channel
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	DName     string `json:"dname,omitempty"` // "@handle"
}

// UnmarshalJSON accepts the id as a string or a number, as User does.
func (m *Mention) UnmarshalJSON(b []byte) error {
	type mention Mention
	var aux struct {
		mention
		ID flexString `json:"id"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*m = Mention(aux.mention)
	m.ID = string(aux.ID)
	return nil
}

// Arguments is the handler's arguments attribute. A slash command passes the
// text after the command as a string (Text); a button passes an object whose
// key is the clicked button's Key, plus any instant-button arguments (Values).
type Arguments struct {
	Text   string
	Key    string
	Values map[string]any
}

// UnmarshalJSON accepts a string, an object, or null.
func (a *Arguments) UnmarshalJSON(b []byte) error {
	*a = Arguments{}
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &a.Text); err == nil {
		return nil
	}
	if err := json.Unmarshal(b, &a.Values); err != nil {
		return errors.New("arguments is neither text nor an object")
	}
	if k, ok := a.Values["key"].(string); ok {
		a.Key = k
	}
	return nil
}

// MarshalJSON writes the form it was decoded from: the text, else the object.
func (a Arguments) MarshalJSON() ([]byte, error) {
	if a.Values == nil && a.Key == "" {
		return json.Marshal(a.Text)
	}
	v := make(map[string]any, len(a.Values)+1)
	for k, x := range a.Values {
		v[k] = x
	}
	if a.Key != "" {
		v["key"] = a.Key
	}
	return json.Marshal(v)
}

// Target is the clicked button (button functions) or sub-menu (bot menu).
type Target struct {
	Name string `json:"name,omitempty"`
	Hint string `json:"hint,omitempty"`
}

// ReceivedMessage is the message attribute: bot handlers pass the typed text
// as a plain string, which lands in Text; a button function passes the whole
// message map that held the button; mentions and message actions pass a
// message object with its sender and time (REFERENCE section 6).
type ReceivedMessage struct {
	Message
	Sender *User   `json:"sender,omitempty"`
	Time   flexInt `json:"time,omitempty"` // epoch milliseconds, sent as text
	Type   string  `json:"type,omitempty"`
}

// UnmarshalJSON accepts a string or a message object.
func (m *ReceivedMessage) UnmarshalJSON(b []byte) error {
	*m = ReceivedMessage{}
	if err := json.Unmarshal(b, &m.Text); err == nil {
		return nil
	}
	if err := json.Unmarshal(b, &m.Message); err != nil {
		return errors.New("message is neither text nor an object")
	}
	var extra struct {
		Sender *User   `json:"sender"`
		Time   flexInt `json:"time"`
		Type   string  `json:"type"`
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	m.Sender, m.Time, m.Type = extra.Sender, extra.Time, extra.Type
	return nil
}

// SelectedMessages is a message action's messages attribute.
type SelectedMessages struct {
	Count int               `json:"count"`
	List  []ReceivedMessage `json:"list"`
}

// MessageDetails accompanies bot message and mention handlers. Time (epoch
// milliseconds) is what lets a caller deduplicate, as Cliq gives no message id.
type MessageDetails struct {
	Time    int64 `json:"time"`
	Message struct {
		Type     string    `json:"type,omitempty"`
		Text     string    `json:"text,omitempty"`
		Mentions []Mention `json:"mentions,omitempty"`
	} `json:"message"`
}

// SubmittedForm is the form attribute of a form submit handler.
type SubmittedForm struct {
	Name   string               `json:"name"`
	Values map[string]FormValue `json:"values"`
}

// FormValue is one submitted input. Its JSON type depends on the input:
// text inputs give a string, selects a {label,value} object, multi-selects
// and checkboxes a list, toggles a bool. The accessors read each shape.
type FormValue struct {
	raw json.RawMessage
}

// UnmarshalJSON keeps the raw value for the accessors.
func (v *FormValue) UnmarshalJSON(b []byte) error {
	v.raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the value as received.
func (v FormValue) MarshalJSON() ([]byte, error) {
	if v.raw == nil {
		return []byte("null"), nil
	}
	return v.raw, nil
}

// String returns a text value, a select's value, or a number or bool as
// text; "" for anything else, including lists.
func (v FormValue) String() string {
	var s string
	if json.Unmarshal(v.raw, &s) == nil {
		return s
	}
	if o, ok := v.Option(); ok {
		return o.Value
	}
	var n json.Number
	if json.Unmarshal(v.raw, &n) == nil {
		return n.String()
	}
	if b, ok := v.Bool(); ok {
		return strconv.FormatBool(b)
	}
	return ""
}

// Option returns a single select's {label,value}.
func (v FormValue) Option() (Option, bool) {
	if !isObject(v.raw) {
		return Option{}, false
	}
	var o struct {
		Label flexString `json:"label"`
		Value flexString `json:"value"`
	}
	if json.Unmarshal(v.raw, &o) != nil {
		return Option{}, false
	}
	return Option{Label: string(o.Label), Value: string(o.Value)}, true
}

// Options returns the choices of a multi-select or checkbox input. Choices
// given as plain strings become options whose label and value are the string.
// A single select gives a list of one.
func (v FormValue) Options() ([]Option, bool) {
	if o, ok := v.Option(); ok {
		return []Option{o}, true
	}
	var items []json.RawMessage
	if json.Unmarshal(v.raw, &items) != nil {
		return nil, false
	}
	opts := make([]Option, 0, len(items))
	for _, it := range items {
		item := FormValue{raw: it}
		if o, ok := item.Option(); ok {
			opts = append(opts, o)
			continue
		}
		var s string
		if json.Unmarshal(it, &s) != nil {
			return nil, false
		}
		opts = append(opts, Option{Label: s, Value: s})
	}
	return opts, true
}

// DateTime is the value of a datetime input: the wall-clock time the user
// picked and, when Cliq sends it, the zone it is in (REFERENCE section 8.1).
type DateTime struct {
	DateTime   string `json:"date_time"`
	TimeZoneID string `json:"time_zone_id,omitempty"`
}

// DateTime returns a datetime input's {date_time, time_zone_id} object.
func (v FormValue) DateTime() (DateTime, bool) {
	if !isObject(v.raw) {
		return DateTime{}, false
	}
	var d DateTime
	if json.Unmarshal(v.raw, &d) != nil || d.DateTime == "" {
		return DateTime{}, false
	}
	return d, true
}

// Bool returns a toggle's value; the strings "true" and "false" count too.
func (v FormValue) Bool() (bool, bool) {
	var b flexBool
	if json.Unmarshal(v.raw, &b) != nil {
		return false, false
	}
	return bool(b), true
}

// IsNull reports whether the input was left empty (absent or null).
func (v FormValue) IsNull() bool {
	t := bytes.TrimSpace(v.raw)
	return len(t) == 0 || string(t) == "null"
}

// flexString decodes a JSON string or number (kept as written) or null.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = flexString(str)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("want a string or a number")
	}
	*s = flexString(n)
	return nil
}

// flexInt decodes a JSON number or a text of digits, or null (0).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return errors.New("want an integer")
	}
	*f = flexInt(n)
	return nil
}

// flexBool decodes a JSON bool, the strings "true"/"false", or null (false).
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "true", `"true"`:
		*f = true
	case "false", `"false"`, "null":
		*f = false
	default:
		return errors.New("want a bool")
	}
	return nil
}
