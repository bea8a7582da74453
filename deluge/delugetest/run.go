package delugetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Program is a parsed script.
type Program struct {
	name  string
	stmts []node
}

// Error is a problem in a script at a line (and, for syntax errors, a column).
// Parse, Check and Run return it, wrapped with the script's name where useful.
type Error struct {
	Line int
	Col  int // 0 when only the line is known
	Msg  string
	// fatal errors end the run even inside try: the step budget, cancellation,
	// and reading an undefined variable (a save-time error in Cliq, not catchable).
	fatal bool
}

func (e *Error) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("line %d:%d: %s", e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// ErrInternal marks a bug in this package that Run recovered from (a Go panic).
var ErrInternal = errors.New("delugetest: internal error")

// DefaultMaxSteps is the statement budget when Env.MaxSteps is 0: Deluge's
// documented limit of about 5000 executed statements (REFERENCE 9).
const DefaultMaxSteps = 5000

// Env is what a run sees of the world.
type Env struct {
	// Attrs are the handler's attributes, bound as variables: JSON-shaped Go values
	// (map[string]any, []any, string, float64 or json.Number, bool, nil), *Object, or
	// json.RawMessage. map[string]any keys are bound in sorted order; pass *Object or
	// json.RawMessage to choose the order.
	Attrs map[string]any
	// HTTPClient sends invokeurl requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Now is zoho.currenttime; nil means time.Now.
	Now func() time.Time
	// Location is the org time zone date-times are shown in; nil means UTC.
	Location *time.Location
	// PostToChannel is zoho.cliq.postToChannel; its JSON-shaped return value is the
	// call's result. When nil the call is a runtime error.
	PostToChannel func(channel string, message any) any
	// Info receives the text of each info statement; nil discards it.
	Info func(line string)
	// MaxSteps is the number of statements a run may execute; 0 means DefaultMaxSteps.
	MaxSteps int
}

// Run executes the script with env and returns its returned value converted to Go
// (see Object; a bare return or none gives nil). An uncaught runtime error is
// returned as an error wrapping *Error. Run never panics: a bug here surfaces as
// an error wrapping ErrInternal.
func (p *Program) Run(ctx context.Context, env Env) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("%w: %s: %v", ErrInternal, p.name, r)
		}
	}()
	in := &interp{ctx: ctx, env: env, vars: map[string]any{}, maxSteps: env.MaxSteps}
	if in.maxSteps <= 0 {
		in.maxSteps = DefaultMaxSteps
	}
	if in.env.Location == nil {
		in.env.Location = time.UTC
	}
	if in.env.Now == nil {
		in.env.Now = time.Now
	}
	if in.env.HTTPClient == nil {
		in.env.HTTPClient = http.DefaultClient
	}
	for name, v := range env.Attrs {
		d, err := fromGo(v, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: attribute %s: %w", p.name, name, err)
		}
		in.vars[name] = d
	}
	if _, err := in.exec(p.stmts); err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	out, err := toGo(in.ret)
	if err != nil {
		return nil, fmt.Errorf("%s: returned value: %w", p.name, err)
	}
	return out, nil
}

// flow says how a statement list ended.
type flow int

const (
	flowNext flow = iota
	flowBreak
	flowContinue
	flowReturn
)

type interp struct {
	ctx      context.Context
	env      Env
	vars     map[string]any
	steps    int
	maxSteps int
	ret      any
}

// fail is a catchable runtime error at n.
func fail(n node, format string, args ...any) *Error {
	return &Error{Line: n.at().line, Msg: fmt.Sprintf(format, args...)}
}

func fatal(n node, format string, args ...any) *Error {
	e := fail(n, format, args...)
	e.fatal = true
	return e
}

func (in *interp) exec(stmts []node) (flow, error) {
	for _, s := range stmts {
		in.steps++
		if in.steps > in.maxSteps {
			return flowNext, fatal(s, "statement limit of %d exceeded", in.maxSteps)
		}
		if err := in.ctx.Err(); err != nil {
			return flowNext, fatal(s, "stopped: %v", err)
		}
		f, err := in.stmt(s)
		if err != nil || f != flowNext {
			return f, err
		}
	}
	return flowNext, nil
}

