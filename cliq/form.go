package cliq

import (
	"encoding/json"
)

// Form limits.
const (
	// MaxFormInputs is the number of inputs a form may have.
	MaxFormInputs = 25
	// MaxFormNameLength bounds form and input names (REFERENCE §8).
	MaxFormNameLength = 50
)

// Form input types.
const (
	InputText         = "text"
	InputTextarea     = "textarea"
	InputNumber       = "number"
	InputSelect       = "select"
	InputNativeSelect = "native_select" // Cliq's own users, channels, …: see DataSource
	InputCheckbox     = "checkbox"
	InputRadio        = "radio"
	InputToggle       = "toggle"
	InputDate         = "date"
	InputDatetime     = "datetime"
	InputHidden       = "hidden"
)

// Form is a form a handler returns; Cliq shows it and, on submit, calls the
// function named in Action with form.name and form.values. It marshals with
// "type":"form", the shape a handler answers with.
type Form struct {
	Name            string      `json:"name"`
	Title           string      `json:"title"`
	Hint            string      `json:"hint,omitempty"`
	ButtonLabel     string      `json:"button_label,omitempty"`
	TriggerOnCancel bool        `json:"trigger_on_cancel,omitempty"`
	Action          FormAction  `json:"action"`
	Inputs          []FormInput `json:"inputs"`
}

// FormAction names the form function that receives the submission.
type FormAction struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// SubmitTo returns the action that submits a form to the Cliq function named
// function.
func SubmitTo(function string) FormAction {
	return FormAction{Type: ActionInvokeFunction, Name: function}
}

// MarshalJSON adds "type":"form", which is what tells Cliq the answer is a
// form rather than a message.
func (f Form) MarshalJSON() ([]byte, error) {
	type form Form // no MarshalJSON method: avoids recursion
	if f.Inputs == nil {
		f.Inputs = []FormInput{}
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		form
	}{"form", form(f)})
}

// FormInput is one field of a form. Mandatory is always sent because Cliq's
// default differs by type (true for text, false for checkbox).
//
// Value is the default (REFERENCE §8.1): text for text, textarea, date
// (yyyy-MM-dd) and native_select (the picked id); for select, radio and
// checkbox the value of one option as text (comma-separated when several may
// be picked), never an Option; a bool for toggle; for datetime an object
// {"date_time": "yyyy-MM-ddTHH:mm", "time_zone_id": "<IANA zone>"}.
//
// DataSource is what a native_select lists: "channels", "conversations",
// "teams" or "contacts" (people come from contacts; there is no "users").
// Filter narrows it with one text per source: channels take organization,
// team, private or external; conversations dm, channels, adhoc or bots;
// contacts colleagues or contacts; teams none. A date or datetime input's
// Filter is an object {from, to, allowed_days}.
type FormInput struct {
	Type            string   `json:"type"`
	Name            string   `json:"name"`
	Label           string   `json:"label"`
	Hint            string   `json:"hint,omitempty"`
	Placeholder     string   `json:"placeholder,omitempty"`
	Mandatory       bool     `json:"mandatory"`
	Value           any      `json:"value,omitempty"` // default, see below
	Format          string   `json:"format,omitempty"`
	MinLength       int      `json:"min_length,omitempty"`
	MaxLength       int      `json:"max_length,omitempty"`
	Options         []Option `json:"options,omitempty"`
	Multiple        bool     `json:"multiple,omitempty"`
	MaxSelections   int      `json:"max_selections,omitempty"`
	DataSource      string   `json:"data_source,omitempty"` // native_select: see below
	Filter          any      `json:"filter,omitempty"`      // native_select, date, datetime: see below
	TriggerOnChange bool     `json:"trigger_on_change,omitempty"`
}

// Option is a choice of a select, radio or checkbox input, and the shape in
// which a submitted choice comes back.
type Option struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Validate reports every way f breaks Cliq's form rules (REFERENCE §8) as a
// *ValidationError naming each bad field, or nil.
func (f Form) Validate() error {
	return validateValue(HandlerResponse, f)
}
