package scheduler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/cache"
	"minik8s/pkg/scheduler/framework"
	"minik8s/pkg/scheduler/plugins"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		percentage int32
		nodes      int
		want       int
	}{
		{percentage: 0, nodes: 10, want: 10},
		{percentage: 0, nodes: 99, want: 99},
		{percentage: 0, nodes: 100, want: 100},   // 49% of 100 < 100
		{percentage: 0, nodes: 1000, want: 420},  // 50 - 8 = 42%
		{percentage: 0, nodes: 5000, want: 500},  // 50 - 40 = 10%
		{percentage: 0, nodes: 6000, want: 300},  // 50 - 48 = 2% -> 5%
		{percentage: 10, nodes: 500, want: 100},  // 50 -> at least 100
		{percentage: 30, nodes: 1000, want: 300}, // explicit
		{percentage: 100, nodes: 1000, want: 1000},
	}
	for _, tt := range tests {
		if got := numFeasibleNodesToFind(tt.percentage, tt.nodes); got != tt.want {
			t.Errorf("numFeasibleNodesToFind(%d, %d) = %d, want %d", tt.percentage, tt.nodes, got, tt.want)
		}
	}
}

// testNode is a ready node with allocatable cpu and 110 pods.
func testNode(name, cpu string, mutate ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		Metadata: &v1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:     &v1.NodeSpec{},
		Status: &v1.NodeStatus{
			Allocatable: map[string]string{"cpu": cpu, "memory": "8Gi", "pods": "110"},
			Conditions:  []*v1.Condition{{Type: "Ready", Status: "True"}},
		},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func controlPlane(n *v1.Node) {
	n.Spec.Taints = []*v1.Taint{{Key: plugins.TaintControlPlane, Effect: plugins.EffectNoSchedule}}
}

func testPod(name, cpu string, mutate ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name},
		Spec: &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "img",
			Resources: &v1.ResourceRequirements{Requests: map[string]string{"cpu": cpu}}}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func newTestAlgorithm(t testing.TB, percentage int32) *algorithm {
	t.Helper()
	fw, err := framework.New(plugins.NewRegistry(), plugins.DefaultProfile(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return newAlgorithm(fw, 4, percentage, rand.New(rand.NewPCG(1, 2)))
}

func snapshotOf(t testing.TB, nodes []*v1.Node, pods ...*v1.Pod) *cache.Snapshot {
	t.Helper()
	c := cache.New()
	for _, n := range nodes {
		c.AddNode(n)
	}
	for _, p := range pods {
		c.AddPod(framework.NewPodInfo(p))
	}
	s := cache.NewSnapshot()
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchedulePodDecisions(t *testing.T) {
	onNode := func(node string) func(*v1.Pod) { return func(p *v1.Pod) { p.Spec.NodeName = node } }
	tests := []struct {
		name     string
		nodes    []*v1.Node
		existing []*v1.Pod
		pod      *v1.Pod
		want     string // node, or the error message
	}{
		{
			name:  "the issue's unschedulable message",
			nodes: []*v1.Node{testNode("cp", "8", controlPlane), testNode("n1", "1"), testNode("n2", "1")},
			pod:   testPod("web", "2"),
			want:  "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.",
		},
		{
			name:  "the only node with room",
			nodes: []*v1.Node{testNode("cp", "8", controlPlane), testNode("n1", "1"), testNode("n2", "4")},
			pod:   testPod("web", "2"),
			want:  "n2",
		},
		{
			name:  "a toleration opens the control plane",
			nodes: []*v1.Node{testNode("cp", "8", controlPlane), testNode("n1", "1")},
			pod: testPod("web", "2", func(p *v1.Pod) {
				p.Spec.Tolerations = []*v1.Toleration{{Key: plugins.TaintControlPlane, Operator: "Exists", Effect: "NoSchedule"}}
			}),
			want: "cp",
		},
		{
			name:     "requests of bound pods count",
			nodes:    []*v1.Node{testNode("n1", "2"), testNode("n2", "2")},
			existing: []*v1.Pod{testPod("a", "1500m", onNode("n1"))},
			pod:      testPod("web", "1"),
			want:     "n2",
		},
		{
			name:  "least allocated wins",
			nodes: []*v1.Node{testNode("small", "2"), testNode("big", "16")},
			pod:   testPod("web", "1"),
			want:  "big",
		},
		{
			name:  "nodeSelector",
			nodes: []*v1.Node{testNode("n1", "16"), testNode("n2", "2")},
			pod:   testPod("web", "1", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "n2"} }),
			want:  "n2",
		},
		{
			name:  "no nodes",
			nodes: nil,
			pod:   testPod("web", "1"),
			want:  "no nodes available to schedule pods",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAlgorithm(t, 0)
			res, err := a.schedulePod(framework.NewCycleState(), snapshotOf(t, tt.nodes, tt.existing...), framework.NewPodInfo(tt.pod))
			got := res.SuggestedHost
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFitErrorIsTyped(t *testing.T) {
	a := newTestAlgorithm(t, 0)
	_, err := a.schedulePod(framework.NewCycleState(), snapshotOf(t, []*v1.Node{testNode("n1", "1")}), framework.NewPodInfo(testPod("web", "2")))
	var fe *framework.FitError
	if !errors.As(err, &fe) || fe.NumAllNodes != 1 || !fe.Diagnosis.UnschedulablePlugins[plugins.NameNodeResourcesFit] {
		t.Fatalf("err = %v, want a FitError naming NodeResourcesFit", err)
	}
}

// TestEarlyStopAndRotation: with 1,000 nodes a cycle filters only until
// 420 fit, and the next cycle starts where it stopped.
func TestEarlyStopAndRotation(t *testing.T) {
	var nodes []*v1.Node
	for i := range 1000 {
		nodes = append(nodes, testNode(fmt.Sprintf("n%04d", i), "4"))
	}
	snap := snapshotOf(t, nodes)
	a := newTestAlgorithm(t, 0)
	res, err := a.schedulePod(framework.NewCycleState(), snap, framework.NewPodInfo(testPod("p", "1")))
	if err != nil {
		t.Fatal(err)
	}
	if res.FeasibleNodes != 420 || res.EvaluatedNodes < 420 || res.EvaluatedNodes > 420+100 {
		t.Fatalf("feasible %d evaluated %d, want 420 feasible and about as many evaluated", res.FeasibleNodes, res.EvaluatedNodes)
	}
	if a.nextStartNodeIndex != res.EvaluatedNodes%1000 {
		t.Fatalf("next start %d, want %d", a.nextStartNodeIndex, res.EvaluatedNodes)
	}
	// Every node fails: every node is evaluated and counted.
	_, err = a.schedulePod(framework.NewCycleState(), snap, framework.NewPodInfo(testPod("big", "5")))
	if err == nil || err.Error() != "0/1000 nodes are available: 1000 Insufficient cpu." {
		t.Fatalf("err = %v", err)
	}
}

// TestTiesBrokenAtRandom: identical nodes all get chosen.
func TestTiesBrokenAtRandom(t *testing.T) {
	nodes := []*v1.Node{testNode("a", "4"), testNode("b", "4"), testNode("c", "4")}
	snap := snapshotOf(t, nodes)
	a := newTestAlgorithm(t, 0)
	seen := map[string]int{}
	for range 300 {
		res, err := a.schedulePod(framework.NewCycleState(), snap, framework.NewPodInfo(testPod("p", "1")))
		if err != nil {
			t.Fatal(err)
		}
		seen[res.SuggestedHost]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if seen[n] < 50 {
			t.Fatalf("choices %v: %s chosen %d times of 300", seen, n, seen[n])
		}
	}
}

func BenchmarkSchedulePod1000Nodes(b *testing.B) {
	var nodes []*v1.Node
	for i := range 1000 {
		nodes = append(nodes, testNode(fmt.Sprintf("n%04d", i), "64", func(n *v1.Node) {
			if i%10 == 0 {
				controlPlane(n)
			}
		}))
	}
	snap := snapshotOf(b, nodes)
	a := newTestAlgorithm(b, 0)
	pod := framework.NewPodInfo(testPod("p", "100m"))
	b.ResetTimer()
	for range b.N {
		if _, err := a.schedulePod(framework.NewCycleState(), snap, pod); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSchedulePod100Nodes(b *testing.B) {
	var nodes []*v1.Node
	for i := range 100 {
		nodes = append(nodes, testNode(fmt.Sprintf("n%04d", i), "64"))
	}
	snap := snapshotOf(b, nodes)
	a := newTestAlgorithm(b, 0)
	pod := framework.NewPodInfo(testPod("p", "100m"))
	b.ResetTimer()
	for range b.N {
		if _, err := a.schedulePod(framework.NewCycleState(), snap, pod); err != nil {
			b.Fatal(err)
		}
	}
}
