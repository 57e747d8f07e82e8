package plugins

import (
	"math"

	"minik8s/pkg/scheduler/framework"
)

// BalancedAllocation favours nodes whose cpu and memory would be used in
// equal fractions after placing the pod: 100 * (1 - the standard deviation
// of the two fractions), as Kubernetes' NodeResourcesBalancedAllocation
// (which counts actual requests, zero included).
type BalancedAllocation struct{}

var _ framework.ScorePlugin = BalancedAllocation{}

// Name implements framework.Plugin.
func (BalancedAllocation) Name() string { return NameBalancedAllocation }

// Score implements framework.ScorePlugin.
func (BalancedAllocation) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	var fractions [2]float64
	n := 0
	add := func(requested, allocatable int64) {
		if allocatable <= 0 {
			return
		}
		fractions[n] = min(float64(requested)/float64(allocatable), 1)
		n++
	}
	add(node.Requested.MilliCPU+pod.Requests.MilliCPU, node.Allocatable.MilliCPU)
	add(node.Requested.Memory+pod.Requests.Memory, node.Allocatable.Memory)
	std := 0.0
	if n == 2 {
		std = math.Abs(fractions[0]-fractions[1]) / 2
	}
	return int64((1 - std) * float64(framework.MaxNodeScore)), nil
}
