// Package e2e runs minik8s against the real Docker engine: an apiserver on
// an embedded etcd, kubelets with the Docker runtime, and pods of the test
// image (built by deploy/images/build.sh when missing). Without Docker the
// tests fail when CI is set.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/test/integration/framework"
)

// node is a kubelet on Docker.
type node struct {
	name string
	rt   runtime.Runtime
	k    *framework.Kubelet
	cidr string
}

func randomCIDR(t *testing.T) string {
	n, err := rand.Int(rand.Reader, big.NewInt(150))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("10.2.%d.0/24", 100+n.Int64())
}

func startNode(t *testing.T, cp *framework.ControlPlane, prefix string) *node {
	t.Helper()
	name := framework.UniqueNodeName(t, prefix)
	rt := framework.DockerRuntime(t, name)
	n := &node{name: name, rt: rt, cidr: randomCIDR(t)}
	n.k = cp.StartKubelet(t, framework.KubeletOptions{NodeName: name, Runtime: rt, PodCIDR: n.cidr})
	return n
}

func (n *node) restart(t *testing.T, cp *framework.ControlPlane) {
	t.Helper()
	n.k.Stop()
	n.k = cp.StartKubelet(t, framework.KubeletOptions{NodeName: n.name, Runtime: n.rt, PodCIDR: n.cidr})
}

