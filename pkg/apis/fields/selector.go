// Package fields implements Kubernetes field selectors
// (`spec.nodeName=n1,status.phase!=Failed`): parsing, printing, checking
// which fields a resource supports, and matching objects.
//
// Only the fields Kubernetes indexes are selectable: metadata.name and
// metadata.namespace on every kind, plus a few per kind (see
// SupportedFields). A field an object's kind does not have reads as "", as in
// Kubernetes' field sets; Validate refuses such selectors up front.
//
// A Selector is an immutable value, safe for concurrent use; the zero
// Selector selects everything. Matches does not allocate: the apiserver's
// watch cache calls it once per object per watcher.
package fields

import (
	"slices"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// Operator of a term.
type Operator string

// The operators; "==" parses as Equals.
const (
	Equals    Operator = "="
	NotEquals Operator = "!="
)

// Term is one condition: Field Operator Value.
type Term struct {
	Field string
	Op    Operator
	Value string
}

// field identifies a selectable field, so that Matches switches on an int
// instead of comparing names.
type field int

const (
	fieldUnknown field = iota
	metadataName
	metadataNamespace
	specNodeName
	specSchedulerName
	specRestartPolicy
	specServiceAccountName
	specHostNetwork
	statusPhase
	statusPodIP
	specUnschedulable
	involvedObjectKind
	involvedObjectName
	involvedObjectNamespace
	involvedObjectUID
	involvedObjectAPIVersion
	involvedObjectResourceVersion
	involvedObjectFieldPath
	eventReason
	eventReportingComponent
	eventSource
	typeField // events and secrets
	specSignerName
)

func fieldOf(name string) field {
	switch name {
	case "metadata.name":
		return metadataName
	case "metadata.namespace":
		return metadataNamespace
	case "spec.nodeName":
		return specNodeName
	case "spec.schedulerName":
		return specSchedulerName
	case "spec.restartPolicy":
		return specRestartPolicy
	case "spec.serviceAccountName":
		return specServiceAccountName
	case "spec.hostNetwork":
		return specHostNetwork
	case "status.phase":
		return statusPhase
	case "status.podIP":
		return statusPodIP
	case "spec.unschedulable":
		return specUnschedulable
	case "involvedObject.kind":
		return involvedObjectKind
	case "involvedObject.name":
		return involvedObjectName
	case "involvedObject.namespace":
		return involvedObjectNamespace
	case "involvedObject.uid":
		return involvedObjectUID
	case "involvedObject.apiVersion":
		return involvedObjectAPIVersion
	case "involvedObject.resourceVersion":
		return involvedObjectResourceVersion
	case "involvedObject.fieldPath":
		return involvedObjectFieldPath
	case "reason":
		return eventReason
	case "reportingComponent":
		return eventReportingComponent
	case "source":
		return eventSource
	case "type":
		return typeField
	case "spec.signerName":
		return specSignerName
	}
	return fieldUnknown
}

// SupportedFields lists the fields a resource (plural name, as in
// apis.Resource.Name) can be selected by; nil for an unknown resource.
func SupportedFields(resource string) []string {
	common := []string{"metadata.name", "metadata.namespace"}
	var extra []string
	switch resource {
	case "pods":
		extra = []string{"spec.nodeName", "spec.schedulerName", "spec.restartPolicy", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP"}
	case "nodes":
		extra = []string{"spec.unschedulable"}
	case "events":
		extra = []string{"involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}
	case "namespaces":
		extra = []string{"status.phase"}
	case "secrets":
		extra = []string{"type"}
	case "certificatesigningrequests":
		extra = []string{"spec.signerName"}
	case "configmaps", "leases", "replicasets", "deployments":
	default:
		return nil
	}
	return append(common, extra...)
}

type term struct {
	Term
	id field
}

// Selector is a conjunction of terms. The zero Selector selects everything.
type Selector struct {
	terms []term
}

// Everything returns the selector that selects every object.
func Everything() Selector { return Selector{} }

// OneTermEqualSelector returns the selector `field=value`. A field that is
// not selectable reads as "" in Matches, and Validate refuses it.
func OneTermEqualSelector(fieldName, value string) Selector {
	return Selector{terms: []term{{Term: Term{Field: fieldName, Op: Equals, Value: value}, id: fieldOf(fieldName)}}}
}

// Parse reads a field selector: comma-separated `field=value`,
// `field==value` or `field!=value` terms. In a value, `\,`, `\=` and `\\`
// stand for ',', '=' and '\'. "" selects everything. A field that no kind
// supports is refused (`field label not supported: X`); errors are of class
// Invalid.
func Parse(s string) (Selector, error) {
	var sel Selector
	for _, part := range splitTerms(s) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		lhs, op, rhs, ok := splitTerm(part)
		if !ok {
			return Selector{}, errdefs.Invalid("invalid field selector %q: cannot understand %q (want field=value, field==value or field!=value)", s, part)
		}
		name := strings.TrimSpace(lhs)
		id := fieldOf(name)
		if id == fieldUnknown {
			return Selector{}, errdefs.Invalid("field label not supported: %s", name)
		}
		value, err := UnescapeValue(rhs)
		if err != nil {
			return Selector{}, errdefs.Invalid("invalid field selector %q: %v", s, err)
		}
		sel.terms = append(sel.terms, term{Term: Term{Field: name, Op: op, Value: value}, id: id})
	}
	return sel, nil
}

// splitTerms splits s on commas that are not escaped.
func splitTerms(s string) []string {
	if s == "" {
		return nil
	}
	var parts []string
	start := 0
	escaped := false
	for i := 0; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == ',':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// splitTerm splits a term at its first unescaped operator.
func splitTerm(t string) (lhs string, op Operator, rhs string, ok bool) {
	escaped := false
	for i := 0; i < len(t); i++ {
		switch {
		case escaped:
			escaped = false
		case t[i] == '\\':
			escaped = true
		case strings.HasPrefix(t[i:], "!="):
			return t[:i], NotEquals, t[i+2:], true
		case strings.HasPrefix(t[i:], "=="):
			return t[:i], Equals, t[i+2:], true
		case t[i] == '=':
			return t[:i], Equals, t[i+1:], true
		}
	}
	return "", "", "", false
}

// EscapeValue escapes '\', ',' and '=' so that the value can be put in a
// selector string.
func EscapeValue(v string) string {
	if !strings.ContainsAny(v, `\,=`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\\' || c == ',' || c == '=' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// UnescapeValue undoes EscapeValue; an unescaped ',' or '=', or an escape of
// any other character, is an error.
func UnescapeValue(v string) (string, error) {
	if !strings.ContainsAny(v, `\,=`) {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 == len(v) {
				return "", errdefs.Invalid("value %q ends with an unfinished escape", v)
			}
			i++
			if n := v[i]; n == '\\' || n == ',' || n == '=' {
				b.WriteByte(n)
				continue
			}
			return "", errdefs.Invalid("invalid escape sequence \\%c in value %q", v[i], v)
		case ',', '=':
			return "", errdefs.Invalid("value %q contains an unescaped %q", v, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Empty reports whether the selector has no terms (it selects everything).
func (s Selector) Empty() bool { return len(s.terms) == 0 }

// Terms returns a copy of the terms, in the order they were given.
func (s Selector) Terms() []Term {
	out := make([]Term, len(s.terms))
	for i, t := range s.terms {
		out[i] = t.Term
	}
	return out
}

// String is the selector in the syntax Parse reads ("==" prints as "=").
func (s Selector) String() string {
	var b strings.Builder
	for i, t := range s.terms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.Field)
		b.WriteString(string(t.Op))
		b.WriteString(EscapeValue(t.Value))
	}
	return b.String()
}

// RequiresExactMatch returns the value field must equal when the selector
// has a `field=value` term, so that a caller can use an index.
func (s Selector) RequiresExactMatch(fieldName string) (value string, ok bool) {
	for _, t := range s.terms {
		if t.Field == fieldName && t.Op == Equals {
			return t.Value, true
		}
	}
	return "", false
}

// Matches reports whether obj satisfies every term. It does not allocate.
func (s Selector) Matches(obj apis.Object) bool {
	for i := range s.terms {
		t := &s.terms[i]
		if (value(obj, t.id) == t.Value) != (t.Op == Equals) {
			return false
		}
	}
	return true
}

// Validate checks that every field of s is selectable on resource (any name
// apis.Lookup knows: "pods", "po", "Pod").
func Validate(resource string, s Selector) error {
	r, err := apis.Lookup(resource)
	if err != nil {
		return errdefs.Invalid("%v", err)
	}
	supported := SupportedFields(r.Name)
	for _, t := range s.terms {
		if !slices.Contains(supported, t.Field) {
			return errdefs.Invalid("field label not supported for %s: %s (supported: %s)", r.Name, t.Field, strings.Join(supported, ", "))
		}
	}
	return nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// value reads field f of obj; "" when obj's kind has no such field.
func value(obj apis.Object, f field) string {
	switch f {
	case metadataName:
		return obj.GetMetadata().GetName()
	case metadataNamespace:
		return obj.GetMetadata().GetNamespace()
	}
	switch o := obj.(type) {
	case *v1.Pod:
		switch f {
		case specNodeName:
			return o.GetSpec().GetNodeName()
		case specSchedulerName:
			return o.GetSpec().GetSchedulerName()
		case specRestartPolicy:
			return o.GetSpec().GetRestartPolicy()
		case specServiceAccountName:
			return o.GetSpec().GetServiceAccountName()
		case specHostNetwork:
			return boolString(o.GetSpec().GetHostNetwork())
		case statusPhase:
			return o.GetStatus().GetPhase()
		case statusPodIP:
			return o.GetStatus().GetPodIp()
		}
	case *v1.Node:
		if f == specUnschedulable {
			return boolString(o.GetSpec().GetUnschedulable())
		}
	case *v1.Event:
		switch f {
		case involvedObjectKind:
			return o.GetInvolvedObject().GetKind()
		case involvedObjectName:
			return o.GetInvolvedObject().GetName()
		case involvedObjectNamespace:
			return o.GetInvolvedObject().GetNamespace()
		case involvedObjectUID:
			return o.GetInvolvedObject().GetUid()
		case involvedObjectAPIVersion:
			return o.GetInvolvedObject().GetApiVersion()
		case involvedObjectResourceVersion:
			return o.GetInvolvedObject().GetResourceVersion()
		case involvedObjectFieldPath:
			return o.GetInvolvedObject().GetFieldPath()
		case eventReason:
			return o.GetReason()
		case eventReportingComponent:
			return o.GetReportingComponent()
		case eventSource:
			return o.GetSource().GetComponent()
		case typeField:
			return o.GetType()
		}
	case *v1.Namespace:
		if f == statusPhase {
			return o.GetStatus().GetPhase()
		}
	case *v1.Secret:
		if f == typeField {
			return o.GetType()
		}
	case *v1.CertificateSigningRequest:
		if f == specSignerName {
			return o.GetSpec().GetSignerName()
		}
	}
	return ""
}
