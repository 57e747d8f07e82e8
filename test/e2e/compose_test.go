// Package e2e holds the end-to-end tests that run against the real Docker
// engine. The compose tests bring up the cluster of docker-compose.yaml with
// `make up`, use it as a user would (minictl, the examples, HTTP, Prometheus),
// break it (an etcd member down, the apiserver restarted) and remove it with
// `make down`, which must leave nothing behind.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
)

// TestCompose is the compose cluster's life, from `make up` to `make down`,
// as ordered steps on one cluster (bringing it up costs a minute). Every step
// runs even when an earlier one failed; `make down` runs in any case.
func TestCompose(t *testing.T) {
	requireDocker(t)
	root := repoRoot(t)
	lockCompose(t)
	// The cluster gets a pod network of its own: the kubelet tests of this
	// package and of pkg/kubelet use minik8s-pods (10.2.0.0/16) on the same
	// engine, and Docker 20.10 can keep a network with stale endpoints after
	// killed containers, which would block a second network on that subnet.
	// `make up` for a user keeps the defaults.
	for k, v := range map[string]string{
		"MINIK8S_POD_NETWORK":         "minik8s-e2e-pods",
		"MINIK8S_POD_NETWORK_CIDR":    "10.3.0.0/16",
		"MINIK8S_POD_NETWORK_GATEWAY": "10.3.0.1",
		"MINIK8S_NODE_IP_RANGE":       "10.3.255.0/24",
	} {
		t.Setenv(k, v)
	}
	c := &composeCluster{
		root:       root,
		minictl:    filepath.Join(root, "bin", "minictl"),
		kubeconfig: filepath.Join(root, ".minik8s", "admin.conf"),
	}
	downDone := false
	t.Cleanup(func() {
		if c.cs != nil {
			c.cs.Close()
		}
		if !downDone {
			if t.Failed() {
				c.composeLogs(t)
			}
			if out, err := runCmd(context.Background(), root, 5*time.Minute, "make", "--no-print-directory", "down"); err != nil {
				t.Errorf("make down: %v\n%s", err, tail(out, 40))
			}
		}
	})

	start := time.Now()
	c.make(t, 15*time.Minute, "up")
	t.Logf("MEASURE make up (binaries, images, compose up, both nodes Ready): %.1fs", time.Since(start).Seconds())
	// `make up` on a running cluster is harmless.
	start = time.Now()
	out := c.make(t, 10*time.Minute, "up")
	if !strings.Contains(out, "node-1") || !strings.Contains(out, "node-2") {
		t.Errorf("second make up did not list both nodes:\n%s", tail(out, 20))
	}
	t.Logf("MEASURE second make up: %.1fs", time.Since(start).Seconds())

	cs, err := client.FromKubeconfig(c.kubeconfig)
	if err != nil {
		t.Fatalf("client from %s: %v", c.kubeconfig, err)
	}
	c.cs = cs

	t.Run("Cluster", c.testCluster)
	t.Run("Examples", c.testExamples)
	t.Run("Prometheus", c.testPrometheus)
	t.Run("EtcdMemberDown", c.testEtcdMemberDown)
	t.Run("APIServerRestart", c.testAPIServerRestart)
	t.Run("DeleteAll", c.testDeleteAll)

	if t.Failed() {
		c.composeLogs(t)
	}
	downDone = true
	start = time.Now()
	c.make(t, 5*time.Minute, "down")
	t.Logf("MEASURE make down: %.1fs", time.Since(start).Seconds())
	c.checkNothingLeft(t)
}