func pod(name, nodeName, restartPolicy string, args ...string) *v1.Pod {
	return &v1.Pod{
		ApiVersion: "v1", Kind: "Pod",
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &v1.PodSpec{
			NodeName:                      nodeName,
			RestartPolicy:                 restartPolicy,
			TerminationGracePeriodSeconds: ptr(int64(2)),
			Containers:                    []*v1.Container{{Name: "app", Image: framework.TestappImage, Args: args, ImagePullPolicy: "IfNotPresent"}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func create(t *testing.T, cs *client.Clientset, p *v1.Pod) *v1.Pod {
	t.Helper()
	got, err := cs.Pods().Create(framework.Context(t), p)
	if err != nil {
		t.Fatalf("create pod %s: %v", p.GetMetadata().GetName(), err)
	}
	return got
}

// execIn runs cmd in the container of pod through the node's runtime.
func execIn(t *testing.T, n *node, p *v1.Pod, container string, cmd ...string) (string, int) {
	t.Helper()
	var id string
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		if cs.GetName() == container {
			id = strings.TrimPrefix(cs.GetContainerId(), "docker://")
		}
	}
	if id == "" {
		t.Fatalf("pod %s has no container %s", p.GetMetadata().GetName(), container)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := n.rt.Exec(ctx, id, runtime.ExecOptions{Cmd: cmd, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return out.String(), code
}

func TestPodLifecycleOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n := startNode(t, cp, "e2e-life")
	ctx := framework.Context(t)

	created := create(t, admin, pod("web", n.name, "Always", "log", "hello-e2e"))
	p := framework.WaitPod(t, admin, 60*time.Second, "default", "web", "Running", framework.PodRunning)
	uid := created.GetMetadata().GetUid()
	ids := framework.DockerIDs(t, n.name)
	if len(ids) != 2 {
		t.Fatalf("docker holds %d containers of the node, want a sandbox and the app", len(ids))
	}
	for _, id := range ids {
		for label, want := range map[string]string{
			"io.kubernetes.pod.name":      "web",
			"io.kubernetes.pod.namespace": "default",
			"io.kubernetes.pod.uid":       uid,
		} {
			got := framework.Docker(t, "inspect", "--format", "{{index .Config.Labels \""+label+"\"}}", id)
			if got != want {
				t.Errorf("container %s label %s = %q, want %q", id[:12], label, got, want)
			}
		}
	}
	app := strings.TrimPrefix(p.GetStatus().GetContainerStatuses()[0].GetContainerId(), "docker://")
	if got := framework.Docker(t, "inspect", "--format", "{{index .Config.Labels \"io.kubernetes.container.name\"}}", app); got != "app" {
		t.Errorf("container name label %q", got)
	}
	if out, code := execIn(t, n, p, "app", "/testapp", "echo", "hello"); code != 0 || strings.TrimSpace(out) != "hello" {
		t.Errorf("exec: code %d output %q", code, out)
	}
	// The kubelet's /etc/hosts names the pod at its IP.
	if out, code := execIn(t, n, p, "app", "/testapp", "cat", "/etc/hosts"); code != 0 || !strings.Contains(out, p.GetStatus().GetPodIp()+"\tweb\n") {
		t.Errorf("/etc/hosts of the pod (exit %d): %q, want the line %q", code, out, p.GetStatus().GetPodIp()+"\tweb")
	}
	framework.Eventually(t, 30*time.Second, "minictl logs", func() error {
		r := cp.Minictl(t, "", "logs", "web")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "hello-e2e") {
			return fmt.Errorf("exit %d stdout %q stderr %q", r.ExitCode, r.Stdout, r.Stderr)
		}
		return nil
	})
	if out := cp.MustMinictl(t, "", "exec", "web", "--", "/testapp", "echo", "via-minictl"); strings.TrimSpace(out) != "via-minictl" {
		t.Errorf("minictl exec printed %q", out)
	}
	if _, _, err := admin.Pods().Delete(ctx, "default", "web", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "pod deleted", func() error {
		if _, err := admin.Pods().Get(ctx, "default", "web"); !errdefs.IsNotFound(err) {
			return fmt.Errorf("still there: %v", err)
		}
		if ids := framework.DockerIDs(t, n.name); len(ids) != 0 {
			return fmt.Errorf("%d containers left", len(ids))
		}
		return nil
	})
}

func TestPodNetworkingOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n1 := startNode(t, cp, "e2e-net1")
	n2 := startNode(t, cp, "e2e-net2")

	// Two containers of one pod share localhost.
	duo := pod("duo", n1.name, "Always", "serve", "--listen", ":8080")
	duo.Spec.Containers = append(duo.Spec.Containers, &v1.Container{Name: "side", Image: framework.TestappImage, Args: []string{"sleep"}})
	hostPort := framework.FreePort(t)
	duo.Spec.Containers[0].Ports = []*v1.ContainerPort{{ContainerPort: 8080, HostPort: int32(hostPort)}}
	create(t, admin, duo)
	p1 := framework.WaitPod(t, admin, 60*time.Second, "default", "duo", "Running", framework.PodRunning)
	if out, code := execIn(t, n1, p1, "side", "/testapp", "get", "http://127.0.0.1:8080/local"); code != 0 || !strings.HasPrefix(out, "ok") {
		t.Errorf("localhost between containers: code %d output %q", code, out)
	}

	// A pod on another kubelet reaches it by pod IP.
	create(t, admin, pod("client", n2.name, "Always", "sleep"))
	p2 := framework.WaitPod(t, admin, 60*time.Second, "default", "client", "Running", framework.PodRunning)
	if p1.GetStatus().GetPodIp() == p2.GetStatus().GetPodIp() {
		t.Fatalf("both pods have IP %s", p1.GetStatus().GetPodIp())
	}
	url := "http://" + p1.GetStatus().GetPodIp() + ":8080/remote"
	if out, code := execIn(t, n2, p2, "app", "/testapp", "get", url); code != 0 || !strings.HasPrefix(out, "ok") {
		t.Errorf("pod to pod across kubelets (%s): code %d output %q", url, code, out)
	}

	// The hostPort answers on the host.
	framework.Eventually(t, 30*time.Second, "hostPort answers", func() error {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(hostPort) + "/host")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "ok") {
			return fmt.Errorf("status %d body %q", resp.StatusCode, b)
		}
		return nil
	})
}

func TestRestartPoliciesOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n := startNode(t, cp, "e2e-restart")

	create(t, admin, pod("crash", n.name, "Always", "exit", "1"))
	create(t, admin, pod("never", n.name, "Never", "exit", "1"))
	create(t, admin, pod("done", n.name, "OnFailure", "exit", "0"))
	bad := pod("noimage", n.name, "Always")
	bad.Spec.Containers[0].Image = "minik8s/does-not-exist:v1"
	reasons := framework.WatchReasons(t, admin, "default", "noimage")
	create(t, admin, bad)

	framework.WaitPod(t, admin, 60*time.Second, "default", "never", "Failed", framework.PodPhase("Failed"))
	framework.WaitPod(t, admin, 60*time.Second, "default", "done", "Succeeded", framework.PodPhase("Succeeded"))
	framework.WaitPod(t, admin, 60*time.Second, "default", "noimage", "ErrImagePull and ImagePullBackOff", func(p *v1.Pod) error {
		if seen := reasons(); !seen["ErrImagePull"] || !seen["ImagePullBackOff"] {
			return fmt.Errorf("seen %v", seen)
		}
		return nil
	})
	var restarts []int32
	framework.WaitPod(t, admin, 90*time.Second, "default", "crash", "CrashLoopBackOff with a rising restartCount", func(p *v1.Pod) error {
		cs := p.GetStatus().GetContainerStatuses()
		if len(cs) != 1 {
			return fmt.Errorf("no status")
		}
		if len(restarts) == 0 || restarts[len(restarts)-1] != cs[0].GetRestartCount() {
			restarts = append(restarts, cs[0].GetRestartCount())
		}
		if cs[0].GetState().GetWaiting().GetReason() != "CrashLoopBackOff" || cs[0].GetRestartCount() < 2 {
			return fmt.Errorf("%s", framework.DescribeStatus(p))
		}
		return nil
	})
	// Nothing else broke: the node is still Ready.
	nd, err := admin.Nodes().Get(framework.Context(t), "", n.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range nd.GetStatus().GetConditions() {
		if c.GetType() == "Ready" && c.GetStatus() != "True" {
			t.Errorf("node not Ready: %v", c)
		}
	}
}

func TestProbesOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n := startNode(t, cp, "e2e-probe")

	live := pod("live", n.name, "Always", "serve", "--listen", ":8080")
	live.Spec.Containers[0].LivenessProbe = &v1.Probe{
		Exec:          &v1.ExecAction{Command: []string{"/testapp", "exit", "1"}},
		PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 5,
	}
	create(t, admin, live)
	ready := pod("ready", n.name, "Always", "serve", "--listen", ":8080")
	ready.Spec.Containers[0].ReadinessProbe = &v1.Probe{
		HttpGet:       &v1.HTTPGetAction{Path: "/healthz", Port: "9999"},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	create(t, admin, ready)
	good := pod("good", n.name, "Always", "serve", "--listen", ":8080")
	good.Spec.Containers[0].ReadinessProbe = &v1.Probe{
		HttpGet:       &v1.HTTPGetAction{Path: "/healthz", Port: "8080"},
		PeriodSeconds: 1,
	}
	good.Spec.Containers[0].LivenessProbe = &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "8080"}, PeriodSeconds: 1}
	create(t, admin, good)

	framework.WaitPod(t, admin, 60*time.Second, "default", "live", "restarted by its liveness probe", func(p *v1.Pod) error {
		if cs := p.GetStatus().GetContainerStatuses(); len(cs) == 1 && cs[0].GetRestartCount() >= 1 {
			return nil
		}
		return fmt.Errorf("%s", framework.DescribeStatus(p))
	})
	framework.WaitPod(t, admin, 60*time.Second, "default", "ready", "Running but not Ready", func(p *v1.Pod) error {
		if p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("%s", framework.DescribeStatus(p))
		}
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "Ready" && c.GetStatus() == "False" {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", p.GetStatus().GetConditions())
	})
	framework.WaitPod(t, admin, 60*time.Second, "default", "good", "Ready through its probes", framework.PodRunning)
}

func TestKubeletRestartKeepsContainersOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n := startNode(t, cp, "e2e-adopt")
	create(t, admin, pod("web", n.name, "Always", "serve"))
	before := framework.WaitPod(t, admin, 60*time.Second, "default", "web", "Running", framework.PodRunning)
	idsBefore := strings.Join(framework.DockerIDs(t, n.name), ",")
	n.restart(t, cp)
	select {
	case <-n.k.Ready():
	case <-time.After(60 * time.Second):
		t.Fatal("restarted kubelet not ready")
	}
	// Give the new kubelet a few relists to do anything it would do.
	time.Sleep(3 * time.Second)
	after := framework.WaitPod(t, admin, 30*time.Second, "default", "web", "Running", framework.PodRunning)
	if got := strings.Join(framework.DockerIDs(t, n.name), ","); got != idsBefore {
		t.Errorf("containers changed across the kubelet restart: %s -> %s", idsBefore, got)
	}
	b, a := before.GetStatus().GetContainerStatuses()[0], after.GetStatus().GetContainerStatuses()[0]
	if a.GetContainerId() != b.GetContainerId() || a.GetRestartCount() != 0 {
		t.Errorf("container %s restarts %d after the restart, want %s and 0", a.GetContainerId(), a.GetRestartCount(), b.GetContainerId())
	}
}

func TestAPIServerAwayOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n := startNode(t, cp, "e2e-away")
	create(t, admin, pod("web", n.name, "Always", "serve"))
	before := framework.WaitPod(t, admin, 60*time.Second, "default", "web", "Running", framework.PodRunning)
	ids := framework.DockerIDs(t, n.name)

	cp.Stop()
	time.Sleep(60 * time.Second) // the outage under test
	for _, id := range ids {
		if st := framework.Docker(t, "inspect", "--format", "{{.State.Status}}", id); st != "running" {
			t.Errorf("container %s is %s while the apiserver is away", id[:12], st)
		}
	}
	cp2 := framework.StartAPIServer(t, cp.Dir, cp.Port)
	admin2 := cp2.Admin(t)
	// The kubelet reconnects: its Lease is renewed and a new pod runs.
	since := time.Now()
	framework.Eventually(t, 90*time.Second, "lease renewed after the outage", func() error {
		l, err := admin2.Leases().Get(framework.Context(t), "kube-node-lease", n.name)
		if err != nil {
			return err
		}
		if l.GetSpec().GetRenewTime().AsTime().Before(since) {
			return fmt.Errorf("renewed at %v", l.GetSpec().GetRenewTime().AsTime())
		}
		return nil
	})
	create(t, admin2, pod("after", n.name, "Always", "serve"))
	framework.WaitPod(t, admin2, 90*time.Second, "default", "after", "Running", framework.PodRunning)
	p := framework.WaitPod(t, admin2, 30*time.Second, "default", "web", "Running", framework.PodRunning)
	if p.GetStatus().GetContainerStatuses()[0].GetContainerId() != before.GetStatus().GetContainerStatuses()[0].GetContainerId() {
		t.Errorf("the container was replaced during the outage")
	}
}
