package integration

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/kubelet/runtime/hollow"
	"minik8s/test/integration/framework"
)

// controllerCluster is a control plane with the scheduler, three hollow
// kubelets and the controller-manager binary.
type controllerCluster struct {
	cp       *framework.ControlPlane
	admin    *client.Clientset
	cm       *framework.ControllerManager
	kubelets map[string]*framework.Kubelet
}

var clusterNodes = []string{"node-1", "node-2", "node-3"}

func startControllerCluster(t *testing.T, cmArgs ...string) *controllerCluster {
	t.Helper()
	cp := framework.StartControlPlane(t)
	c := &controllerCluster{cp: cp, admin: cp.Admin(t), kubelets: map[string]*framework.Kubelet{}}
	cp.StartScheduler(t)
	c.cm = cp.StartControllerManager(t, cmArgs...)
	for _, n := range clusterNodes {
		c.startKubelet(t, n, nil)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dump(t)
		}
	})
	ctx := framework.Context(t)
	framework.Eventually(t, time.Minute, "nodes ready with pod CIDRs", func() error {
		nodes, _, err := c.admin.Nodes().List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		cidrs := map[string]bool{}
		for _, n := range nodes {
			if !nodeReady(n) {
				return fmt.Errorf("node %s not ready", n.GetMetadata().GetName())
			}
			p, err := netip.ParsePrefix(n.GetSpec().GetPodCidr())
			if err != nil || p.Bits() != 24 || !netip.MustParsePrefix("10.2.0.0/16").Contains(p.Addr()) {
				return fmt.Errorf("node %s podCIDR %q, want a /24 of 10.2.0.0/16", n.GetMetadata().GetName(), n.GetSpec().GetPodCidr())
			}
			cidrs[p.String()] = true
		}
		if len(nodes) != len(clusterNodes) || len(cidrs) != len(clusterNodes) {
			return fmt.Errorf("%d nodes with %d distinct pod CIDRs", len(nodes), len(cidrs))
		}
		return nil
	})
	return c
}

// dump logs the cluster's workload objects, for a failed test.
func (c *controllerCluster) dump(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	if ds, _, err := c.admin.Deployments().List(ctx, client.ListOptions{}); err == nil {
		for _, d := range ds {
			fmt.Fprintf(&b, "deployment %s gen=%d spec.replicas=%d status=%v annotations=%v\n", d.GetMetadata().GetName(), d.GetMetadata().GetGeneration(),
				d.GetSpec().GetReplicas(), d.GetStatus(), d.GetMetadata().GetAnnotations())
		}
	}
	if rss, _, err := c.admin.ReplicaSets().List(ctx, client.ListOptions{}); err == nil {
		for _, rs := range rss {
			fmt.Fprintf(&b, "replicaset %s spec.replicas=%d status=%v\n", rs.GetMetadata().GetName(), rs.GetSpec().GetReplicas(), rs.GetStatus())
		}
	}
	if pods, _, err := c.admin.Pods().List(ctx, client.ListOptions{}); err == nil {
		for _, p := range pods {
			fmt.Fprintf(&b, "pod %s node=%s deleting=%v ready=%v %s\n", p.GetMetadata().GetName(), p.GetSpec().GetNodeName(),
				p.GetMetadata().GetDeletionTimestamp() != nil, framework.PodReady(p), framework.DescribeStatus(p))
		}
	}
	if nodes, _, err := c.admin.Nodes().List(ctx, client.ListOptions{}); err == nil {
		for _, n := range nodes {
			fmt.Fprintf(&b, "node %s ready=%v taints=%v\n", n.GetMetadata().GetName(), nodeReady(n), n.GetSpec().GetTaints())
		}
	}
	if evs, _, err := c.admin.Events().List(ctx, client.ListOptions{}); err == nil {
		for _, ev := range evs {
			fmt.Fprintf(&b, "event %s %s/%s %s %s x%d\n", ev.GetType(), ev.GetInvolvedObject().GetKind(), ev.GetInvolvedObject().GetName(), ev.GetReason(), ev.GetMessage(), ev.GetCount())
		}
	}
	t.Logf("cluster state:\n%s", b.String())
}

