package fields

import (
	"slices"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
)

// FuzzParse checks that Parse never panics and that a parsed selector
// prints to a string that parses to the same terms.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "spec.nodeName=n1", "spec.nodeName==n1,status.phase!=Failed", `reason=a\,b\=c\\d`, "spec.nodeName=",
		"spec.foo=x", "a", `x=\`, "=,=", "metadata.name!==x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(sel.String())
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", s, sel.String(), err)
		}
		if !slices.Equal(again.Terms(), sel.Terms()) {
			t.Fatalf("Parse(%q): terms %v reparse as %v", s, sel.Terms(), again.Terms())
		}
		sel.Matches(&v1.Pod{})
	})
}
