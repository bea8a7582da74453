package cliq

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Form limits.
const (
	// MaxFormInputs is the number of inputs a form may have.
	MaxFormInputs = 25
	// MaxFormNameLength bounds form and input names.
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
type FormInput struct {
	Type            string   `json:"type"`
	Name            string   `json:"name"`
	Label           string   `json:"label"`
	Hint            string   `json:"hint,omitempty"`
	Placeholder     string   `json:"placeholder,omitempty"`
	Mandatory       bool     `json:"mandatory"`
	Value           any      `json:"value,omitempty"` // default: string, bool, or Option
	Format          string   `json:"format,omitempty"`
	MinLength       int      `json:"min_length,omitempty"`
	MaxLength       int      `json:"max_length,omitempty"`
	Options         []Option `json:"options,omitempty"`
	Multiple        bool     `json:"multiple,omitempty"`
	MaxSelections   int      `json:"max_selections,omitempty"`
	DataSource      string   `json:"data_source,omitempty"` // native_select: users, channels, chats, teams
	TriggerOnChange bool     `json:"trigger_on_change,omitempty"`
}

// Option is a choice of a select, radio or checkbox input, and the shape in
// which a submitted choice comes back.
type Option struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Validate reports every way f breaks Cliq's form rules, joined, or nil.
func (f Form) Validate() error {
	var errs []error
	if f.Name == "" || utf8.RuneCountInString(f.Name) > MaxFormNameLength {
		errs = append(errs, fmt.Errorf("cliq: form name must have 1 to %d characters", MaxFormNameLength))
	}
	if f.Title == "" {
		errs = append(errs, errors.New("cliq: form title is empty"))
	}
	if f.Action.Type == "" || f.Action.Name == "" {
		errs = append(errs, errors.New("cliq: form action needs a type and a function name"))
	}
	if len(f.Inputs) == 0 || len(f.Inputs) > MaxFormInputs {
		errs = append(errs, fmt.Errorf("cliq: form has %d inputs, want 1 to %d", len(f.Inputs), MaxFormInputs))
	}
	seen := make(map[string]bool, len(f.Inputs))
	for i, in := range f.Inputs {
		switch {
		case in.Type == "":
			errs = append(errs, fmt.Errorf("cliq: input %d has no type", i))
		case in.Name == "" || utf8.RuneCountInString(in.Name) > MaxFormNameLength:
			errs = append(errs, fmt.Errorf("cliq: input %d name must have 1 to %d characters", i, MaxFormNameLength))
		case seen[in.Name]:
			errs = append(errs, fmt.Errorf("cliq: input name %q is used twice", in.Name))
		case (in.Type == InputSelect || in.Type == InputRadio || in.Type == InputCheckbox) && len(in.Options) == 0:
			errs = append(errs, fmt.Errorf("cliq: input %q needs options", in.Name))
		case in.Type == InputNativeSelect && in.DataSource == "":
			errs = append(errs, fmt.Errorf("cliq: input %q needs a data source", in.Name))
		}
		seen[in.Name] = true
	}
	return errors.Join(errs...)
}