// startKubelet starts a hollow kubelet for node, on rt when given (a
// restarted node keeps its containers).
func (c *controllerCluster) startKubelet(t *testing.T, node string, rt *hollow.Hollow) {
	t.Helper()
	if rt == nil {
		var err error
		rt, err = hollow.New(hollow.Config{NodeName: node, AnyImage: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	c.kubelets[node] = c.cp.StartKubelet(t, framework.KubeletOptions{NodeName: node, Runtime: rt})
}

func nodeReady(n *v1.Node) bool {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

// deploymentManifest is a Deployment of image in YAML, as a user writes
// it; extraSpec goes into the Deployment's spec, podExtra into the pod's.
func deploymentManifest(name string, replicas int, image, extraSpec, podExtra, cause string) string {
	annotations := ""
	if cause != "" {
		annotations = fmt.Sprintf("  annotations:\n    kubernetes.io/change-cause: %q\n", cause)
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
%[5]sspec:
  replicas: %[2]d
  selector:
    matchLabels:
      app: %[1]s
%[4]s  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
      - name: web
        image: %[3]s
        args: ["serve"]
        resources:
          requests:
            cpu: 100m
            memory: 64Mi
%[6]s`, name, replicas, image, extraSpec, annotations, podExtra)
}

func (c *controllerCluster) apply(t *testing.T, manifest string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	return c.cp.MustMinictl(t, "", "apply", "-f", path)
}

// rolloutStatus runs `minictl rollout status` and checks it succeeds.
func (c *controllerCluster) rolloutStatus(t *testing.T, name string) string {
	t.Helper()
	out := c.cp.MustMinictl(t, "", "rollout", "status", "deployment/"+name, "--timeout", "2m")
	if !strings.HasSuffix(out, fmt.Sprintf("deployment %q successfully rolled out\n", name)) {
		t.Fatalf("rollout status printed:\n%s", out)
	}
	return out
}

// rolloutWatch follows the pods and ReplicaSets of one app through
// informers and records the extremes: the fewest available pods, the most
// pods counting as replicas, the largest sum of ReplicaSet replicas.
type rolloutWatch struct {
	mu           sync.Mutex
	pods         map[string]*v1.Pod
	rss          map[string]*v1.ReplicaSet
	minAvailable int
	maxActive    int
	maxSpec      int32
	stop         func()
}

func watchRollout(t *testing.T, c *client.Clientset, app string) *rolloutWatch {
	t.Helper()
	w := &rolloutWatch{pods: map[string]*v1.Pod{}, rss: map[string]*v1.ReplicaSet{}, minAvailable: 1 << 30}
	sel := "app=" + app
	pods := informer.New(informer.NewListWatch(c.Pods(), client.ListOptions{Namespace: "default", LabelSelector: sel}), 0)
	rss := informer.New(informer.NewListWatch(c.ReplicaSets(), client.ListOptions{Namespace: "default", LabelSelector: sel}), 0)
	pods.AddEventHandler(informer.HandlerFuncs[*v1.Pod]{
		AddFunc:    func(p *v1.Pod) { w.setPod(p, false) },
		UpdateFunc: func(_, p *v1.Pod) { w.setPod(p, false) },
		DeleteFunc: func(obj any) {
			if p, ok := informer.DeletedObject[*v1.Pod](obj); ok {
				w.setPod(p, true)
			}
		},
	})
	rss.AddEventHandler(informer.HandlerFuncs[*v1.ReplicaSet]{
		AddFunc:    func(rs *v1.ReplicaSet) { w.setRS(rs, false) },
		UpdateFunc: func(_, rs *v1.ReplicaSet) { w.setRS(rs, false) },
		DeleteFunc: func(obj any) {
			if rs, ok := informer.DeletedObject[*v1.ReplicaSet](obj); ok {
				w.setRS(rs, true)
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = pods.Run(ctx) })
	wg.Go(func() { _ = rss.Run(ctx) })
	w.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(w.stop)
	if !informer.WaitForCacheSync(framework.Context(t), pods, rss) {
		t.Fatal("rollout watch caches did not sync")
	}
	w.reset() // the initial list arrived one object at a time
	return w
}

func (w *rolloutWatch) setPod(p *v1.Pod, deleted bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		delete(w.pods, p.GetMetadata().GetName())
	} else {
		w.pods[p.GetMetadata().GetName()] = p
	}
	active, available := 0, 0
	for _, q := range w.pods {
		phase := q.GetStatus().GetPhase()
		if q.GetMetadata().GetDeletionTimestamp() != nil || phase == "Succeeded" || phase == "Failed" {
			continue
		}
		active++
		if framework.PodReady(q) {
			available++
		}
	}
	w.maxActive = max(w.maxActive, active)
	w.minAvailable = min(w.minAvailable, available)
}

func (w *rolloutWatch) setRS(rs *v1.ReplicaSet, deleted bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		delete(w.rss, rs.GetMetadata().GetName())
	} else {
		w.rss[rs.GetMetadata().GetName()] = rs
	}
	var sum int32
	for _, r := range w.rss {
		sum += r.GetSpec().GetReplicas()
	}
	w.maxSpec = max(w.maxSpec, sum)
}

// reset starts a new measurement from the current state.
func (w *rolloutWatch) reset() {
	w.mu.Lock()
	w.minAvailable, w.maxActive, w.maxSpec = 1<<30, 0, 0
	w.mu.Unlock()
	w.setPod(&v1.Pod{Metadata: &v1.ObjectMeta{Name: "\x00none"}}, true)
	w.setRS(&v1.ReplicaSet{Metadata: &v1.ObjectMeta{Name: "\x00none"}}, true)
}

func (w *rolloutWatch) extremes() (minAvailable, maxActive int, maxSpec int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.minAvailable, w.maxActive, w.maxSpec
}

func podImages(t *testing.T, c *client.Clientset, app string) map[string]int {
	t.Helper()
	pods, err := framework.ActivePods(framework.Context(t), c, "default", "app="+app)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range pods {
		out[p.GetSpec().GetContainers()[0].GetImage()]++
	}
	return out
}

// waitPods waits until the app has n active pods, all running and ready.
func waitPods(t *testing.T, c *client.Clientset, app string, n int) []*v1.Pod {
	t.Helper()
	var pods []*v1.Pod
	framework.Eventually(t, 2*time.Minute, fmt.Sprintf("%d ready pods of %s", n, app), func() error {
		var err error
		pods, err = framework.ActivePods(framework.Context(t), c, "default", "app="+app)
		if err != nil {
			return err
		}
		if len(pods) != n {
			return fmt.Errorf("%d active pods", len(pods))
		}
		for _, p := range pods {
			if err := framework.PodRunning(p); err != nil {
				return fmt.Errorf("pod %s: %w", p.GetMetadata().GetName(), err)
			}
			if !framework.PodReady(p) {
				return fmt.Errorf("pod %s not ready", p.GetMetadata().GetName())
			}
		}
		return nil
	})
	return pods
}

func TestControllerDeploymentRolloutUndoAndScale(t *testing.T) {
	c := startControllerCluster(t)
	ctx := framework.Context(t)
	c.apply(t, deploymentManifest("web", 5, "example.com/web:1", "", "", "first"))
	c.rolloutStatus(t, "web")
	pods := waitPods(t, c.admin, "web", 5)
	perNode := map[string]int{}
	for _, p := range pods {
		perNode[p.GetSpec().GetNodeName()]++
	}
	if len(perNode) != 3 {
		t.Fatalf("5 pods on %v, want all 3 nodes used", perNode)
	}

	out := c.cp.MustMinictl(t, "", "get", "deployments")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME READY UP-TO-DATE AVAILABLE AGE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "web 5/5 5 5 ") {
		t.Fatalf("get deployments:\n%s", out)
	}
	out = c.cp.MustMinictl(t, "", "get", "rs")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME DESIRED CURRENT READY AGE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "web-") || !strings.Contains(lines[1], " 5 ") {
		t.Fatalf("get rs:\n%s", out)
	}

	// A new image rolls out with never fewer than 4 pods available
	// (maxUnavailable 25% of 5, rounded down) and never more than 7 wanted
	// (maxSurge 25% of 5, rounded up).
	w := watchRollout(t, c.admin, "web")
	c.apply(t, deploymentManifest("web", 5, "example.com/web:2", "", "", "second"))
	status := c.rolloutStatus(t, "web")
	waitPods(t, c.admin, "web", 5)
	if got := podImages(t, c.admin, "web"); got["example.com/web:2"] != 5 {
		t.Fatalf("images after the rollout: %v", got)
	}
	minAvail, maxActive, maxSpec := w.extremes()
	t.Logf("rollout to web:2: fewest available %d, most active pods %d, most wanted %d", minAvail, maxActive, maxSpec)
	if minAvail < 4 || maxActive > 7 || maxSpec > 7 {
		t.Fatalf("rollout bounds broken: fewest available %d (want >= 4), most pods %d and most wanted %d (want <= 7)", minAvail, maxActive, maxSpec)
	}
	if !strings.Contains(status, "Waiting for deployment \"web\" rollout to finish") && !strings.HasPrefix(status, "deployment") {
		t.Fatalf("rollout status:\n%s", status)
	}

	hist := c.cp.MustMinictl(t, "", "rollout", "history", "deployment/web")
	if want := "deployment.apps/web\nREVISION  CHANGE-CAUSE\n1         first\n2         second\n\n"; hist != want {
		t.Fatalf("rollout history:\n%q\nwant\n%q", hist, want)
	}

	// Undo: back to the first template, as revision 3.
	w.reset()
	if out := c.cp.MustMinictl(t, "", "rollout", "undo", "deployment/web"); out != "deployment.apps/web rolled back\n" {
		t.Fatalf("undo printed %q", out)
	}
	c.rolloutStatus(t, "web")
	waitPods(t, c.admin, "web", 5)
	if got := podImages(t, c.admin, "web"); got["example.com/web:1"] != 5 {
		t.Fatalf("images after the undo: %v", got)
	}
	minAvail, maxActive, maxSpec = w.extremes()
	if minAvail < 4 || maxActive > 7 || maxSpec > 7 {
		t.Fatalf("undo bounds broken: fewest available %d, most pods %d, most wanted %d", minAvail, maxActive, maxSpec)
	}
	hist = c.cp.MustMinictl(t, "", "rollout", "history", "deployment/web")
	if want := "deployment.apps/web\nREVISION  CHANGE-CAUSE\n2         second\n3         first\n\n"; hist != want {
		t.Fatalf("rollout history after undo:\n%q\nwant\n%q", hist, want)
	}
	rss, _, err := c.admin.ReplicaSets().List(ctx, client.ListOptions{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rss) != 2 {
		t.Fatalf("%d replicasets after the undo, want the 2 templates", len(rss))
	}

	if out := c.cp.MustMinictl(t, "", "scale", "deployment", "web", "--replicas", "2"); out != "deployment.apps/web scaled\n" {
		t.Fatalf("scale printed %q", out)
	}
	framework.WaitDeploymentDone(t, c.admin, time.Minute, "default", "web")
	waitPods(t, c.admin, "web", 2)

	adds, err := c.cm.MetricValue(`workqueue_adds_total{name="deployment"}`)
	if err != nil || adds == 0 {
		t.Fatalf("workqueue_adds_total of the deployment queue: %v, %v", adds, err)
	}
}

func TestControllerNodeFailureEvictsAndReschedules(t *testing.T) {
	c := startControllerCluster(t, "--node-monitor-grace-period", "4s")
	ctx := framework.Context(t)
	// Without a toleration of its own a pod gets 300 s from the apiserver's
	// DefaultTolerationSeconds admission; these tolerate an unreachable
	// node for 2 s.
	tolerate := "      tolerations:\n      - key: node.kubernetes.io/unreachable\n        operator: Exists\n        effect: NoExecute\n        tolerationSeconds: 2\n"
	c.apply(t, deploymentManifest("web", 5, "example.com/web:1", "", tolerate, ""))
	c.rolloutStatus(t, "web")
	pods := waitPods(t, c.admin, "web", 5)
	victim := pods[0].GetSpec().GetNodeName()
	var onVictim []string
	for _, p := range pods {
		if p.GetSpec().GetNodeName() == victim {
			onVictim = append(onVictim, p.GetMetadata().GetName())
		}
	}
	t.Logf("stopping the kubelet of %s, which runs %v", victim, onVictim)
	k := c.kubelets[victim]
	k.Stop()
	stopped := time.Now()

	framework.Eventually(t, time.Minute, victim+" Unknown and tainted", func() error {
		n, err := c.admin.Nodes().Get(ctx, "", victim)
		if err != nil {
			return err
		}
		var ready *v1.Condition
		for _, cond := range n.GetStatus().GetConditions() {
			if cond.GetType() == "Ready" {
				ready = cond
			}
		}
		if ready.GetStatus() != "Unknown" || ready.GetReason() != "NodeStatusUnknown" || ready.GetMessage() != "Kubelet stopped posting node status." {
			return fmt.Errorf("Ready %v", ready)
		}
		for _, taint := range n.GetSpec().GetTaints() {
			if taint.GetKey() == "node.kubernetes.io/unreachable" && taint.GetEffect() == "NoExecute" {
				return nil
			}
		}
		return fmt.Errorf("taints %v", n.GetSpec().GetTaints())
	})
	t.Logf("%s marked Unknown and tainted %s after its kubelet stopped", victim, time.Since(stopped).Round(100*time.Millisecond))

	framework.Eventually(t, 2*time.Minute, "pods replaced on the other nodes", func() error {
		active, err := framework.ActivePods(ctx, c.admin, "default", "app=web")
		if err != nil {
			return err
		}
		if len(active) != 5 {
			return fmt.Errorf("%d active pods", len(active))
		}
		for _, p := range active {
			if p.GetSpec().GetNodeName() == victim || slices.Contains(onVictim, p.GetMetadata().GetName()) {
				return fmt.Errorf("pod %s still on %s", p.GetMetadata().GetName(), victim)
			}
			if !framework.PodReady(p) {
				return fmt.Errorf("pod %s not ready", p.GetMetadata().GetName())
			}
		}
		return nil
	})
	t.Logf("5 pods ready on the other nodes %s after the kubelet stopped", time.Since(stopped).Round(100*time.Millisecond))
	for _, name := range onVictim {
		p, err := c.admin.Pods().Get(ctx, "default", name)
		if err == nil && p.GetMetadata().GetDeletionTimestamp() == nil {
			t.Fatalf("pod %s on the dead node not deleted", name)
		}
	}
	if v, err := c.cm.MetricValue(`node_collector_evictions_total{zone=""}`); err != nil || v != 1 {
		t.Fatalf("node_collector_evictions_total = %v, %v; want 1", v, err)
	}

	// The node comes back: Ready, untainted, its old pods finished, and
	// pods are scheduled to it again.
	c.startKubelet(t, victim, k.Runtime.(*hollow.Hollow))
	framework.Eventually(t, time.Minute, victim+" ready and untainted", func() error {
		n, err := c.admin.Nodes().Get(ctx, "", victim)
		if err != nil {
			return err
		}
		if !nodeReady(n) {
			return fmt.Errorf("not ready: %v", n.GetStatus().GetConditions())
		}
		if len(n.GetSpec().GetTaints()) != 0 {
			return fmt.Errorf("taints %v", n.GetSpec().GetTaints())
		}
		return nil
	})
	framework.Eventually(t, time.Minute, "terminating pods on "+victim+" finished", func() error {
		for _, name := range onVictim {
			if _, err := c.admin.Pods().Get(ctx, "default", name); err == nil {
				return fmt.Errorf("pod %s still exists", name)
			}
		}
		return nil
	})
	c.cp.MustMinictl(t, "", "scale", "deployment/web", "--replicas", "9")
	framework.Eventually(t, time.Minute, "a pod scheduled to "+victim, func() error {
		active, err := framework.ActivePods(ctx, c.admin, "default", "app=web")
		if err != nil {
			return err
		}
		for _, p := range active {
			if p.GetSpec().GetNodeName() == victim {
				return nil
			}
		}
		return fmt.Errorf("none of %d pods on %s", len(active), victim)
	})
	framework.WaitDeploymentDone(t, c.admin, time.Minute, "default", "web")
}

func TestControllerCascadingDeletion(t *testing.T) {
	c := startControllerCluster(t)
	ctx := framework.Context(t)
	for _, app := range []string{"bg", "orphan", "fg"} {
		c.apply(t, deploymentManifest(app, 2, "example.com/web:1", "", "", ""))
	}
	for _, app := range []string{"bg", "orphan", "fg"} {
		framework.WaitDeploymentDone(t, c.admin, 2*time.Minute, "default", app)
	}
	owned := func(app string) (rss []*v1.ReplicaSet, pods []*v1.Pod) {
		t.Helper()
		rss, _, err := c.admin.ReplicaSets().List(ctx, client.ListOptions{Namespace: "default", LabelSelector: "app=" + app})
		if err != nil {
			t.Fatal(err)
		}
		pods, _, err = c.admin.Pods().List(ctx, client.ListOptions{Namespace: "default", LabelSelector: "app=" + app})
		if err != nil {
			t.Fatal(err)
		}
		return rss, pods
	}

	// Background (the default): the Deployment goes at once, its
	// ReplicaSet and pods after it.
	c.cp.MustMinictl(t, "", "delete", "deployment", "bg")
	framework.Eventually(t, time.Minute, "replicasets and pods of bg collected", func() error {
		rss, pods := owned("bg")
		if len(rss)+len(pods) != 0 {
			return fmt.Errorf("%d replicasets, %d pods left", len(rss), len(pods))
		}
		return nil
	})

	// Foreground: the dependents go first, so once the Deployment is gone
	// (minictl waits for that) nothing of it is left.
	c.cp.MustMinictl(t, "", "delete", "deployment", "fg", "--cascade=foreground")
	if rss, pods := owned("fg"); len(rss)+len(pods) != 0 {
		t.Fatalf("foreground delete returned with %d replicasets and %d pods left", len(rss), len(pods))
	}

	// Orphan: the ReplicaSet and pods stay, no longer owned.
	_, before := owned("orphan")
	c.cp.MustMinictl(t, "", "delete", "deployment", "orphan", "--cascade=orphan")
	if _, err := c.admin.Deployments().Get(ctx, "default", "orphan"); err == nil {
		t.Fatal("deployment orphan still exists after the delete returned")
	}
	rss, pods := owned("orphan")
	if len(rss) != 1 || len(rss[0].GetMetadata().GetOwnerReferences()) != 0 {
		t.Fatalf("replicasets after an orphaning delete: %v", rss)
	}
	// Give the collector time to act wrongly, then check nothing went.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		_, pods = owned("orphan")
		for _, p := range pods {
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				t.Fatalf("pod %s of an orphaned replicaset is being deleted", p.GetMetadata().GetName())
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	names := func(ps []*v1.Pod) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.GetMetadata().GetName())
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(names(pods), names(before)) {
		t.Fatalf("pods %v after the orphaning delete, want the same %v", names(pods), names(before))
	}
}

func TestControllerManagerRestartMidRollout(t *testing.T) {
	c := startControllerCluster(t)
	ctx := framework.Context(t)
	strategy := "  minReadySeconds: 1\n  strategy:\n    rollingUpdate:\n      maxSurge: 2\n      maxUnavailable: 1\n"
	c.apply(t, deploymentManifest("web", 6, "example.com/web:1", strategy, "", ""))
	c.rolloutStatus(t, "web")
	waitPods(t, c.admin, "web", 6)
	lease, err := c.admin.Leases().Get(ctx, "kube-system", "kube-controller-manager")
	if err != nil {
		t.Fatal(err)
	}
	firstLeader := lease.GetSpec().GetHolderIdentity()

	w := watchRollout(t, c.admin, "web")
	c.apply(t, deploymentManifest("web", 6, "example.com/web:2", strategy, "", ""))
	framework.Eventually(t, time.Minute, "the rollout under way", func() error {
		d, err := c.admin.Deployments().Get(ctx, "default", "web")
		if err != nil {
			return err
		}
		if u := d.GetStatus().GetUpdatedReplicas(); u == 0 || u >= 6 {
			return fmt.Errorf("%d updated replicas", u)
		}
		return nil
	})
	c.cm.Kill()
	d, err := c.admin.Deployments().Get(ctx, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	killedAt := proto.Clone(d.GetStatus()).(*v1.DeploymentStatus)
	t.Logf("killed the controller-manager at replicas %d, updated %d, available %d", killedAt.GetReplicas(), killedAt.GetUpdatedReplicas(), killedAt.GetAvailableReplicas())
	if framework.DeploymentDone(d) == nil {
		t.Fatal("the rollout finished before the controller-manager was killed")
	}
	c.cm.Start(t)
	c.rolloutStatus(t, "web")
	waitPods(t, c.admin, "web", 6)
	if got := podImages(t, c.admin, "web"); got["example.com/web:2"] != 6 {
		t.Fatalf("images after the rollout: %v", got)
	}
	minAvail, maxActive, maxSpec := w.extremes()
	t.Logf("rollout across a restart: fewest available %d, most active pods %d, most wanted %d", minAvail, maxActive, maxSpec)
	if maxSpec > 8 || maxActive > 8 || minAvail < 5 {
		t.Fatalf("bounds broken across the restart: most wanted %d, most pods %d (want <= 6+2), fewest available %d (want >= 6-1)", maxSpec, maxActive, minAvail)
	}
	lease, err = c.admin.Leases().Get(ctx, "kube-system", "kube-controller-manager")
	if err != nil {
		t.Fatal(err)
	}
	if h := lease.GetSpec().GetHolderIdentity(); h == firstLeader || h == "" {
		t.Fatalf("lease holder %q after the restart, want a new identity (was %q)", h, firstLeader)
	}
	// SIGTERM: a clean exit that gives the lease up.
	if err := c.cm.Stop(); err != nil {
		t.Fatalf("controller-manager exit after SIGTERM: %v", err)
	}
	lease, err = c.admin.Leases().Get(ctx, "kube-system", "kube-controller-manager")
	if err != nil {
		t.Fatal(err)
	}
	if h := lease.GetSpec().GetHolderIdentity(); h != "" {
		t.Fatalf("lease still held by %q after a clean shutdown", h)
	}
}
