package delugetest

import (
	"fmt"
	"strconv"
	"strings"
)

// tokKind says what a token is; keywords are identifiers the parser recognises.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tPunct // operators and punctuation, spelled in token.text
)

// token is one lexeme with the position of its first character (1-based).
type token struct {
	kind tokKind
	text string // identifier, punctuation, or the decoded string literal
	num  any    // int64 or float64 for tNumber
	line int
	col  int
}

// twoCharPunct are the operators of two characters; they are matched before one.
var twoCharPunct = []string{"==", "!=", "<=", ">=", "&&", "||"}

const oneCharPunct = "{}[]();,.:=<>+-*/%!"

// lex splits src into tokens, ending with a tEOF token. Comments are dropped.
func lex(src string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	i := 0
	advance := func(n int) {
		for _, c := range src[i : i+n] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		i += n
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			advance(1)
		case strings.HasPrefix(src[i:], "//"):
			n := strings.IndexByte(src[i:], '\n')
			if n < 0 {
				n = len(src) - i
			}
			advance(n)
		case strings.HasPrefix(src[i:], "/*"):
			n := strings.Index(src[i+2:], "*/")
			if n < 0 {
				return nil, &Error{Line: line, Col: col, Msg: "comment is not closed"}
			}
			advance(n + 4)
		case c == '"':
			text, n, err := lexString(src[i:])
			if err != nil {
				return nil, &Error{Line: line, Col: col, Msg: err.Error()}
			}
			toks = append(toks, token{kind: tString, text: text, line: line, col: col})
			advance(n)
		case isDigit(c):
			n := 0
			for i+n < len(src) && isDigit(src[i+n]) {
				n++
			}
			// A dot is a decimal point only before a digit: 5.toString() is a call.
			if i+n+1 < len(src) && src[i+n] == '.' && isDigit(src[i+n+1]) {
				n++
				for i+n < len(src) && isDigit(src[i+n]) {
					n++
				}
			}
			text := src[i : i+n]
			var num any
			if strings.Contains(text, ".") {
				f, err := strconv.ParseFloat(text, 64)
				if err != nil {
					return nil, &Error{Line: line, Col: col, Msg: fmt.Sprintf("number %s is out of range", text)}
				}
				num = f
			} else {
				v, err := strconv.ParseInt(text, 10, 64)
				if err != nil {
					return nil, &Error{Line: line, Col: col, Msg: fmt.Sprintf("number %s is out of range", text)}
				}
				num = v
			}
			toks = append(toks, token{kind: tNumber, text: text, num: num, line: line, col: col})
			advance(n)
		case isIdentStart(c):
			n := 1
			for i+n < len(src) && (isIdentStart(src[i+n]) || isDigit(src[i+n])) {
				n++
			}
			toks = append(toks, token{kind: tIdent, text: src[i : i+n], line: line, col: col})
			advance(n)
		default:
			p := ""
			for _, two := range twoCharPunct {
				if strings.HasPrefix(src[i:], two) {
					p = two
				}
			}
			if p == "" && strings.IndexByte(oneCharPunct, c) >= 0 {
				p = src[i : i+1]
			}
			if p == "" {
				return nil, &Error{Line: line, Col: col, Msg: fmt.Sprintf("unexpected character %q", rune(c))}
			}
			toks = append(toks, token{kind: tPunct, text: p, line: line, col: col})
			advance(len(p))
		}
	}
	return append(toks, token{kind: tEOF, line: line, col: col}), nil
}

// lexString decodes the double-quoted literal at the start of s and returns its
// text and its length in s. Deluge accepts \" \\ \n and \t (REFERENCE 13.1); \r is
// accepted too. Any other escape is refused rather than guessed.
func lexString(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, fmt.Errorf("text is not closed")
			}
			i++
			switch s[i] {
			case '"', '\\':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				return "", 0, fmt.Errorf("unknown escape \\%c in text", s[i])
			}
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, fmt.Errorf("text is not closed")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