// testCluster checks the shape of the cluster: container names, both nodes
// registered under their names, what is published, the admin.conf.
func (c *composeCluster) testCluster(t *testing.T) {
	for _, s := range composeServices {
		if got := c.docker(t, "inspect", "--format", "{{.State.Health.Status}}", s); got != "healthy" {
			t.Errorf("container %s is %s, want healthy", s, got)
		}
	}
	if got := c.docker(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "init"); got != "exited 0" {
		t.Errorf("init is %q, want exited 0", got)
	}
	out := c.run(t, "get", "nodes")
	for _, n := range composeNodes {
		if !strings.Contains(out, n) {
			t.Errorf("get nodes does not list %s:\n%s", n, out)
		}
	}
	// Published ports: loopback only; etcd not at all; the socket only on nodes.
	for _, s := range composeServices {
		ports := c.docker(t, "inspect", "--format", "{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostIp}}:{{.HostPort}} {{end}}{{end}}", s)
		for _, hp := range strings.Fields(ports) {
			if !strings.HasPrefix(hp, "127.0.0.1:") {
				t.Errorf("%s publishes %s, want 127.0.0.1 only", s, hp)
			}
		}
		if strings.HasPrefix(s, "etcd-") && ports != "" {
			t.Errorf("%s publishes %s, want nothing", s, ports)
		}
		mounts := c.docker(t, "inspect", "--format", "{{range .Mounts}}{{.Source}} {{end}}", s)
		hasSocket := strings.Contains(mounts, "/var/run/docker.sock")
		if hasSocket != strings.HasPrefix(s, "node-") {
			t.Errorf("%s mounts the Docker socket: %v", s, hasSocket)
		}
	}
	// init ran twice (two make up) and kept its one token.
	tokens := 0
	for _, line := range strings.Split(c.run(t, "token", "list"), "\n") {
		if len(line) > 24 && line[6] == '.' && line[23] == ' ' {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("token list shows %d tokens after two make up, want 1", tokens)
	}
	// The nodes joined with the bootstrap token: their bootstrap kubeconfig
	// is there and the kubelet obtained its own certificate.
	for _, n := range composeNodes {
		dir := filepath.Join(c.root, ".minik8s", "nodes", n)
		if fi, err := os.Stat(filepath.Join(dir, "bootstrap-kubelet.conf")); err != nil || fi.Size() == 0 {
			t.Errorf("%s has no bootstrap-kubelet.conf: the node did not join with the bootstrap token", n)
		}
	}
}

// testExamples creates the offline examples and mysql.yaml and checks what a
// user would: every pod Running on both nodes, HTTP answers through the
// hostPort and the pod IPs, logs, and mysql failing on its image pull.
func (c *composeCluster) testExamples(t *testing.T) {
	for _, f := range []string{"web-pod.yaml", "web-deployment.yaml", "mysql.yaml"} {
		c.run(t, "create", "-f", filepath.Join(c.root, "deploy", "examples", f))
	}
	start := time.Now()
	var web []*v1.Pod
	waitFor(t, 3*time.Minute, "web and hello pods Running on both nodes", func() (bool, string) {
		web = append(c.pods(t, "app=web"), c.pods(t, "app=hello")...)
		nodes := map[string]bool{}
		for _, p := range web {
			if !podRunning(p) {
				return false, describePods(web)
			}
			nodes[p.GetSpec().GetNodeName()] = true
		}
		return len(web) == 4 && nodes["node-1"] && nodes["node-2"], describePods(web)
	})
	t.Logf("MEASURE examples created to 4 pods Running: %.1fs", time.Since(start).Seconds())

	// The hostPort answers on the host; every pod answers on its IP.
	waitFor(t, 30*time.Second, "GET through the hostPort", func() (bool, string) {
		code, body, err := httpGet("http://127.0.0.1:30080/e2e")
		return err == nil && code == http.StatusOK && strings.HasPrefix(body, "ok "), fmt.Sprint(code, " ", body, " ", err)
	})
	for _, p := range web {
		ip := p.GetStatus().GetPodIp()
		code, body, err := httpGet("http://" + ip + ":8080/by-ip")
		if err != nil || code != http.StatusOK || !strings.HasPrefix(body, "ok ") {
			t.Errorf("GET pod %s by IP %s: %d %q %v", p.GetMetadata().GetName(), ip, code, body, err)
		}
	}
	// minictl logs prints what the container wrote.
	waitFor(t, 30*time.Second, "minictl logs web", func() (bool, string) {
		out, err := c.tryRun("logs", "web")
		return err == nil && strings.Contains(out, "serving on :8080"), out
	})
	// mysql:8.0 cannot be pulled here: ErrImagePull / ImagePullBackOff, and
	// nothing else breaks.
	waitFor(t, 3*time.Minute, "mysql in ErrImagePull or ImagePullBackOff", func() (bool, string) {
		pods := c.pods(t, "app=mysql")
		if len(pods) != 1 || len(pods[0].GetStatus().GetContainerStatuses()) != 1 {
			return false, describePods(pods)
		}
		reason := pods[0].GetStatus().GetContainerStatuses()[0].GetState().GetWaiting().GetReason()
		return reason == "ErrImagePull" || reason == "ImagePullBackOff", describePods(pods)
	})
	out := c.run(t, "get", "pods", "-l", "app=mysql")
	if !strings.Contains(out, "ErrImagePull") && !strings.Contains(out, "ImagePullBackOff") {
		t.Errorf("get pods does not show the pull error:\n%s", out)
	}
	for _, p := range append(c.pods(t, "app=web"), c.pods(t, "app=hello")...) {
		if !podRunning(p) {
			t.Errorf("pod %s is no longer running: %s", p.GetMetadata().GetName(), describePods([]*v1.Pod{p}))
		}
	}
}

// metricSum reads a component's /metrics directly and sums the samples of
// name whose labels contain every one of labels (`verb="create"`).
func metricSum(t *testing.T, url, name string, labels ...string) float64 {
	t.Helper()
	code, body, err := httpGet(url)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, code, err)
	}
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// newPod is a pod of the test application.
func newPod(name string, labels map[string]string, args ...string) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: &v1.PodSpec{Containers: []*v1.Container{{
			Name: "app", Image: "minik8s/testapp:v1", ImagePullPolicy: "IfNotPresent", Args: args,
		}}},
	}
}

