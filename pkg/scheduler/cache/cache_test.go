package cache

import (
	"fmt"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func node(name, cpu string) *v1.Node {
	return &v1.Node{
		Metadata: &v1.ObjectMeta{Name: name},
		Status:   &v1.NodeStatus{Allocatable: map[string]string{"cpu": cpu, "memory": "4Gi", "pods": "110"}},
	}
}

func pod(name, uid, nodeName, cpu string) *framework.PodInfo {
	return framework.NewPodInfo(&v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: uid},
		Spec: &v1.PodSpec{NodeName: nodeName, Containers: []*v1.Container{{Name: "c",
			Resources: &v1.ResourceRequirements{Requests: map[string]string{"cpu": cpu}}}}},
	})
}

// requested returns each node's requested milli-cpu in a fresh snapshot.
func requested(t *testing.T, c *Cache) map[string]int64 {
	t.Helper()
	s := NewSnapshot()
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, ni := range s.List() {
		out[ni.Name()] = ni.Requested.MilliCPU
	}
	return out
}

func wantRequested(t *testing.T, c *Cache, want map[string]int64) {
	t.Helper()
	got := requested(t, c)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requested = %v, want %v", got, want)
	}
}

func TestAssumeConfirmForget(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "4"))
	c.AddNode(node("n2", "4"))

	// Assumed pods count at once.
	if err := c.AssumePod(pod("a", "ua", "", "1"), "n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(pod("a", "ua", "", "1"), "n1"); err == nil {
		t.Fatal("assuming a pod twice succeeded")
	}
	if err := c.AssumePod(pod("b", "ub", "", "500m"), "n2"); err != nil {
		t.Fatal(err)
	}
	wantRequested(t, c, map[string]int64{"n1": 1000, "n2": 500})
	if !c.IsAssumedPod("default/a", "ua") {
		t.Fatal("a is not assumed")
	}

	// The informer confirms a; b's bind fails and is forgotten.
	c.AddPod(pod("a", "ua", "n1", "1"))
	if c.IsAssumedPod("default/a", "ua") {
		t.Fatal("a is still assumed after AddPod")
	}
	c.ForgetPod("default/b", "ub")
	wantRequested(t, c, map[string]int64{"n1": 1000, "n2": 0})

	// Forgetting a confirmed pod does nothing.
	c.ForgetPod("default/a", "ua")
	wantRequested(t, c, map[string]int64{"n1": 1000, "n2": 0})
}

func TestBoundElsewhereMovesTheAssumption(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "4"))
	c.AddNode(node("n2", "4"))
	if err := c.AssumePod(pod("a", "ua", "", "1"), "n1"); err != nil {
		t.Fatal(err)
	}
	// Another scheduler won: the informer shows a on n2 before our bind
	// fails; the late ForgetPod must not undo the confirmed pod.
	c.AddPod(pod("a", "ua", "n2", "1"))
	c.ForgetPod("default/a", "ua")
	wantRequested(t, c, map[string]int64{"n1": 0, "n2": 1000})
}

func TestForgetChecksUID(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "4"))
	if err := c.AssumePod(pod("a", "new-uid", "", "1"), "n1"); err != nil {
		t.Fatal(err)
	}
	c.ForgetPod("default/a", "old-uid")
	wantRequested(t, c, map[string]int64{"n1": 1000})
}

func TestRemovePodAndNode(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "4"))
	c.AddPod(pod("a", "ua", "n1", "1"))
	c.AddPod(pod("b", "ub", "n1", "1"))
	c.RemoveNode("n1")
	if got := requested(t, c); len(got) != 0 {
		t.Fatalf("a removed node is still listed: %v", got)
	}
	// The node comes back while its pods are still there.
	c.AddNode(node("n1", "4"))
	wantRequested(t, c, map[string]int64{"n1": 2000})
	if !c.RemovePod("default/a") || c.RemovePod("default/a") {
		t.Fatal("RemovePod did not find a exactly once")
	}
	wantRequested(t, c, map[string]int64{"n1": 1000})
	nodes, pods, assumed := c.Counts()
	if nodes != 1 || pods != 1 || assumed != 0 {
		t.Fatalf("counts = %d %d %d", nodes, pods, assumed)
	}
}

func TestPodBeforeItsNode(t *testing.T) {
	c := New()
	c.AddPod(pod("a", "ua", "late", "1"))
	if got := requested(t, c); len(got) != 0 {
		t.Fatalf("a node without a Node object is listed: %v", got)
	}
	c.AddNode(node("late", "2"))
	wantRequested(t, c, map[string]int64{"late": 1000})
}

// TestSnapshotIsIncremental checks that an update copies only the nodes
// that changed, and that a snapshot does not change until it is updated.
func TestSnapshotIsIncremental(t *testing.T) {
	c := New()
	for i := range 100 {
		c.AddNode(node(fmt.Sprintf("n%03d", i), "4"))
	}
	s := NewSnapshot()
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	before := map[string]*framework.NodeInfo{}
	copies := map[string]framework.NodeInfo{}
	for _, ni := range s.List() {
		before[ni.Name()] = ni
		copies[ni.Name()] = *ni
	}
	if err := c.AssumePod(pod("a", "ua", "", "1"), "n042"); err != nil {
		t.Fatal(err)
	}
	// Not visible until the update.
	if got := s.Get("n042").Requested.MilliCPU; got != 0 {
		t.Fatalf("snapshot changed before UpdateSnapshot: %d", got)
	}
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	if got := s.Get("n042").Requested.MilliCPU; got != 1000 {
		t.Fatalf("n042 requested %d after update, want 1000", got)
	}
	for _, ni := range s.List() {
		if before[ni.Name()] != ni {
			t.Fatalf("node %s was reallocated", ni.Name())
		}
		if ni.Name() != "n042" && ni.Generation != copies[ni.Name()].Generation {
			t.Fatalf("node %s was copied though it did not change", ni.Name())
		}
	}
	// Adding and removing nodes rebuilds the list.
	c.RemoveNode("n000")
	c.AddNode(node("n100", "4"))
	if err := c.UpdateSnapshot(s); err != nil {
		t.Fatal(err)
	}
	if s.NumNodes() != 100 || s.Get("n000") != nil || s.Get("n100") == nil || s.List()[0].Name() != "n001" {
		t.Fatalf("after remove+add: %d nodes, first %s", s.NumNodes(), s.List()[0].Name())
	}
}

func BenchmarkUpdateSnapshot1000Nodes(b *testing.B) {
	c := New()
	for i := range 1000 {
		c.AddNode(node(fmt.Sprintf("n%04d", i), "64"))
	}
	s := NewSnapshot()
	if err := c.UpdateSnapshot(s); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := c.AssumePod(pod(fmt.Sprintf("p%d", i), "u", "", "1m"), fmt.Sprintf("n%04d", i%1000)); err != nil {
			b.Fatal(err)
		}
		if err := c.UpdateSnapshot(s); err != nil {
			b.Fatal(err)
		}
	}
}
