// Package manifest converts Kubernetes manifests (YAML or JSON, one or many
// documents) to minik8s objects and back, with Kubernetes' field names and
// shapes.
//
// The codec is driven by the protobuf descriptors, with no code per kind: a
// manifest key is a field's JSON name (the .proto sets json_name where
// Kubernetes spells a name differently, as in hostIP or containerID), and
// the (minik8s.v1.field_type) option marks the string fields whose manifest
// form is not a plain string (quantities, int-or-string, base64 maps).
//
// Decoding is strict, as the API promises: a field we do not support, a
// value of the wrong type, a duplicate key or an unknown kind is an error
// that names the field path (`spec.containers[0].securityContext: field not
// supported`), and every such error of a document is reported, never
// silently dropped. Null means absent.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// maxErrorsPerDocument bounds the errors reported for one document, so that
// a garbage input yields a readable message.
const maxErrorsPerDocument = 50

// FieldError is one problem at one field path of a document.
type FieldError struct {
	// Path is the field path, "spec.containers[0].ports[0].containerPort";
	// map keys are in brackets ("metadata.labels[app]"); "" is the document
	// itself.
	Path string
	// Detail says what is wrong: "field not supported",
	// `expected integer, got string "x"`.
	Detail string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Detail
	}
	return e.Path + ": " + e.Detail
}

// DocumentError lists every problem of one document of a manifest stream.
// Decode returns it (inside an error of class Invalid) for each document
// that did not decode; find it with errors.As.
type DocumentError struct {
	// Index is the 1-based position of the document among the non-empty
	// documents of the stream.
	Index int
	// Count is the number of non-empty documents in the stream.
	Count int
	// Kind and Name of the document, when they could be read.
	Kind, Name string
	// Fields are the problems, in field-path order.
	Fields []FieldError
}

func (e *DocumentError) Error() string {
	var b strings.Builder
	what := ""
	switch {
	case e.Kind != "" && e.Name != "":
		what = fmt.Sprintf("%s %q", e.Kind, e.Name)
	case e.Kind != "":
		what = e.Kind
	}
	if e.Count > 1 {
		fmt.Fprintf(&b, "document %d", e.Index)
		if what != "" {
			fmt.Fprintf(&b, " (%s)", what)
		}
		b.WriteString(": ")
	} else if what != "" {
		b.WriteString(what + ": ")
	}
	if len(e.Fields) == 1 {
		b.WriteString(e.Fields[0].Error())
		return b.String()
	}
	b.WriteByte('[')
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Error())
	}
	b.WriteByte(']')
	return b.String()
}

// document is one parsed document of a stream: a generic JSON value (maps,
// slices, json.Number, string, bool) or the error that kept it from being
// read.
type document struct {
	value any
	err   error
}

// Decode reads every object of a manifest: a YAML stream of documents
// separated by `---` lines (empty documents are skipped) or a stream of JSON
// objects. A document of kind List (or PodList, ...) contributes its items.
// apiVersion and kind select the kind (see apis.ForKind). Either every
// document decodes, or Decode returns no objects and an error of class
// Invalid that joins one *DocumentError per failed document.
func Decode(data []byte) ([]apis.Object, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var docs []document
	if isJSON(data) {
		docs = readJSONStream(data)
	} else {
		docs = readYAMLStream(data)
	}
	var objs []apis.Object
	var errs []error
	for i, doc := range docs {
		d := &decoder{}
		var kind, name string
		if doc.err != nil {
			d.errs = append(d.errs, FieldError{Detail: doc.err.Error()})
		} else {
			kind, name = describeDocument(doc.value)
			objs = d.document(doc.value, objs)
		}
		if len(d.errs) > 0 {
			errs = append(errs, &DocumentError{Index: i + 1, Count: len(docs), Kind: kind, Name: name, Fields: d.errs})
		}
	}
	if len(errs) > 0 {
		return nil, errdefs.Wrap(errdefs.ClassInvalid, errors.Join(errs...), "")
	}
	return objs, nil
}

// isJSON reports whether a stream is JSON: its first non-space byte opens an
// object.
func isJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

func readJSONStream(data []byte) []document {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var docs []document
	for {
		v, err := readJSONValue(dec)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			return append(docs, document{err: fmt.Errorf("invalid JSON: %w", err)})
		}
		if v != nil {
			docs = append(docs, document{value: v})
		}
	}
}

// readJSONValue reads one value token by token, refusing duplicate keys
// (encoding/json would keep the last one silently).
func readJSONValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch delim {
	case '{':
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, unexpectedEOF(err)
			}
			key, _ := kt.(string)
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			v, err := readJSONValue(dec)
			if err != nil {
				return nil, unexpectedEOF(err)
			}
			m[key] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, unexpectedEOF(err)
		}
		return m, nil
	case '[':
		a := []any{}
		for dec.More() {
			v, err := readJSONValue(dec)
			if err != nil {
				return nil, unexpectedEOF(err)
			}
			a = append(a, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, unexpectedEOF(err)
		}
		return a, nil
	}
	return nil, fmt.Errorf("unexpected %q", delim)
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// yamlLine finds the line numbers in yaml.v2's messages.
var yamlLine = regexp.MustCompile(`line (\d+)`)

func readYAMLStream(data []byte) []document {
	var docs []document
	for _, chunk := range splitYAML(data) {
		j, err := yaml.YAMLToJSONStrict(chunk.data)
		if err != nil {
			// Make yaml.v2's line numbers count from the top of the stream.
			msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(s string) string {
				n, _ := strconv.Atoi(s[len("line "):])
				return "line " + strconv.Itoa(n+chunk.line-1)
			})
			docs = append(docs, document{err: errors.New(msg)})
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			docs = append(docs, document{err: fmt.Errorf("invalid YAML: %w", err)})
			continue
		}
		if v != nil {
			docs = append(docs, document{value: v})
		}
	}
	return docs
}

type yamlChunk struct {
	data []byte
	line int // 1-based line of the stream where the chunk starts
}

// splitYAML cuts a stream at document markers: a `---` line starts a
// document (and stays in it, so that `--- {a: b}` parses), a `...` line
// ends one.
func splitYAML(data []byte) []yamlChunk {
	var chunks []yamlChunk
	start, startLine, line := 0, 1, 1
	for pos := 0; pos < len(data); line++ {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		l := data[pos:next]
		switch {
		case isMarker(l, "---"):
			chunks = append(chunks, yamlChunk{data[start:pos], startLine})
			start, startLine = pos, line
		case isMarker(l, "..."):
			chunks = append(chunks, yamlChunk{data[start:pos], startLine})
			start, startLine = next, line+1
		}
		pos = next
	}
	return append(chunks, yamlChunk{data[start:], startLine})
}

func isMarker(line []byte, marker string) bool {
	if !bytes.HasPrefix(line, []byte(marker)) {
		return false
	}
	rest := line[len(marker):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n'
}

// describeDocument reads a document's kind and metadata.name for messages.
func describeDocument(v any) (kind, name string) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", ""
	}
	kind, _ = m["kind"].(string)
	if md, ok := m["metadata"].(map[string]any); ok {
		name, _ = md["name"].(string)
	}
	return kind, name
}