// testPrometheus scrapes the cluster with Debian's Prometheus and
// deploy/prometheus/prometheus-host.yml: every target up, and the counters
// move by exactly what the test does.
func (c *composeCluster) testPrometheus(t *testing.T) {
	p := startPrometheus(t, c.root)
	wantTargets := []string{"apiserver/127.0.0.1:6080", "scheduler/127.0.0.1:10259", "controller-manager/127.0.0.1:10257",
		"kubelet/127.0.0.1:10248", "kubelet/127.0.0.1:10249"}
	waitFor(t, time.Minute, "every Prometheus target up", func() (bool, string) {
		targets, err := p.targets()
		if err != nil {
			return false, err.Error()
		}
		for _, w := range wantTargets {
			if targets[w] != "up" {
				return false, fmt.Sprint(targets)
			}
		}
		return len(targets) == len(wantTargets), fmt.Sprint(targets)
	})

	const apiMetrics, schedMetrics = "http://127.0.0.1:6080/metrics", "http://127.0.0.1:10259/metrics"
	// Binds are creates of the pods/binding subresource: count pods alone.
	createsBefore := metricSum(t, apiMetrics, "apiserver_request_total", `verb="create"`, `resource="pods"`, `subresource=""`)
	scheduledBefore := metricSum(t, schedMetrics, "scheduler_schedule_attempts_total", `result="scheduled"`)

	const n = 4
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range n {
		if _, err := c.cs.Pods().Create(ctx, newPod(fmt.Sprintf("prom-%d", i), map[string]string{"e2e": "prom"}, "sleep")); err != nil {
			t.Fatalf("create pod: %v", err)
		}
	}
	waitFor(t, 2*time.Minute, "the new pods Running", func() (bool, string) {
		pods := c.pods(t, "e2e=prom")
		running := 0
		for _, p := range pods {
			if podRunning(p) {
				running++
			}
		}
		return running == n, describePods(pods)
	})

	// Every pod bound to a node has a running sandbox there.
	wantRunning := map[string]float64{}
	for _, pod := range c.pods(t, "") {
		if node := pod.GetSpec().GetNodeName(); node != "" && pod.GetMetadata().GetDeletionTimestamp() == nil {
			wantRunning[node]++
		}
	}
	checks := []struct {
		query string
		want  float64
	}{
		{`sum(apiserver_request_total{verb="create",resource="pods",subresource=""})`, createsBefore + n},
		{`sum(scheduler_schedule_attempts_total{result="scheduled"})`, scheduledBefore + n},
		{`sum(kubelet_running_pods{node="node-1"})`, wantRunning["node-1"]},
		{`sum(kubelet_running_pods{node="node-2"})`, wantRunning["node-2"]},
		{`count(up == 1)`, float64(len(wantTargets))},
	}
	for _, ck := range checks {
		eventually(t, 45*time.Second, "prometheus: "+ck.query, func() (bool, string) {
			got, err := p.query(ck.query)
			if err != nil {
				return false, err.Error()
			}
			return got == ck.want, fmt.Sprintf("got %v, want %v", got, ck.want)
		})
	}
}

