package delugetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A Deluge value is held as one of these Go types:
//
//	nil        null
//	string     text
//	int64      long
//	float64    decimal
//	bool       boolean
//	*dmap      map (keys in insertion order)
//	*dlist     list
//	time.Time  date-time, already in the org time zone
//	*errValue  the variable of a catch block
//
// Maps and lists are references, as in Deluge: putting a map into another and then
// changing it changes both.

type dmap struct {
	keys []string
	vals map[string]any
}

func newMap() *dmap { return &dmap{vals: map[string]any{}} }

func (m *dmap) put(k string, v any) error {
	if _, ok := m.vals[k]; !ok {
		if len(m.keys) >= maxItems {
			return errTooLarge
		}
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
	return nil
}

func (m *dmap) remove(k string) any {
	v, ok := m.vals[k]
	if ok {
		delete(m.vals, k)
		m.keys = slices.DeleteFunc(m.keys, func(s string) bool { return s == k })
	}
	return v
}

type dlist struct{ items []any }

func (l *dlist) add(v ...any) error {
	if len(l.items)+len(v) > maxItems {
		return errTooLarge
	}
	l.items = append(l.items, v...)
	return nil
}

// errValue is a caught runtime error: e.message, e.lineNo.
type errValue struct {
	msg  string
	line int
}

// Limits that keep a hostile or looping script from exhausting memory or the stack.
const (
	maxItems = 1 << 20 // entries of one map or list
	maxText  = 1 << 22 // bytes of one text
	maxDepth = 100     // nesting of maps and lists in serialisation and comparison
)

var (
	errTooLarge = errors.New("value too large")
	errTooDeep  = errors.New("value nested too deeply or contains itself")
)

// defaultTimeLayout is how a date-time turns into text without a pattern; Deluge
// shows e.g. 10-Mar-2025 14:35:02 [inf].
const defaultTimeLayout = "dd-MMM-yyyy HH:mm:ss"

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case int64:
		return "long"
	case float64:
		return "decimal"
	case bool:
		return "boolean"
	case *dmap:
		return "map"
	case *dlist:
		return "list"
	case time.Time:
		return "date-time"
	case *errValue:
		return "error"
	}
	return fmt.Sprintf("%T", v)
}

// text renders v as + and info do: text as it is, maps and lists as JSON, and null
// as the empty text [inf: Deluge's exact rendering of null in concatenation is not
// documented].
func text(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case time.Time:
		return formatTime(v, defaultTimeLayout)
	case *errValue:
		return fmt.Sprintf("%s (line %d)", v.msg, v.line), nil
	}
	var b bytes.Buffer
	if err := writeJSON(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func formatDecimal(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// writeJSON writes v as compact JSON: maps in insertion order, text escaped as
// JSON without HTML escaping, longs without a decimal point.
func writeJSON(b *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	if b.Len() > maxText {
		return errTooLarge
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeJSONString(b, v)
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		b.WriteString(formatDecimal(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case *dmap:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if err := writeJSON(b, v.vals[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case *dlist:
		b.WriteByte('[')
		for i, x := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, x, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default: // date-time and error: their text, quoted
		s, err := text(v)
		if err != nil {
			return err
		}
		writeJSONString(b, s)
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// equal is Deluge's ==: numbers by value (a long equals the same decimal), text,
// booleans and date-times by value, maps and lists by content; null equals only null.
func equal(a, b any) (bool, error) {
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			ia, aLong := a.(int64)
			ib, bLong := b.(int64)
			if aLong && bLong {
				return ia == ib, nil
			}
			return fa == fb, nil
		}
		return false, nil
	}
	switch a := a.(type) {
	case nil:
		return b == nil, nil
	case string, bool:
		return a == b, nil
	case time.Time:
		bt, ok := b.(time.Time)
		return ok && a.Equal(bt), nil
	case *errValue:
		return a == b, nil
	}
	if typeName(a) != typeName(b) {
		return false, nil
	}
	if a == b {
		return true, nil
	}
	var ja, jb bytes.Buffer
	if err := writeJSON(&ja, a, 0); err != nil {
		return false, err
	}
	if err := writeJSON(&jb, b, 0); err != nil {
		return false, err
	}
	return bytes.Equal(ja.Bytes(), jb.Bytes()), nil
}

// number returns v as a float64 when it is a long or a decimal.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// Object is a Deluge map converted to Go by Run: its keys in insertion order and
// their values (JSON-shaped: *Object, []any, string, json.Number, bool or nil).
// It marshals to JSON in that order, as Deluge's toString() does.
type Object struct {
	Keys   []string
	Values map[string]any
}

// MarshalJSON writes the object with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, k)
		b.WriteByte(':')
		v, err := json.Marshal(o.Values[k])
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// toGo converts a Deluge value to JSON-shaped Go: maps to *Object, lists to []any,
// numbers to json.Number, date-times and errors to their text.
func toGo(v any) (any, error) {
	budget := maxItems // shared lists and maps are copied each time they appear
	return toGoBudget(v, 0, &budget)
}

func toGoBudget(v any, depth int, budget *int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	if *budget--; *budget < 0 {
		return nil, errTooLarge
	}
	switch v := v.(type) {
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case float64:
		return json.Number(formatDecimal(v)), nil
	case *dmap:
		o := &Object{Keys: slices.Clone(v.keys), Values: make(map[string]any, len(v.keys))}
		for _, k := range v.keys {
			x, err := toGoBudget(v.vals[k], depth+1, budget)
			if err != nil {
				return nil, err
			}
			o.Values[k] = x
		}
		return o, nil
	case *dlist:
		out := make([]any, len(v.items))
		for i, x := range v.items {
			g, err := toGoBudget(x, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case time.Time, *errValue:
		return text(v)
	}
	return v, nil
}

// fromGo converts an attribute to a Deluge value. It accepts what encoding/json
// decodes into any (with or without UseNumber), *Object, and json.RawMessage (decoded
// keeping key order). Keys of a map[string]any are taken in sorted order.
func fromGo(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch v := v.(type) {
	case nil, string, bool:
		return v, nil
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), nil
		}
		return v, nil
	case json.Number:
		return jsonNumber(v)
	case json.RawMessage:
		return parseJSON(string(v))
	case []any:
		l := &dlist{items: make([]any, len(v))}
		for i, x := range v {
			d, err := fromGo(x, depth+1)
			if err != nil {
				return nil, err
			}
			l.items[i] = d
		}
		return l, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return fromGoMap(keys, v, depth)
	case *Object:
		return fromGoMap(v.Keys, v.Values, depth)
	}
	return nil, fmt.Errorf("unsupported Go value of type %T", v)
}

func fromGoMap(keys []string, vals map[string]any, depth int) (any, error) {
	m := newMap()
	for _, k := range keys {
		d, err := fromGo(vals[k], depth+1)
		if err != nil {
			return nil, err
		}
		if err := m.put(k, d); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// jsonNumber is a long when n is an integer that fits, else a decimal.
func jsonNumber(n json.Number) (any, error) {
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %s is out of range", n)
	}
	return f, nil
}

// parseJSON decodes JSON text into Deluge values, keeping the key order of objects.
func parseJSON(s string) (any, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("text is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("text after the JSON value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := newMap()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				ks, ok := k.(string)
				if !ok {
					return nil, errors.New("object key is not text")
				}
				if err := m.put(ks, v); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token() // }
			return m, err
		case '[':
			l := &dlist{}
			for dec.More() {
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if err := l.add(v); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token() // ]
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return jsonNumber(t)
	}
	return t, nil // string, bool or nil
}
