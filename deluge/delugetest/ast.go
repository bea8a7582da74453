package delugetest

// The syntax tree Parse builds and Check and Run walk.

// pos is where a statement or expression starts; runtime errors and e.lineNo use its line.
type pos struct{ line, col int }

func (p pos) at() pos { return p }

// node is any statement or expression.
type node interface{ at() pos }

// Statements.
type (
	assignStmt struct {
		pos
		name  string
		value node
	}
	ifStmt struct {
		pos
		cond node
		then []node
		els  []node // an else-if chain is one ifStmt here
	}
	forStmt struct {
		pos
		name string // the loop variable
		list node
		body []node
	}
	tryStmt struct {
		pos
		body    []node
		errName string // the catch variable
		errPos  pos
		handler []node
	}
	returnStmt struct {
		pos
		value node // nil for a bare return
	}
	infoStmt struct {
		pos
		value node
	}
	breakStmt    struct{ pos }
	continueStmt struct{ pos }
	exprStmt     struct {
		pos
		x node
	}
)

// Expressions.
type (
	literal struct {
		pos
		v any // string, int64, float64, bool or nil
	}
	varRef struct {
		pos
		name string
	}
	unaryExpr struct {
		pos
		op string
		x  node
	}
	binaryExpr struct {
		pos
		op   string
		l, r node
	}
	// callExpr calls a built-in function: Map(), ifnull(a, b), zoho.encryption.hmacsha256(…).
	callExpr struct {
		pos
		name string
		args []node
	}
	// zohoValue is a built-in value without arguments, such as zoho.currenttime.
	zohoValue struct {
		pos
		name string
	}
	methodCall struct {
		pos
		recv node
		name string
		args []node
	}
	// fieldRef reads e.message or e.lineNo of a caught error.
	fieldRef struct {
		pos
		recv node
		name string
	}
	mapLit struct {
		pos
		keys, vals []node
	}
	listLit struct {
		pos
		items []node
	}
	invokeExpr struct {
		pos
		keys map[string]node // by invokeurl key; an unquoted type is a text literal
	}
)
