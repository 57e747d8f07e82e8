package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func TestNodeResourcesFit(t *testing.T) {
	tests := []struct {
		name        string
		allocatable [3]string // cpu, memory, pods
		existing    []*v1.Pod
		pod         *v1.Pod
		wantReasons []string // nil = fits
	}{
		{name: "fits an empty node", allocatable: [3]string{"2", "4Gi", "110"},
			pod: newPod("p", withRequests("1", "1Gi"))},
		{name: "exactly fills the node", allocatable: [3]string{"2", "4Gi", "110"},
			existing: []*v1.Pod{newPod("a", withRequests("1500m", "3Gi"))},
			pod:      newPod("p", withRequests("500m", "1Gi"))},
		{name: "insufficient cpu counting existing pods", allocatable: [3]string{"2", "4Gi", "110"},
			existing:    []*v1.Pod{newPod("a", withRequests("1500m", "1Gi"))},
			pod:         newPod("p", withRequests("600m", "1Gi")),
			wantReasons: []string{ErrReasonInsufficientCPU}},
		{name: "insufficient memory", allocatable: [3]string{"2", "4Gi", "110"},
			pod:         newPod("p", withRequests("1", "5Gi")),
			wantReasons: []string{ErrReasonInsufficientMemory}},
		{name: "both insufficient: two reasons", allocatable: [3]string{"1", "1Gi", "110"},
			pod:         newPod("p", withRequests("2", "2Gi")),
			wantReasons: []string{ErrReasonInsufficientCPU, ErrReasonInsufficientMemory}},
		{name: "too many pods", allocatable: [3]string{"4", "4Gi", "1"},
			existing:    []*v1.Pod{newPod("a")},
			pod:         newPod("p", withRequests("100m", "")),
			wantReasons: []string{ErrReasonTooManyPods}},
		{name: "no requests counts 0 on a full node", allocatable: [3]string{"1", "1Gi", "110"},
			existing: []*v1.Pod{newPod("a", withRequests("1", "1Gi"))},
			pod:      newPod("p")},
		{name: "a node without a pods entry takes no pod", allocatable: [3]string{"4", "4Gi", ""},
			pod:         newPod("p"),
			wantReasons: []string{ErrReasonTooManyPods}},
		{name: "init container larger than containers", allocatable: [3]string{"1", "4Gi", "110"},
			pod: newPod("p", withRequests("100m", ""), func(p *v1.Pod) {
				p.Spec.InitContainers = []*v1.Container{{Name: "init", Resources: &v1.ResourceRequirements{
					Requests: map[string]string{"cpu": "2"}}}}
			}),
			wantReasons: []string{ErrReasonInsufficientCPU}},
		{name: "requests summed over containers", allocatable: [3]string{"1", "4Gi", "110"},
			pod: newPod("p", withRequests("600m", ""), func(p *v1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, &v1.Container{Name: "side", Resources: &v1.ResourceRequirements{
					Requests: map[string]string{"cpu": "600m"}}})
			}),
			wantReasons: []string{ErrReasonInsufficientCPU}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newNode("n1", func(n *v1.Node) {
				a := map[string]string{"cpu": tt.allocatable[0], "memory": tt.allocatable[1]}
				if tt.allocatable[2] != "" {
					a["pods"] = tt.allocatable[2]
				}
				n.Status.Allocatable = a
			})
			got := runFilter(t, NodeResourcesFit{}, tt.pod, nodeInfo(node, tt.existing...))
			if tt.wantReasons == nil {
				wantStatus(t, got, framework.Success)
			} else {
				wantStatus(t, got, framework.Unschedulable, tt.wantReasons...)
			}
		})
	}
}
