package validation

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a field path in an object ("spec.containers[0].image"), built
// from the root: NewPath("spec").Child("containers").Index(0). Paths are
// immutable; every builder returns a new one.
type Path struct {
	parent *Path
	name   string // a field name, or "" for an index or key element
	index  string // "[0]" or "[key]" when name is ""
}

// NewPath starts a path at a top-level field, with optional further fields.
func NewPath(name string, more ...string) *Path {
	p := &Path{name: name}
	for _, m := range more {
		p = &Path{parent: p, name: m}
	}
	return p
}

// Child extends p with one or more field names.
func (p *Path) Child(name string, more ...string) *Path {
	c := &Path{parent: p, name: name}
	for _, m := range more {
		c = &Path{parent: c, name: m}
	}
	return c
}

// Index extends p with a list index: "containers[0]".
func (p *Path) Index(i int) *Path {
	return &Path{parent: p, index: "[" + strconv.Itoa(i) + "]"}
}

// Key extends p with a map key: "limits[cpu]".
func (p *Path) Key(k string) *Path {
	return &Path{parent: p, index: "[" + k + "]"}
}

// String renders the path the way Kubernetes does.
func (p *Path) String() string {
	if p == nil {
		return "<nil>"
	}
	var elems []*Path
	for e := p; e != nil; e = e.parent {
		elems = append(elems, e)
	}
	var b strings.Builder
	for i := len(elems) - 1; i >= 0; i-- {
		e := elems[i]
		if e.index != "" {
			b.WriteString(e.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// ErrorType is the kind of a field error.
type ErrorType string

// The error types, with Kubernetes' wording.
const (
	ErrorTypeNotFound     ErrorType = "Not found"
	ErrorTypeRequired     ErrorType = "Required value"
	ErrorTypeDuplicate    ErrorType = "Duplicate value"
	ErrorTypeInvalid      ErrorType = "Invalid value"
	ErrorTypeNotSupported ErrorType = "Unsupported value"
	ErrorTypeForbidden    ErrorType = "Forbidden"
	ErrorTypeTooLong      ErrorType = "Too long"
	ErrorTypeTooMany      ErrorType = "Too many"
)

// Omitted as a bad value keeps the value out of the message (a PEM blob,
// a whole struct).
type Omitted struct{}

// FieldError is one problem with one field.
type FieldError struct {
	Type     ErrorType
	Field    string
	BadValue any
	Detail   string
}

// Error renders "field: Type: value: detail" as Kubernetes does.
func (e *FieldError) Error() string { return e.Field + ": " + e.ErrorBody() }

// ErrorBody is the message without the field path.
func (e *FieldError) ErrorBody() string {
	var s string
	switch {
	case e.Type == ErrorTypeRequired, e.Type == ErrorTypeForbidden, e.Type == ErrorTypeTooLong, e.Type == ErrorTypeTooMany:
		s = string(e.Type)
	case isOmitted(e.BadValue):
		s = string(e.Type)
	default:
		s = string(e.Type) + ": " + formatValue(e.BadValue)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func isOmitted(v any) bool {
	_, ok := v.(Omitted)
	return ok
}

func formatValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case int, int32, int64, uint32, uint64, bool, float64:
		return fmt.Sprint(t)
	case *int32:
		if t == nil {
			return "null"
		}
		return fmt.Sprint(*t)
	case *int64:
		if t == nil {
			return "null"
		}
		return fmt.Sprint(*t)
	case fmt.Stringer:
		return t.String()
	}
	return fmt.Sprintf("%#v", v)
}

// ErrorList is a list of field errors.
type ErrorList []*FieldError

// Message joins the errors as Kubernetes' aggregate does: one error alone,
// several as "[a, b]", duplicates dropped. It is "" for an empty list.
func (l ErrorList) Message() string {
	seen := make(map[string]bool, len(l))
	msgs := make([]string, 0, len(l))
	for _, e := range l {
		m := e.Error()
		if seen[m] {
			continue
		}
		seen[m] = true
		msgs = append(msgs, m)
	}
	switch len(msgs) {
	case 0:
		return ""
	case 1:
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// Required reports a missing value.
func Required(p *Path, detail string) *FieldError {
	return &FieldError{Type: ErrorTypeRequired, Field: p.String(), BadValue: "", Detail: detail}
}

// Invalid reports a bad value.
func Invalid(p *Path, value any, detail string) *FieldError {
	return &FieldError{Type: ErrorTypeInvalid, Field: p.String(), BadValue: value, Detail: detail}
}

// NotSupported reports a value outside a fixed set, listing the set.
func NotSupported(p *Path, value any, valid []string) *FieldError {
	detail := ""
	if len(valid) > 0 {
		q := make([]string, len(valid))
		for i, v := range valid {
			q[i] = strconv.Quote(v)
		}
		detail = "supported values: " + strings.Join(q, ", ")
	}
	return &FieldError{Type: ErrorTypeNotSupported, Field: p.String(), BadValue: value, Detail: detail}
}

// Duplicate reports a value that must be unique.
func Duplicate(p *Path, value any) *FieldError {
	return &FieldError{Type: ErrorTypeDuplicate, Field: p.String(), BadValue: value}
}

// NotFound reports a reference to something that does not exist.
func NotFound(p *Path, value any) *FieldError {
	return &FieldError{Type: ErrorTypeNotFound, Field: p.String(), BadValue: value}
}

// Forbidden reports a field that may not be set or changed.
func Forbidden(p *Path, detail string) *FieldError {
	return &FieldError{Type: ErrorTypeForbidden, Field: p.String(), BadValue: "", Detail: detail}
}

// TooLong reports a value longer than maxLength bytes.
func TooLong(p *Path, value any, maxLength int) *FieldError {
	unit := "bytes"
	if maxLength == 1 {
		unit = "byte"
	}
	return &FieldError{Type: ErrorTypeTooLong, Field: p.String(), BadValue: value,
		Detail: fmt.Sprintf("may not be more than %d %s", maxLength, unit)}
}

// TooMany reports a list longer than maxItems.
func TooMany(p *Path, actual, maxItems int) *FieldError {
	return &FieldError{Type: ErrorTypeTooMany, Field: p.String(), BadValue: actual,
		Detail: fmt.Sprintf("must have at most %d items", maxItems)}
}
