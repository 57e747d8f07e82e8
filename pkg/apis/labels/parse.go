package labels

import (
	"fmt"
	"strings"

	"minik8s/pkg/apis/errdefs"
)

// token kinds of the selector syntax.
type tokenKind int

const (
	tokEnd tokenKind = iota
	tokIdent
	tokEq       // =
	tokEqEq     // ==
	tokNotEq    // !=
	tokNot      // !
	tokOpenPar  // (
	tokClosePar // )
	tokComma    // ,
	tokGt       // >
	tokLt       // <
)

type token struct {
	kind tokenKind
	text string
}

func (t token) describe() string {
	if t.kind == tokEnd {
		return "end of string"
	}
	return "'" + t.text + "'"
}

func isSpecial(c byte) bool {
	switch c {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

func specialKind(c byte) tokenKind {
	switch c {
	case '=':
		return tokEq
	case '!':
		return tokNot
	case '(':
		return tokOpenPar
	case ')':
		return tokClosePar
	case ',':
		return tokComma
	case '>':
		return tokGt
	}
	return tokLt
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// lex splits s into tokens; identifiers are runs of anything but white
// space and the special characters.
func lex(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case isSpecial(c):
			if i+1 < len(s) && s[i+1] == '=' && (c == '=' || c == '!') {
				k := tokEqEq
				if c == '!' {
					k = tokNotEq
				}
				toks = append(toks, token{k, s[i : i+2]})
				i += 2
				continue
			}
			toks = append(toks, token{specialKind(c), s[i : i+1]})
			i++
		default:
			j := i
			for j < len(s) && !isSpace(s[j]) && !isSpecial(s[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, s[i:j]})
			i = j
		}
	}
	return toks
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{kind: tokEnd}
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

// Parse reads a selector in Kubernetes syntax: comma-separated requirements
// `key=value`, `key==value`, `key!=value`, `key in (v1,v2)`,
// `key notin (v1)`, `key` (exists), `!key` (does not exist), `key>1` and
// `key<1`. "" (or only white space) selects everything. Keys and values are
// validated as Kubernetes validates them. Errors are of class Invalid.
func Parse(s string) (Selector, error) {
	p := &parser{toks: lex(s)}
	var reqs []Requirement
	if p.peek().kind == tokEnd {
		return Everything(), nil
	}
	for {
		t := p.peek()
		if t.kind != tokIdent && t.kind != tokNot {
			return nil, parseErr(s, "found %s, expected: !, identifier, or end of string", t.describe())
		}
		r, err := p.requirement(s)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
		switch t := p.next(); t.kind {
		case tokEnd:
			return NewSelector(reqs...), nil
		case tokComma:
			if n := p.peek(); n.kind != tokIdent && n.kind != tokNot {
				return nil, parseErr(s, "found %s, expected: identifier after ','", n.describe())
			}
		default:
			return nil, parseErr(s, "found %s, expected: ',' or end of string", t.describe())
		}
	}
}

func parseErr(s, format string, args ...any) error {
	return errdefs.Invalid("unable to parse label selector %q: %s", s, fmt.Sprintf(format, args...))
}

func (p *parser) requirement(s string) (Requirement, error) {
	op := ""
	if p.peek().kind == tokNot {
		p.next()
		op = "!"
	}
	kt := p.next()
	if kt.kind != tokIdent {
		return Requirement{}, parseErr(s, "found %s, expected: identifier", kt.describe())
	}
	key := kt.text
	if op == "!" {
		return newReq(s, key, "DoesNotExist", nil)
	}
	switch t := p.peek(); t.kind {
	case tokEnd, tokComma:
		return newReq(s, key, "Exists", nil)
	case tokEq, tokEqEq, tokNotEq, tokGt, tokLt:
		p.next()
		return p.exactValue(s, key, t.text)
	case tokIdent:
		if t.text != "in" && t.text != "notin" {
			break
		}
		p.next()
		values, err := p.valueSet(s)
		if err != nil {
			return Requirement{}, err
		}
		return newReq(s, key, t.text, values)
	}
	return Requirement{}, parseErr(s, "found %s, expected: =, !=, ==, in, notin, >, <", p.peek().describe())
}

func (p *parser) exactValue(s, key, op string) (Requirement, error) {
	switch t := p.peek(); t.kind {
	case tokEnd, tokComma:
		return newReq(s, key, op, []string{""})
	case tokIdent:
		p.next()
		return newReq(s, key, op, []string{t.text})
	default:
		return Requirement{}, parseErr(s, "found %s, expected: identifier", t.describe())
	}
}

// valueSet reads `(v1,v2,...)`; an empty slot is the empty value.
func (p *parser) valueSet(s string) ([]string, error) {
	if t := p.next(); t.kind != tokOpenPar {
		return nil, parseErr(s, "found %s, expected: '('", t.describe())
	}
	var values []string
	expectValue := true
	for {
		t := p.next()
		switch {
		case t.kind == tokIdent && expectValue:
			values = append(values, t.text)
			expectValue = false
		case t.kind == tokComma:
			if expectValue {
				values = append(values, "")
			}
			expectValue = true
		case t.kind == tokClosePar:
			if expectValue {
				values = append(values, "")
			}
			return values, nil
		default:
			return nil, parseErr(s, "found %s, expected: ',' or ')'", t.describe())
		}
	}
}

func newReq(s, key, op string, values []string) (Requirement, error) {
	r, err := NewRequirement(key, op, values)
	if err != nil {
		return Requirement{}, errdefs.Invalid("unable to parse label selector %q: %s", s, strings.TrimSpace(err.Error()))
	}
	return r, nil
}
