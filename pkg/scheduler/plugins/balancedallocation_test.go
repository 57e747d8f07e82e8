package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func TestBalancedAllocation(t *testing.T) {
	tests := []struct {
		name     string
		node     *v1.Node
		existing []*v1.Pod
		pod      *v1.Pod
		want     int64
	}{
		// cpu 1/4 = .25, memory 2/8 = .25: perfectly balanced.
		{name: "equal fractions", node: newNode("n", withAllocatable("4", "8Gi", "110")),
			pod: newPod("p", withRequests("1", "2Gi")), want: 100},
		// cpu 2/4 = .5, memory 0: std .25 -> 75.
		{name: "cpu only", node: newNode("n", withAllocatable("4", "8Gi", "110")),
			pod: newPod("p", withRequests("2", "")), want: 75},
		// cpu (1+1)/4 = .5, memory (6+0)/8 = .75: std .125 -> 87.
		{name: "existing pods count", node: newNode("n", withAllocatable("4", "8Gi", "110")),
			existing: []*v1.Pod{newPod("a", withRequests("1", "6Gi"))},
			pod:      newPod("p", withRequests("1", "")), want: 87},
		// cpu capped at 1, memory .5: std .25 -> 75.
		{name: "fractions capped at 1", node: newNode("n", withAllocatable("1", "8Gi", "110")),
			pod: newPod("p", withRequests("3", "4Gi")), want: 75},
		{name: "no requests is balanced", node: newNode("n", withAllocatable("4", "8Gi", "110")),
			pod: newPod("p"), want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := BalancedAllocation{}.Score(framework.NewCycleState(), framework.NewPodInfo(tt.pod), nodeInfo(tt.node, tt.existing...))
			if !st.IsSuccess() || got != tt.want {
				t.Fatalf("Score = %d, %v; want %d", got, st.Message(), tt.want)
			}
		})
	}
}
