package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func TestNodeUnschedulable(t *testing.T) {
	tests := []struct {
		name          string
		unschedulable bool
		tolerations   []*v1.Toleration
		wantFit       bool
	}{
		{name: "schedulable node", unschedulable: false, wantFit: true},
		{name: "cordoned node", unschedulable: true, wantFit: false},
		{name: "cordoned node, pod tolerates the unschedulable taint", unschedulable: true,
			tolerations: []*v1.Toleration{{Key: TaintUnschedulable, Operator: OpExists, Effect: EffectNoSchedule}}, wantFit: true},
		{name: "cordoned node, pod tolerates everything", unschedulable: true,
			tolerations: []*v1.Toleration{{Operator: OpExists}}, wantFit: true},
		{name: "cordoned node, toleration of another key", unschedulable: true,
			tolerations: []*v1.Toleration{{Key: "other", Operator: OpExists}}, wantFit: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newNode("n1", func(n *v1.Node) { n.Spec.Unschedulable = tt.unschedulable })
			got := runFilter(t, NodeUnschedulable{}, newPod("p", withTolerations(tt.tolerations...)), nodeInfo(node))
			if tt.wantFit {
				wantStatus(t, got, framework.Success)
			} else {
				wantStatus(t, got, framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
			}
		})
	}
}