// testEtcdMemberDown stops etcd-2 while 200 pods are created: every create
// that succeeded is in the cluster afterwards, the cluster keeps serving, and
// etcd-2 rejoins and catches up once started again.
func (c *composeCluster) testEtcdMemberDown(t *testing.T) {
	const total, workers, stopAfter = 200, 8, 40
	var (
		created   [total]atomic.Bool
		failures  [total]atomic.Value
		done      atomic.Int64
		afterStop atomic.Int64 // creates attempted after etcd-2 stopped
		afterOK   atomic.Int64
		stopped   atomic.Bool
		wg        sync.WaitGroup
	)
	work := make(chan int)
	stopErr := make(chan error, 1)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				wasStopped := stopped.Load()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				pod := newPod(fmt.Sprintf("etcd-%03d", i), map[string]string{"e2e": "etcd"}, "sleep")
				// No node matches: the pods stay Pending and cost no containers.
				pod.Spec.NodeSelector = map[string]string{"minik8s.io/e2e": "nowhere"}
				_, err := c.cs.Pods().Create(ctx, pod)
				cancel()
				if err == nil {
					created[i].Store(true)
				} else {
					failures[i].Store(err.Error())
				}
				if wasStopped {
					afterStop.Add(1)
					if err == nil {
						afterOK.Add(1)
					}
				}
				if done.Add(1) == stopAfter {
					go func() {
						_, err := runCmd(context.Background(), c.root, time.Minute, "docker", "stop", "-t", "5", "etcd-2")
						stopped.Store(true)
						stopErr <- err
					}()
				}
			}
		}()
	}
	// 20 creates a second, so that most of them happen with etcd-2 gone.
	tick := time.NewTicker(50 * time.Millisecond)
	for i := range total {
		<-tick.C
		work <- i
	}
	tick.Stop()
	close(work)
	wg.Wait()
	if err := <-stopErr; err != nil {
		t.Fatalf("stop etcd-2: %v", err)
	}
	elapsed := time.Since(start)

	var ok []string
	var failed []string
	for i := range total {
		name := fmt.Sprintf("etcd-%03d", i)
		if created[i].Load() {
			ok = append(ok, name)
		} else if f := failures[i].Load(); f != nil {
			failed = append(failed, name+": "+f.(string))
		}
	}
	t.Logf("MEASURE etcd-2 stopped after %d of %d creates: %d succeeded, %d failed, %d of %d after the stop succeeded, %.1fs (%.0f creates/s)",
		stopAfter, total, len(ok), len(failed), afterOK.Load(), afterStop.Load(), elapsed.Seconds(), float64(total)/elapsed.Seconds())
	if len(failed) > 0 {
		t.Logf("failed creates (their outcome is unknown, not lost): %s", strings.Join(failed[:min(5, len(failed))], "; "))
	}
	// When etcd-2 is the leader, the creates in flight while the others
	// elect a new one time out (etcd: "request timed out, possibly due to
	// previous leader failure"), as they would under the kube-apiserver.
	// The cluster keeps serving: most creates after the stop succeed, and
	// once the burst is over every create does, etcd-2 still down.
	if afterStop.Load() == 0 || float64(afterOK.Load()) < 0.8*float64(afterStop.Load()) {
		t.Errorf("the cluster did not keep serving: %d of %d creates after the stop succeeded", afterOK.Load(), afterStop.Load())
	}
	for i := range 20 {
		name := fmt.Sprintf("etcd-after-%02d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		pod := newPod(name, map[string]string{"e2e": "etcd"}, "sleep")
		pod.Spec.NodeSelector = map[string]string{"minik8s.io/e2e": "nowhere"}
		_, err := c.cs.Pods().Create(ctx, pod)
		cancel()
		if err != nil {
			t.Errorf("create %s after the burst, etcd-2 down: %v", name, err)
			continue
		}
		ok = append(ok, name)
	}
	// Every acknowledged create is there, read back with etcd-2 still down.
	present := map[string]bool{}
	for _, p := range c.pods(t, "e2e=etcd") {
		present[p.GetMetadata().GetName()] = true
	}
	for _, name := range ok {
		if !present[name] {
			t.Errorf("pod %s was created (the create succeeded) but is not in the cluster", name)
		}
	}
	if c.docker(t, "inspect", "--format", "{{.State.Running}}", "etcd-2") != "false" {
		t.Errorf("etcd-2 is running, want it stopped during the check")
	}

	// etcd-2 rejoins: healthy again and caught up with etcd-1's revision.
	revision := func(member string) (float64, string) {
		out, err := runCmd(context.Background(), c.root, 30*time.Second, "docker", "exec", member, "/probe", "get", "http://127.0.0.1:2381/metrics")
		if err != nil {
			return -1, out
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "etcd_debugging_mvcc_current_revision ") {
				v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
				return v, line
			}
		}
		return -1, "no etcd_debugging_mvcc_current_revision"
	}
	target, state := revision("etcd-1")
	if target <= 0 {
		t.Fatalf("revision of etcd-1: %s", state)
	}
	start = time.Now()
	c.docker(t, "start", "etcd-2")
	waitFor(t, 2*time.Minute, "etcd-2 healthy and caught up", func() (bool, string) {
		if h := c.docker(t, "inspect", "--format", "{{.State.Health.Status}}", "etcd-2"); h != "healthy" {
			return false, "etcd-2 is " + h
		}
		rev, state := revision("etcd-2")
		return rev >= target, fmt.Sprintf("etcd-2 at %v, etcd-1 was at %v (%s)", rev, target, state)
	})
	t.Logf("MEASURE etcd-2 started to healthy and caught up: %.1fs", time.Since(start).Seconds())

	// Clean up the pods (they have no containers, so this is quick).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, p := range c.pods(t, "e2e=etcd") {
		if _, _, err := c.cs.Pods().Delete(ctx, "default", p.GetMetadata().GetName(), client.DeleteOptions{}); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("delete pod %s: %v", p.GetMetadata().GetName(), err)
		}
	}
	waitFor(t, time.Minute, "the etcd pods gone", func() (bool, string) {
		left := c.pods(t, "e2e=etcd")
		return len(left) == 0, fmt.Sprintf("%d left", len(left))
	})
}

