package labels

import (
	"slices"
	"strings"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

func TestParseString(t *testing.T) {
	tests := []struct {
		give string
		want string // String() of the parsed selector
	}{
		{"", ""},
		{"   ", ""},
		{"a=b", "a=b"},
		{"a==b", "a=b"},
		{"a!=b", "a!=b"},
		{" a = b , c != d ", "a=b,c!=d"},
		{"z=1,a=2", "a=2,z=1"},
		{"a in (y,x,x)", "a in (x,y)"},
		{"a in(x)", "a in (x)"},
		{"a in ( x , y )", "a in (x,y)"},
		{"env notin (a, b),tier in (web)", "env notin (a,b),tier in (web)"},
		{"a notin (x)", "a notin (x)"},
		{"a", "a"},
		{"!a", "!a"},
		{"! a", "!a"},
		{"a>1", "a>1"},
		{"a < -5", "a<-5"},
		{"a=", "a="},
		{"a=,b", "a=,b"},
		{"a in ()", "a in ()"},
		{"a in (x,)", "a in (,x)"},
		{"example.com/app=web", "example.com/app=web"},
		{"a=in", "a=in"},
		{"app=web,tier!=db,env in (prod,staging),!canary,x", "app=web,!canary,env in (prod,staging),tier!=db,x"},
		{"a=b,a=c", "a=b,a=c"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			s, err := Parse(tt.give)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.give, err)
			}
			if got := s.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			// The printed form parses back to the same selector.
			again, err := Parse(s.String())
			if err != nil {
				t.Fatalf("Parse(String()) = %v", err)
			}
			if again.String() != s.String() {
				t.Fatalf("reparse = %q, want %q", again.String(), s.String())
			}
			if s.Empty() != (tt.want == "") {
				t.Fatalf("Empty() = %v for %q", s.Empty(), tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		give    string
		wantErr string
	}{
		{"a=b,", "found end of string, expected: identifier after ','"},
		{",a", "found ',', expected: !, identifier, or end of string"},
		{"a b", "found 'b', expected: =, !=, ==, in, notin, >, <"},
		{"a=b c", "found 'c', expected: ',' or end of string"},
		{"a in x", "found 'x', expected: '('"},
		{"a in (x", "found end of string, expected: ',' or ')'"},
		{"a in (x y)", "found 'y', expected: ',' or ')'"},
		{"a==(", "found '(', expected: identifier"},
		{"!a=b", "found '=', expected: ',' or end of string"},
		{"!", "found end of string, expected: identifier"},
		{"!=a", "found '!=', expected: !, identifier, or end of string"},
		{"a>b", "the value must be an integer"},
		{"a<", "the value must be an integer"},
		{"-a=b", `invalid label key "-a"`},
		{"a/=b", "name part must be non-empty"},
		{"/a=b", "prefix part must be non-empty"},
		{"Example.com/a=b", "prefix part must be a lowercase RFC 1123 subdomain"},
		{strings.Repeat("k", 64) + "=b", "no more than 63 characters"},
		{"a=" + strings.Repeat("v", 64), "must be no more than 63 characters"},
		{"a=b_", "a valid label must be an empty string"},
		{"a in (x,-y)", `invalid label value "-y"`},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			s, err := Parse(tt.give)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error", tt.give, s)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if !errdefs.IsInvalid(err) {
				t.Fatalf("error %v is not of class Invalid", err)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	ls := map[string]string{"app": "web", "tier": "front", "gen": "5", "neg": "-3", "empty": ""}
	tests := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"app=web", true},
		{"app==web", true},
		{"app=db", false},
		{"app!=db", true},
		{"app!=web", false},
		{"missing!=x", true},
		{"missing=x", false},
		{"missing=", false},
		{"empty=", true},
		{"empty", true},
		{"app in (db,web)", true},
		{"app in (db,cache)", false},
		{"missing in (x)", false},
		{"app notin (db)", true},
		{"app notin (web,db)", false},
		{"missing notin (x)", true},
		{"app", true},
		{"missing", false},
		{"!missing", true},
		{"!app", false},
		{"gen>4", true},
		{"gen>5", false},
		{"gen<6", true},
		{"gen<5", false},
		{"neg<0", true},
		{"neg>-4", true},
		{"app>1", false}, // not an integer
		{"missing<9", false},
		{"app=web,tier=front", true},
		{"app=web,tier=back", false},
		{"app in (a,b,c,d,e,f,g,h,i,j,web)", true}, // binary search path
		{"app in (a,b,c,d,e,f,g,h,i,j,k)", false},
		{"app=web,app=db", false},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			s, err := Parse(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(ls); got != tt.want {
				t.Fatalf("%q.Matches(%v) = %v, want %v", tt.sel, ls, got, tt.want)
			}
		})
	}
	// A nil label set is an empty one.
	if s, _ := Parse("!a,b!=c"); !s.Matches(nil) {
		t.Fatal("negative requirements must match an empty label set")
	}
}

