package plugins

import (
	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

// ErrReasonNotReady is NodeReady's reason.
const ErrReasonNotReady = "node(s) were not ready"

// NodeReady rejects a node whose Ready condition is not True, unless the
// pod tolerates the node.kubernetes.io/not-ready:NoSchedule taint (as
// DaemonSet pods do). Kubernetes expresses this as a taint the node
// lifecycle controller adds; checking the condition as well keeps a node
// that never became Ready empty even before the taint is there.
type NodeReady struct{}

var _ framework.FilterPlugin = NodeReady{}

// Name implements framework.Plugin.
func (NodeReady) Name() string { return NameNodeReady }

// Filter implements framework.FilterPlugin.
func (NodeReady) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if nodeIsReady(node.Node()) || tolerates(pod.Pod.GetSpec().GetTolerations(), TaintNotReady, "", EffectNoSchedule) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNotReady)
}

// nodeIsReady: the Ready condition is True.
func nodeIsReady(n *v1.Node) bool {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}