// testAPIServerRestart restarts the apiserver container: the kubelets and
// the scheduler reconnect, and no running pod restarts.
func (c *composeCluster) testAPIServerRestart(t *testing.T) {
	type podState struct {
		containerIDs []string
		restarts     int32
	}
	before := map[string]podState{}
	for _, p := range c.pods(t, "") {
		if !podRunning(p) {
			continue
		}
		var st podState
		for _, cs := range p.GetStatus().GetContainerStatuses() {
			st.containerIDs = append(st.containerIDs, cs.GetContainerId())
			st.restarts += cs.GetRestartCount()
		}
		before[p.GetMetadata().GetUid()] = st
	}
	if len(before) == 0 {
		t.Fatal("no running pod to watch over the restart")
	}
	var dockerBefore []string
	for _, n := range composeNodes {
		dockerBefore = append(dockerBefore, c.nodeContainers(t, n, false)...)
	}

	start := time.Now()
	c.docker(t, "restart", "-t", "10", "apiserver")
	waitFor(t, 2*time.Minute, "apiserver healthy", func() (bool, string) {
		h := c.docker(t, "inspect", "--format", "{{.State.Health.Status}}", "apiserver")
		return h == "healthy", h
	})
	restarted := time.Now()
	t.Logf("MEASURE apiserver restart to healthy: %.1fs", restarted.Sub(start).Seconds())

	// The kubelets reconnect: each renews its Lease after the restart.
	waitFor(t, time.Minute, "both node Leases renewed after the restart", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, n := range composeNodes {
			l, err := c.cs.Leases().Get(ctx, "kube-node-lease", n)
			if err != nil {
				return false, err.Error()
			}
			if l.GetSpec().GetRenewTime().AsTime().Before(restarted) {
				return false, fmt.Sprintf("lease of %s renewed at %s", n, l.GetSpec().GetRenewTime().AsTime())
			}
		}
		return true, ""
	})
	t.Logf("MEASURE apiserver healthy to both Leases renewed: %.1fs", time.Since(restarted).Seconds())
	// The scheduler and the kubelets watch again: a new pod is bound and runs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.cs.Pods().Create(ctx, newPod("after-restart", map[string]string{"e2e": "restart"}, "sleep")); err != nil {
		t.Fatalf("create pod after the restart: %v", err)
	}
	waitFor(t, 90*time.Second, "a pod created after the restart Running", func() (bool, string) {
		pods := c.pods(t, "e2e=restart")
		return len(pods) == 1 && podRunning(pods[0]), describePods(pods)
	})
	t.Logf("MEASURE apiserver healthy to a new pod Running: %.1fs", time.Since(restarted).Seconds())

	// No running pod restarted: same containers, restart count 0.
	for _, p := range c.pods(t, "") {
		was, ok := before[p.GetMetadata().GetUid()]
		if !ok {
			continue
		}
		var ids []string
		var restarts int32
		for _, cs := range p.GetStatus().GetContainerStatuses() {
			ids = append(ids, cs.GetContainerId())
			restarts += cs.GetRestartCount()
		}
		if !slices.Equal(ids, was.containerIDs) || restarts != was.restarts || restarts != 0 {
			t.Errorf("pod %s changed over the apiserver restart: containers %v -> %v, restarts %d -> %d",
				p.GetMetadata().GetName(), was.containerIDs, ids, was.restarts, restarts)
		}
	}
	var dockerAfter []string
	for _, n := range composeNodes {
		dockerAfter = append(dockerAfter, c.nodeContainers(t, n, false)...)
	}
	for _, id := range dockerBefore {
		if !slices.Contains(dockerAfter, id) {
			t.Errorf("container %.12s was running before the apiserver restart and is not now", id)
		}
	}
}

