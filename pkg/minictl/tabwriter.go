package minictl

import (
	"io"
	"strings"
	"unicode/utf8"
)

// The layout of kubectl's table printer (k8s.io/cli-runtime printers):
// minimum cell width 6, 3 spaces of padding, and column widths that are
// remembered across flushes so that the rows of `get -w` stay aligned with
// the header printed before them.
const (
	tableMinWidth = 6
	tablePadding  = 3
)

// tableWriter aligns rows of cells. The last cell of a row is not padded,
// as a tab-terminated tabwriter leaves it.
type tableWriter struct {
	out    io.Writer
	rows   [][]string
	widths []int
}

func newTableWriter(out io.Writer) *tableWriter { return &tableWriter{out: out} }

// Row queues one row.
func (t *tableWriter) Row(cells ...string) { t.rows = append(t.rows, cells) }

// Flush writes the queued rows. Column widths only grow: a later flush
// never narrows a column an earlier one printed.
func (t *tableWriter) Flush() error {
	for _, r := range t.rows {
		for i, c := range r[:max(len(r)-1, 0)] {
			w := max(utf8.RuneCountInString(c)+tablePadding, tableMinWidth)
			if i >= len(t.widths) {
				t.widths = append(t.widths, w)
			} else if w > t.widths[i] {
				t.widths[i] = w
			}
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = t.rows[:0]
	_, err := io.WriteString(t.out, b.String())
	return err
}
