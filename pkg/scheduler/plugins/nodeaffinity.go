package plugins

import (
	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/labels"
	"minik8s/pkg/scheduler/framework"
)

// ErrReasonNodeAffinity is NodeAffinity's reason.
const ErrReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector"

// NodeAffinity rejects a node whose labels do not satisfy the pod's
// nodeSelector and its requiredDuringSchedulingIgnoredDuringExecution node
// affinity: the terms are ORed, the requirements of a term ANDed
// (matchExpressions In, NotIn, Exists, DoesNotExist, Gt, Lt on labels;
// matchFields In and NotIn on metadata.name). A term without requirements,
// or with one that is not valid, matches no node, as in Kubernetes.
type NodeAffinity struct{}

var (
	_ framework.PreFilterPlugin = NodeAffinity{}
	_ framework.FilterPlugin    = NodeAffinity{}
)

const nodeAffinityStateKey framework.StateKey = NameNodeAffinity

// nodeAffinityState is the pod's selector and terms, compiled once per
// cycle.
type nodeAffinityState struct {
	selector labels.Selector // nil: no nodeSelector
	required bool            // there is a required node affinity
	terms    []nodeTerm
}

type nodeTerm struct {
	labels labels.Selector
	fields []fieldRequirement
}

// fieldRequirement is a matchFields requirement on metadata.name.
type fieldRequirement struct {
	in     bool
	values []string
}

func (r fieldRequirement) matches(name string) bool {
	for _, v := range r.values {
		if v == name {
			return r.in
		}
	}
	return !r.in
}

// Name implements framework.Plugin.
func (NodeAffinity) Name() string { return NameNodeAffinity }

// PreFilter compiles the pod's nodeSelector and required terms; Skip when
// it has neither.
func (NodeAffinity) PreFilter(state *framework.CycleState, pod *framework.PodInfo) *framework.Status {
	spec := pod.Pod.GetSpec()
	req := spec.GetAffinity().GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()
	if len(spec.GetNodeSelector()) == 0 && req == nil {
		return framework.NewStatus(framework.Skip)
	}
	st := &nodeAffinityState{}
	if len(spec.GetNodeSelector()) > 0 {
		st.selector = labels.SelectorFromSet(spec.GetNodeSelector())
	}
	if req != nil {
		st.required = true
		for _, t := range req.GetNodeSelectorTerms() {
			if term, ok := compileTerm(t); ok {
				st.terms = append(st.terms, term)
			}
		}
	}
	state.Write(nodeAffinityStateKey, st)
	return nil
}

// compileTerm compiles one term; false when it can match no node.
func compileTerm(t *v1.NodeSelectorTerm) (nodeTerm, bool) {
	if len(t.GetMatchExpressions()) == 0 && len(t.GetMatchFields()) == 0 {
		return nodeTerm{}, false
	}
	reqs := make([]labels.Requirement, 0, len(t.GetMatchExpressions()))
	for _, e := range t.GetMatchExpressions() {
		r, err := labels.NewRequirement(e.GetKey(), e.GetOperator(), e.GetValues())
		if err != nil {
			return nodeTerm{}, false
		}
		reqs = append(reqs, r)
	}
	term := nodeTerm{labels: labels.NewSelector(reqs...)}
	for _, f := range t.GetMatchFields() {
		if f.GetKey() != "metadata.name" || len(f.GetValues()) == 0 {
			return nodeTerm{}, false
		}
		switch f.GetOperator() {
		case "In":
			term.fields = append(term.fields, fieldRequirement{in: true, values: f.GetValues()})
		case "NotIn":
			term.fields = append(term.fields, fieldRequirement{in: false, values: f.GetValues()})
		default:
			return nodeTerm{}, false
		}
	}
	return term, true
}

// Filter implements framework.FilterPlugin.
func (NodeAffinity) Filter(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	v, ok := state.Read(nodeAffinityStateKey)
	if !ok {
		return framework.AsStatus(errNoPreFilterState)
	}
	st := v.(*nodeAffinityState)
	nodeLabels := node.Node().GetMetadata().GetLabels()
	if st.selector != nil && !st.selector.Matches(nodeLabels) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
	}
	if st.required && !st.matchesSomeTerm(node.Name(), nodeLabels) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
	}
	return nil
}

func (st *nodeAffinityState) matchesSomeTerm(name string, nodeLabels map[string]string) bool {
	for _, t := range st.terms {
		if t.matches(name, nodeLabels) {
			return true
		}
	}
	return false
}

func (t nodeTerm) matches(name string, nodeLabels map[string]string) bool {
	if !t.labels.Matches(nodeLabels) {
		return false
	}
	for _, f := range t.fields {
		if !f.matches(name) {
			return false
		}
	}
	return true
}
