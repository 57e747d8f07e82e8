package plugins

import "minik8s/pkg/scheduler/framework"

// ErrReasonUnschedulable is NodeUnschedulable's reason.
const ErrReasonUnschedulable = "node(s) were unschedulable"

// NodeUnschedulable rejects cordoned nodes (spec.unschedulable) unless the
// pod tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = NodeUnschedulable{}

// Name implements framework.Plugin.
func (NodeUnschedulable) Name() string { return NameNodeUnschedulable }

// Filter implements framework.FilterPlugin.
func (NodeUnschedulable) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if !node.Node().GetSpec().GetUnschedulable() {
		return nil
	}
	if tolerates(pod.Pod.GetSpec().GetTolerations(), TaintUnschedulable, "", EffectNoSchedule) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
}
