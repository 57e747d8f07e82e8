package integration

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/runtime/hollow"
	"minik8s/test/integration/framework"
)

// testPod is a pod of the test image bound to node.
func testPod(name, node, restartPolicy string, args ...string) *v1.Pod {
	return &v1.Pod{
		ApiVersion: "v1", Kind: "Pod",
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: &v1.PodSpec{
			NodeName:      node,
			RestartPolicy: restartPolicy,
			Containers:    []*v1.Container{{Name: "app", Image: "minik8s/testapp:v1", Args: args, ImagePullPolicy: "IfNotPresent"}},
		},
	}
}

func create(t *testing.T, cs *client.Clientset, p *v1.Pod) *v1.Pod {
	t.Helper()
	got, err := cs.Pods().Create(framework.Context(t), p)
	if err != nil {
		t.Fatalf("create pod %s: %v", p.GetMetadata().GetName(), err)
	}
	return got
}

func TestKubeletRegistersNodeAndRunsPod(t *testing.T) {
	t.Parallel()
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	k := cp.StartKubelet(t, framework.KubeletOptions{NodeName: "node-1", PodCIDR: "10.2.7.0/24", Configure: nil})
	ctx := framework.Context(t)

	framework.Eventually(t, 30*time.Second, "node Ready", func() error {
		n, err := admin.Nodes().Get(ctx, "", "node-1")
		if err != nil {
			return err
		}
		for _, c := range n.GetStatus().GetConditions() {
			if c.GetType() == "Ready" {
				if c.GetStatus() != "True" || c.GetReason() != "KubeletReady" || c.GetMessage() != "kubelet is posting ready status" {
					return fmt.Errorf("ready condition %v", c)
				}
				return nil
			}
		}
		return fmt.Errorf("no Ready condition")
	})
	n, err := admin.Nodes().Get(ctx, "", "node-1")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux"} {
		if got := n.GetMetadata().GetLabels()[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if got := n.GetStatus().GetCapacity()["cpu"]; got != "4" {
		t.Errorf("capacity cpu = %q, want 4 (--capacity)", got)
	}
	if got := n.GetStatus().GetCapacity()["pods"]; got != "110" {
		t.Errorf("capacity pods = %q, want 110", got)
	}
	if got := n.GetStatus().GetNodeInfo().GetContainerRuntimeVersion(); !strings.HasPrefix(got, "hollow://") {
		t.Errorf("containerRuntimeVersion = %q", got)
	}
	if got := n.GetStatus().GetDaemonEndpoints().GetKubeletEndpoint().GetPort(); got == 0 {
		t.Errorf("kubelet endpoint port is 0")
	}
	if n.GetSpec().GetPodCidr() != "10.2.7.0/24" {
		t.Errorf("podCIDR = %q", n.GetSpec().GetPodCidr())
	}
	framework.Eventually(t, 30*time.Second, "node lease", func() error {
		l, err := admin.Leases().Get(ctx, "kube-node-lease", "node-1")
		if err != nil {
			return err
		}
		if l.GetSpec().GetHolderIdentity() != "node-1" || l.GetSpec().GetRenewTime() == nil {
			return fmt.Errorf("lease %v", l.GetSpec())
		}
		return nil
	})

	create(t, admin, testPod("web", "node-1", "Always", "serve"))
	p := framework.WaitPod(t, admin, 30*time.Second, "default", "web", "Running", framework.PodRunning)
	ip, err := netip.ParseAddr(p.GetStatus().GetPodIp())
	if err != nil || !netip.MustParsePrefix("10.2.7.0/24").Contains(ip) {
		t.Errorf("podIP %q is not from the podCIDR", p.GetStatus().GetPodIp())
	}
	if p.GetStatus().GetHostIp() == "" || p.GetStatus().GetStartTime() == nil {
		t.Errorf("hostIP or startTime missing: %v", p.GetStatus())
	}
	conds := map[string]string{}
	for _, c := range p.GetStatus().GetConditions() {
		conds[c.GetType()] = c.GetStatus()
	}
	for _, typ := range []string{"PodScheduled", "Initialized", "ContainersReady", "Ready"} {
		if conds[typ] != "True" {
			t.Errorf("condition %s = %q", typ, conds[typ])
		}
	}
	m := k.Metrics(t)
	for _, want := range []string{"kubelet_running_pods 1", `kubelet_running_containers{container_state="running"} 1`, "kubelet_pod_start_duration_seconds_count 1", `kubelet_runtime_operations_total{operation_type="create_container"}`, "kubelet_pod_worker_duration_seconds"} {
		framework.Eventually(t, 10*time.Second, "metric "+want, func() error {
			if !strings.Contains(k.Metrics(t), want) {
				return fmt.Errorf("missing")
			}
			return nil
		})
	}
	_ = m
}

func TestKubeletRestartPolicies(t *testing.T) {
	t.Parallel()
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	cp.StartKubelet(t, framework.KubeletOptions{NodeName: "node-1"})

	t.Run("exit 1 under Always crash-loops", func(t *testing.T) {
		t.Parallel()
		create(t, admin, testPod("crash", "node-1", "Always", "exit", "1"))
		sawBackOff := false
		framework.WaitPod(t, admin, 60*time.Second, "default", "crash", "restarting", func(p *v1.Pod) error {
			cs := p.GetStatus().GetContainerStatuses()
			if len(cs) != 1 {
				return fmt.Errorf("no container status")
			}
			if cs[0].GetState().GetWaiting().GetReason() == "CrashLoopBackOff" {
				sawBackOff = true
				if cs[0].GetLastState().GetTerminated().GetExitCode() != 1 {
					return fmt.Errorf("lastState %v", cs[0].GetLastState())
				}
			}
			if !sawBackOff || cs[0].GetRestartCount() < 2 {
				return fmt.Errorf("%s", framework.DescribeStatus(p))
			}
			return nil
		})
	})
	t.Run("exit 1 under Never fails", func(t *testing.T) {
		t.Parallel()
		create(t, admin, testPod("never", "node-1", "Never", "exit", "1"))
		p := framework.WaitPod(t, admin, 30*time.Second, "default", "never", "Failed", framework.PodPhase("Failed"))
		if got := p.GetStatus().GetContainerStatuses()[0].GetState().GetTerminated().GetReason(); got != "Error" {
			t.Errorf("terminated reason %q, want Error", got)
		}
	})
	t.Run("exit 0 under OnFailure succeeds", func(t *testing.T) {
		t.Parallel()
		create(t, admin, testPod("done", "node-1", "OnFailure", "exit", "0"))
		p := framework.WaitPod(t, admin, 30*time.Second, "default", "done", "Succeeded", framework.PodPhase("Succeeded"))
		if got := p.GetStatus().GetContainerStatuses()[0].GetState().GetTerminated().GetReason(); got != "Completed" {
			t.Errorf("terminated reason %q, want Completed", got)
		}
	})
	t.Run("missing image", func(t *testing.T) {
		t.Parallel()
		p := testPod("noimage", "node-1", "Always")
		p.Spec.Containers[0].Image = "minik8s/nonexistent:v1"
		create(t, admin, p)
		seen := map[string]bool{}
		framework.WaitPod(t, admin, 30*time.Second, "default", "noimage", "ErrImagePull then ImagePullBackOff", func(p *v1.Pod) error {
			cs := p.GetStatus().GetContainerStatuses()
			if len(cs) == 1 {
				seen[cs[0].GetState().GetWaiting().GetReason()] = true
			}
			if !seen["ImagePullBackOff"] {
				return fmt.Errorf("seen %v: %s", seen, framework.DescribeStatus(p))
			}
			return nil
		})
	})
}

func runtimeContainersOf(t *testing.T, rt runtime.Runtime, uid string) (sandboxes, containers int) {
	t.Helper()
	ctx := framework.Context(t)
	sbs, err := rt.ListSandboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cts, err := rt.ListContainers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sbs {
		if s.Pod.UID == uid {
			sandboxes++
		}
	}
	for _, c := range cts {
		if c.Pod.UID == uid {
			containers++
		}
	}
	return sandboxes, containers
}

func TestKubeletGracefulDelete(t *testing.T) {
	t.Parallel()
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	k := cp.StartKubelet(t, framework.KubeletOptions{NodeName: "node-1", PodCIDR: "10.2.9.0/24"})
	ctx := framework.Context(t)
	p := testPod("web", "node-1", "Always", "serve")
	p.Spec.Volumes = []*v1.Volume{{Name: "scratch", EmptyDir: &v1.EmptyDirVolumeSource{}}}
	p.Spec.Containers[0].VolumeMounts = []*v1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	created := create(t, admin, p)
	uid := created.GetMetadata().GetUid()
	framework.WaitPod(t, admin, 30*time.Second, "default", "web", "Running", framework.PodRunning)
	volDir := filepath.Join(k.Config.RootDir, "pods", uid)
	if _, err := os.Stat(volDir); err != nil {
		t.Fatalf("emptyDir directory: %v", err)
	}
	_, finished, err := admin.Pods().Delete(ctx, "default", "web", client.DeleteOptions{})
	if err != nil || finished {
		t.Fatalf("delete: finished=%v err=%v (want a graceful delete)", finished, err)
	}
	framework.Eventually(t, 30*time.Second, "pod gone", func() error {
		_, err := admin.Pods().Get(ctx, "default", "web")
		if errdefs.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
	if sb, c := runtimeContainersOf(t, k.Runtime, uid); sb != 0 || c != 0 {
		t.Errorf("runtime still holds %d sandboxes and %d containers of the pod", sb, c)
	}
	if _, err := os.Stat(volDir); !os.IsNotExist(err) {
		t.Errorf("pod directory %s not removed: %v", volDir, err)
	}
}

func TestKubeletStaticPodAndMirror(t *testing.T) {
	t.Parallel()
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	dir := t.TempDir()
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  namespace: kube-system
spec:
  containers:
  - name: app
    image: minik8s/testapp:v1
    args: ["serve"]
`
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	k := cp.StartKubelet(t, framework.KubeletOptions{NodeName: "node-1", PodManifestPath: dir})
	ctx := framework.Context(t)
	p := framework.WaitPod(t, admin, 30*time.Second, "kube-system", "static-web-node-1", "Running", framework.PodRunning)
	if _, ok := p.GetMetadata().GetAnnotations()["kubernetes.io/config.mirror"]; !ok {
		t.Errorf("mirror pod lacks the kubernetes.io/config.mirror annotation: %v", p.GetMetadata().GetAnnotations())
	}
	if p.GetSpec().GetNodeName() != "node-1" {
		t.Errorf("mirror pod bound to %q", p.GetSpec().GetNodeName())
	}
	// A deleted mirror pod comes back; the containers keep running.
	if _, _, err := admin.Pods().Delete(ctx, "kube-system", "static-web-node-1", clientDeleteNow()); err != nil {
		t.Fatal(err)
	}
	framework.WaitPod(t, admin, 30*time.Second, "kube-system", "static-web-node-1", "recreated", func(q *v1.Pod) error {
		if q.GetMetadata().GetUid() == p.GetMetadata().GetUid() {
			return fmt.Errorf("same mirror")
		}
		return framework.PodRunning(q)
	})
	// The manifest leaves: the pod stops and the mirror goes.
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "mirror pod gone", func() error {
		_, err := admin.Pods().Get(ctx, "kube-system", "static-web-node-1")
		if errdefs.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
	framework.Eventually(t, 30*time.Second, "static pod's containers removed", func() error {
		cts, err := k.Runtime.ListContainers(ctx)
		if err != nil {
			return err
		}
		if len(cts) != 0 {
			return fmt.Errorf("%d containers left", len(cts))
		}
		return nil
	})
}

func TestKubeletStandaloneRunsStaticPods(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	manifest := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"solo"},"spec":{"containers":[{"name":"app","image":"minik8s/testapp:v1","args":["sleep"]}]}}`
	if err := os.WriteFile(filepath.Join(dir, "solo.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := hollow.New(hollow.Config{NodeName: "solo-node"})
	if err != nil {
		t.Fatal(err)
	}
	framework.StartKubeletWith(t, nil, "", framework.KubeletOptions{NodeName: "solo-node", Runtime: rt, PodManifestPath: dir})
	framework.Eventually(t, 30*time.Second, "static pod running without an apiserver", func() error {
		cts, err := rt.ListContainers(framework.Context(t))
		if err != nil {
			return err
		}
		for _, c := range cts {
			if c.Pod.Name == "solo-solo-node" && c.State == runtime.ContainerRunning {
				return nil
			}
		}
		return fmt.Errorf("containers: %v", cts)
	})
}

func TestKubeletRestartAdoptsContainers(t *testing.T) {
	t.Parallel()
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	rt, err := hollow.New(hollow.Config{NodeName: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	k1 := cp.StartKubelet(t, framework.KubeletOptions{NodeName: "node-1", Runtime: rt, PodCIDR: "10.2.3.0/24"})
	create(t, admin, testPod("web", "node-1", "Always", "serve"))
	before := framework.WaitPod(t, admin, 30*time.Second, "default", "web", "Running", framework.PodRunning)
	id := before.GetStatus().GetContainerStatuses()[0].GetContainerId()
	k1.Stop()

	k2 := cp.StartKubelet(t, framework.KubeletOptions{NodeName: "node-1", Runtime: rt, PodCIDR: "10.2.3.0/24"})
	select {
	case <-k2.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("restarted kubelet not ready")
	}
	// A second pod gets another IP: the allocator knows the first one's.
	create(t, admin, testPod("web2", "node-1", "Always", "serve"))
	second := framework.WaitPod(t, admin, 30*time.Second, "default", "web2", "Running", framework.PodRunning)
	if second.GetStatus().GetPodIp() == before.GetStatus().GetPodIp() {
		t.Errorf("second pod got the first pod's IP %s", before.GetStatus().GetPodIp())
	}
	after := framework.WaitPod(t, admin, 10*time.Second, "default", "web", "Running", framework.PodRunning)
	cs := after.GetStatus().GetContainerStatuses()[0]
	if cs.GetContainerId() != id || cs.GetRestartCount() != 0 {
		t.Errorf("after the restart: container %s restarts %d, want %s and 0", cs.GetContainerId(), cs.GetRestartCount(), id)
	}
	cts, err := rt.ListContainers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cts) != 2 {
		t.Errorf("runtime holds %d containers, want 2", len(cts))
	}
}

func TestKubeletLogsAndExecThroughTheAPIServer(t *testing.T) {
	t.Parallel()
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	k := cp.StartKubelet(t, framework.KubeletOptions{NodeName: "node-1"})
	ctx := framework.Context(t)
	create(t, admin, testPod("talker", "node-1", "Always", "log", "hello-logs"))
	framework.WaitPod(t, admin, 30*time.Second, "default", "talker", "Running", framework.PodRunning)

	framework.Eventually(t, 30*time.Second, "logs through the apiserver", func() error {
		rc, err := admin.PodLogs(ctx, &v1.PodLogsRequest{Namespace: "default", Name: "talker"})
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "hello-logs") {
			return fmt.Errorf("logs %q", b)
		}
		return nil
	})
	var out strings.Builder
	code, err := admin.PodExec(ctx, client.ExecOptions{Namespace: "default", Name: "talker", Command: []string{"/testapp", "echo", "from-exec"}, Stdout: &out})
	if err != nil || code != 0 || strings.TrimSpace(out.String()) != "from-exec" {
		t.Errorf("exec: code %d err %v output %q", code, err, out.String())
	}
	code, err = admin.PodExec(ctx, client.ExecOptions{Namespace: "default", Name: "talker", Command: []string{"/testapp", "exit", "3"}})
	if err != nil || code != 3 {
		t.Errorf("exec exit 3: code %d err %v", code, err)
	}

	// The kubelet itself answers only the apiserver's kubelet client.
	kc, err := client.ConfigFromKubeconfig(cp.Kubeconfig("admin.conf"))
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := kc.TLS.Clone()
	tlsCfg.InsecureSkipVerify = true
	conn, err := grpc.NewClient(k.ServerAddr(), grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := v1.NewKubeletClient(conn).ContainerLogs(ctx, &v1.PodLogsRequest{Namespace: "default", Name: "talker"})
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("the admin's certificate at the kubelet: %v, want PermissionDenied", err)
	}
}
