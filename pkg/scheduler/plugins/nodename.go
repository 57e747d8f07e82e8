package plugins

import "minik8s/pkg/scheduler/framework"

// ErrReasonNodeName is NodeName's reason.
const ErrReasonNodeName = "node(s) didn't match the requested node name"

// NodeName rejects every node but the one a pod's spec.nodeName names.
type NodeName struct{}

var _ framework.FilterPlugin = NodeName{}

// Name implements framework.Plugin.
func (NodeName) Name() string { return NameNodeName }

// Filter implements framework.FilterPlugin.
func (NodeName) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	want := pod.Pod.GetSpec().GetNodeName()
	if want == "" || want == node.Name() {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeName)
}
