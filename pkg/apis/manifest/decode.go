package manifest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

const timestampName protoreflect.FullName = "google.protobuf.Timestamp"

// decoder walks one document's generic value against message descriptors,
// collecting every error with its path.
type decoder struct {
	path []byte // the current field path, rendered only for errors
	errs []FieldError
}

func (d *decoder) errorf(format string, args ...any) {
	switch {
	case len(d.errs) < maxErrorsPerDocument:
		d.errs = append(d.errs, FieldError{Path: string(d.path), Detail: fmt.Sprintf(format, args...)})
	case len(d.errs) == maxErrorsPerDocument:
		d.errs = append(d.errs, FieldError{Detail: "too many errors, the rest are not shown"})
	}
}

// typeError reports a value of the wrong JSON type.
func (d *decoder) typeError(want string, got any) {
	hint := ""
	if _, ok := got.(bool); ok && strings.HasPrefix(want, "string") {
		hint = " (quote the value: YAML reads y, n, yes, no, on, off, true and false as booleans)"
	}
	d.errorf("expected %s, got %s%s", want, describe(got), hint)
}

func (d *decoder) push(name string) int {
	n := len(d.path)
	if n > 0 {
		d.path = append(d.path, '.')
	}
	d.path = append(d.path, name...)
	return n
}

func (d *decoder) pushIndex(i int) int {
	n := len(d.path)
	d.path = append(d.path, '[')
	d.path = strconv.AppendInt(d.path, int64(i), 10)
	d.path = append(d.path, ']')
	return n
}

func (d *decoder) pushKey(k string) int {
	n := len(d.path)
	d.path = append(d.path, '[')
	d.path = append(d.path, k...)
	d.path = append(d.path, ']')
	return n
}

func (d *decoder) pop(n int) { d.path = d.path[:n] }

// describe names a generic value's type (and value, for scalars) for a
// message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if len(v) > 64 {
			v = v[:61] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case json.Number:
		return "number " + v.String()
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// document decodes one document (an object or a list of objects), appending
// what it decodes to objs.
func (d *decoder) document(v any, objs []apis.Object) []apis.Object {
	m, ok := v.(map[string]any)
	if !ok {
		d.typeError("an object with apiVersion and kind", v)
		return objs
	}
	apiVersion, kind, ok := d.typeMeta(m)
	if !ok {
		return objs
	}
	if kind == "List" || strings.HasSuffix(kind, "List") {
		return d.list(m, apiVersion, kind, objs)
	}
	r := d.resource(apiVersion, kind)
	if r == nil {
		return objs
	}
	obj := r.New()
	d.message(obj.ProtoReflect(), m)
	return append(objs, obj)
}

// typeMeta reads apiVersion and kind, reporting them when missing.
func (d *decoder) typeMeta(m map[string]any) (apiVersion, kind string, ok bool) {
	ok = true
	for _, f := range []struct {
		name string
		dst  *string
	}{{"apiVersion", &apiVersion}, {"kind", &kind}} {
		n := d.push(f.name)
		switch v := m[f.name].(type) {
		case string:
			*f.dst = v
			if v == "" {
				d.errorf("Required value")
				ok = false
			}
		case nil:
			d.errorf("Required value")
			ok = false
		default:
			d.typeError("string", v)
			ok = false
		}
		d.pop(n)
	}
	return apiVersion, kind, ok
}

// resource finds the kind, reporting at kind or apiVersion what is wrong.
func (d *decoder) resource(apiVersion, kind string) *apis.Resource {
	r, err := apis.ForKind(apiVersion, kind)
	if err == nil {
		return r
	}
	field := "kind"
	if other, lerr := apis.Lookup(kind); lerr == nil && other.Kind == kind {
		field = "apiVersion"
	}
	n := d.push(field)
	d.errorf("%v", err)
	d.pop(n)
	return nil
}

// list decodes a List (any apiVersion v1) or a typed list such as PodList
// (the item kind's apiVersion), whose items may leave out apiVersion and
// kind. The list's own metadata (resourceVersion, continue) means nothing
// to a manifest and is ignored.
func (d *decoder) list(m map[string]any, apiVersion, kind string, objs []apis.Object) []apis.Object {
	var itemKind *apis.Resource
	if kind == "List" {
		if apiVersion != "v1" {
			n := d.push("apiVersion")
			d.errorf("kind List has apiVersion v1, not %q", apiVersion)
			d.pop(n)
			return objs
		}
	} else {
		itemKind = d.resource(apiVersion, strings.TrimSuffix(kind, "List"))
		if itemKind == nil {
			return objs
		}
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "apiVersion", "kind", "items":
		case "metadata":
			if _, ok := m[k].(map[string]any); !ok && m[k] != nil {
				n := d.push(k)
				d.typeError("object", m[k])
				d.pop(n)
			}
		default:
			n := d.push(k)
			d.errorf("field not supported")
			d.pop(n)
		}
	}
	n := d.push("items")
	defer d.pop(n)
	var items []any
	switch v := m["items"].(type) {
	case []any:
		items = v
	case nil:
	default:
		d.typeError("array", v)
		return objs
	}
	for i, item := range items {
		in := d.pushIndex(i)
		if im, ok := item.(map[string]any); ok && itemKind != nil {
			// A typed list's items may leave out their type.
			if _, has := im["apiVersion"]; !has {
				im["apiVersion"] = itemKind.APIVersion
			}
			if _, has := im["kind"]; !has {
				im["kind"] = itemKind.Kind
			}
		}
		objs = d.document(item, objs)
		d.pop(in)
	}
	return objs
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// fieldType reads the (minik8s.v1.field_type) option of a field.
func fieldType(fd protoreflect.FieldDescriptor) v1.FieldType {
	opts := fd.Options()
	if opts == nil {
		return v1.FieldType_FIELD_TYPE_UNSPECIFIED
	}
	ft, _ := proto.GetExtension(opts, v1.E_FieldType).(v1.FieldType)
	return ft
}

