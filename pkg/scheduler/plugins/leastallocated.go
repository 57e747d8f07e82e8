package plugins

import "minik8s/pkg/scheduler/framework"

// LeastAllocated favours nodes with more room left: for cpu and memory
// (equal weights) the free fraction after placing the pod, scaled to
// 0..100, averaged — Kubernetes' NodeResourcesFit LeastAllocated strategy,
// which counts a container without requests as 100m cpu and 200 MiB.
type LeastAllocated struct{}

var _ framework.ScorePlugin = LeastAllocated{}

// Name implements framework.Plugin.
func (LeastAllocated) Name() string { return NameLeastAllocated }

// Score implements framework.ScorePlugin.
func (LeastAllocated) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	cpu := leastRequestedScore(node.NonZeroRequested.MilliCPU+pod.NonZeroRequests.MilliCPU, node.Allocatable.MilliCPU)
	mem := leastRequestedScore(node.NonZeroRequested.Memory+pod.NonZeroRequests.Memory, node.Allocatable.Memory)
	return (cpu + mem) / 2, nil
}

func leastRequestedScore(requested, capacity int64) int64 {
	if capacity <= 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}
