package delugetest

import (
	"errors"
	"fmt"
	"slices"
)

// reservedNames may not name a variable: the words REFERENCE 13.1 says to avoid
// that are not already keywords of the grammar.
var reservedNames = []string{"not", "zoho", "list", "map", "collection", "ifnull"}

// Check applies Cliq's save-time rules to the script, as if it were saved for a
// handler whose attributes are attrs:
//
//   - every variable read is an attribute or assigned earlier in the script text
//     (by assignment, as a for-each variable, or as a catch variable); "earlier" is
//     textual, so a variable assigned inside an if block counts as defined below it;
//   - no attribute, keyword or reserved word is assigned to;
//   - every function is a known built-in with the right number of arguments, and
//     every method name is a method of some Deluge type.
//
// Check is static: it covers branches a run would not take. It returns nil or
// the errors.Join of one *Error per problem, in script order, e.g.
// `line 12: variable "target" is not defined`.
func (p *Program) Check(attrs []string) error {
	c := &checker{attrs: attrs, defined: map[string]bool{}}
	c.stmts(p.stmts)
	// Within one statement the walk may visit later lines first (invokeurl keys).
	slices.SortStableFunc(c.problems, func(a, b *Error) int { return a.Line - b.Line })
	errs := make([]error, len(c.problems))
	for i, e := range c.problems {
		errs[i] = e
	}
	return errors.Join(errs...)
}

type checker struct {
	attrs    []string
	defined  map[string]bool
	problems []*Error
}

func (c *checker) report(n node, format string, args ...any) {
	c.problems = append(c.problems, &Error{Line: n.at().line, Msg: fmt.Sprintf(format, args...)})
}

// define records an assignment to name at n.
func (c *checker) define(n node, name string) {
	switch {
	case slices.Contains(c.attrs, name):
		c.report(n, "cannot assign to attribute %q", name)
	case slices.Contains(reservedNames, name):
		c.report(n, "%q is a reserved word and cannot name a variable", name)
	}
	c.defined[name] = true
}

func (c *checker) stmts(ns []node) {
	for _, n := range ns {
		c.stmt(n)
	}
}

func (c *checker) stmt(n node) {
	switch n := n.(type) {
	case *assignStmt:
		c.expr(n.value)
		c.define(n, n.name)
	case *exprStmt:
		c.expr(n.x)
	case *infoStmt:
		c.expr(n.value)
	case *returnStmt:
		if n.value != nil {
			c.expr(n.value)
		}
	case *ifStmt:
		c.expr(n.cond)
		c.stmts(n.then)
		c.stmts(n.els)
	case *forStmt:
		c.expr(n.list)
		c.define(n, n.name)
		c.stmts(n.body)
	case *tryStmt:
		c.stmts(n.body)
		c.define(n.errPos, n.errName)
		c.stmts(n.handler)
	}
}

func (c *checker) exprs(ns []node) {
	for _, n := range ns {
		c.expr(n)
	}
}

func (c *checker) expr(n node) {
	switch n := n.(type) {
	case *varRef:
		if !c.defined[n.name] && !slices.Contains(c.attrs, n.name) {
			c.report(n, "variable %q is not defined", n.name)
		}
	case *unaryExpr:
		c.expr(n.x)
	case *binaryExpr:
		c.expr(n.l)
		c.expr(n.r)
	case *callExpr:
		if a, ok := functions[n.name]; !ok {
			c.report(n, "unknown function %s", n.name)
		} else if err := a.check(n.name, len(n.args)); err != nil {
			c.report(n, "%v", err)
		}
		c.exprs(n.args)
	case *methodCall:
		c.expr(n.recv)
		if !knownMethod(n.name) {
			c.report(n, "unknown method %s", n.name)
		}
		c.exprs(n.args)
	case *fieldRef:
		c.expr(n.recv)
		if !slices.Contains(errFields, n.name) {
			c.report(n, "unknown field %s (only a caught error has message and lineNo)", n.name)
		}
	case *mapLit:
		for i := range n.keys {
			c.expr(n.keys[i])
			c.expr(n.vals[i])
		}
	case *listLit:
		c.exprs(n.items)
	case *invokeExpr:
		for _, key := range invokeKeys { // script order is lost in the map; key order is stable
			if x, ok := n.keys[key]; ok {
				c.expr(x)
			}
		}
	}
}
