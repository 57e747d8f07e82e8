package nodelifecycle

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/controller/controllertest"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t       *testing.T
	clock   *testclock.FakeClock
	nodes   *controllertest.Informer[*v1.Node]
	leases  *controllertest.Informer[*v1.Lease]
	pods    *controllertest.Informer[*v1.Pod]
	nodeAPI *controllertest.Client[*v1.Node]
	podAPI  *controllertest.Client[*v1.Pod]
	rec     *controllertest.Recorder
	c       *Controller
	ctx     context.Context
}

func newEnv(t *testing.T, cfg Config, nodes []*v1.Node, pods []*v1.Pod) *env {
	t.Helper()
	e := &env{t: t, clock: testclock.NewFakeClock(t0), rec: &controllertest.Recorder{}, ctx: context.Background()}
	e.nodes = controllertest.NewInformer(nodes...)
	e.leases = controllertest.NewInformer[*v1.Lease]()
	e.pods = controllertest.NewInformer(pods...)
	e.nodeAPI = controllertest.NewClient(e.nodes, e.clock)
	e.podAPI = controllertest.NewClient(e.pods, e.clock)
	for _, n := range nodes {
		e.renew(n.GetMetadata().GetName())
	}
	cfg.Nodes, cfg.Leases, cfg.Pods = e.nodes, e.leases, e.pods
	cfg.NodeClient, cfg.PodClient, cfg.Recorder, cfg.Clock = e.nodeAPI, e.podAPI, e.rec, e.clock
	cfg.Registerer = prometheus.NewRegistry()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	e.c = c
	return e
}

// renew is the kubelet renewing its Lease.
func (e *env) renew(node string) {
	e.leases.Update(&v1.Lease{
		Metadata: &v1.ObjectMeta{Name: node, Namespace: NodeLeaseNamespace, ResourceVersion: e.clock.Now().String()},
		Spec:     &v1.LeaseSpec{HolderIdentity: node, RenewTime: controllertest.Time(e.clock.Now())},
	})
}

// setReady is the kubelet posting its Ready condition.
func (e *env) setReady(node, status string) {
	n, err := e.nodeAPI.Get(e.ctx, "", node)
	if err != nil {
		e.t.Fatal(err)
	}
	now := controllertest.Time(e.clock.Now())
	n.Status.Conditions = []*v1.Condition{{Type: "Ready", Status: status, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := e.nodeAPI.UpdateStatus(e.ctx, n); err != nil {
		e.t.Fatal(err)
	}
	e.nodeAPI.Flush()
}

// pass is one monitor period and one tainting pass, with the caches
// caught up after each.
func (e *env) pass() {
	e.c.monitorNodeHealth(e.ctx)
	e.nodeAPI.Flush()
	e.podAPI.Flush()
	e.c.doNoExecuteTaintingPass(e.ctx)
	e.nodeAPI.Flush()
}

func (e *env) node(name string) *v1.Node {
	n, err := e.nodeAPI.Get(e.ctx, "", name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func readyNode(name string, zone string) *v1.Node {
	n := &v1.Node{
		Metadata: &v1.ObjectMeta{Name: name, ResourceVersion: "1", CreationTimestamp: controllertest.Time(t0.Add(-time.Hour))},
		Spec:     &v1.NodeSpec{},
		Status: &v1.NodeStatus{Conditions: []*v1.Condition{{Type: "Ready", Status: "True", Reason: "KubeletReady",
			LastHeartbeatTime: controllertest.Time(t0), LastTransitionTime: controllertest.Time(t0.Add(-time.Hour))}}},
	}
	if zone != "" {
		n.Metadata.Labels = map[string]string{zoneLabel: zone}
	}
	return n
}

func podOn(name, node string, tols ...*v1.Toleration) *v1.Pod {
	p := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name, ResourceVersion: "1"},
		Spec:     &v1.PodSpec{NodeName: node, Tolerations: tols},
	}
	return controllertest.ReadyPod(p, t0.Add(-time.Hour))
}

func taintKeys(n *v1.Node) []string {
	var out []string
	for _, t := range n.GetSpec().GetTaints() {
		out = append(out, t.GetKey()+":"+t.GetEffect())
	}
	slices.Sort(out)
	return out
}

func counter(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 10)
	c.Collect(ch)
	close(ch)
	var sum float64
	for m := range ch {
		var d dto.Metric
		_ = m.Write(&d)
		sum += d.GetCounter().GetValue()
	}
	return sum
}

func TestSilentNodeBecomesUnknownAndTainted(t *testing.T) {
	cfg := Config{NodeMonitorGracePeriod: 40 * time.Second}
	e := newEnv(t, cfg, []*v1.Node{readyNode("a", ""), readyNode("b", ""), readyNode("c", "")}, []*v1.Pod{podOn("web-1", "a")})
	e.pass()
	// The kubelets of b and c keep renewing; a's goes silent.
	for i := 0; i < 8; i++ {
		e.clock.Step(5 * time.Second)
		e.renew("b")
		e.renew("c")
		e.pass()
	}
	if got := readyCondition(e.node("a").GetStatus()); got.GetStatus() != "True" {
		t.Fatalf("a after 40 s of silence (the grace period): %v, want still True", got)
	}
	e.clock.Step(5 * time.Second)
	e.renew("b")
	e.renew("c")
	e.pass()
	a := e.node("a")
	ready := readyCondition(a.GetStatus())
	if ready.GetStatus() != "Unknown" || ready.GetReason() != "NodeStatusUnknown" || ready.GetMessage() != "Kubelet stopped posting node status." {
		t.Fatalf("a after 45 s of silence: %v", ready)
	}
	if !ready.GetLastTransitionTime().AsTime().Equal(e.clock.Now()) {
		t.Errorf("lastTransitionTime %v, want now", ready.GetLastTransitionTime().AsTime())
	}
	for _, typ := range []string{"MemoryPressure", "DiskPressure", "PIDPressure"} {
		found := false
		for _, c := range a.GetStatus().GetConditions() {
			if c.GetType() == typ && c.GetStatus() == "Unknown" && c.GetReason() == "NodeStatusNeverUpdated" {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s Unknown condition: %v", typ, a.GetStatus().GetConditions())
		}
	}
	if got := taintKeys(a); !slices.Equal(got, []string{TaintNodeUnreachable + ":NoExecute"}) {
		t.Fatalf("taints of a %v, want unreachable:NoExecute", got)
	}
	for _, n := range []string{"b", "c"} {
		if got := taintKeys(e.node(n)); len(got) != 0 || readyCondition(e.node(n).GetStatus()).GetStatus() != "True" {
			t.Fatalf("healthy node %s: taints %v", n, got)
		}
	}
	p, _ := e.podAPI.Get(e.ctx, "default", "web-1")
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" && c.GetStatus() != "False" {
			t.Fatalf("pod on the silent node still ready: %v", c)
		}
	}
	if got := counter(e.c.metrics.evictions); got != 1 {
		t.Fatalf("node_collector_evictions_total %v, want 1", got)
	}
	if ev := e.rec.Events(); !slices.Contains(ev, "Normal NodeNotReady Node a status is now: NodeNotReady") {
		t.Fatalf("events %v", ev)
	}

	// The kubelet comes back: Lease renewed and Ready posted.
	e.renew("a")
	e.setReady("a", "True")
	e.pass()
	if got := taintKeys(e.node("a")); len(got) != 0 {
		t.Fatalf("taints of a after it came back: %v", got)
	}
}

