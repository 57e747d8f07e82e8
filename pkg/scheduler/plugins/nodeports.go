package plugins

import "minik8s/pkg/scheduler/framework"

// ErrReasonNodePorts is NodePorts' reason.
const ErrReasonNodePorts = "node(s) didn't have free ports for the requested pod ports"

// NodePorts rejects a node where a host port the pod asks for (same
// protocol and port, same host IP or either 0.0.0.0) is taken.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin = NodePorts{}
	_ framework.FilterPlugin    = NodePorts{}
)

// Name implements framework.Plugin.
func (NodePorts) Name() string { return NameNodePorts }

// PreFilter skips the filter for a pod without host ports (most pods).
func (NodePorts) PreFilter(_ *framework.CycleState, pod *framework.PodInfo) *framework.Status {
	if len(pod.HostPorts) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Filter implements framework.FilterPlugin.
func (NodePorts) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if node.PortsConflict(pod.HostPorts) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonNodePorts)
	}
	return nil
}
