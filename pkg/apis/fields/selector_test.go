package fields

import (
	"slices"
	"strings"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

func TestParse(t *testing.T) {
	tests := []struct {
		give      string
		wantTerms []Term
		wantStr   string
	}{
		{give: "", wantStr: ""},
		{give: ",", wantStr: ""},
		{give: "spec.nodeName=n1", wantTerms: []Term{{"spec.nodeName", Equals, "n1"}}, wantStr: "spec.nodeName=n1"},
		{give: "spec.nodeName==n1", wantTerms: []Term{{"spec.nodeName", Equals, "n1"}}, wantStr: "spec.nodeName=n1"},
		{give: "spec.nodeName=", wantTerms: []Term{{"spec.nodeName", Equals, ""}}, wantStr: "spec.nodeName="},
		{
			give:      "spec.nodeName=n1,status.phase!=Failed",
			wantTerms: []Term{{"spec.nodeName", Equals, "n1"}, {"status.phase", NotEquals, "Failed"}},
			wantStr:   "spec.nodeName=n1,status.phase!=Failed",
		},
		{give: " metadata.name = x", wantTerms: []Term{{"metadata.name", Equals, " x"}}, wantStr: "metadata.name= x"},
		{give: `reason=a\,b\=c\\d`, wantTerms: []Term{{"reason", Equals, `a,b=c\d`}}, wantStr: `reason=a\,b\=c\\d`},
		{give: "metadata.namespace!=kube-system,", wantTerms: []Term{{"metadata.namespace", NotEquals, "kube-system"}}, wantStr: "metadata.namespace!=kube-system"},
		{
			give:    "involvedObject.kind=Pod,involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u1,type=Warning",
			wantStr: "involvedObject.kind=Pod,involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u1,type=Warning",
		},
		{give: "spec.unschedulable=true", wantStr: "spec.unschedulable=true"},
		{give: "spec.schedulerName=default-scheduler", wantStr: "spec.schedulerName=default-scheduler"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			s, err := Parse(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantTerms != nil && !slices.Equal(s.Terms(), tt.wantTerms) {
				t.Fatalf("Terms() = %v, want %v", s.Terms(), tt.wantTerms)
			}
			want := tt.wantStr
			if s.String() != want {
				t.Fatalf("String() = %q, want %q", s.String(), want)
			}
			if s.Empty() != (want == "") {
				t.Fatalf("Empty() = %v", s.Empty())
			}
			again, err := Parse(s.String())
			if err != nil || !slices.Equal(again.Terms(), s.Terms()) {
				t.Fatalf("reparse of %q = %v, %v", s.String(), again.Terms(), err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		give    string
		wantErr string
	}{
		{"spec.foo=x", "field label not supported: spec.foo"},
		{"metadata.labels=x", "field label not supported: metadata.labels"},
		{"spec.nodeName", `cannot understand "spec.nodeName"`},
		{"spec.nodeName=a,b", `cannot understand "b"`},
		{"spec.nodeName=a=b", "unescaped '='"},
		{`spec.nodeName=a\x`, `invalid escape sequence \x`},
		{`spec.nodeName=a\`, "unfinished escape"},
		{"=x", "field label not supported: "},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			_, err := Parse(tt.give)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse(%q) err = %v, want %q", tt.give, err, tt.wantErr)
			}
			if !errdefs.IsInvalid(err) {
				t.Fatalf("error %v is not of class Invalid", err)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	pod := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:     &v1.PodSpec{NodeName: "n1", SchedulerName: "default-scheduler", RestartPolicy: "Always", HostNetwork: true, ServiceAccountName: "sa"},
		Status:   &v1.PodStatus{Phase: "Running", PodIp: "10.2.0.5"},
	}
	unbound := &v1.Pod{Metadata: &v1.ObjectMeta{Name: "pending", Namespace: "default"}}
	node := &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}, Spec: &v1.NodeSpec{Unschedulable: true}}
	ev := &v1.Event{
		Metadata:           &v1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject:     &v1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default", Uid: "u1", ApiVersion: "v1", ResourceVersion: "7", FieldPath: "spec.containers{c}"},
		Reason:             "Scheduled",
		Type:               "Normal",
		Source:             &v1.EventSource{Component: "default-scheduler"},
		ReportingComponent: "kubelet",
	}
	ns := &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "default"}, Status: &v1.NamespaceStatus{Phase: "Active"}}
	secret := &v1.Secret{Metadata: &v1.ObjectMeta{Name: "s"}, Type: "Opaque"}
	csr := &v1.CertificateSigningRequest{Metadata: &v1.ObjectMeta{Name: "c"}, Spec: &v1.CertificateSigningRequestSpec{SignerName: "kubernetes.io/kube-apiserver-client-kubelet"}}
	tests := []struct {
		sel  string
		obj  apis.Object
		want bool
	}{
		{"", pod, true},
		{"metadata.name=web", pod, true},
		{"metadata.name=db", pod, false},
		{"metadata.name!=db", pod, true},
		{"metadata.namespace=default", pod, true},
		{"metadata.namespace=", node, true},
		{"spec.nodeName=n1", pod, true},
		{"spec.nodeName=n2", pod, false},
		{"spec.nodeName=", pod, false},
		{"spec.nodeName=", unbound, true},
		{"spec.nodeName!=", unbound, false},
		{"spec.nodeName=n1,status.phase!=Failed", pod, true},
		{"spec.nodeName=n1,status.phase!=Running", pod, false},
		{"spec.nodeName=n1,status.phase=Running", unbound, false},
		{"status.phase=", unbound, true},
		{"spec.schedulerName=default-scheduler", pod, true},
		{"spec.restartPolicy=Always", pod, true},
		{"spec.serviceAccountName=sa", pod, true},
		{"spec.hostNetwork=true", pod, true},
		{"spec.hostNetwork=false", unbound, true},
		{"status.podIP=10.2.0.5", pod, true},
		{"spec.unschedulable=true", node, true},
		{"spec.unschedulable=false", node, false},
		{"spec.unschedulable=false", &v1.Node{Metadata: &v1.ObjectMeta{Name: "n2"}}, true},
		{"involvedObject.kind=Pod,involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u1", ev, true},
		{"involvedObject.apiVersion=v1,involvedObject.resourceVersion=7,involvedObject.fieldPath=spec.containers{c}", ev, true},
		{"involvedObject.name=db", ev, false},
		{"reason=Scheduled,type=Normal", ev, true},
		{"type=Warning", ev, false},
		{"source=default-scheduler,reportingComponent=kubelet", ev, true},
		{"status.phase=Active", ns, true},
		{"type=Opaque", secret, true},
		{"spec.signerName=kubernetes.io/kube-apiserver-client-kubelet", csr, true},
		// A field the kind lacks reads as "".
		{"spec.nodeName=n1", node, false},
		{"spec.nodeName!=n1", node, true},
		{"status.phase=", &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cm"}}, true},
		// Nil parts of the object read as "".
		{"spec.nodeName=", &v1.Pod{}, true},
		{"metadata.name=", &v1.Pod{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			s, err := Parse(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(tt.obj); got != tt.want {
				t.Fatalf("%q.Matches(%s) = %v, want %v", tt.sel, apis.Key(tt.obj), got, tt.want)
			}
		})
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel       string
		field     string
		wantValue string
		wantOK    bool
	}{
		{"spec.nodeName=n1", "spec.nodeName", "n1", true},
		{"spec.nodeName==n1,metadata.name=x", "metadata.name", "x", true},
		{"spec.nodeName=", "spec.nodeName", "", true},
		{"spec.nodeName!=n1", "spec.nodeName", "", false},
		{"metadata.name=x", "spec.nodeName", "", false},
		{"", "spec.nodeName", "", false},
	}
	for _, tt := range tests {
		s, err := Parse(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := s.RequiresExactMatch(tt.field)
		if v != tt.wantValue || ok != tt.wantOK {
			t.Errorf("%q.RequiresExactMatch(%q) = %q, %v; want %q, %v", tt.sel, tt.field, v, ok, tt.wantValue, tt.wantOK)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		resource string
		sel      string
		wantErr  string
	}{
		{"pods", "spec.nodeName=n1,status.phase!=Failed,metadata.name=x", ""},
		{"po", "spec.schedulerName=s", ""},
		{"Pod", "metadata.namespace=default", ""},
		{"nodes", "spec.unschedulable=false", ""},
		{"events", "involvedObject.uid=u,reason=r,type=Normal", ""},
		{"secrets", "type=Opaque", ""},
		{"configmaps", "metadata.name=x", ""},
		{"deployments", "", ""},
		{"nodes", "spec.nodeName=n1", "field label not supported for nodes: spec.nodeName (supported: metadata.name, metadata.namespace, spec.unschedulable)"},
		{"configmaps", "status.phase=x", "field label not supported for configmaps: status.phase"},
		{"pods", "reason=x", "field label not supported for pods: reason"},
		{"widgets", "metadata.name=x", `doesn't have a resource type "widgets"`},
	}
	for _, tt := range tests {
		t.Run(tt.resource+" "+tt.sel, func(t *testing.T) {
			s, err := Parse(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(tt.resource, s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errdefs.IsInvalid(err) {
				t.Fatalf("err = %v, want Invalid %q", err, tt.wantErr)
			}
		})
	}
	if err := Validate("nodes", OneTermEqualSelector("spec.bogus", "x")); err == nil {
		t.Fatal("an unknown field must not validate")
	}
}

func TestSupportedFieldsEveryResource(t *testing.T) {
	for _, r := range apis.Resources() {
		f := SupportedFields(r.Name)
		if !slices.Contains(f, "metadata.name") || !slices.Contains(f, "metadata.namespace") {
			t.Errorf("%s: SupportedFields = %v, want metadata.name and metadata.namespace", r.Name, f)
		}
		for _, name := range f {
			if fieldOf(name) == fieldUnknown {
				t.Errorf("%s: %s is listed but not parseable", r.Name, name)
			}
		}
	}
	if SupportedFields("widgets") != nil {
		t.Error("unknown resource must have no fields")
	}
}

func TestOneTermEqualSelector(t *testing.T) {
	s := OneTermEqualSelector("spec.nodeName", "a,b")
	if s.String() != `spec.nodeName=a\,b` {
		t.Fatalf("String() = %q", s.String())
	}
	if v, ok := s.RequiresExactMatch("spec.nodeName"); !ok || v != "a,b" {
		t.Fatalf("RequiresExactMatch = %q, %v", v, ok)
	}
	if !s.Matches(&v1.Pod{Spec: &v1.PodSpec{NodeName: "a,b"}}) {
		t.Fatal("should match")
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, v := range []string{"", "plain", `a\b`, "a,b", "a=b", `\,=\\`, "ünï"} {
		got, err := UnescapeValue(EscapeValue(v))
		if err != nil || got != v {
			t.Errorf("UnescapeValue(EscapeValue(%q)) = %q, %v", v, got, err)
		}
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	s, err := Parse("spec.nodeName=n1,status.phase!=Failed,spec.hostNetwork=false,metadata.namespace=default")
	if err != nil {
		t.Fatal(err)
	}
	pod := &v1.Pod{Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: &v1.PodSpec{NodeName: "n1"}, Status: &v1.PodStatus{Phase: "Running"}}
	var obj apis.Object = pod
	if !s.Matches(obj) {
		t.Fatal("should match")
	}
	if n := testing.AllocsPerRun(100, func() { s.Matches(obj) }); n != 0 {
		t.Fatalf("Matches allocates %v times per call", n)
	}
}

func BenchmarkMatches(b *testing.B) {
	s, err := Parse("spec.nodeName=n1,status.phase!=Failed")
	if err != nil {
		b.Fatal(err)
	}
	var obj apis.Object = &v1.Pod{Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: &v1.PodSpec{NodeName: "n1"}, Status: &v1.PodStatus{Phase: "Running"}}
	b.ReportAllocs()
	for b.Loop() {
		if !s.Matches(obj) {
			b.Fatal("no match")
		}
	}
}
