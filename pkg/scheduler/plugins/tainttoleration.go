package plugins

import (
	"fmt"

	"minik8s/pkg/scheduler/framework"
)

// TaintToleration rejects a node with a NoSchedule or NoExecute taint the
// pod does not tolerate (such as the control-plane taint
// node-role.kubernetes.io/control-plane:NoSchedule). The reason names the
// first such taint: "node(s) had untolerated taint {key: value}".
type TaintToleration struct{}

var _ framework.FilterPlugin = TaintToleration{}

// Name implements framework.Plugin.
func (TaintToleration) Name() string { return NameTaintToleration }

// Filter implements framework.FilterPlugin.
func (TaintToleration) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	tolerations := pod.Pod.GetSpec().GetTolerations()
	for _, taint := range node.Node().GetSpec().GetTaints() {
		if e := taint.GetEffect(); e != EffectNoSchedule && e != EffectNoExecute {
			continue
		}
		if !tolerates(tolerations, taint.GetKey(), taint.GetValue(), taint.GetEffect()) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable,
				fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.GetKey(), taint.GetValue()))
		}
	}
	return nil
}