func TestNewRequirement(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		op      string
		values  []string
		want    string // String(), when valid
		wantOp  Operator
		wantErr string
	}{
		{name: "In", key: "a", op: "In", values: []string{"y", "x"}, want: "a in (x,y)", wantOp: In},
		{name: "in symbol", key: "a", op: "in", values: []string{"x"}, want: "a in (x)", wantOp: In},
		{name: "NotIn", key: "a", op: "NotIn", values: []string{"x"}, want: "a notin (x)", wantOp: NotIn},
		{name: "Exists", key: "a", op: "Exists", want: "a", wantOp: Exists},
		{name: "DoesNotExist", key: "a", op: "DoesNotExist", want: "!a", wantOp: DoesNotExist},
		{name: "Gt", key: "cpus", op: "Gt", values: []string{"4"}, want: "cpus>4", wantOp: GreaterThan},
		{name: "Lt", key: "cpus", op: "Lt", values: []string{"-4"}, want: "cpus<-4", wantOp: LessThan},
		{name: "Equals", key: "a", op: "Equals", values: []string{"b"}, want: "a=b", wantOp: Equals},
		{name: "Equal", key: "a", op: "Equal", values: []string{"b"}, want: "a=b", wantOp: Equals},
		{name: "NotEquals", key: "a", op: "NotEquals", values: []string{"b"}, want: "a!=b", wantOp: NotEquals},
		{name: "metadata.name key", key: "metadata.name", op: "In", values: []string{"n1"}, want: "metadata.name in (n1)", wantOp: In},
		{name: "bad op", key: "a", op: "Like", wantErr: `"Like" is not a valid label selector operator`},
		{name: "In empty", key: "a", op: "In", wantErr: "values set can't be empty"},
		{name: "Exists with values", key: "a", op: "Exists", values: []string{"x"}, wantErr: "values set must be empty"},
		{name: "Equals two", key: "a", op: "Equals", values: []string{"x", "y"}, wantErr: "one single value"},
		{name: "Gt two", key: "a", op: "Gt", values: []string{"1", "2"}, wantErr: "exactly one value"},
		{name: "Gt not int", key: "a", op: "Gt", values: []string{"1.5"}, wantErr: "must be an integer"},
		{name: "bad key", key: "a b", op: "Exists", wantErr: `invalid label key "a b"`},
		{name: "empty key", key: "", op: "Exists", wantErr: "name part must be non-empty"},
		{name: "bad value", key: "a", op: "In", values: []string{"x y"}, wantErr: `invalid label value "x y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRequirement(tt.key, tt.op, tt.values)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.want || r.Operator() != tt.wantOp || r.Key() != tt.key {
				t.Fatalf("got %q op %q key %q, want %q op %q", r.String(), r.Operator(), r.Key(), tt.want, tt.wantOp)
			}
		})
	}
}

func TestRequirementsAreCopies(t *testing.T) {
	s, err := Parse("b in (x,y),a")
	if err != nil {
		t.Fatal(err)
	}
	reqs := s.Requirements()
	if len(reqs) != 2 || reqs[0].Key() != "a" || reqs[1].Key() != "b" {
		t.Fatalf("Requirements() = %v", reqs)
	}
	vals := reqs[1].Values()
	if !slices.Equal(vals, []string{"x", "y"}) {
		t.Fatalf("Values() = %v", vals)
	}
	vals[0] = "changed"
	reqs[0] = Requirement{}
	if s.String() != "a,b in (x,y)" {
		t.Fatalf("selector changed through its copies: %q", s)
	}
}

func TestGtLtBounds(t *testing.T) {
	tests := []struct {
		sel   string
		value string
		want  bool
	}{
		{"n>0", "9223372036854775807", true},
		{"n>0", "9223372036854775808", false}, // overflows int64
		{"n<0", "-9223372036854775808", true},
		{"n<0", "-9223372036854775809", false},
		{"n>0", "+1", true},
		{"n>0", "", false},
		{"n>0", "-", false},
		{"n>0", "1x", false},
	}
	for _, tt := range tests {
		s, err := Parse(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Matches(map[string]string{"n": tt.value}); got != tt.want {
			t.Errorf("%s with n=%q: got %v, want %v", tt.sel, tt.value, got, tt.want)
		}
	}
}

func TestFromLabelSelector(t *testing.T) {
	tests := []struct {
		name    string
		give    *v1.LabelSelector
		labels  map[string]string
		want    bool
		wantStr string
		wantErr string
	}{
		{name: "nil matches nothing", give: nil, labels: map[string]string{"a": "b"}, want: false},
		{name: "nil matches nothing, not even no labels", give: nil, want: false},
		{name: "empty matches everything", give: &v1.LabelSelector{}, labels: map[string]string{"a": "b"}, want: true, wantStr: ""},
		{
			name:    "matchLabels",
			give:    &v1.LabelSelector{MatchLabels: map[string]string{"app": "mysql", "tier": "db"}},
			labels:  map[string]string{"app": "mysql", "tier": "db", "x": "y"},
			want:    true,
			wantStr: "app=mysql,tier=db",
		},
		{
			name:    "matchLabels miss",
			give:    &v1.LabelSelector{MatchLabels: map[string]string{"app": "mysql"}},
			labels:  map[string]string{"app": "web"},
			want:    false,
			wantStr: "app=mysql",
		},
		{
			name: "labels and expressions",
			give: &v1.LabelSelector{
				MatchLabels: map[string]string{"app": "web"},
				MatchExpressions: []*v1.LabelSelectorRequirement{
					{Key: "env", Operator: "In", Values: []string{"prod", "staging"}},
					{Key: "canary", Operator: "DoesNotExist"},
					{Key: "tier", Operator: "Exists"},
					{Key: "zone", Operator: "NotIn", Values: []string{"z1"}},
				},
			},
			labels:  map[string]string{"app": "web", "env": "prod", "tier": "x", "zone": "z2"},
			want:    true,
			wantStr: "app=web,!canary,env in (prod,staging),tier,zone notin (z1)",
		},
		{
			name:    "Gt refused in a LabelSelector",
			give:    &v1.LabelSelector{MatchExpressions: []*v1.LabelSelectorRequirement{{Key: "n", Operator: "Gt", Values: []string{"1"}}}},
			wantErr: `"Gt" is not a valid label selector operator`,
		},
		{
			name:    "In without values",
			give:    &v1.LabelSelector{MatchExpressions: []*v1.LabelSelectorRequirement{{Key: "n", Operator: "In"}}},
			wantErr: "values set can't be empty",
		},
		{
			name:    "bad matchLabels value",
			give:    &v1.LabelSelector{MatchLabels: map[string]string{"a": "not valid"}},
			wantErr: `invalid label value "not valid"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := FromLabelSelector(tt.give)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(tt.labels); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
			if tt.give != nil && s.String() != tt.wantStr {
				t.Fatalf("String() = %q, want %q", s.String(), tt.wantStr)
			}
		})
	}
}

