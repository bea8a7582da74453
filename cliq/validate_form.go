package cliq

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Input limits (REFERENCE §8, §8.1), beyond MaxFormInputs and
// MaxFormNameLength in form.go.
const (
	MaxInputLabelLength       = 50
	MaxInputHintLength        = 100
	MaxInputPlaceholderLength = 100
	MaxTextInputLength        = 100  // text: max_length and default value
	MaxTextareaLength         = 5000 // textarea: max_length
	MaxTextareaValueLength    = 1000 // textarea: default value
	MaxSelectOptions          = 100  // select, dynamic_select
	MaxOptionLength           = 100  // select option label and value; checkbox label
	MaxSelections             = 10   // select, native_select, dynamic_select, file
	MaxCheckboxOptions        = 5
	MaxCheckboxValueLength    = 50
	MaxCheckboxDefaultLength  = 250 // one copy of the page says 260
)

// Data sources of a native_select input and the filters each takes
// (REFERENCE §8.1, drop-down-cliq-native.html). teams takes none.
var nativeSources = map[string][]string{
	"channels":      {"organization", "team", "private", "external"},
	"conversations": {"dm", "channels", "adhoc", "bots"},
	"teams":         nil,
	"contacts":      {"colleagues", "contacts"},
}

// selectName is the input name the select pages allow (REFERENCE §8).
var selectName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// inputTypes are the input types REFERENCE §8 documents.
var inputTypes = []string{
	InputText, InputTextarea, InputNumber, InputSelect, InputNativeSelect, "dynamic_select",
	InputCheckbox, InputRadio, InputToggle, InputDate, InputDatetime, InputHidden, "file", "location",
}

var weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// form checks a form answer (REFERENCE §8).
func (c *checker) form(f map[string]any) {
	c.only("", f, "type", "title", "name", "hint", "button_label", "version", "action", "trigger_on_cancel", "inputs")
	c.text("", f, "name", true, MaxFormNameLength)
	c.text("", f, "title", true, 0)
	c.text("", f, "hint", false, 0)
	c.text("", f, "button_label", false, 0)
	c.integer("", f, "version", 1, 1)
	c.boolean("", f, "trigger_on_cancel")
	if v, ok := f["action"]; !ok {
		c.add("action", "is required")
	} else if a, ok := c.object("action", v); ok {
		c.only("action", a, "type", "name")
		c.oneOf("action", a, "type", true, ActionInvokeFunction)
		c.text("action", a, "name", true, 0)
	}
	v, ok := f["inputs"]
	if !ok {
		c.add("inputs", "is required")
		return
	}
	inputs, _ := c.array("inputs", v)
	c.count("inputs", len(inputs), 1, MaxFormInputs)
	seen := make(map[string]int, len(inputs))
	for i, in := range inputs {
		p := at("inputs", i)
		in, ok := c.object(p, in)
		if !ok {
			continue
		}
		name := c.input(p, in)
		if first, dup := seen[name]; dup && name != "" {
			c.add(field(p, "name"), "%q is also the name of inputs[%d]", name, first)
		} else {
			seen[name] = i
		}
	}
}

// input checks one input and returns its name.
func (c *checker) input(path string, in map[string]any) string {
	typ, _ := c.oneOf(path, in, "type", true, inputTypes...)
	name, _ := c.text(path, in, "name", true, MaxFormNameLength)
	isSelect := typ == InputSelect || typ == InputNativeSelect || typ == "dynamic_select"
	if isSelect && name != "" && !selectName.MatchString(name) {
		c.add(field(path, "name"), "%q has characters other than a-z A-Z 0-9 _ -", name)
	}
	c.text(path, in, "label", typ != InputHidden, MaxInputLabelLength)
	c.text(path, in, "hint", false, MaxInputHintLength)
	c.text(path, in, "placeholder", false, MaxInputPlaceholderLength)
	for _, k := range []string{"mandatory", "trigger_on_change", "multiple"} {
		c.boolean(path, in, k)
	}
	value, hasValue := in["value"]
	vp := field(path, "value")
	switch typ {
	case InputText:
		c.lengths(path, in, MaxTextInputLength)
		c.text(path, in, "value", false, MaxTextInputLength)
	case InputTextarea:
		c.lengths(path, in, MaxTextareaLength)
		c.text(path, in, "value", false, MaxTextareaValueLength)
	case InputSelect, "dynamic_select":
		values := c.options(path, in, typ == InputSelect, MaxSelectOptions, MaxOptionLength, MaxOptionLength)
		c.integer(path, in, "max_selections", 1, MaxSelections)
		if hasValue {
			c.defaultValue(vp, value, values, in["multiple"] == true, 0)
		}
	case InputCheckbox:
		values := c.options(path, in, true, MaxCheckboxOptions, MaxOptionLength, MaxCheckboxValueLength)
		c.integer(path, in, "max_selections", 1, MaxCheckboxOptions)
		if hasValue {
			c.defaultValue(vp, value, values, true, MaxCheckboxDefaultLength)
		}
	case InputRadio: // no limits documented
		values := c.options(path, in, true, 0, 0, 0)
		if hasValue {
			c.defaultValue(vp, value, values, false, 0)
		}
	case InputNativeSelect:
		c.nativeSelect(path, in)
	case InputToggle:
		c.boolean(path, in, "value")
	case InputDate:
		if s, ok := c.text(path, in, "value", false, 0); ok {
			c.timeText(vp, s, time.DateOnly)
		}
		c.dateFilter(path, in, time.DateOnly)
	case InputDatetime:
		if hasValue {
			c.datetimeValue(vp, value)
		}
		c.dateFilter(path, in, "2006-01-02T15:04")
	case "file":
		c.integer(path, in, "max_selections", 1, MaxSelections)
		c.integer(path, in, "max_size", 1, 51200) // KB
	case InputHidden:
		c.text(path, in, "value", false, 0)
	}
	return name
}