func (in *interp) stmt(s node) (flow, error) {
	switch s := s.(type) {
	case *assignStmt:
		v, err := in.eval(s.value)
		if err != nil {
			return flowNext, err
		}
		in.vars[s.name] = v
	case *exprStmt:
		_, err := in.eval(s.x)
		return flowNext, err
	case *infoStmt:
		v, err := in.eval(s.value)
		if err != nil {
			return flowNext, err
		}
		t, err := text(v)
		if err != nil {
			return flowNext, fail(s, "info: %v", err)
		}
		if in.env.Info != nil {
			in.env.Info(t)
		}
	case *returnStmt:
		in.ret = nil
		if s.value != nil {
			v, err := in.eval(s.value)
			if err != nil {
				return flowNext, err
			}
			in.ret = v
		}
		return flowReturn, nil
	case *breakStmt:
		return flowBreak, nil
	case *continueStmt:
		return flowContinue, nil
	case *ifStmt:
		ok, err := in.cond(s.cond)
		if err != nil {
			return flowNext, err
		}
		if ok {
			return in.exec(s.then)
		}
		return in.exec(s.els)
	case *forStmt:
		v, err := in.eval(s.list)
		if err != nil {
			return flowNext, err
		}
		l, ok := v.(*dlist)
		if !ok {
			return flowNext, fail(s, "for each needs a list, got %s", typeName(v))
		}
		// The loop runs over the list as it was when the loop started.
		for _, item := range append([]any(nil), l.items...) {
			in.vars[s.name] = item
			f, err := in.exec(s.body)
			if err != nil || f == flowReturn {
				return f, err
			}
			if f == flowBreak {
				break
			}
		}
	case *tryStmt:
		f, err := in.exec(s.body)
		var e *Error
		if err == nil || !errors.As(err, &e) || e.fatal {
			return f, err
		}
		in.vars[s.errName] = &errValue{msg: e.Msg, line: e.Line}
		return in.exec(s.handler)
	default:
		return flowNext, fatal(s, "unknown statement %T", s)
	}
	return flowNext, nil
}

// cond evaluates a condition, which must be a boolean.
func (in *interp) cond(n node) (bool, error) {
	v, err := in.eval(n)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fail(n, "condition is %s, not a boolean", typeName(v))
	}
	return b, nil
}

