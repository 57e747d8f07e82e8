package labels

import "testing"

// FuzzParse checks that Parse never panics and that a parsed selector
// prints to a string that parses to the same selector.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "a=b", "a==b,c!=d", "x in (a,b),y notin (c)", "!a,b", "a>1,b<-2", "a in ()", "a=,b",
		"example.com/app=web", "a in (x", "!=", ",", "a b", "a=b=c", "k\x00=v",
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
		if again.String() != sel.String() {
			t.Fatalf("Parse(%q): %q reparses as %q", s, sel.String(), again.String())
		}
		sel.Matches(map[string]string{"a": "b", "x": "1"})
	})
}
