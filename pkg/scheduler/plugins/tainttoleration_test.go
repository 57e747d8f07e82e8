package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func TestTaintToleration(t *testing.T) {
	controlPlane := &v1.Taint{Key: TaintControlPlane, Effect: EffectNoSchedule}
	tests := []struct {
		name        string
		taints      []*v1.Taint
		tolerations []*v1.Toleration
		wantReason  string // "" = fits
	}{
		{name: "no taints", wantReason: ""},
		{name: "control-plane taint not tolerated", taints: []*v1.Taint{controlPlane},
			wantReason: "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"},
		{name: "control-plane taint tolerated with Exists", taints: []*v1.Taint{controlPlane},
			tolerations: []*v1.Toleration{{Key: TaintControlPlane, Operator: OpExists, Effect: EffectNoSchedule}}},
		{name: "tolerated with Exists and no effect", taints: []*v1.Taint{controlPlane},
			tolerations: []*v1.Toleration{{Key: TaintControlPlane, Operator: OpExists}}},
		{name: "empty key with Exists tolerates all", taints: []*v1.Taint{controlPlane, {Key: "x", Value: "y", Effect: EffectNoExecute}},
			tolerations: []*v1.Toleration{{Operator: OpExists}}},
		{name: "Equal with the same value", taints: []*v1.Taint{{Key: "dedicated", Value: "gpu", Effect: EffectNoSchedule}},
			tolerations: []*v1.Toleration{{Key: "dedicated", Operator: OpEqual, Value: "gpu", Effect: EffectNoSchedule}}},
		{name: "default operator is Equal", taints: []*v1.Taint{{Key: "dedicated", Value: "gpu", Effect: EffectNoSchedule}},
			tolerations: []*v1.Toleration{{Key: "dedicated", Value: "gpu"}}},
		{name: "Equal with another value", taints: []*v1.Taint{{Key: "dedicated", Value: "gpu", Effect: EffectNoSchedule}},
			tolerations: []*v1.Toleration{{Key: "dedicated", Operator: OpEqual, Value: "cpu"}},
			wantReason:  "node(s) had untolerated taint {dedicated: gpu}"},
		{name: "toleration of another effect", taints: []*v1.Taint{{Key: "k", Value: "v", Effect: EffectNoExecute}},
			tolerations: []*v1.Toleration{{Key: "k", Operator: OpExists, Effect: EffectNoSchedule}},
			wantReason:  "node(s) had untolerated taint {k: v}"},
		{name: "NoExecute not tolerated", taints: []*v1.Taint{{Key: "k", Value: "v", Effect: EffectNoExecute}},
			wantReason: "node(s) had untolerated taint {k: v}"},
		{name: "PreferNoSchedule does not filter", taints: []*v1.Taint{{Key: "k", Effect: EffectPreferNoSchedule}}},
		{name: "first untolerated taint named", taints: []*v1.Taint{
			{Key: "a", Effect: EffectNoSchedule}, {Key: "b", Value: "2", Effect: EffectNoSchedule}},
			tolerations: []*v1.Toleration{{Key: "a", Operator: OpExists}},
			wantReason:  "node(s) had untolerated taint {b: 2}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runFilter(t, TaintToleration{}, newPod("p", withTolerations(tt.tolerations...)), nodeInfo(newNode("n1", withTaints(tt.taints...))))
			if tt.wantReason == "" {
				wantStatus(t, got, framework.Success)
			} else {
				wantStatus(t, got, framework.UnschedulableAndUnresolvable, tt.wantReason)
			}
		})
	}
}