func (in *interp) evalAll(ns []node) ([]any, error) {
	out := make([]any, len(ns))
	for i, n := range ns {
		v, err := in.eval(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (in *interp) eval(n node) (any, error) {
	switch n := n.(type) {
	case *literal:
		return n.v, nil
	case *varRef:
		v, ok := in.vars[n.name]
		if !ok {
			return nil, fatal(n, "variable %q is not defined", n.name)
		}
		return v, nil
	case *mapLit:
		m := newMap()
		for i := range n.keys {
			k, err := in.eval(n.keys[i])
			if err != nil {
				return nil, err
			}
			key, err := mapKey(k)
			if err != nil {
				return nil, fail(n.keys[i], "%v", err)
			}
			v, err := in.eval(n.vals[i])
			if err != nil {
				return nil, err
			}
			if err := m.put(key, v); err != nil {
				return nil, fail(n, "%v", err)
			}
		}
		return m, nil
	case *listLit:
		items, err := in.evalAll(n.items)
		if err != nil {
			return nil, err
		}
		return &dlist{items: items}, nil
	case *unaryExpr:
		v, err := in.eval(n.x)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case bool:
			if n.op == "!" {
				return !x, nil
			}
		case int64:
			if n.op == "-" {
				return -x, nil
			}
		case float64:
			if n.op == "-" {
				return -x, nil
			}
		}
		return nil, fail(n, "operator %s cannot apply to %s", n.op, typeName(v))
	case *binaryExpr:
		return in.binary(n)
	case *callExpr:
		return in.call(n)
	case *zohoValue: // zoho.currenttime, the only one
		return in.env.Now().In(in.env.Location), nil
	case *methodCall:
		recv, err := in.eval(n.recv)
		if err != nil {
			return nil, err
		}
		args, err := in.evalAll(n.args)
		if err != nil {
			return nil, err
		}
		v, err := callMethod(recv, n.name, args)
		if err != nil {
			return nil, fail(n, "%v", err)
		}
		return v, nil
	case *fieldRef:
		recv, err := in.eval(n.recv)
		if err != nil {
			return nil, err
		}
		e, ok := recv.(*errValue)
		switch {
		case ok && n.name == "message":
			return e.msg, nil
		case ok && n.name == "lineNo":
			return int64(e.line), nil
		}
		return nil, fail(n, "%s has no field %s (only a caught error has message and lineNo)", typeName(recv), n.name)
	case *invokeExpr:
		return in.invoke(n)
	}
	return nil, fatal(n, "unknown expression %T", n)
}

// mapKey turns a value into a map key: text as it is, other values as their text.
func mapKey(k any) (string, error) {
	if k == nil {
		return "", errors.New("map key is null")
	}
	return text(k)
}

func (in *interp) binary(n *binaryExpr) (any, error) {
	if n.op == "&&" || n.op == "||" {
		l, err := in.cond(n.l)
		if err != nil || l == (n.op == "||") {
			return l, err
		}
		return in.cond(n.r)
	}
	l, err := in.eval(n.l)
	if err != nil {
		return nil, err
	}
	r, err := in.eval(n.r)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "==", "!=":
		eq, err := equal(l, r)
		if err != nil {
			return nil, fail(n, "%v", err)
		}
		return eq == (n.op == "=="), nil
	case "<", ">", "<=", ">=":
		c, err := compare(l, r)
		if err != nil {
			return nil, fail(n, "operator %s: %v", n.op, err)
		}
		switch n.op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	}
	_, lText := l.(string)
	_, rText := r.(string)
	if n.op == "+" && (lText || rText) {
		ls, err := text(l)
		if err != nil {
			return nil, fail(n, "%v", err)
		}
		rs, err := text(r)
		if err != nil {
			return nil, fail(n, "%v", err)
		}
		if len(ls)+len(rs) > maxText {
			return nil, fail(n, "%v", errTooLarge)
		}
		return ls + rs, nil
	}
	v, err := arithmetic(n.op, l, r)
	if err != nil {
		return nil, fail(n, "%v", err)
	}
	return v, nil
}

// arithmetic applies + - * / % to numbers. long op long stays long, except /,
// which gives a decimal (use toLong() to truncate, REFERENCE 13.4).
func arithmetic(op string, l, r any) (any, error) {
	fl, lok := number(l)
	fr, rok := number(r)
	if !lok || !rok {
		return nil, fmt.Errorf("operator %s cannot apply to %s and %s", op, typeName(l), typeName(r))
	}
	il, lLong := l.(int64)
	ir, rLong := r.(int64)
	if lLong && rLong && op != "/" {
		switch op {
		case "+":
			return il + ir, nil
		case "-":
			return il - ir, nil
		case "*":
			return il * ir, nil
		case "%":
			if ir == 0 {
				return nil, errors.New("division by zero")
			}
			if ir == -1 { // MinInt64 % -1 would trap
				return int64(0), nil
			}
			return il % ir, nil
		}
	}
	var f float64
	switch op {
	case "+":
		f = fl + fr
	case "-":
		f = fl - fr
	case "*":
		f = fl * fr
	case "/", "%":
		if fr == 0 {
			return nil, errors.New("division by zero")
		}
		if op == "/" {
			f = fl / fr
		} else {
			f = math.Mod(fl, fr)
		}
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("number out of range")
	}
	return f, nil
}

// compare orders two numbers, two texts or two date-times.
func compare(l, r any) (int, error) {
	if fl, ok := number(l); ok {
		if fr, ok := number(r); ok {
			il, lLong := l.(int64)
			ir, rLong := r.(int64)
			if lLong && rLong {
				return cmp.Compare(il, ir), nil
			}
			return cmp.Compare(fl, fr), nil
		}
	}
	switch l := l.(type) {
	case string:
		if r, ok := r.(string); ok {
			return strings.Compare(l, r), nil
		}
	case time.Time:
		if r, ok := r.(time.Time); ok {
			return l.Compare(r), nil
		}
	}
	return 0, fmt.Errorf("cannot compare %s with %s", typeName(l), typeName(r))
}
