package delugetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// arity is how many arguments a function or method takes.
type arity struct{ min, max int }

func (a arity) check(name string, n int) error {
	if n < a.min || n > a.max {
		want := fmt.Sprint(a.min)
		if a.max != a.min {
			want = fmt.Sprintf("%d to %d", a.min, a.max)
		}
		return fmt.Errorf("%s takes %s arguments, got %d", name, want, n)
	}
	return nil
}

// functions are the built-in functions, by name. Check reports calls to any other.
var functions = map[string]arity{
	"Map": {0, 0}, "map": {0, 0}, "List": {0, 0}, "list": {0, 0},
	"if":     {3, 3},                   // if(cond, a, b): only the chosen branch is evaluated
	"ifnull": {2, 2}, "ifNull": {2, 2}, // ifnull(a, b): b is evaluated only when a is null
	"isNull": {1, 1}, "isBlank": {1, 1},
	"zoho.encryption.hmacsha256":   {2, 3},
	"zoho.encryption.base64Encode": {1, 1},
	"zoho.encryption.base64Decode": {1, 1},
	// The optional third argument, a connection name, is ignored.
	"zoho.cliq.postToChannel": {2, 3},
}

func (in *interp) call(n *callExpr) (any, error) {
	a, ok := functions[n.name]
	if !ok {
		return nil, fail(n, "unknown function %s", n.name)
	}
	if err := a.check(n.name, len(n.args)); err != nil {
		return nil, fail(n, "%v", err)
	}
	switch n.name {
	case "Map", "map":
		return newMap(), nil
	case "List", "list":
		return &dlist{}, nil
	case "if":
		c, err := in.cond(n.args[0])
		if err != nil {
			return nil, err
		}
		if c {
			return in.eval(n.args[1])
		}
		return in.eval(n.args[2])
	case "ifnull", "ifNull":
		v, err := in.eval(n.args[0])
		if err != nil || v != nil {
			return v, err
		}
		return in.eval(n.args[1])
	}
	args, err := in.evalAll(n.args)
	if err != nil {
		return nil, err
	}
	v, err := in.callEager(n.name, args)
	if err != nil {
		return nil, fail(n, "%s: %v", n.name, err)
	}
	return v, nil
}

// callEager runs a function whose arguments are all evaluated.
func (in *interp) callEager(name string, args []any) (any, error) {
	switch name {
	case "isNull":
		// isNull("") is true outside Creator (REFERENCE 13.2).
		return args[0] == nil || args[0] == "", nil
	case "isBlank":
		switch v := args[0].(type) {
		case nil:
			return true, nil
		case string:
			return strings.TrimSpace(v) == "", nil
		case *dmap:
			return len(v.keys) == 0, nil
		case *dlist:
			return len(v.items) == 0, nil
		}
		return false, nil
	case "zoho.encryption.hmacsha256":
		key, err := textArg(args, 0)
		if err != nil {
			return nil, err
		}
		data, err := textArg(args, 1)
		if err != nil {
			return nil, err
		}
		format := "base64" // the default when omitted (REFERENCE 13.5)
		if len(args) == 3 {
			if format, err = textArg(args, 2); err != nil {
				return nil, err
			}
		}
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(data))
		sum := mac.Sum(nil)
		switch format {
		case "hex":
			return hex.EncodeToString(sum), nil
		case "base64":
			return base64.StdEncoding.EncodeToString(sum), nil
		}
		return nil, fmt.Errorf("output type %q is not supported (hex or base64)", format)
	case "zoho.encryption.base64Encode":
		s, err := textArg(args, 0)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "zoho.encryption.base64Decode":
		s, err := textArg(args, 0)
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("text is not base64")
		}
		return string(b), nil
	case "zoho.cliq.postToChannel":
		channel, err := textArg(args, 0)
		if err != nil {
			return nil, err
		}
		if in.env.PostToChannel == nil {
			return nil, errors.New("not available: Env.PostToChannel is nil")
		}
		msg, err := toGo(args[1])
		if err != nil {
			return nil, err
		}
		return fromGo(in.env.PostToChannel(channel, msg), 0)
	}
	return nil, fmt.Errorf("not implemented")
}

// textArg returns argument i, which must be text.
func textArg(args []any, i int) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("argument %d is %s, not text", i+1, typeName(args[i]))
	}
	return s, nil
}
