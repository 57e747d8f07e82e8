package integration

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/quantity"
	"minik8s/pkg/client"
	"minik8s/pkg/scheduler"
	"minik8s/test/integration/framework"
)

const (
	controlPlaneTaint = "node-role.kubernetes.io/control-plane"
	noSchedule        = "NoSchedule"
)

func tolerateControlPlane(p *v1.Pod) {
	p.Spec.Tolerations = append(p.Spec.Tolerations, &v1.Toleration{Key: controlPlaneTaint, Operator: "Exists", Effect: noSchedule})
}

func tolerateGPU(p *v1.Pod) {
	p.Spec.Tolerations = append(p.Spec.Tolerations, &v1.Toleration{Key: "dedicated", Operator: "Equal", Value: "gpu", Effect: noSchedule})
}

func tolerates(p *v1.Pod, key string) bool {
	for _, t := range p.GetSpec().GetTolerations() {
		if t.GetKey() == key {
			return true
		}
	}
	return false
}

// podScheduled returns a pod's PodScheduled condition.
func podScheduled(p *v1.Pod) *v1.Condition {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "PodScheduled" {
			return c
		}
	}
	return nil
}

// waitUnschedulable waits for PodScheduled=False/Unschedulable with msg
// and a FailedScheduling Warning event with the same message.
func waitUnschedulable(t *testing.T, c *client.Clientset, name, msg string) {
	t.Helper()
	ctx := framework.Context(t)
	framework.Eventually(t, time.Minute, name+" marked unschedulable", func() error {
		p, err := c.Pods().Get(ctx, "default", name)
		if err != nil {
			return err
		}
		if p.GetSpec().GetNodeName() != "" {
			return fmt.Errorf("bound to %s", p.GetSpec().GetNodeName())
		}
		cond := podScheduled(p)
		if cond.GetStatus() != "False" || cond.GetReason() != "Unschedulable" || cond.GetMessage() != msg {
			return fmt.Errorf("PodScheduled = %s/%s %q, want False/Unschedulable %q", cond.GetStatus(), cond.GetReason(), cond.GetMessage(), msg)
		}
		if p.GetStatus().GetPhase() != "Pending" {
			return fmt.Errorf("phase %s", p.GetStatus().GetPhase())
		}
		return nil
	})
	waitEvent(t, c, name, "Warning", "FailedScheduling", msg)
}

// waitEvent waits for an event about pod name.
func waitEvent(t *testing.T, c *client.Clientset, name, typ, reason, msg string) {
	t.Helper()
	ctx := framework.Context(t)
	framework.Eventually(t, time.Minute, fmt.Sprintf("%s event about %s", reason, name), func() error {
		evs, _, err := c.Events().List(ctx, client.ListOptions{Namespace: "default"})
		if err != nil {
			return err
		}
		var seen []string
		for _, ev := range evs {
			if ev.GetInvolvedObject().GetName() != name || ev.GetReason() != reason {
				continue
			}
			if ev.GetType() == typ && ev.GetMessage() == msg && ev.GetInvolvedObject().GetKind() == "Pod" &&
				ev.GetSource().GetComponent() == "default-scheduler" {
				return nil
			}
			seen = append(seen, ev.GetType()+" "+ev.GetMessage())
		}
		return fmt.Errorf("no %s %s event %q (seen %q)", typ, reason, msg, seen)
	})
}

func waitBoundTo(t *testing.T, c *client.Clientset, name, node string) {
	t.Helper()
	ctx := framework.Context(t)
	framework.Eventually(t, time.Minute, name+" bound to "+node, func() error {
		p, err := c.Pods().Get(ctx, "default", name)
		if err != nil {
			return err
		}
		if got := p.GetSpec().GetNodeName(); got != node {
			return fmt.Errorf("bound to %q", got)
		}
		if cond := podScheduled(p); cond.GetStatus() != "True" {
			return fmt.Errorf("PodScheduled = %v", cond)
		}
		return nil
	})
}

func podKeys(pods []*v1.Pod) []string {
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = "default/" + p.GetMetadata().GetName()
	}
	return keys
}

