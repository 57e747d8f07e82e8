package manifest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

// object is a JSON object that keeps its keys in order.
type object struct {
	keys []string
	vals []any // string, int64, uint64, float64, bool, []any, *object
}

func (o *object) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// EncodeJSON prints obj as a Kubernetes JSON manifest, indented by four
// spaces as kubectl prints it: Kubernetes field names, apiVersion and kind
// first (from the object's kind, whatever the object holds), then metadata,
// spec, status and any other fields in declaration order; zero values left
// out, as Kubernetes leaves them out. Decode reads it back to an equal
// object.
func EncodeJSON(obj apis.Object) ([]byte, error) {
	tree, err := encodeObject(obj)
	if err != nil {
		return nil, err
	}
	return indentJSON(appendJSON(nil, tree))
}

// EncodeYAML prints obj as a Kubernetes YAML manifest, keys in the order
// EncodeJSON uses.
func EncodeYAML(obj apis.Object) ([]byte, error) {
	tree, err := encodeObject(obj)
	if err != nil {
		return nil, err
	}
	return marshalYAML(tree)
}

// EncodeListJSON prints objs as a kubectl-style `kind: List`.
func EncodeListJSON(objs []apis.Object) ([]byte, error) {
	tree, err := encodeList(objs)
	if err != nil {
		return nil, err
	}
	return indentJSON(appendJSON(nil, tree))
}

// EncodeListYAML prints objs as a kubectl-style `kind: List`.
func EncodeListYAML(objs []apis.Object) ([]byte, error) {
	tree, err := encodeList(objs)
	if err != nil {
		return nil, err
	}
	return marshalYAML(tree)
}

// ToMap returns obj in manifest form as generic values, for printers that
// walk paths (custom columns, JSONPath): map[string]any, []any, string,
// int64, uint64, float64 and bool.
func ToMap(obj apis.Object) (map[string]any, error) {
	tree, err := encodeObject(obj)
	if err != nil {
		return nil, err
	}
	return toGeneric(tree).(map[string]any), nil
}

func encodeList(objs []apis.Object) (*object, error) {
	items := make([]any, 0, len(objs))
	for _, obj := range objs {
		tree, err := encodeObject(obj)
		if err != nil {
			return nil, err
		}
		items = append(items, tree)
	}
	list := &object{}
	list.add("apiVersion", "v1")
	list.add("kind", "List")
	list.add("items", items)
	return list, nil
}

func encodeObject(obj apis.Object) (*object, error) {
	r, err := apis.ForObject(obj)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	o := &object{}
	o.add("apiVersion", r.APIVersion)
	o.add("kind", r.Kind)
	if err := encodeFields(o, obj.ProtoReflect(), true); err != nil {
		return nil, fmt.Errorf("encode %s %q: %w", r.Kind, obj.GetMetadata().GetName(), err)
	}
	return o, nil
}

func encodeMessage(m protoreflect.Message) (any, error) {
	if m.Descriptor().FullName() == timestampName {
		return encodeTimestamp(m)
	}
	o := &object{}
	if err := encodeFields(o, m, false); err != nil {
		return nil, err
	}
	return o, nil
}

// encodeFields adds m's populated fields to o in declaration order. At the
// top level, apiVersion and kind are already there.
func encodeFields(o *object, m protoreflect.Message, top bool) error {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if top && (fd.Name() == "api_version" || fd.Name() == "kind") || !m.Has(fd) {
			continue
		}
		v, err := encodeField(fd, m.Get(fd))
		if err != nil {
			return fmt.Errorf("%s: %w", fd.JSONName(), err)
		}
		o.add(fd.JSONName(), v)
	}
	return nil
}

func encodeField(fd protoreflect.FieldDescriptor, v protoreflect.Value) (any, error) {
	switch {
	case fd.IsMap():
		ft := fieldType(fd)
		kd, vd := fd.MapKey(), fd.MapValue()
		mp := v.Map()
		type entry struct {
			name string
			key  protoreflect.MapKey
		}
		entries := make([]entry, 0, mp.Len())
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			entries = append(entries, entry{mapKeyString(kd, k), k})
			return true
		})
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		o := &object{}
		for _, e := range entries {
			ev, err := encodeValue(vd, ft, mp.Get(e.key))
			if err != nil {
				return nil, fmt.Errorf("[%s]: %w", e.name, err)
			}
			o.add(e.name, ev)
		}
		return o, nil
	case fd.IsList():
		ft := fieldType(fd)
		l := v.List()
		a := make([]any, l.Len())
		for i := range a {
			ev, err := encodeValue(fd, ft, l.Get(i))
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			a[i] = ev
		}
		return a, nil
	}
	return encodeValue(fd, fieldType(fd), v)
}

func mapKeyString(kd protoreflect.FieldDescriptor, k protoreflect.MapKey) string {
	if kd.Kind() == protoreflect.StringKind {
		return k.String()
	}
	return k.Value().String()
}

// encodeValue encodes one singular value (a field, list element or map
// value) of field fd.
func encodeValue(fd protoreflect.FieldDescriptor, ft v1.FieldType, v protoreflect.Value) (any, error) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return encodeMessage(v.Message())
	case protoreflect.StringKind:
		s := v.String()
		if ft == v1.FieldType_FIELD_TYPE_INT_OR_STRING {
			if n, err := strconv.ParseInt(s, 10, 32); err == nil && strconv.FormatInt(n, 10) == s {
				return n, nil
			}
		}
		return s, nil
	case protoreflect.BytesKind:
		return base64.StdEncoding.EncodeToString(v.Bytes()), nil
	case protoreflect.BoolKind:
		return v.Bool(), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int(), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint(), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be written in a manifest", f)
		}
		return f, nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name()), nil
		}
		return int64(v.Enum()), nil
	}
	return nil, fmt.Errorf("field of kind %s not supported", fd.Kind())
}

// Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

func encodeTimestamp(m protoreflect.Message) (any, error) {
	fields := m.Descriptor().Fields()
	sec := m.Get(fields.ByName("seconds")).Int()
	nanos := m.Get(fields.ByName("nanos")).Int()
	if sec < minTimestampSeconds || sec > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return nil, fmt.Errorf("invalid timestamp (seconds %d, nanos %d)", sec, nanos)
	}
	return time.Unix(sec, nanos).UTC().Format(time.RFC3339Nano), nil
}

// appendJSON writes v compactly, objects in key order.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case *object:
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, v.vals[i])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, as encoding/json escapes it but
// without HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func indentJSON(compact []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(compact) * 2)
	if err := json.Indent(&buf, compact, "", "    "); err != nil {
		return nil, fmt.Errorf("indent JSON: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func marshalYAML(tree *object) ([]byte, error) {
	out, err := yamlv2.Marshal(toYAML(tree))
	if err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return out, nil
}

// toYAML turns objects into yaml.MapSlices, which keep their key order.
func toYAML(v any) any {
	switch v := v.(type) {
	case *object:
		ms := make(yamlv2.MapSlice, len(v.keys))
		for i, k := range v.keys {
			ms[i] = yamlv2.MapItem{Key: k, Value: toYAML(v.vals[i])}
		}
		return ms
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = toYAML(e)
		}
		return a
	}
	return v
}

func toGeneric(v any) any {
	switch v := v.(type) {
	case *object:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			m[k] = toGeneric(v.vals[i])
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = toGeneric(e)
		}
		return a
	}
	return v
}
