package delugetest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// method is a built-in method of one value type.
type method[T any] struct {
	arity
	fn func(recv T, args []any) (any, error)
}

// The methods of each type. Calling any method on null is a runtime error,
// toString() included: REFERENCE 13.7 lists null access among runtime errors, and
// the shipped scripts guard with ifnull(x, "").toString() for that reason.
var (
	textMethods = map[string]method[string]{
		"toString":    {arity{0, 0}, func(s string, _ []any) (any, error) { return s, nil }},
		"toMap":       {arity{0, 0}, textToMap},
		"toJSONList":  {arity{0, 0}, textToList},
		"toLong":      {arity{0, 0}, textToLong},
		"toDecimal":   {arity{0, 0}, textToDecimal},
		"length":      {arity{0, 0}, func(s string, _ []any) (any, error) { return int64(utf8.RuneCountInString(s)), nil }},
		"contains":    {arity{1, 1}, textPredicate(strings.Contains)},
		"startsWith":  {arity{1, 1}, textPredicate(strings.HasPrefix)},
		"endsWith":    {arity{1, 1}, textPredicate(strings.HasSuffix)},
		"trim":        {arity{0, 0}, func(s string, _ []any) (any, error) { return strings.TrimSpace(s), nil }},
		"toLowerCase": {arity{0, 0}, func(s string, _ []any) (any, error) { return strings.ToLower(s), nil }},
		"toUpperCase": {arity{0, 0}, func(s string, _ []any) (any, error) { return strings.ToUpper(s), nil }},
		"replaceAll":  {arity{2, 2}, textReplaceAll},
		// isEmpty on "" may return null in Deluge (REFERENCE 13.2); here it is true.
		"isEmpty": {arity{0, 0}, func(s string, _ []any) (any, error) { return s == "", nil }},
		"getJSON": {arity{1, 1}, textGetJSON},
	}
	numberMethods = map[string]method[any]{
		"toString":  {arity{0, 0}, func(n any, _ []any) (any, error) { return text(n) }},
		"toLong":    {arity{0, 0}, numberToLong},
		"toDecimal": {arity{0, 0}, func(n any, _ []any) (any, error) { f, _ := number(n); return f, nil }},
	}
	boolMethods = map[string]method[bool]{
		"toString": {arity{0, 0}, func(b bool, _ []any) (any, error) { return strconv.FormatBool(b), nil }},
	}
	mapMethods = map[string]method[*dmap]{
		"put":          {arity{2, 2}, mapPut},
		"get":          {arity{1, 1}, mapGet},
		"keys":         {arity{0, 0}, mapKeys},
		"containKey":   {arity{1, 1}, mapContainKey},
		"containValue": {arity{1, 1}, mapContainValue},
		"remove":       {arity{1, 1}, mapRemove},
		"isEmpty":      {arity{0, 0}, func(m *dmap, _ []any) (any, error) { return len(m.keys) == 0, nil }},
		"size":         {arity{0, 0}, func(m *dmap, _ []any) (any, error) { return int64(len(m.keys)), nil }},
		"toString":     {arity{0, 0}, func(m *dmap, _ []any) (any, error) { return text(m) }},
		"putAll":       {arity{1, 1}, mapPutAll},
	}
	listMethods = map[string]method[*dlist]{
		"add":      {arity{1, 1}, func(l *dlist, a []any) (any, error) { return nil, l.add(a[0]) }},
		"addAll":   {arity{1, 1}, listAddAll},
		"get":      {arity{1, 1}, listGet},
		"size":     {arity{0, 0}, func(l *dlist, _ []any) (any, error) { return int64(len(l.items)), nil }},
		"isEmpty":  {arity{0, 0}, func(l *dlist, _ []any) (any, error) { return len(l.items) == 0, nil }},
		"contains": {arity{1, 1}, listContains},
		"toString": {arity{0, 0}, func(l *dlist, _ []any) (any, error) { return text(l) }},
		"remove":   {arity{1, 1}, listRemove},
	}
	timeMethods = map[string]method[time.Time]{
		"toLong":   {arity{0, 0}, func(t time.Time, _ []any) (any, error) { return t.UnixMilli(), nil }},
		"toString": {arity{0, 1}, timeToString},
	}
	errMethods = map[string]method[*errValue]{
		"toString": {arity{0, 0}, func(e *errValue, _ []any) (any, error) { return text(e) }},
	}
)