// testDeleteAll deletes everything the test created: no pod and no
// container of the kubelets is left.
func (c *composeCluster) testDeleteAll(t *testing.T) {
	for _, f := range []string{"web-pod.yaml", "web-deployment.yaml", "mysql.yaml"} {
		c.run(t, "delete", "-f", filepath.Join(c.root, "deploy", "examples", f), "--wait=false")
	}
	c.run(t, "delete", "pods", "-l", "e2e", "--wait=false")
	start := time.Now()
	waitFor(t, 2*time.Minute, "every pod and container gone", func() (bool, string) {
		pods := c.pods(t, "")
		var containers []string
		for _, n := range composeNodes {
			containers = append(containers, c.nodeContainers(t, n, true)...)
		}
		return len(pods) == 0 && len(containers) == 0, fmt.Sprintf("pods: %s; containers: %d", describePods(pods), len(containers))
	})
	t.Logf("MEASURE delete all to no pod and no container: %.1fs", time.Since(start).Seconds())
}

// checkNothingLeft checks that `make down` left no container, network or
// volume of the cluster on the engine, and no generated files.
func (c *composeCluster) checkNothingLeft(t *testing.T) {
	t.Helper()
	var left []string
	for _, filter := range []string{"label=com.docker.compose.project=minik8s", "label=minik8s.io/node=node-1", "label=minik8s.io/node=node-2"} {
		if ids := c.docker(t, "ps", "-aq", "--filter", filter); ids != "" {
			left = append(left, "containers "+filter+": "+strings.Join(strings.Fields(ids), " "))
		}
	}
	for _, name := range append([]string{"init"}, composeServices...) {
		if exec.Command("docker", "inspect", "--type", "container", name).Run() == nil {
			left = append(left, "container "+name)
		}
	}
	for _, n := range []string{"minik8s", "minik8s-etcd"} {
		if exec.Command("docker", "network", "inspect", n).Run() == nil {
			left = append(left, "network "+n)
		}
	}
	// The pod network by its label: a network of the same name that other
	// kubelets on this engine created is not the cluster's.
	if nets := c.docker(t, "network", "ls", "-q", "--filter", "label=com.docker.compose.project=minik8s"); nets != "" {
		left = append(left, "networks "+nets)
	}
	for _, v := range []string{"minik8s-etcd-1", "minik8s-etcd-2", "minik8s-etcd-3"} {
		if exec.Command("docker", "volume", "inspect", v).Run() == nil {
			left = append(left, "volume "+v)
		}
	}
	if vols := c.docker(t, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project=minik8s"); vols != "" {
		left = append(left, "volumes "+vols)
	}
	for _, f := range []string{"admin.conf", "pki", "nodes", "etcd", "cluster", "join"} {
		if _, err := os.Stat(filepath.Join(c.root, ".minik8s", f)); err == nil {
			left = append(left, ".minik8s/"+f)
		}
	}
	if len(left) > 0 {
		t.Errorf("make down left behind:\n  %s", strings.Join(left, "\n  "))
	}
}
