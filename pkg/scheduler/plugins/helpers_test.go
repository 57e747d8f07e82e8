package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

// podSpec builds a pod for tests.
func newPod(name string, mutate ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name},
		Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "img"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// withRequests sets the first container's requests.
func withRequests(cpu, mem string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		req := map[string]string{}
		if cpu != "" {
			req["cpu"] = cpu
		}
		if mem != "" {
			req["memory"] = mem
		}
		p.Spec.Containers[0].Resources = &v1.ResourceRequirements{Requests: req}
	}
}

func withTolerations(ts ...*v1.Toleration) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.Tolerations = ts }
}

func newNode(name string, mutate ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		Metadata: &v1.ObjectMeta{Name: name},
		Spec:     &v1.NodeSpec{},
		Status: &v1.NodeStatus{
			Allocatable: map[string]string{"cpu": "4", "memory": "8Gi", "pods": "110"},
			Conditions:  []*v1.Condition{{Type: "Ready", Status: "True"}},
		},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func withAllocatable(cpu, mem, pods string) func(*v1.Node) {
	return func(n *v1.Node) {
		n.Status.Allocatable = map[string]string{"cpu": cpu, "memory": mem, "pods": pods}
	}
}

func withTaints(ts ...*v1.Taint) func(*v1.Node) {
	return func(n *v1.Node) { n.Spec.Taints = ts }
}

func withLabels(l map[string]string) func(*v1.Node) {
	return func(n *v1.Node) { n.Metadata.Labels = l }
}

// nodeInfo builds a NodeInfo of node holding pods.
func nodeInfo(node *v1.Node, pods ...*v1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	for _, p := range pods {
		ni.AddPod(framework.NewPodInfo(p))
	}
	return ni
}

// runFilter runs a plugin's PreFilter (when it has one) and Filter.
func runFilter(t *testing.T, pl framework.FilterPlugin, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	t.Helper()
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	if pre, ok := pl.(framework.PreFilterPlugin); ok {
		st := pre.PreFilter(state, pi)
		if st.IsSkip() {
			return nil
		}
		if !st.IsSuccess() {
			return st
		}
	}
	return pl.Filter(state, pi, ni)
}

// wantStatus compares a status with a code and reasons.
func wantStatus(t *testing.T, got *framework.Status, code framework.Code, reasons ...string) {
	t.Helper()
	if got.Code() != code {
		t.Fatalf("code = %v (%q), want %v", got.Code(), got.Message(), code)
	}
	if len(got.Reasons()) != len(reasons) {
		t.Fatalf("reasons = %q, want %q", got.Reasons(), reasons)
	}
	for i := range reasons {
		if got.Reasons()[i] != reasons[i] {
			t.Fatalf("reasons = %q, want %q", got.Reasons(), reasons)
		}
	}
}