func TestNotReadyNodeGetsTheNotReadyTaint(t *testing.T) {
	e := newEnv(t, Config{}, []*v1.Node{readyNode("a", ""), readyNode("b", "")}, nil)
	e.pass()
	e.setReady("a", "False")
	e.pass()
	if got := taintKeys(e.node("a")); !slices.Equal(got, []string{TaintNodeNotReady + ":NoExecute"}) {
		t.Fatalf("taints %v, want not-ready:NoExecute", got)
	}
	// Then silent: the reason changes, the taint is swapped at once.
	e.clock.Step(DefaultNodeMonitorGracePeriod + time.Second)
	e.renew("b")
	e.pass()
	if got := taintKeys(e.node("a")); !slices.Equal(got, []string{TaintNodeUnreachable + ":NoExecute"}) {
		t.Fatalf("taints %v, want unreachable:NoExecute", got)
	}
}

func TestNeverPostedNodeAfterStartupGrace(t *testing.T) {
	n := readyNode("fresh", "")
	n.Status = &v1.NodeStatus{}
	n.Metadata.CreationTimestamp = controllertest.Time(t0)
	e := newEnv(t, Config{NodeStartupGracePeriod: 60 * time.Second}, []*v1.Node{n, readyNode("b", "")}, nil)
	e.leases.Delete(&v1.Lease{Metadata: &v1.ObjectMeta{Name: "fresh", Namespace: NodeLeaseNamespace}})
	e.pass()
	e.clock.Step(59 * time.Second)
	e.renew("b")
	e.pass()
	if readyCondition(e.node("fresh").GetStatus()) != nil {
		t.Fatal("marked before the startup grace period")
	}
	e.clock.Step(2 * time.Second)
	e.renew("b")
	e.pass()
	c := readyCondition(e.node("fresh").GetStatus())
	if c.GetStatus() != "Unknown" || c.GetReason() != "NodeStatusNeverUpdated" || c.GetMessage() != "Kubelet never posted node status." {
		t.Fatalf("Ready %v", c)
	}
}