// message fills m from v, a JSON object (or an RFC 3339 string for a
// Timestamp).
func (d *decoder) message(m protoreflect.Message, v any) {
	if m.Descriptor().FullName() == timestampName {
		d.timestamp(m, v)
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		d.typeError("object", v)
		return
	}
	fields := m.Descriptor().Fields()
	for _, k := range sortedKeys(obj) {
		n := d.push(k)
		fd := fields.ByJSONName(k)
		switch {
		case fd == nil:
			d.errorf("field not supported")
		case obj[k] == nil:
			// null is absent
		default:
			if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
				if other := m.WhichOneof(od); other != nil && other != fd {
					d.errorf("may not be set together with %s", other.JSONName())
					break
				}
			}
			d.field(m, fd, obj[k])
		}
		d.pop(n)
	}
}

func (d *decoder) field(m protoreflect.Message, fd protoreflect.FieldDescriptor, v any) {
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			d.typeError("object", v)
			return
		}
		ft := fieldType(fd)
		mp := m.Mutable(fd).Map()
		kd, vd := fd.MapKey(), fd.MapValue()
		for _, k := range sortedKeys(obj) {
			n := d.pushKey(k)
			if key, ok := d.mapKey(kd, k); ok {
				if val, ok := d.value(vd, ft, obj[k], mp.NewValue); ok {
					mp.Set(key, val)
				}
			}
			d.pop(n)
		}
	case fd.IsList():
		arr, ok := v.([]any)
		if !ok {
			d.typeError("array", v)
			return
		}
		ft := fieldType(fd)
		l := m.Mutable(fd).List()
		for i, e := range arr {
			n := d.pushIndex(i)
			if val, ok := d.value(fd, ft, e, l.NewElement); ok {
				l.Append(val)
			}
			d.pop(n)
		}
	case fd.Message() != nil:
		d.message(m.Mutable(fd).Message(), v)
	default:
		if val, ok := d.scalar(fd, fieldType(fd), v); ok {
			m.Set(fd, val)
		}
	}
}

// value decodes one element of a list or map; null is the zero value
// (Kubernetes decodes [null] into a zero element).
func (d *decoder) value(fd protoreflect.FieldDescriptor, ft v1.FieldType, v any, newMessage func() protoreflect.Value) (protoreflect.Value, bool) {
	if fd.Message() != nil {
		val := newMessage()
		if v != nil {
			d.message(val.Message(), v)
		}
		return val, true
	}
	if v == nil {
		return zeroScalar(fd), true
	}
	return d.scalar(fd, ft, v)
}

// zeroScalar is the zero value of a scalar field's kind (fd.Default is
// not defined for list fields).
func zeroScalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(false)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(0)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(0)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(0)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(0)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(0)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(0)
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(nil)
	case protoreflect.EnumKind:
		if values := fd.Enum().Values(); values.Len() > 0 {
			return protoreflect.ValueOfEnum(values.Get(0).Number())
		}
		return protoreflect.ValueOfEnum(0)
	}
	return protoreflect.ValueOfString("")
}

func (d *decoder) mapKey(kd protoreflect.FieldDescriptor, k string) (protoreflect.MapKey, bool) {
	if kd.Kind() == protoreflect.StringKind {
		return protoreflect.ValueOfString(k).MapKey(), true
	}
	val, ok := d.scalar(kd, v1.FieldType_FIELD_TYPE_UNSPECIFIED, keyValue(kd, k))
	if !ok {
		return protoreflect.MapKey{}, false
	}
	return val.MapKey(), true
}

// keyValue turns a map key back into the JSON value its kind expects.
func keyValue(kd protoreflect.FieldDescriptor, k string) any {
	if kd.Kind() == protoreflect.BoolKind {
		switch k {
		case "true":
			return true
		case "false":
			return false
		}
		return k
	}
	return json.Number(k)
}

