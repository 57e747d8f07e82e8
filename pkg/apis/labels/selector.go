// Package labels implements Kubernetes label selectors: parsing the string
// syntax (`app=web,tier!=db,env in (prod,staging),!canary`), building a
// selector from a LabelSelector (matchLabels + matchExpressions) or from
// node-affinity requirements (with Gt and Lt), and matching a label set.
//
// Selectors are immutable values, safe for concurrent use. Matches does not
// allocate: the apiserver's watch cache calls it once per object per watcher.
package labels

import (
	"slices"
	"strconv"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

// Selector matches label sets.
type Selector interface {
	// Matches reports whether labels satisfy every requirement.
	Matches(labels map[string]string) bool
	// String is the selector in the syntax Parse reads; "" for Everything.
	String() string
	// Empty is true for a selector with no requirements (it matches
	// everything).
	Empty() bool
	// Requirements returns a copy of the requirements, sorted by key.
	Requirements() []Requirement
}

// Operator is a requirement's relation between a key and its values.
type Operator string

// The operators. The API spellings of LabelSelectorRequirement and
// NodeSelectorRequirement ("In", "Gt", ...) are the canonical names.
const (
	In           Operator = "In"
	NotIn        Operator = "NotIn"
	Exists       Operator = "Exists"
	DoesNotExist Operator = "DoesNotExist"
	GreaterThan  Operator = "Gt"
	LessThan     Operator = "Lt"
	Equals       Operator = "Equals"
	NotEquals    Operator = "NotEquals"
)

// operatorOf maps every accepted spelling to its Operator: the API names,
// the selector-syntax symbols and the Kubernetes selection package's
// lower-case names.
func operatorOf(op string) (Operator, bool) {
	switch op {
	case "In", "in":
		return In, true
	case "NotIn", "notin":
		return NotIn, true
	case "Exists", "exists":
		return Exists, true
	case "DoesNotExist", "!":
		return DoesNotExist, true
	case "Gt", "gt", ">":
		return GreaterThan, true
	case "Lt", "lt", "<":
		return LessThan, true
	case "Equals", "Equal", "=", "==":
		return Equals, true
	case "NotEquals", "!=":
		return NotEquals, true
	}
	return "", false
}

// Requirement is one condition of a selector: key, operator, values.
type Requirement struct {
	key    string
	op     Operator
	values []string // sorted, without duplicates
	num    int64    // the value of Gt and Lt
}

// NewRequirement builds and checks a requirement. op is an API name (In,
// NotIn, Exists, DoesNotExist, Gt, Lt), Equals/NotEquals, or a selector
// symbol (=, ==, !=, >, <). In and NotIn need at least one value, Equals and
// NotEquals exactly one, Gt and Lt exactly one integer, Exists and
// DoesNotExist none. The key must be a qualified name and the values valid
// label values, as Kubernetes requires.
func NewRequirement(key, op string, values []string) (Requirement, error) {
	o, ok := operatorOf(op)
	if !ok {
		return Requirement{}, errdefs.Invalid("%q is not a valid label selector operator", op)
	}
	if msg := checkKey(key); msg != "" {
		return Requirement{}, errdefs.Invalid("invalid label key %q: %s", key, msg)
	}
	r := Requirement{key: key, op: o}
	switch o {
	case In, NotIn:
		if len(values) == 0 {
			return Requirement{}, errdefs.Invalid("key %q: for 'in', 'notin' operators, values set can't be empty", key)
		}
	case Equals, NotEquals:
		if len(values) != 1 {
			return Requirement{}, errdefs.Invalid("key %q: exact-match compatibility requires one single value", key)
		}
	case Exists, DoesNotExist:
		if len(values) != 0 {
			return Requirement{}, errdefs.Invalid("key %q: values set must be empty for exists and does not exist", key)
		}
	case GreaterThan, LessThan:
		if len(values) != 1 {
			return Requirement{}, errdefs.Invalid("key %q: for 'Gt', 'Lt' operators, exactly one value is required", key)
		}
		n, err := strconv.ParseInt(values[0], 10, 64)
		if err != nil {
			return Requirement{}, errdefs.Invalid("key %q: for 'Gt', 'Lt' operators, the value must be an integer, got %q", key, values[0])
		}
		r.num = n
		r.values = []string{values[0]}
		return r, nil
	}
	for _, v := range values {
		if msg := checkValue(v); msg != "" {
			return Requirement{}, errdefs.Invalid("invalid label value %q for key %q: %s", v, key, msg)
		}
	}
	if len(values) > 0 {
		r.values = slices.Compact(slices.Sorted(slices.Values(values)))
	}
	return r, nil
}

// Key is the label key the requirement tests.
func (r Requirement) Key() string { return r.key }

// Operator is the requirement's operator.
func (r Requirement) Operator() Operator { return r.op }

// Values returns a copy of the values, sorted.
func (r Requirement) Values() []string { return slices.Clone(r.values) }

// Matches reports whether labels satisfy the requirement. A missing key
// satisfies NotIn, NotEquals and DoesNotExist, nothing else; Gt and Lt need
// a value that is an integer.
func (r *Requirement) Matches(labels map[string]string) bool {
	switch r.op {
	case In, Equals:
		v, ok := labels[r.key]
		return ok && r.hasValue(v)
	case NotIn, NotEquals:
		v, ok := labels[r.key]
		return !ok || !r.hasValue(v)
	case Exists:
		_, ok := labels[r.key]
		return ok
	case DoesNotExist:
		_, ok := labels[r.key]
		return !ok
	case GreaterThan, LessThan:
		v, ok := labels[r.key]
		if !ok {
			return false
		}
		n, ok := atoi(v)
		if !ok {
			return false
		}
		if r.op == GreaterThan {
			return n > r.num
		}
		return n < r.num
	}
	return false
}

func (r *Requirement) hasValue(v string) bool {
	if len(r.values) <= 8 {
		for _, x := range r.values {
			if x == v {
				return true
			}
		}
		return false
	}
	_, found := slices.BinarySearch(r.values, v)
	return found
}

// atoi parses a decimal int64 without allocating (strconv allocates its
// error).
func atoi(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// String is the requirement in selector syntax: `a=b`, `a!=b`,
// `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`.
func (r Requirement) String() string {
	var b strings.Builder
	r.appendTo(&b)
	return b.String()
}

func (r *Requirement) appendTo(b *strings.Builder) {
	if r.op == DoesNotExist {
		b.WriteByte('!')
	}
	b.WriteString(r.key)
	switch r.op {
	case Exists, DoesNotExist:
		return
	case Equals:
		b.WriteByte('=')
	case NotEquals:
		b.WriteString("!=")
	case GreaterThan:
		b.WriteByte('>')
	case LessThan:
		b.WriteByte('<')
	case In:
		b.WriteString(" in ")
	case NotIn:
		b.WriteString(" notin ")
	}
	if r.op == In || r.op == NotIn {
		b.WriteByte('(')
		b.WriteString(strings.Join(r.values, ","))
		b.WriteByte(')')
		return
	}
	if len(r.values) > 0 {
		b.WriteString(r.values[0])
	}
}

// selector is a conjunction of requirements sorted by key.
type selector []Requirement

func (s selector) Matches(labels map[string]string) bool {
	for i := range s {
		if !s[i].Matches(labels) {
			return false
		}
	}
	return true
}

func (s selector) Empty() bool { return len(s) == 0 }

func (s selector) String() string {
	var b strings.Builder
	for i := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		s[i].appendTo(&b)
	}
	return b.String()
}

func (s selector) Requirements() []Requirement { return slices.Clone([]Requirement(s)) }

// nothing matches no label set.
type nothing struct{}

func (nothing) Matches(map[string]string) bool { return false }
func (nothing) String() string                 { return "" }
func (nothing) Empty() bool                    { return false }
func (nothing) Requirements() []Requirement    { return nil }

// Everything returns the selector that matches every label set.
func Everything() Selector { return selector(nil) }

// Nothing returns a selector that matches no label set (the meaning of a
// nil LabelSelector). It is not Empty, and prints as "".
func Nothing() Selector { return nothing{} }

// NewSelector returns the conjunction of reqs (sorted by key); with none,
// it matches everything.
func NewSelector(reqs ...Requirement) Selector {
	s := selector(slices.Clone(reqs))
	slices.SortStableFunc(s, func(a, b Requirement) int { return strings.Compare(a.key, b.key) })
	return s
}

// SelectorFromSet returns the selector requiring every label of set to have
// its value. The set is not validated; a nil or empty set matches
// everything.
func SelectorFromSet(set map[string]string) Selector {
	if len(set) == 0 {
		return Everything()
	}
	s := make(selector, 0, len(set))
	for k, v := range set {
		s = append(s, Requirement{key: k, op: Equals, values: []string{v}})
	}
	slices.SortFunc(s, func(a, b Requirement) int { return strings.Compare(a.key, b.key) })
	return s
}

// FromLabelSelector converts an API LabelSelector as Kubernetes does: nil
// matches nothing, an empty one matches everything, otherwise matchLabels
// and matchExpressions (In, NotIn, Exists, DoesNotExist) must all hold.
func FromLabelSelector(ls *v1.LabelSelector) (Selector, error) {
	if ls == nil {
		return Nothing(), nil
	}
	if len(ls.GetMatchLabels()) == 0 && len(ls.GetMatchExpressions()) == 0 {
		return Everything(), nil
	}
	reqs := make([]Requirement, 0, len(ls.GetMatchLabels())+len(ls.GetMatchExpressions()))
	for k, v := range ls.GetMatchLabels() {
		r, err := NewRequirement(k, "=", []string{v})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	for _, e := range ls.GetMatchExpressions() {
		switch e.GetOperator() {
		case "In", "NotIn", "Exists", "DoesNotExist":
		default:
			return nil, errdefs.Invalid("%q is not a valid label selector operator", e.GetOperator())
		}
		r, err := NewRequirement(e.GetKey(), e.GetOperator(), e.GetValues())
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	return NewSelector(reqs...), nil
}

// checkKey checks a qualified name: an optional DNS subdomain prefix and a
// slash, then a name of at most 63 characters. It returns "" when valid.
func checkKey(key string) string {
	name := key
	if i := strings.IndexByte(key, '/'); i >= 0 {
		prefix := key[:i]
		name = key[i+1:]
		if prefix == "" {
			return "prefix part must be non-empty"
		}
		if msg := checkSubdomain(prefix); msg != "" {
			return "prefix part " + msg
		}
	}
	switch {
	case name == "":
		return "name part must be non-empty"
	case len(name) > 63:
		return "name part must be no more than 63 characters"
	case !isLabelName(name):
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	}
	return ""
}

// checkValue checks a label value; "" when valid.
func checkValue(v string) string {
	switch {
	case v == "":
		return ""
	case len(v) > 63:
		return "must be no more than 63 characters"
	case !isLabelName(v):
		return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	}
	return ""
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isLabelName: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
func isLabelName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// checkSubdomain checks a lower-case RFC 1123 subdomain; "" when valid.
func checkSubdomain(s string) string {
	if len(s) > 253 {
		return "must be no more than 253 characters"
	}
	for _, part := range strings.Split(s, ".") {
		ok := part != ""
		for i := 0; ok && i < len(part); i++ {
			c := part[i]
			alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
			ok = alnum || c == '-' && i > 0 && i < len(part)-1
		}
		if !ok {
			return "must be a lowercase RFC 1123 subdomain"
		}
	}
	return ""
}
