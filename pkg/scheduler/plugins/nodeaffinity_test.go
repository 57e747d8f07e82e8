package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func withNodeSelector(s map[string]string) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.NodeSelector = s }
}

func withRequired(terms ...*v1.NodeSelectorTerm) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}}
	}
}

func expr(key, op string, values ...string) *v1.NodeSelectorRequirement {
	return &v1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func term(exprs ...*v1.NodeSelectorRequirement) *v1.NodeSelectorTerm {
	return &v1.NodeSelectorTerm{MatchExpressions: exprs}
}

func TestNodeAffinity(t *testing.T) {
	nodeLabels := map[string]string{"zone": "a", "disk": "ssd", "cores": "8"}
	tests := []struct {
		name    string
		pod     []func(*v1.Pod)
		wantFit bool
	}{
		{name: "no selector, no affinity", wantFit: true},
		{name: "nodeSelector matches", pod: []func(*v1.Pod){withNodeSelector(map[string]string{"zone": "a"})}, wantFit: true},
		{name: "nodeSelector mismatch", pod: []func(*v1.Pod){withNodeSelector(map[string]string{"zone": "b"})}, wantFit: false},
		{name: "nodeSelector needs every label", pod: []func(*v1.Pod){withNodeSelector(map[string]string{"zone": "a", "gpu": "yes"})}, wantFit: false},
		{name: "In", pod: []func(*v1.Pod){withRequired(term(expr("zone", "In", "a", "b")))}, wantFit: true},
		{name: "In mismatch", pod: []func(*v1.Pod){withRequired(term(expr("zone", "In", "b", "c")))}, wantFit: false},
		{name: "NotIn", pod: []func(*v1.Pod){withRequired(term(expr("zone", "NotIn", "b")))}, wantFit: true},
		{name: "NotIn mismatch", pod: []func(*v1.Pod){withRequired(term(expr("zone", "NotIn", "a")))}, wantFit: false},
		{name: "Exists", pod: []func(*v1.Pod){withRequired(term(expr("disk", "Exists")))}, wantFit: true},
		{name: "Exists mismatch", pod: []func(*v1.Pod){withRequired(term(expr("gpu", "Exists")))}, wantFit: false},
		{name: "DoesNotExist", pod: []func(*v1.Pod){withRequired(term(expr("gpu", "DoesNotExist")))}, wantFit: true},
		{name: "DoesNotExist mismatch", pod: []func(*v1.Pod){withRequired(term(expr("disk", "DoesNotExist")))}, wantFit: false},
		{name: "Gt", pod: []func(*v1.Pod){withRequired(term(expr("cores", "Gt", "4")))}, wantFit: true},
		{name: "Gt mismatch", pod: []func(*v1.Pod){withRequired(term(expr("cores", "Gt", "8")))}, wantFit: false},
		{name: "Lt", pod: []func(*v1.Pod){withRequired(term(expr("cores", "Lt", "16")))}, wantFit: true},
		{name: "Lt mismatch", pod: []func(*v1.Pod){withRequired(term(expr("cores", "Lt", "8")))}, wantFit: false},
		{name: "Gt on a missing label", pod: []func(*v1.Pod){withRequired(term(expr("memory-gb", "Gt", "1")))}, wantFit: false},
		{name: "expressions of a term are ANDed", pod: []func(*v1.Pod){withRequired(term(expr("zone", "In", "a"), expr("disk", "In", "hdd")))}, wantFit: false},
		{name: "terms are ORed", pod: []func(*v1.Pod){withRequired(term(expr("zone", "In", "b")), term(expr("disk", "In", "ssd")))}, wantFit: true},
		{name: "an empty term matches nothing", pod: []func(*v1.Pod){withRequired(&v1.NodeSelectorTerm{})}, wantFit: false},
		{name: "no terms match nothing", pod: []func(*v1.Pod){withRequired()}, wantFit: false},
		{name: "an invalid term matches nothing", pod: []func(*v1.Pod){withRequired(term(expr("cores", "Gt", "many")))}, wantFit: false},
		{name: "matchFields metadata.name In", pod: []func(*v1.Pod){withRequired(&v1.NodeSelectorTerm{
			MatchFields: []*v1.NodeSelectorRequirement{expr("metadata.name", "In", "n1")}})}, wantFit: true},
		{name: "matchFields metadata.name NotIn", pod: []func(*v1.Pod){withRequired(&v1.NodeSelectorTerm{
			MatchFields: []*v1.NodeSelectorRequirement{expr("metadata.name", "NotIn", "n1")}})}, wantFit: false},
		{name: "nodeSelector and affinity must both hold", pod: []func(*v1.Pod){
			withNodeSelector(map[string]string{"zone": "b"}), withRequired(term(expr("disk", "Exists")))}, wantFit: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runFilter(t, NodeAffinity{}, newPod("p", tt.pod...), nodeInfo(newNode("n1", withLabels(nodeLabels))))
			if tt.wantFit {
				wantStatus(t, got, framework.Success)
			} else {
				wantStatus(t, got, framework.UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
			}
		})
	}
}

func TestNodeAffinityPreFilterSkips(t *testing.T) {
	st := NodeAffinity{}.PreFilter(framework.NewCycleState(), framework.NewPodInfo(newPod("p")))
	if !st.IsSkip() {
		t.Fatalf("PreFilter of a pod without selector = %v, want Skip", st.Code())
	}
}
