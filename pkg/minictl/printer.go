package minictl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"minik8s/pkg/apis"
)

// Output formats of -o.
const (
	outputTable = ""
	outputWide  = "wide"
	outputName  = "name"
	outputYAML  = "yaml"
	outputJSON  = "json"
)

func checkOutput(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	quoted := make([]string, 0, len(allowed))
	for _, a := range allowed {
		if a != "" {
			quoted = append(quoted, a)
		}
	}
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: %s", format, strings.Join(quoted, ","))
}

// tablePrinter prints objects of one kind as rows of kubectl's table.
type tablePrinter struct {
	w   *tableWriter
	res *apis.Resource
	tbl table
	now time.Time
	// Options.
	wide, noHeaders, showLabels bool
	// withNamespace prepends NAMESPACE (get -A); withKind prints names as
	// kind/name (get of several kinds).
	withNamespace, withKind bool
	// watchEvents prepends EVENT (get -w --output-watch-events).
	watchEvents bool

	headerDone bool
}

func (p *tablePrinter) header() []string {
	var h []string
	if p.watchEvents {
		h = append(h, "EVENT")
	}
	if p.withNamespace {
		h = append(h, "NAMESPACE")
	}
	h = append(h, p.tbl.columns...)
	if p.wide {
		h = append(h, p.tbl.wide...)
	}
	if p.showLabels {
		h = append(h, "LABELS")
	}
	return h
}

// add queues the row of obj (and the header before the first row).
func (p *tablePrinter) add(event string, obj apis.Object) {
	if !p.headerDone && !p.noHeaders {
		p.w.Row(p.header()...)
	}
	p.headerDone = true
	cells := p.tbl.row(obj, p.now, p.wide)
	if p.withKind && len(cells) > 0 && p.tbl.columns[0] == "NAME" {
		cells[0] = qualifiedKind(p.res) + "/" + cells[0]
	}
	var row []string
	if p.watchEvents {
		row = append(row, event)
	}
	if p.withNamespace {
		row = append(row, obj.GetMetadata().GetNamespace())
	}
	row = append(row, cells...)
	if p.showLabels {
		row = append(row, formatLabels(obj.GetMetadata().GetLabels()))
	}
	p.w.Row(row...)
}

func (p *tablePrinter) flush() error { return p.w.Flush() }

// objectName is kubectl's -o name form: "pod/web", "deployment.apps/web".
func objectName(res *apis.Resource, obj apis.Object) string {
	return qualifiedKind(res) + "/" + obj.GetMetadata().GetName()
}

// writeObjects prints objects as YAML or JSON in the manifest shape: one
// object alone, several (or any number, with asList) as a v1 List, the
// shape kubectl prints for lists.
func writeObjects(out io.Writer, format string, objs []apis.Object, asList bool) error {
	if !asList && len(objs) == 1 {
		return writeObject(out, format, objs[0])
	}
	b, err := encodeList(format, objs)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// writeObject prints one object as YAML or JSON.
func writeObject(out io.Writer, format string, obj apis.Object) error {
	if format == outputYAML {
		b, err := encodeYAML(obj)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	b, err := encodeJSON(obj)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// writeJSONAs prints JSON data as kubectl does: JSON indented by four
// spaces, or YAML with sorted keys.
func writeJSONAs(out io.Writer, format string, data []byte) error {
	if format == outputYAML {
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		_, err = out.Write(y)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "    "); err != nil {
		return fmt.Errorf("indent json: %w", err)
	}
	buf.WriteByte('\n')
	_, err := out.Write(buf.Bytes())
	return err
}
