package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func TestNodeName(t *testing.T) {
	tests := []struct {
		name     string
		nodeName string
		node     string
		want     framework.Code
	}{
		{name: "no nodeName fits any node", nodeName: "", node: "n1", want: framework.Success},
		{name: "the named node fits", nodeName: "n1", node: "n1", want: framework.Success},
		{name: "another node does not", nodeName: "n2", node: "n1", want: framework.UnschedulableAndUnresolvable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := newPod("p", func(p *v1.Pod) { p.Spec.NodeName = tt.nodeName })
			got := runFilter(t, NodeName{}, pod, nodeInfo(newNode(tt.node)))
			if tt.want == framework.Success {
				wantStatus(t, got, framework.Success)
			} else {
				wantStatus(t, got, tt.want, ErrReasonNodeName)
			}
		})
	}
}