func TestTaintingIsRateLimitedPerZone(t *testing.T) {
	e := newEnv(t, Config{}, []*v1.Node{readyNode("a", "z1"), readyNode("b", "z1"), readyNode("c", "z1"), readyNode("d", "z2")}, nil)
	e.pass()
	e.setReady("a", "False")
	e.setReady("b", "False")
	e.setReady("d", "False")
	e.pass()
	tainted := func() (n int) {
		for _, name := range []string{"a", "b"} {
			if len(taintKeys(e.node(name))) > 0 {
				n++
			}
		}
		return n
	}
	if got := tainted(); got != 1 {
		t.Fatalf("%d nodes of z1 tainted at once, want 1 (0.1 per second)", got)
	}
	if len(taintKeys(e.node("d"))) == 0 {
		t.Fatal("z2 has its own limiter: its node should be tainted (z2 fully disrupted, z1 not)")
	}
	e.clock.Step(5 * time.Second)
	e.c.doNoExecuteTaintingPass(e.ctx)
	e.nodeAPI.Flush()
	if got := tainted(); got != 1 {
		t.Fatalf("%d tainted after 5 s", got)
	}
	e.clock.Step(6 * time.Second)
	e.c.doNoExecuteTaintingPass(e.ctx)
	e.nodeAPI.Flush()
	if got := tainted(); got != 2 {
		t.Fatalf("%d tainted after 11 s, want 2", got)
	}
}

func TestMasterDisruptionModeStopsTainting(t *testing.T) {
	e := newEnv(t, Config{}, []*v1.Node{readyNode("a", ""), readyNode("b", "")}, nil)
	e.pass()
	e.setReady("a", "False")
	e.setReady("b", "False")
	e.pass()
	e.clock.Step(time.Minute)
	e.pass()
	for _, n := range []string{"a", "b"} {
		if got := taintKeys(e.node(n)); slices.Contains(got, TaintNodeNotReady+":NoExecute") {
			t.Fatalf("node %s tainted %v while every node is down", n, got)
		}
	}
}

func TestComputeZoneState(t *testing.T) {
	c := &Controller{cfg: Config{UnhealthyZoneThreshold: 0.55}}
	mk := func(statuses ...string) []*v1.Condition {
		var out []*v1.Condition
		for _, s := range statuses {
			if s == "" {
				out = append(out, nil)
				continue
			}
			out = append(out, &v1.Condition{Type: "Ready", Status: s})
		}
		return out
	}
	tests := []struct {
		name      string
		conds     []*v1.Condition
		unhealthy int
		state     zoneState
	}{
		{"all ready", mk("True", "True"), 0, stateNormal},
		{"one of three down", mk("True", "True", "Unknown"), 1, stateNormal},
		{"all down", mk("False", "Unknown", ""), 3, stateFullDisruption},
		{"three of five down", mk("True", "True", "False", "False", "Unknown"), 3, statePartialDisruption},
		{"two of three down is not partial (needs more than 2)", mk("True", "False", "False"), 2, stateNormal},
		{"three of six down is under 55%", mk("True", "True", "True", "False", "False", "False"), 3, stateNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, s := c.computeZoneState(tt.conds)
			if n != tt.unhealthy || s != tt.state {
				t.Fatalf("got %d %s, want %d %s", n, s, tt.unhealthy, tt.state)
			}
		})
	}
}