// scalar decodes a non-message value of field fd.
func (d *decoder) scalar(fd protoreflect.FieldDescriptor, ft v1.FieldType, v any) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return d.stringValue(ft, v)
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if !ok {
			d.typeError("base64-encoded string", v)
			return protoreflect.Value{}, false
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			d.errorf("expected base64-encoded string: %v", err)
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfBytes(b), true
	case protoreflect.BoolKind:
		b, ok := v.(bool)
		if !ok {
			d.typeError("boolean", v)
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfBool(b), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, ok := d.integer(v, math.MinInt32, math.MaxInt32, "int32")
		return protoreflect.ValueOfInt32(int32(n)), ok
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, ok := d.integer(v, math.MinInt64, math.MaxInt64, "int64")
		return protoreflect.ValueOfInt64(n), ok
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, ok := d.unsigned(v, math.MaxUint32, "uint32")
		return protoreflect.ValueOfUint32(uint32(n)), ok
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, ok := d.unsigned(v, math.MaxUint64, "uint64")
		return protoreflect.ValueOfUint64(n), ok
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		num, ok := v.(json.Number)
		if !ok {
			d.typeError("number", v)
			return protoreflect.Value{}, false
		}
		f, err := strconv.ParseFloat(num.String(), 64)
		if err != nil || fd.Kind() == protoreflect.FloatKind && math.Abs(f) > math.MaxFloat32 {
			d.errorf("number %s out of range for %s", num, fd.Kind())
			return protoreflect.Value{}, false
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), true
		}
		return protoreflect.ValueOfFloat64(f), true
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		switch x := v.(type) {
		case string:
			if ev := values.ByName(protoreflect.Name(x)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), true
			}
			names := make([]string, values.Len())
			for i := range names {
				names[i] = string(values.Get(i).Name())
			}
			d.errorf("unsupported value %q: supported values: %s", x, strings.Join(names, ", "))
			return protoreflect.Value{}, false
		case json.Number:
			n, ok := d.integer(x, math.MinInt32, math.MaxInt32, "int32")
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), ok
		}
		d.typeError("string", v)
		return protoreflect.Value{}, false
	}
	d.errorf("field of kind %s not supported", fd.Kind())
	return protoreflect.Value{}, false
}

func (d *decoder) stringValue(ft v1.FieldType, v any) (protoreflect.Value, bool) {
	switch ft {
	case v1.FieldType_FIELD_TYPE_QUANTITY:
		switch x := v.(type) {
		case string:
			return protoreflect.ValueOfString(x), true
		case json.Number:
			return protoreflect.ValueOfString(x.String()), true
		}
		d.typeError(`quantity (a string such as "250m" or a number)`, v)
		return protoreflect.Value{}, false
	case v1.FieldType_FIELD_TYPE_INT_OR_STRING:
		switch x := v.(type) {
		case string:
			return protoreflect.ValueOfString(x), true
		case json.Number:
			n, ok := d.integer(x, math.MinInt32, math.MaxInt32, "int32")
			return protoreflect.ValueOfString(strconv.FormatInt(n, 10)), ok
		}
		d.typeError("integer or string", v)
		return protoreflect.Value{}, false
	}
	s, ok := v.(string)
	if !ok {
		d.typeError("string", v)
		return protoreflect.Value{}, false
	}
	return protoreflect.ValueOfString(s), true
}

// integer reads a JSON number that is a whole number within [lo, hi]. A
// number written with a fraction or exponent is accepted when its value is
// whole (YAML turns `3.0` into 3 on the way to JSON anyway).
func (d *decoder) integer(v any, lo, hi int64, typ string) (int64, bool) {
	num, ok := v.(json.Number)
	if !ok {
		d.typeError("integer", v)
		return 0, false
	}
	s := num.String()
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < lo || n > hi {
			d.errorf("value %s out of range for %s", s, typ)
			return 0, false
		}
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) || err == nil && f != math.Trunc(f) {
		d.typeError("integer", v)
		return 0, false
	}
	if err != nil || f < float64(lo) || f >= float64(hi)+1 {
		d.errorf("value %s out of range for %s", s, typ)
		return 0, false
	}
	return int64(f), true
}

// unsigned reads a whole, non-negative JSON number up to hi.
func (d *decoder) unsigned(v any, hi uint64, typ string) (uint64, bool) {
	num, ok := v.(json.Number)
	if !ok {
		d.typeError("integer", v)
		return 0, false
	}
	s := num.String()
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n > hi {
			d.errorf("value %s out of range for %s", s, typ)
			return 0, false
		}
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) || err == nil && f != math.Trunc(f) {
		d.typeError("integer", v)
		return 0, false
	}
	if err != nil || f < 0 || f >= float64(hi)+1 {
		d.errorf("value %s out of range for %s", s, typ)
		return 0, false
	}
	return uint64(f), true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// timestamp fills a google.protobuf.Timestamp from an RFC 3339 string.
func (d *decoder) timestamp(m protoreflect.Message, v any) {
	s, ok := v.(string)
	if !ok {
		d.typeError(`RFC 3339 time string ("2006-01-02T15:04:05Z")`, v)
		return
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.typeError(`RFC 3339 time string ("2006-01-02T15:04:05Z")`, v)
		return
	}
	if sec := t.Unix(); sec < minTimestampSeconds || sec > maxTimestampSeconds {
		d.errorf("time %s out of range (years 0001 to 9999, UTC)", s)
		return
	}
	fields := m.Descriptor().Fields()
	m.Set(fields.ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
	m.Set(fields.ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
}