// lengths checks min_length and max_length against limit.
func (c *checker) lengths(path string, in map[string]any, limit int64) {
	hi, ok := c.integer(path, in, "max_length", 1, limit)
	if !ok {
		hi = limit
	}
	c.integer(path, in, "min_length", 0, hi)
}

// options checks the options of a select, checkbox or radio input, at most
// limit of them (0: no limit) with labels and values of at most labelMax and
// valueMax characters, and returns their values. Select options may be
// grouped one level deep: {label, options: […]}.
func (c *checker) options(path string, in map[string]any, required bool, limit, labelMax, valueMax int) []string {
	p := field(path, "options")
	v, ok := in["options"]
	if !ok {
		if required {
			c.add(p, "is required")
		}
		return nil
	}
	var values []string
	var walk func(p string, v any, groups bool)
	walk = func(p string, v any, groups bool) {
		options, _ := c.array(p, v)
		for i, o := range options {
			q := at(p, i)
			o, ok := c.object(q, o)
			if !ok {
				continue
			}
			if sub, ok := o["options"]; ok && groups && in["type"] == InputSelect {
				c.only(q, o, "label", "options")
				c.text(q, o, "label", true, labelMax)
				walk(field(q, "options"), sub, false)
				continue
			}
			c.only(q, o, "label", "value", "thumbnail")
			c.text(q, o, "label", true, labelMax)
			if s, ok := c.text(q, o, "value", true, valueMax); ok {
				values = append(values, s)
			}
		}
	}
	walk(p, v, true)
	if required && len(values) == 0 {
		c.add(p, "has no options")
	}
	if limit > 0 && len(values) > limit {
		c.add(p, "%d options, limit %d", len(values), limit)
	}
	return values
}

// defaultValue checks a choice input's default: text equal to one option's
// value, not an option object (REFERENCE §8.1); comma-separated values when
// several may be picked, at most limit characters (0: no limit).
func (c *checker) defaultValue(path string, v any, values []string, multiple bool, limit int) {
	s, ok := v.(string)
	if !ok {
		c.add(path, "want an option's value as a string, got %s", kind(v))
		return
	}
	c.length(path, s, limit)
	picked := []string{s}
	if multiple {
		picked = strings.Split(s, ",")
	}
	for _, p := range picked {
		if !slices.Contains(values, p) {
			c.add(path, "%q is not the value of an option", p)
		}
	}
}

// nativeSelect checks a native_select's data source, filter and default
// (REFERENCE §8.1).
func (c *checker) nativeSelect(path string, in map[string]any) {
	sources := make([]string, 0, len(nativeSources))
	for s := range nativeSources {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	source, ok := c.oneOf(path, in, "data_source", true, sources...)
	if _, present := in["filter"]; present && ok {
		if filters := nativeSources[source]; len(filters) == 0 {
			c.add(field(path, "filter"), "data source %s takes no filter", source)
		} else {
			c.oneOf(path, in, "filter", true, filters...)
		}
	}
	c.integer(path, in, "max_selections", 1, MaxSelections)
	c.text(path, in, "value", false, 0) // ids, comma-separated when multiple
}

// timeText reports s not in layout.
func (c *checker) timeText(path, s, layout string) {
	if _, err := time.Parse(layout, s); err != nil {
		c.add(path, "%q is not a %s", s, layoutName(layout))
	}
}

func layoutName(layout string) string {
	return strings.NewReplacer("2006", "yyyy", "01", "MM", "02", "dd", "15", "HH", "04", "mm", "05", "ss").Replace(layout)
}

// datetimeValue checks a datetime default: {date_time, time_zone_id?}
// (REFERENCE §8.1, input-type-date-time.html).
func (c *checker) datetimeValue(path string, v any) {
	dt, ok := v.(map[string]any)
	if !ok {
		c.add(path, "want an object {date_time, time_zone_id}, got %s", kind(v))
		return
	}
	c.only(path, dt, "date_time", "time_zone_id")
	if s, ok := c.text(path, dt, "date_time", true, 0); ok {
		if _, err := time.Parse("2006-01-02T15:04:05", s); err != nil {
			c.timeText(field(path, "date_time"), s, "2006-01-02T15:04")
		}
	}
	c.text(path, dt, "time_zone_id", false, 0)
}

// dateFilter checks the optional filter of a date or datetime input:
// {from?, to?, allowed_days?}, not empty, times in layout.
func (c *checker) dateFilter(path string, in map[string]any, layout string) {
	v, ok := in["filter"]
	if !ok {
		return
	}
	p := field(path, "filter")
	f, ok := c.object(p, v)
	if !ok {
		return
	}
	c.only(p, f, "from", "to", "allowed_days")
	if len(f) == 0 {
		c.add(p, "is empty")
	}
	for _, k := range []string{"from", "to"} {
		if s, ok := c.text(p, f, k, false, 0); ok {
			c.timeText(field(p, k), s, layout)
		}
	}
	if v, ok := f["allowed_days"]; ok {
		dp := field(p, "allowed_days")
		c.strings(dp, v, func(p, d string) {
			if !slices.Contains(weekdays, d) {
				c.add(p, "%q is not a day from monday to sunday", d)
			}
		})
	}
}