// TestSchedulerUnschedulableMessage: the three-node example, with
// Kubernetes' message in the condition, an event, and minictl describe;
// then the pod is bound as soon as a node that fits appears.
func TestSchedulerUnschedulableMessage(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	framework.CreateNodes(t, admin,
		framework.MakeNode(framework.NodeSpec{Name: "cp", CPU: "8", Memory: "16Gi",
			Taints: []*v1.Taint{{Key: controlPlaneTaint, Effect: noSchedule}}}),
		framework.MakeNode(framework.NodeSpec{Name: "node-1", CPU: "1", Memory: "4Gi"}),
		framework.MakeNode(framework.NodeSpec{Name: "node-2", CPU: "1", Memory: "4Gi"}),
	)
	cp.StartScheduler(t)
	framework.CreatePods(t, admin, 1, framework.MakePod("web", "2", "64Mi"))

	want := "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
	waitUnschedulable(t, admin, "web", want)
	out := cp.MustMinictl(t, "", "describe", "pod", "web")
	for _, s := range []string{want, "FailedScheduling"} {
		if !strings.Contains(out, s) {
			t.Errorf("minictl describe pod web does not show %q:\n%s", s, out)
		}
	}

	framework.CreateNodes(t, admin, framework.MakeNode(framework.NodeSpec{Name: "node-3", CPU: "4", Memory: "8Gi"}))
	waitBoundTo(t, admin, "web", "node-3")
	waitEvent(t, admin, "web", "Normal", "Scheduled", "Successfully assigned default/web to node-3")
}

