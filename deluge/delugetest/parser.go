package delugetest

import (
	"fmt"
	"slices"
	"strings"
)

// keywords cannot be assigned to; true, false and null are literals.
var keywords = []string{"if", "else", "for", "each", "in", "return", "info", "break", "continue",
	"try", "catch", "true", "false", "null", "invokeurl"}

// zohoValues are the zoho.* names read without parentheses.
var zohoValues = []string{"zoho.currenttime"}

// invokeKeys are the invokeurl keys this package implements.
var invokeKeys = []string{"url", "type", "headers", "body", "parameters", "content-type", "detailed"}

var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// maxNesting bounds nested blocks and expressions, so hostile input cannot exhaust the stack.
const maxNesting = 200

type parser struct {
	toks  []token
	i     int
	loops int // enclosing for-each loops, for break and continue
	depth int
}

// Parse parses a script; syntax errors are *Error values carrying the line and
// column, wrapped with name.
func Parse(name, src string) (*Program, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &parser{toks: toks}
	var stmts []node
	for p.peek().kind != tEOF {
		s, err := p.stmt()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		stmts = append(stmts, s)
	}
	return &Program{name: name, stmts: stmts}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// is reports whether the next token is the punctuation or identifier text.
func (p *parser) is(text string) bool {
	t := p.peek()
	return (t.kind == tPunct || t.kind == tIdent) && t.text == text
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &Error{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expect(text string) (token, error) {
	t := p.peek()
	if !p.is(text) {
		return t, p.errAt(t, "expected %q, found %s", text, describe(t))
	}
	return p.next(), nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of script"
	case tString:
		return "text literal"
	case tNumber:
		return "number " + t.text
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) ident() (token, error) {
	t := p.peek()
	if t.kind != tIdent || slices.Contains(keywords, t.text) {
		return t, p.errAt(t, "expected a name, found %s", describe(t))
	}
	return p.next(), nil
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxNesting {
		return p.errAt(t, "nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) block() ([]node, error) {
	open, err := p.expect("{")
	if err != nil {
		return nil, err
	}
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer p.leave()
	var stmts []node
	for !p.is("}") {
		if p.peek().kind == tEOF {
			return nil, p.errAt(open, "block opened here is not closed")
		}
		s, err := p.stmt()
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, s)
	}
	p.next()
	return stmts, nil
}

func (p *parser) semicolon() error {
	_, err := p.expect(";")
	return err
}

func (p *parser) stmt() (node, error) {
	t := p.peek()
	at := pos{t.line, t.col}
	if t.kind == tIdent {
		switch t.text {
		case "if":
			return p.ifStmt()
		case "for":
			return p.forStmt()
		case "try":
			return p.tryStmt()
		case "return":
			p.next()
			if p.is(";") {
				p.next()
				return &returnStmt{pos: at}, nil
			}
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			return &returnStmt{pos: at, value: v}, p.semicolon()
		case "info":
			p.next()
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			return &infoStmt{pos: at, value: v}, p.semicolon()
		case "break", "continue":
			p.next()
			if p.loops == 0 {
				return nil, p.errAt(t, "%s outside for each", t.text)
			}
			if t.text == "break" {
				return &breakStmt{at}, p.semicolon()
			}
			return &continueStmt{at}, p.semicolon()
		}
		if after := p.toks[p.i+1]; after.kind == tPunct && after.text == "=" {
			name, err := p.ident()
			if err != nil {
				return nil, err
			}
			p.next() // =
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			return &assignStmt{pos: at, name: name.text, value: v}, p.semicolon()
		}
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	switch x.(type) {
	case *methodCall, *callExpr, *invokeExpr:
	default:
		return nil, p.errAt(t, "expression is not a statement: only calls may stand alone")
	}
	return &exprStmt{pos: at, x: x}, p.semicolon()
}

func (p *parser) ifStmt() (node, error) {
	t := p.next() // if
	if _, err := p.expect("("); err != nil {
		return nil, err
	}
	cond, err := p.expr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(")"); err != nil {
		return nil, err
	}
	then, err := p.block()
	if err != nil {
		return nil, err
	}
	s := &ifStmt{pos: pos{t.line, t.col}, cond: cond, then: then}
	if !p.is("else") {
		return s, nil
	}
	p.next()
	if p.is("if") {
		if err := p.enter(p.peek()); err != nil {
			return nil, err
		}
		defer p.leave()
		elif, err := p.ifStmt()
		if err != nil {
			return nil, err
		}
		s.els = []node{elif}
		return s, nil
	}
	s.els, err = p.block()
	return s, err
}

func (p *parser) forStmt() (node, error) {
	t := p.next() // for
	if _, err := p.expect("each"); err != nil {
		return nil, err
	}
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect("in"); err != nil {
		return nil, err
	}
	list, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.loops++
	body, err := p.block()
	p.loops--
	if err != nil {
		return nil, err
	}
	return &forStmt{pos: pos{t.line, t.col}, name: name.text, list: list, body: body}, nil
}

func (p *parser) tryStmt() (node, error) {
	t := p.next() // try
	body, err := p.block()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect("catch"); err != nil {
		return nil, err
	}
	if _, err := p.expect("("); err != nil {
		return nil, err
	}
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(")"); err != nil {
		return nil, err
	}
	handler, err := p.block()
	if err != nil {
		return nil, err
	}
	return &tryStmt{pos: pos{t.line, t.col}, body: body, errName: name.text,
		errPos: pos{name.line, name.col}, handler: handler}, nil
}

// Binary operators by precedence, loosest first.
var binaryLevels = [][]string{
	{"||"},
	{"&&"},
	{"==", "!=", "<", ">", "<=", ">="},
	{"+", "-"},
	{"*", "/", "%"},
}

func (p *parser) expr() (node, error) {
	if err := p.enter(p.peek()); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.binary(0)
}

func (p *parser) binary(level int) (node, error) {
	if level == len(binaryLevels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tPunct || !slices.Contains(binaryLevels[level], t.text) {
			return l, nil
		}
		p.next()
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		// Comparisons do not chain: a < b < c is refused rather than misread.
		if level == 2 && p.peek().kind == tPunct && slices.Contains(binaryLevels[level], p.peek().text) {
			return nil, p.errAt(p.peek(), "comparisons cannot be chained; use && between them")
		}
		l = &binaryExpr{pos: pos{t.line, t.col}, op: t.text, l: l, r: r}
	}
}

func (p *parser) unary() (node, error) {
	t := p.peek()
	if t.kind == tPunct && (t.text == "!" || t.text == "-") {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: pos{t.line, t.col}, op: t.text, x: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.is(".") {
		p.next()
		name, err := p.ident()
		if err != nil {
			return nil, err
		}
		at := pos{name.line, name.col}
		if !p.is("(") {
			x = &fieldRef{pos: at, recv: x, name: name.text}
			continue
		}
		args, err := p.args()
		if err != nil {
			return nil, err
		}
		x = &methodCall{pos: at, recv: x, name: name.text, args: args}
	}
	return x, nil
}

// args parses a parenthesised, comma-separated argument list.
func (p *parser) args() ([]node, error) {
	if _, err := p.expect("("); err != nil {
		return nil, err
	}
	var args []node
	for !p.is(")") {
		if len(args) > 0 {
			if _, err := p.expect(","); err != nil {
				return nil, err
			}
		}
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	p.next()
	return args, nil
}

func (p *parser) primary() (node, error) {
	t := p.peek()
	at := pos{t.line, t.col}
	switch t.kind {
	case tString:
		p.next()
		return &literal{pos: at, v: t.text}, nil
	case tNumber:
		p.next()
		return &literal{pos: at, v: t.num}, nil
	case tPunct:
		switch t.text {
		case "(":
			p.next()
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			_, err = p.expect(")")
			return x, err
		case "{":
			return p.braces()
		case "[":
			p.next()
			items, err := p.list("]")
			return &listLit{pos: at, items: items}, err
		}
	case tIdent:
		switch t.text {
		case "true", "false":
			p.next()
			return &literal{pos: at, v: t.text == "true"}, nil
		case "null":
			p.next()
			return &literal{pos: at, v: nil}, nil
		case "invokeurl":
			return p.invokeurl()
		case "zoho":
			return p.zoho()
		case "if": // the expression form if(cond, a, b)
			p.next()
			args, err := p.args()
			return &callExpr{pos: at, name: "if", args: args}, err
		}
		if slices.Contains(keywords, t.text) {
			return nil, p.errAt(t, "unexpected %q", t.text)
		}
		p.next()
		if p.is("(") {
			args, err := p.args()
			return &callExpr{pos: at, name: t.text, args: args}, err
		}
		return &varRef{pos: at, name: t.text}, nil
	}
	return nil, p.errAt(t, "expected an expression, found %s", describe(t))
}

// list parses comma-separated expressions up to the closing punctuation.
func (p *parser) list(closing string) ([]node, error) {
	var items []node
	for !p.is(closing) {
		if len(items) > 0 {
			if _, err := p.expect(","); err != nil {
				return nil, err
			}
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		items = append(items, x)
	}
	p.next()
	return items, nil
}

// braces parses {"k":v, …} as a map and {a, b} as a list; {} is an empty map.
func (p *parser) braces() (node, error) {
	t := p.next() // {
	at := pos{t.line, t.col}
	if p.is("}") {
		p.next()
		return &mapLit{pos: at}, nil
	}
	first, err := p.expr()
	if err != nil {
		return nil, err
	}
	if !p.is(":") {
		rest := []node{first}
		if p.is(",") {
			p.next()
			if p.is("}") {
				return nil, p.errAt(p.peek(), "expected an expression, found \"}\"")
			}
		} else if !p.is("}") {
			return nil, p.errAt(p.peek(), "expected \",\" or \"}\", found %s", describe(p.peek()))
		}
		more, err := p.list("}")
		return &listLit{pos: at, items: append(rest, more...)}, err
	}
	m := &mapLit{pos: at}
	key := first
	for {
		if _, err := p.expect(":"); err != nil {
			return nil, err
		}
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		m.keys, m.vals = append(m.keys, key), append(m.vals, v)
		if p.is("}") {
			p.next()
			return m, nil
		}
		if _, err := p.expect(","); err != nil {
			return nil, err
		}
		if key, err = p.expr(); err != nil {
			return nil, err
		}
	}
}

// zoho parses zoho.a.b: a value such as zoho.currenttime, or a call such as
// zoho.encryption.hmacsha256(…). Which names exist is checked later.
func (p *parser) zoho() (node, error) {
	t := p.next()
	at := pos{t.line, t.col}
	name := "zoho"
	for {
		if _, err := p.expect("."); err != nil {
			return nil, err
		}
		part := p.peek()
		if part.kind != tIdent {
			return nil, p.errAt(part, "expected a name after %s., found %s", name, describe(part))
		}
		p.next()
		name += "." + part.text
		if slices.Contains(zohoValues, name) {
			return &zohoValue{pos: at, name: name}, nil
		}
		if p.is("(") {
			args, err := p.args()
			return &callExpr{pos: at, name: name, args: args}, err
		}
		if strings.Count(name, ".") >= 3 {
			return nil, p.errAt(part, "unknown built-in %s", name)
		}
	}
}

// invokeurl parses the block `invokeurl [ key: value … ]`, one key after another
// without commas. type takes an unquoted constant (or any expression).
func (p *parser) invokeurl() (node, error) {
	t := p.next()
	x := &invokeExpr{pos: pos{t.line, t.col}, keys: map[string]node{}}
	if _, err := p.expect("["); err != nil {
		return nil, err
	}
	for !p.is("]") {
		kt := p.peek()
		if kt.kind != tIdent {
			return nil, p.errAt(kt, "expected an invokeurl key, found %s", describe(kt))
		}
		p.next()
		key := kt.text
		for p.is("-") { // content-type, response-format
			p.next()
			part, err := p.ident()
			if err != nil {
				return nil, err
			}
			key += "-" + part.text
		}
		if !slices.Contains(invokeKeys, key) {
			return nil, p.errAt(kt, "invokeurl key %q is not supported", key)
		}
		if _, dup := x.keys[key]; dup {
			return nil, p.errAt(kt, "invokeurl key %q given twice", key)
		}
		if _, err := p.expect(":"); err != nil {
			return nil, err
		}
		if v := p.peek(); key == "type" && v.kind == tIdent && !slices.Contains(keywords, v.text) {
			if !slices.Contains(httpMethods, v.text) {
				return nil, p.errAt(v, "invokeurl type %s is not one of %s", v.text, strings.Join(httpMethods, ", "))
			}
			p.next()
			x.keys[key] = &literal{pos: pos{v.line, v.col}, v: v.text}
			continue
		}
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		x.keys[key] = v
	}
	p.next()
	if _, ok := x.keys["url"]; !ok {
		return nil, p.errAt(t, "invokeurl has no url")
	}
	_, hasBody := x.keys["body"]
	if _, hasParams := x.keys["parameters"]; hasBody && hasParams {
		return nil, p.errAt(t, "invokeurl has both body and parameters")
	}
	return x, nil
}
