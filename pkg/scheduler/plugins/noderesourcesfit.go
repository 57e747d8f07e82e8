package plugins

import "minik8s/pkg/scheduler/framework"

// NodeResourcesFit's reasons.
const (
	ErrReasonTooManyPods        = "Too many pods"
	ErrReasonInsufficientCPU    = "Insufficient cpu"
	ErrReasonInsufficientMemory = "Insufficient memory"
)

// NodeResourcesFit rejects a node whose allocatable cpu, memory or pod
// count cannot hold the pod next to the pods already on it (bound and
// assumed), as Kubernetes' NodeResourcesFit filter: a container without
// requests counts 0, and a node reports every resource it lacks.
type NodeResourcesFit struct{}

var _ framework.FilterPlugin = NodeResourcesFit{}

// Name implements framework.Plugin.
func (NodeResourcesFit) Name() string { return NameNodeResourcesFit }

// Filter implements framework.FilterPlugin.
func (NodeResourcesFit) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	var reasons []string
	if int64(len(node.Pods))+1 > node.AllowedPodNumber {
		reasons = append(reasons, ErrReasonTooManyPods)
	}
	req := pod.Requests
	if req.MilliCPU > 0 && req.MilliCPU > node.Allocatable.MilliCPU-node.Requested.MilliCPU {
		reasons = append(reasons, ErrReasonInsufficientCPU)
	}
	if req.Memory > 0 && req.Memory > node.Allocatable.Memory-node.Requested.Memory {
		reasons = append(reasons, ErrReasonInsufficientMemory)
	}
	if len(reasons) == 0 {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, reasons...)
}
