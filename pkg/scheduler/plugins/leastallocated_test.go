package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func TestLeastAllocated(t *testing.T) {
	tests := []struct {
		name     string
		node     *v1.Node
		existing []*v1.Pod
		pod      *v1.Pod
		want     int64
	}{
		// cpu (4000-1000)/4000 = 75, memory (8-2)/8 = 75.
		{name: "empty node", node: newNode("n", withAllocatable("4", "8Gi", "110")),
			pod: newPod("p", withRequests("1", "2Gi")), want: 75},
		// cpu (4000-3000)*100/4000 = 25, memory (8-4)/8 = 50 -> 37.
		{name: "existing pods count", node: newNode("n", withAllocatable("4", "8Gi", "110")),
			existing: []*v1.Pod{newPod("a", withRequests("2", "2Gi"))},
			pod:      newPod("p", withRequests("1", "2Gi")), want: 37},
		// No requests: 100m and 200Mi. cpu (1000-100)/1000 = 90, memory (1000Mi-200Mi)/1000Mi = 80 -> 85.
		{name: "no requests count as 100m and 200Mi", node: newNode("n", withAllocatable("1", "1000Mi", "110")),
			pod: newPod("p"), want: 85},
		{name: "overcommitted gives 0", node: newNode("n", withAllocatable("1", "1Gi", "110")),
			pod: newPod("p", withRequests("2", "2Gi")), want: 0},
		{name: "zero allocatable gives 0", node: newNode("n", withAllocatable("0", "0", "110")),
			pod: newPod("p", withRequests("1", "1Gi")), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := LeastAllocated{}.Score(framework.NewCycleState(), framework.NewPodInfo(tt.pod), nodeInfo(tt.node, tt.existing...))
			if !st.IsSuccess() || got != tt.want {
				t.Fatalf("Score = %d, %v; want %d", got, st.Message(), tt.want)
			}
		})
	}
}

func TestLeastAllocatedPrefersEmptierNode(t *testing.T) {
	pod := framework.NewPodInfo(newPod("p", withRequests("500m", "512Mi")))
	busy := nodeInfo(newNode("busy"), newPod("a", withRequests("3", "6Gi")))
	idle := nodeInfo(newNode("idle"))
	b, _ := LeastAllocated{}.Score(framework.NewCycleState(), pod, busy)
	i, _ := LeastAllocated{}.Score(framework.NewCycleState(), pod, idle)
	if i <= b {
		t.Fatalf("idle node scored %d, busy node %d: want idle higher", i, b)
	}
}
