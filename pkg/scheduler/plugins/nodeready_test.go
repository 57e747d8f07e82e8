package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func TestNodeReady(t *testing.T) {
	tests := []struct {
		name        string
		conditions  []*v1.Condition
		tolerations []*v1.Toleration
		wantFit     bool
	}{
		{name: "ready", conditions: []*v1.Condition{{Type: "Ready", Status: "True"}}, wantFit: true},
		{name: "ready among other conditions", conditions: []*v1.Condition{
			{Type: "MemoryPressure", Status: "False"}, {Type: "Ready", Status: "True"}}, wantFit: true},
		{name: "not ready", conditions: []*v1.Condition{{Type: "Ready", Status: "False"}}, wantFit: false},
		{name: "unknown", conditions: []*v1.Condition{{Type: "Ready", Status: "Unknown"}}, wantFit: false},
		{name: "no conditions yet", conditions: nil, wantFit: false},
		{name: "not ready but tolerated", conditions: []*v1.Condition{{Type: "Ready", Status: "False"}},
			tolerations: []*v1.Toleration{{Key: TaintNotReady, Operator: OpExists, Effect: EffectNoSchedule}}, wantFit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newNode("n1", func(n *v1.Node) { n.Status.Conditions = tt.conditions })
			got := runFilter(t, NodeReady{}, newPod("p", withTolerations(tt.tolerations...)), nodeInfo(node))
			if tt.wantFit {
				wantStatus(t, got, framework.Success)
			} else {
				wantStatus(t, got, framework.UnschedulableAndUnresolvable, ErrReasonNotReady)
			}
		})
	}
}