// TestSchedulerFiftyNodesFiveHundredPods: mixed sizes and taints; every pod
// bound once, no node over its allocatable, the control-plane and gpu
// nodes only take pods that tolerate them, node selectors and affinities
// honoured; a pod that fits nowhere waits with Kubernetes' message and is
// bound when a big node is added.
func TestSchedulerFiftyNodesFiveHundredPods(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	ctx := framework.Context(t)

	zones := []string{"a", "b", "c"}
	sizes := []struct{ cpu, mem string }{{"2", "4Gi"}, {"4", "8Gi"}, {"8", "16Gi"}}
	var nodes []*v1.Node
	nodes = append(nodes, framework.MakeNode(framework.NodeSpec{Name: "cp-00", CPU: "8", Memory: "16Gi",
		Labels: map[string]string{controlPlaneTaint: "", "zone": "a"},
		Taints: []*v1.Taint{{Key: controlPlaneTaint, Effect: noSchedule}}}))
	for i := 1; i < 10; i++ {
		nodes = append(nodes, framework.MakeNode(framework.NodeSpec{Name: fmt.Sprintf("gpu-%02d", i), CPU: "8", Memory: "32Gi",
			Labels: map[string]string{"zone": zones[i%3]},
			Taints: []*v1.Taint{{Key: "dedicated", Value: "gpu", Effect: noSchedule}}}))
	}
	for i := 10; i < 50; i++ {
		labels := map[string]string{"zone": zones[i%3]}
		if i%2 == 0 {
			labels["disk"] = "ssd"
		}
		sz := sizes[(i/3)%3]
		nodes = append(nodes, framework.MakeNode(framework.NodeSpec{Name: fmt.Sprintf("node-%02d", i), CPU: sz.cpu, Memory: sz.mem, Labels: labels}))
	}
	framework.CreateNodes(t, admin, nodes...)
	byName := map[string]*v1.Node{}
	for _, n := range nodes {
		byName[n.GetMetadata().GetName()] = n
	}

	cpus := []string{"100m", "200m", "250m", "500m"}
	mems := []string{"128Mi", "256Mi", "512Mi"}
	var pods []*v1.Pod
	for i := range 500 {
		var mut []func(*v1.Pod)
		switch {
		case i%10 == 0:
			mut = append(mut, tolerateControlPlane)
		case i%10 == 1:
			mut = append(mut, tolerateGPU)
		}
		if i%5 == 2 {
			mut = append(mut, func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a"} })
		}
		if i%7 == 3 {
			mut = append(mut, func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
					NodeSelectorTerms: []*v1.NodeSelectorTerm{{MatchExpressions: []*v1.NodeSelectorRequirement{{Key: "disk", Operator: "In", Values: []string{"ssd"}}}}},
				}}}
			})
		}
		pods = append(pods, framework.MakePod(fmt.Sprintf("p-%03d", i), cpus[i%4], mems[i%3], mut...))
	}

	binds := framework.WatchBinds(t, admin)
	cp.StartScheduler(t)
	framework.CreatePods(t, admin, 16, pods...)
	binds.WaitBoundOnce(t, 2*time.Minute, podKeys(pods))

	// Check every placement against the node it landed on.
	got, _, err := admin.Pods().List(ctx, client.ListOptions{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	type usage struct{ cpu, mem, pods int64 }
	used := map[string]*usage{}
	for _, p := range got {
		node := byName[p.GetSpec().GetNodeName()]
		if node == nil {
			t.Fatalf("pod %s on unknown node %q", p.GetMetadata().GetName(), p.GetSpec().GetNodeName())
		}
		name := node.GetMetadata().GetName()
		u := used[name]
		if u == nil {
			u = &usage{}
			used[name] = u
		}
		req := p.GetSpec().GetContainers()[0].GetResources().GetRequests()
		u.cpu += quantity.MustParse(req["cpu"]).MilliValue()
		u.mem += quantity.MustParse(req["memory"]).Value()
		u.pods++
		switch {
		case strings.HasPrefix(name, "cp-") && !tolerates(p, controlPlaneTaint):
			t.Errorf("pod %s on the control-plane node without tolerating it", p.GetMetadata().GetName())
		case strings.HasPrefix(name, "gpu-") && !tolerates(p, "dedicated"):
			t.Errorf("pod %s on gpu node %s without tolerating it", p.GetMetadata().GetName(), name)
		}
		if want := p.GetSpec().GetNodeSelector()["zone"]; want != "" && node.GetMetadata().GetLabels()["zone"] != want {
			t.Errorf("pod %s wants zone %s, is on %s (zone %s)", p.GetMetadata().GetName(), want, name, node.GetMetadata().GetLabels()["zone"])
		}
		if p.GetSpec().GetAffinity() != nil && node.GetMetadata().GetLabels()["disk"] != "ssd" {
			t.Errorf("pod %s wants disk=ssd, is on %s", p.GetMetadata().GetName(), name)
		}
	}
	for name, u := range used {
		alloc := byName[name].GetStatus().GetAllocatable()
		if u.cpu > quantity.MustParse(alloc["cpu"]).MilliValue() || u.mem > quantity.MustParse(alloc["memory"]).Value() ||
			u.pods > quantity.MustParse(alloc["pods"]).Value() {
			t.Errorf("node %s over its allocatable %v: cpu %dm, memory %d, %d pods", name, alloc, u.cpu, u.mem, u.pods)
		}
	}
	t.Logf("500 pods on %d nodes", len(used))

	// A pod that fits nowhere.
	framework.CreatePods(t, admin, 1, framework.MakePod("huge", "64", "1Gi"))
	want := "0/50 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 40 Insufficient cpu, 9 node(s) had untolerated taint {dedicated: gpu}."
	waitUnschedulable(t, admin, "huge", want)
	framework.CreateNodes(t, admin, framework.MakeNode(framework.NodeSpec{Name: "big-50", CPU: "128", Memory: "256Gi"}))
	waitBoundTo(t, admin, "huge", "big-50")
}

// TestTwoSchedulersBindEachPodOnce runs two schedulers at once, leader
// election off on purpose: they race for every pod and the apiserver's
// Bind lets exactly one win. No pod is bound twice, none is lost.
func TestTwoSchedulersBindEachPodOnce(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	var nodes []*v1.Node
	for i := range 20 {
		nodes = append(nodes, framework.MakeNode(framework.NodeSpec{Name: fmt.Sprintf("node-%02d", i), CPU: "32", Memory: "64Gi"}))
	}
	framework.CreateNodes(t, admin, nodes...)
	binds := framework.WatchBinds(t, admin)
	a := cp.StartScheduler(t)
	b := cp.StartScheduler(t)
	var pods []*v1.Pod
	for i := range 600 {
		pods = append(pods, framework.MakePod(fmt.Sprintf("p-%03d", i), "100m", "64Mi"))
	}
	framework.CreatePods(t, admin, 16, pods...)
	binds.WaitBoundOnce(t, 2*time.Minute, podKeys(pods))

	scheduled := map[string]string{"result": "scheduled"}
	na := framework.CounterValue(t, a.Registry, "scheduler_schedule_attempts_total", scheduled)
	nb := framework.CounterValue(t, b.Registry, "scheduler_schedule_attempts_total", scheduled)
	t.Logf("scheduler A bound %v pods, B %v", na, nb)
	if na+nb != 600 {
		t.Fatalf("the schedulers report %v + %v successful binds, want 600", na, nb)
	}
}

// TestSchedulerKilledMidBurst stops a scheduler while pods are being
// created and bound, starts a new one: every pod ends bound exactly once.
func TestSchedulerKilledMidBurst(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	var nodes []*v1.Node
	for i := range 20 {
		nodes = append(nodes, framework.MakeNode(framework.NodeSpec{Name: fmt.Sprintf("node-%02d", i), CPU: "64", Memory: "128Gi"}))
	}
	framework.CreateNodes(t, admin, nodes...)
	binds := framework.WatchBinds(t, admin)
	first := cp.StartScheduler(t)

	var pods []*v1.Pod
	for i := range 1000 {
		pods = append(pods, framework.MakePod(fmt.Sprintf("p-%04d", i), "50m", "32Mi"))
	}
	var wg sync.WaitGroup
	wg.Go(func() { framework.CreatePods(t, admin, 8, pods...) })
	framework.Eventually(t, time.Minute, "some pods bound", func() error {
		if n := len(binds.Binds()); n < 150 {
			return fmt.Errorf("%d bound", n)
		}
		return nil
	})
	if err := first.Stop(); err != nil {
		t.Fatalf("first scheduler: %v", err)
	}
	boundByFirst := len(binds.Binds())
	wg.Wait()
	if boundByFirst >= len(pods) {
		t.Fatalf("the first scheduler bound every pod before it was stopped; the test proves nothing")
	}
	t.Logf("%d pods bound when the first scheduler stopped", boundByFirst)
	cp.StartScheduler(t)
	binds.WaitBoundOnce(t, 2*time.Minute, podKeys(pods))
}

var scheduledRe = regexp.MustCompile(`(?m)^scheduler_schedule_attempts_total\{profile="default-scheduler",result="scheduled"\} (\d+)`)

// scheduledCount reads scheduler_schedule_attempts_total{result=scheduled}
// from a scheduler binary's /metrics (0 when absent).
func scheduledCount(t *testing.T, p *framework.SchedulerProcess) int {
	t.Helper()
	body, err := framework.SchedulerEndpoint(p.MetricsAddr, "/metrics")
	if err != nil {
		t.Fatalf("scheduler metrics: %v", err)
	}
	m := scheduledRe.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestSchedulerLeaderElection runs two scheduler binaries with
// --leader-elect: the second waits while the first leads, and takes over
// once the first is killed (without releasing the lease).
func TestSchedulerLeaderElection(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	ctx := framework.Context(t)
	framework.CreateNodes(t, admin,
		framework.MakeNode(framework.NodeSpec{Name: "node-1", CPU: "16", Memory: "32Gi"}),
		framework.MakeNode(framework.NodeSpec{Name: "node-2", CPU: "16", Memory: "32Gi"}))
	args := []string{"--leader-elect", "--leader-elect-lease-duration", "6s", "--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period", "1s"}

	holder := func() string {
		l, err := admin.Leases().Get(ctx, scheduler.DefaultLeaseNamespace, scheduler.DefaultLeaseName)
		if err != nil {
			return ""
		}
		return l.GetSpec().GetHolderIdentity()
	}
	first := cp.StartSchedulerBinary(t, args...)
	var firstID string
	framework.Eventually(t, time.Minute, "the first scheduler holds the lease", func() error {
		if firstID = holder(); firstID == "" {
			return fmt.Errorf("no holder")
		}
		return nil
	})
	second := cp.StartSchedulerBinary(t, args...)

	batch := func(prefix string) []string {
		var pods []*v1.Pod
		for i := range 20 {
			pods = append(pods, framework.MakePod(fmt.Sprintf("%s-%02d", prefix, i), "100m", "64Mi"))
		}
		framework.CreatePods(t, admin, 4, pods...)
		return podKeys(pods)
	}
	binds := framework.WatchBinds(t, admin)
	early := batch("early")
	binds.WaitBoundOnce(t, time.Minute, early)
	if got := holder(); got != firstID {
		t.Fatalf("lease holder changed to %q while the first scheduler ran", got)
	}
	if n := scheduledCount(t, second); n != 0 {
		t.Fatalf("the standby scheduler bound %d pods", n)
	}
	if n := scheduledCount(t, first); n != 20 {
		t.Fatalf("the leader bound %d pods, want 20", n)
	}

	killed := time.Now()
	first.Kill()
	var secondID string
	framework.Eventually(t, time.Minute, "the second scheduler takes the lease", func() error {
		if secondID = holder(); secondID == firstID || secondID == "" {
			return fmt.Errorf("holder %q", secondID)
		}
		return nil
	})
	took := time.Since(killed)
	t.Logf("takeover after %v", took.Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("takeover took %v, want within 15 s", took)
	}
	late := batch("late")
	binds.WaitBoundOnce(t, time.Minute, append(early, late...))
	if n := scheduledCount(t, second); n != 20 {
		t.Fatalf("the new leader bound %d pods, want 20", n)
	}
}