func TestEverythingNothing(t *testing.T) {
	if e := Everything(); !e.Empty() || !e.Matches(nil) || e.String() != "" || len(e.Requirements()) != 0 {
		t.Fatal("Everything must be empty and match everything")
	}
	if n := Nothing(); n.Empty() || n.Matches(nil) || n.Matches(map[string]string{"a": "b"}) {
		t.Fatal("Nothing must not be empty and match nothing")
	}
}

func TestSelectorFromSet(t *testing.T) {
	s := SelectorFromSet(map[string]string{"b": "2", "a": "1"})
	if s.String() != "a=1,b=2" {
		t.Fatalf("String() = %q", s.String())
	}
	if !s.Matches(map[string]string{"a": "1", "b": "2", "c": "3"}) || s.Matches(map[string]string{"a": "1"}) {
		t.Fatal("wrong matches")
	}
	if !SelectorFromSet(nil).Empty() {
		t.Fatal("nil set must be empty")
	}
}

func TestNewSelectorNodeAffinity(t *testing.T) {
	// A node-affinity term: every requirement must hold.
	var reqs []Requirement
	for _, e := range []*v1.NodeSelectorRequirement{
		{Key: "kubernetes.io/os", Operator: "In", Values: []string{"linux"}},
		{Key: "cpus", Operator: "Gt", Values: []string{"3"}},
	} {
		r, err := NewRequirement(e.GetKey(), e.GetOperator(), e.GetValues())
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	s := NewSelector(reqs...)
	if s.String() != "cpus>3,kubernetes.io/os in (linux)" {
		t.Fatalf("String() = %q", s.String())
	}
	if !s.Matches(map[string]string{"kubernetes.io/os": "linux", "cpus": "4"}) {
		t.Fatal("should match")
	}
	if s.Matches(map[string]string{"kubernetes.io/os": "linux", "cpus": "3"}) {
		t.Fatal("should not match")
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	s, err := Parse("app=web,tier!=db,env in (prod,staging),!canary,gen>3,zone notin (a,b,c,d,e,f,g,h,i,j)")
	if err != nil {
		t.Fatal(err)
	}
	ls := map[string]string{"app": "web", "tier": "front", "env": "prod", "gen": "5", "zone": "z"}
	if !s.Matches(ls) {
		t.Fatal("should match")
	}
	if n := testing.AllocsPerRun(100, func() { s.Matches(ls) }); n != 0 {
		t.Fatalf("Matches allocates %v times per call", n)
	}
}

func BenchmarkMatches(b *testing.B) {
	s, err := Parse("app=web,tier!=db,env in (prod,staging),!canary")
	if err != nil {
		b.Fatal(err)
	}
	ls := map[string]string{"app": "web", "tier": "front", "env": "prod", "pod-template-hash": "abc123"}
	b.ReportAllocs()
	for b.Loop() {
		if !s.Matches(ls) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("app=web,tier!=db,env in (prod,staging),!canary"); err != nil {
			b.Fatal(err)
		}
	}
}