func TestNoScheduleTaintsFollowConditions(t *testing.T) {
	n := readyNode("a", "")
	e := newEnv(t, Config{}, []*v1.Node{n}, nil)
	sync := func() {
		if err := e.c.syncNoScheduleTaints(e.ctx, "a"); err != nil {
			t.Fatal(err)
		}
		e.nodeAPI.Flush()
	}
	sync()
	if got := taintKeys(e.node("a")); len(got) != 0 {
		t.Fatalf("ready node tainted %v", got)
	}
	e.setReady("a", "Unknown")
	cur := e.node("a")
	cur.Spec.Unschedulable = true
	cur.Status.Conditions = append(cur.Status.Conditions, &v1.Condition{Type: "DiskPressure", Status: "True"})
	if _, err := e.nodeAPI.Update(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	if _, err := e.nodeAPI.UpdateStatus(e.ctx, e.node("a")); err != nil {
		t.Fatal(err)
	}
	cur = e.node("a")
	cur.Status.Conditions = append(cur.Status.Conditions, &v1.Condition{Type: "DiskPressure", Status: "True"})
	if _, err := e.nodeAPI.UpdateStatus(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	e.nodeAPI.Flush()
	sync()
	want := []string{TaintNodeDiskPressure + ":NoSchedule", TaintNodeUnreachable + ":NoSchedule", TaintNodeUnschedulable + ":NoSchedule"}
	if got := taintKeys(e.node("a")); !slices.Equal(got, want) {
		t.Fatalf("taints %v, want %v", got, want)
	}
	e.setReady("a", "True") // replaces the conditions: no pressure either
	cur = e.node("a")
	cur.Spec.Unschedulable = false
	if _, err := e.nodeAPI.Update(e.ctx, cur); err != nil {
		t.Fatal(err)
	}
	e.nodeAPI.Flush()
	sync()
	if got := taintKeys(e.node("a")); len(got) != 0 {
		t.Fatalf("taints %v after recovery", got)
	}
}

func TestEvictionHonoursTolerations(t *testing.T) {
	thirty := int64(30)
	neg := int64(-5)
	pods := []*v1.Pod{
		podOn("intolerant", "a"), // default toleration: 300 s for unreachable
		podOn("thirty", "a", &v1.Toleration{Key: TaintNodeUnreachable, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &thirty}),
		podOn("forever", "a", &v1.Toleration{Key: TaintNodeUnreachable, Operator: "Exists", Effect: "NoExecute"}),
		podOn("negative", "a", &v1.Toleration{Key: TaintNodeUnreachable, Operator: "Exists", TolerationSeconds: &neg}),
		podOn("elsewhere", "b"),
	}
	e := newEnv(t, Config{}, []*v1.Node{readyNode("a", ""), readyNode("b", "")}, pods)
	tainted := e.node("a")
	tainted.Spec.Taints = []*v1.Taint{{Key: TaintNodeUnreachable, Effect: "NoExecute", TimeAdded: controllertest.Time(e.clock.Now())}}
	e.nodeAPI.Put(tainted)
	e.nodeAPI.Flush()
	evictAll := func() []string {
		for _, p := range []string{"intolerant", "thirty", "forever", "negative", "elsewhere"} {
			if err := e.c.syncPodEviction(e.ctx, "default/"+p); err != nil {
				t.Fatal(err)
			}
		}
		e.podAPI.Flush()
		got := e.podAPI.Actions()
		slices.Sort(got)
		return got
	}
	if got := evictAll(); !slices.Equal(got, []string{"delete default/negative"}) {
		t.Fatalf("at once: %v, want only the pod with a negative toleration", got)
	}
	e.clock.Step(31 * time.Second)
	if got := evictAll(); !slices.Equal(got, []string{"delete default/thirty"}) {
		t.Fatalf("after 31 s: %v", got)
	}
	e.clock.Step(270 * time.Second)
	if got := evictAll(); !slices.Equal(got, []string{"delete default/intolerant"}) {
		t.Fatalf("after 301 s: %v, want the pod with the default 300 s toleration", got)
	}
	e.clock.Step(time.Hour)
	if got := evictAll(); len(got) != 0 {
		t.Fatalf("after an hour: %v, want none", got)
	}
	if got := counter(e.c.metrics.podDeletions); got != 3 {
		t.Fatalf("pod deletions %v", got)
	}
}

func TestUntoleratedTaintEvictsAtOnce(t *testing.T) {
	e := newEnv(t, Config{}, []*v1.Node{readyNode("a", "")}, []*v1.Pod{
		podOn("plain", "a"),
		podOn("tolerant", "a", &v1.Toleration{Key: "dedicated", Operator: "Equal", Value: "db", Effect: "NoExecute"}),
		podOn("wildcard", "a", &v1.Toleration{Operator: "Exists"}),
	})
	n := e.node("a")
	n.Spec.Taints = []*v1.Taint{{Key: "dedicated", Value: "db", Effect: "NoExecute"}}
	e.nodeAPI.Put(n)
	e.nodeAPI.Flush()
	for _, p := range []string{"plain", "tolerant", "wildcard"} {
		if err := e.c.syncPodEviction(e.ctx, "default/"+p); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.podAPI.Actions(); !slices.Equal(got, []string{"delete default/plain"}) {
		t.Fatalf("actions %v", got)
	}
}

func TestToleratesTaint(t *testing.T) {
	taint := &v1.Taint{Key: "k", Value: "v", Effect: "NoExecute"}
	tests := []struct {
		name string
		tol  *v1.Toleration
		want bool
	}{
		{"equal", &v1.Toleration{Key: "k", Value: "v", Effect: "NoExecute"}, true},
		{"default operator is Equal", &v1.Toleration{Key: "k", Value: "w"}, false},
		{"exists any value", &v1.Toleration{Key: "k", Operator: "Exists"}, true},
		{"other effect", &v1.Toleration{Key: "k", Operator: "Exists", Effect: "NoSchedule"}, false},
		{"other key", &v1.Toleration{Key: "x", Operator: "Exists"}, false},
		{"everything", &v1.Toleration{Operator: "Exists"}, true},
		{"unknown operator", &v1.Toleration{Key: "k", Operator: "Gt", Value: "v"}, false},
	}
	for _, tt := range tests {
		if got := ToleratesTaint(tt.tol, taint); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