// errFields are the fields a caught error has.
var errFields = []string{"message", "lineNo"}

// knownMethod reports whether any type has a method called name; Check uses it.
func knownMethod(name string) bool {
	_, t := textMethods[name]
	_, n := numberMethods[name]
	_, b := boolMethods[name]
	_, m := mapMethods[name]
	_, l := listMethods[name]
	_, d := timeMethods[name]
	_, e := errMethods[name]
	return t || n || b || m || l || d || e
}

func callMethod(recv any, name string, args []any) (any, error) {
	switch r := recv.(type) {
	case nil:
		return nil, fmt.Errorf("cannot call %s on null", name)
	case string:
		return invokeMethod(textMethods, r, name, args)
	case int64, float64:
		return invokeMethod(numberMethods, recv, name, args)
	case bool:
		return invokeMethod(boolMethods, r, name, args)
	case *dmap:
		return invokeMethod(mapMethods, r, name, args)
	case *dlist:
		return invokeMethod(listMethods, r, name, args)
	case time.Time:
		return invokeMethod(timeMethods, r, name, args)
	case *errValue:
		return invokeMethod(errMethods, r, name, args)
	}
	return nil, fmt.Errorf("cannot call %s on %s", name, typeName(recv))
}

func invokeMethod[T any](table map[string]method[T], recv T, name string, args []any) (any, error) {
	m, ok := table[name]
	if !ok {
		return nil, fmt.Errorf("%s has no method %s", typeName(recv), name)
	}
	if err := m.check(name, len(args)); err != nil {
		return nil, err
	}
	v, err := m.fn(recv, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

func textToMap(s string, _ []any) (any, error) {
	v, err := parseJSON(s)
	if err != nil {
		return nil, fmt.Errorf("text is not a JSON object: %v", err)
	}
	if _, ok := v.(*dmap); !ok {
		return nil, errors.New("text is not a JSON object")
	}
	return v, nil
}

func textToList(s string, _ []any) (any, error) {
	v, err := parseJSON(s)
	if err != nil {
		return nil, fmt.Errorf("text is not a JSON list: %v", err)
	}
	if _, ok := v.(*dlist); !ok {
		return nil, errors.New("text is not a JSON list")
	}
	return v, nil
}

func textGetJSON(s string, args []any) (any, error) {
	m, err := textToMap(s, nil)
	if err != nil {
		return nil, err
	}
	return mapGet(m.(*dmap), args)
}

func textToLong(s string, _ []any) (any, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a whole number", s)
	}
	return v, nil
}

func textToDecimal(s string, _ []any) (any, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

func textPredicate(f func(s, sub string) bool) func(string, []any) (any, error) {
	return func(s string, args []any) (any, error) {
		sub, err := text(args[0])
		if err != nil {
			return nil, err
		}
		return f(s, sub), nil
	}
}

// textReplaceAll replaces matches of a Java regular expression; Go's RE2 syntax
// covers the common subset. In the replacement, $n names a group and \$ is a dollar.
func textReplaceAll(s string, args []any) (any, error) {
	pattern, err := textArg(args, 0)
	if err != nil {
		return nil, err
	}
	repl, err := textArg(args, 1)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("bad pattern %q: %v", pattern, err)
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		switch c := repl[i]; {
		case c == '\\' && i+1 < len(repl):
			i++
			if repl[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(repl[i])
			}
		case c == '$' && i+1 < len(repl) && isDigit(repl[i+1]):
			j := i + 1
			for j < len(repl) && isDigit(repl[j]) {
				j++
			}
			b.WriteString("${" + repl[i+1:j] + "}")
			i = j - 1
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	out := re.ReplaceAllString(s, b.String())
	if len(out) > maxText {
		return nil, errTooLarge
	}
	return out, nil
}

// numberToLong truncates a decimal toward zero (REFERENCE 13.4).
func numberToLong(n any, _ []any) (any, error) {
	if f, ok := n.(float64); ok {
		if math.Abs(f) >= math.MaxInt64 {
			return nil, fmt.Errorf("%s is out of range for a long", formatDecimal(f))
		}
		return int64(f), nil
	}
	return n, nil
}

func mapPut(m *dmap, args []any) (any, error) {
	k, err := mapKey(args[0])
	if err != nil {
		return nil, err
	}
	return nil, m.put(k, args[1])
}

func mapGet(m *dmap, args []any) (any, error) {
	k, err := mapKey(args[0])
	if err != nil {
		return nil, err
	}
	return m.vals[k], nil
}

func mapKeys(m *dmap, _ []any) (any, error) {
	l := &dlist{items: make([]any, len(m.keys))}
	for i, k := range m.keys {
		l.items[i] = k
	}
	return l, nil
}

func mapContainKey(m *dmap, args []any) (any, error) {
	k, err := mapKey(args[0])
	if err != nil {
		return nil, err
	}
	_, ok := m.vals[k]
	return ok, nil
}

func mapContainValue(m *dmap, args []any) (any, error) {
	for _, k := range m.keys {
		eq, err := equal(m.vals[k], args[0])
		if err != nil || eq {
			return eq, err
		}
	}
	return false, nil
}

func mapRemove(m *dmap, args []any) (any, error) {
	k, err := mapKey(args[0])
	if err != nil {
		return nil, err
	}
	return m.remove(k), nil
}

func mapPutAll(m *dmap, args []any) (any, error) {
	other, ok := args[0].(*dmap)
	if !ok {
		return nil, fmt.Errorf("argument is %s, not a map", typeName(args[0]))
	}
	for _, k := range append([]string(nil), other.keys...) {
		if err := m.put(k, other.vals[k]); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func listAddAll(l *dlist, args []any) (any, error) {
	other, ok := args[0].(*dlist)
	if !ok {
		return nil, fmt.Errorf("argument is %s, not a list", typeName(args[0]))
	}
	return nil, l.add(append([]any(nil), other.items...)...)
}

// listIndex checks a 0-based index argument.
func listIndex(l *dlist, arg any) (int, error) {
	i, ok := arg.(int64)
	if !ok {
		return 0, fmt.Errorf("index is %s, not a long", typeName(arg))
	}
	if i < 0 || i >= int64(len(l.items)) {
		return 0, fmt.Errorf("index %d out of range for a list of %d", i, len(l.items))
	}
	return int(i), nil
}

func listGet(l *dlist, args []any) (any, error) {
	i, err := listIndex(l, args[0])
	if err != nil {
		return nil, err
	}
	return l.items[i], nil
}

// listRemove removes the element at an index and returns it.
func listRemove(l *dlist, args []any) (any, error) {
	i, err := listIndex(l, args[0])
	if err != nil {
		return nil, err
	}
	v := l.items[i]
	l.items = append(l.items[:i], l.items[i+1:]...)
	return v, nil
}

func listContains(l *dlist, args []any) (any, error) {
	for _, x := range l.items {
		eq, err := equal(x, args[0])
		if err != nil || eq {
			return eq, err
		}
	}
	return false, nil
}

func timeToString(t time.Time, args []any) (any, error) {
	if len(args) == 0 {
		return formatTime(t, defaultTimeLayout)
	}
	pattern, err := textArg(args, 0)
	if err != nil {
		return nil, err
	}
	return formatTime(t, pattern)
}
