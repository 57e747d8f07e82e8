package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet"
	"minik8s/test/integration/framework"
)

// catIn prints file in the container of pod through minictl exec (the
// apiserver's exec proxy to the kubelet).
func catIn(t *testing.T, cp *framework.ControlPlane, pod, file string) (string, error) {
	t.Helper()
	r := cp.Minictl(t, "", "exec", pod, "--", "/testapp", "cat", file)
	if strings.Contains(r.Stderr, "unknown command") {
		t.Fatalf("the test image has no cat subcommand: rebuild it with make images\n%s", r.Stderr)
	}
	if r.ExitCode != 0 {
		return "", fmt.Errorf("exec cat %s: exit %d, stdout %q, stderr %q", file, r.ExitCode, r.Stdout, r.Stderr)
	}
	return r.Stdout, nil
}

// wantFile polls until file in pod holds want.
func wantFile(t *testing.T, cp *framework.ControlPlane, timeout time.Duration, pod, file, want string) {
	t.Helper()
	framework.Eventually(t, timeout, fmt.Sprintf("%s in pod %s holds %q", file, pod, want), func() error {
		got, err := catIn(t, cp, pod, file)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("holds %q", got)
		}
		return nil
	})
}

func configMap(name string, data map[string]string) *v1.ConfigMap {
	return &v1.ConfigMap{ApiVersion: "v1", Kind: "ConfigMap", Metadata: &v1.ObjectMeta{Name: name, Namespace: "default"}, Data: data}
}

// mountConfigMap gives pod p a configMap volume "cfg" of the ConfigMap cm,
// mounted at /etc/cfg, and its key greeting alone at /etc/hello.txt; and
// a volume "items" of the same ConfigMap that projects only the key
// greeting, to conf/hello.txt, mounted at /etc/items.
func mountConfigMap(p *v1.Pod, cm string) *v1.Pod {
	mode := int32(0o400)
	p.Spec.Volumes = []*v1.Volume{
		{Name: "cfg", ConfigMap: &v1.ConfigMapVolumeSource{Name: cm}},
		{Name: "items", ConfigMap: &v1.ConfigMapVolumeSource{Name: cm, Items: []*v1.KeyToPath{{Key: "greeting", Path: "conf/hello.txt", Mode: &mode}}}},
	}
	p.Spec.Containers[0].VolumeMounts = []*v1.VolumeMount{
		{Name: "cfg", MountPath: "/etc/cfg"},
		{Name: "cfg", MountPath: "/etc/hello.txt", SubPath: "greeting"},
		{Name: "items", MountPath: "/etc/items"},
	}
	return p
}

// A configMap volume on Docker: the container reads the ConfigMap's keys
// as files of a read-only mount; a changed ConfigMap shows in the files
// without a restart of the container; a pod whose ConfigMap is missing
// waits (ContainerCreating, a FailedMount event) and starts once it is
// created; the files go with the pod.
func TestConfigMapVolumeOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	ctx := framework.Context(t)
	name := framework.UniqueNodeName(t, "e2e-cm")
	k := cp.StartKubelet(t, framework.KubeletOptions{
		NodeName: name, Runtime: framework.DockerRuntime(t, name), PodCIDR: randomCIDR(t),
		// Updates follow on the pod's periodic sync: make it short.
		Configure: func(c *kubelet.Config) { c.ResyncPeriod = 5 * time.Second },
	})

	if _, err := admin.ConfigMaps().Create(ctx, configMap("app-config", map[string]string{"greeting": "hello", "other": "second key"})); err != nil {
		t.Fatal(err)
	}
	created := create(t, admin, mountConfigMap(pod("cfg", name, "Always", "sleep"), "app-config"))
	p := framework.WaitPod(t, admin, 90*time.Second, "default", "cfg", "Running", framework.PodRunning)
	wantFile(t, cp, 30*time.Second, "cfg", "/etc/cfg/greeting", "hello")
	wantFile(t, cp, 30*time.Second, "cfg", "/etc/cfg/other", "second key")
	wantFile(t, cp, 30*time.Second, "cfg", "/etc/hello.txt", "hello")
	wantFile(t, cp, 30*time.Second, "cfg", "/etc/items/conf/hello.txt", "hello")
	if out, err := catIn(t, cp, "cfg", "/etc/items/other"); err == nil {
		t.Errorf("a key outside the volume's items is a file: %q", out)
	}
	app := strings.TrimPrefix(p.GetStatus().GetContainerStatuses()[0].GetContainerId(), "docker://")
	mounts := framework.Docker(t, "inspect", "--format", `{{range .Mounts}}{{.Destination}} rw={{.RW}};{{end}}`, app)
	for _, want := range []string{"/etc/cfg rw=false;", "/etc/hello.txt rw=false;"} {
		if !strings.Contains(mounts, want) {
			t.Errorf("mounts of the app container %q, want %q", mounts, want)
		}
	}

	// An update: the directory follows (a key changed, a key removed), the
	// file mounted by subPath does not (as in Kubernetes), the container
	// runs on.
	cm, err := admin.ConfigMaps().Get(ctx, "default", "app-config")
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"greeting": "bonjour"}
	if _, err := admin.ConfigMaps().Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	wantFile(t, cp, 2*time.Minute, "cfg", "/etc/cfg/greeting", "bonjour")
	wantFile(t, cp, 2*time.Minute, "cfg", "/etc/items/conf/hello.txt", "bonjour")
	if out, err := catIn(t, cp, "cfg", "/etc/cfg/other"); err == nil {
		t.Errorf("the removed key is still a file: %q", out)
	}
	if got, _ := catIn(t, cp, "cfg", "/etc/hello.txt"); got != "hello" {
		t.Errorf("the subPath file holds %q, want the content it was mounted with", got)
	}
	p, err = admin.Pods().Get(ctx, "default", "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if cs := p.GetStatus().GetContainerStatuses()[0]; cs.GetRestartCount() != 0 || strings.TrimPrefix(cs.GetContainerId(), "docker://") != app {
		t.Errorf("the container was restarted: %s", framework.DescribeStatus(p))
	}

	// A missing ConfigMap: nothing is created, the container waits as
	// ContainerCreating, a FailedMount event says why.
	create(t, admin, mountConfigMap(pod("late", name, "Always", "sleep"), "late-config"))
	framework.WaitPod(t, admin, 30*time.Second, "default", "late", "ContainerCreating", func(p *v1.Pod) error {
		cs := p.GetStatus().GetContainerStatuses()
		if len(cs) != 1 || cs[0].GetState().GetWaiting().GetReason() != "ContainerCreating" {
			return fmt.Errorf("status %s", framework.DescribeStatus(p))
		}
		return nil
	})
	wantMsg := `MountVolume.SetUp failed for volume "cfg" : configmap "late-config" not found`
	framework.Eventually(t, 30*time.Second, "a FailedMount event of pod late", func() error {
		evs, _, err := admin.Events().List(ctx, client.ListOptions{Namespace: "default"})
		if err != nil {
			return err
		}
		var seen []string
		for _, ev := range evs {
			if ev.GetInvolvedObject().GetName() != "late" {
				continue
			}
			if ev.GetType() == "Warning" && ev.GetReason() == "FailedMount" && ev.GetMessage() == wantMsg {
				return nil
			}
			seen = append(seen, ev.GetReason()+": "+ev.GetMessage())
		}
		return fmt.Errorf("events of the pod: %q", seen)
	})
	p, err = admin.Pods().Get(ctx, "default", "late")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.GetStatus().GetContainerStatuses()[0].GetState().GetWaiting().GetReason(); got != "ContainerCreating" {
		t.Errorf("the pod of a missing ConfigMap shows %s", framework.DescribeStatus(p))
	}
	if n := len(framework.DockerIDs(t, name)); n != 2 {
		t.Errorf("docker holds %d containers of the node, want only the sandbox and app of pod cfg", n)
	}

	// The ConfigMap appears: the pod starts (within the worker's back-off).
	if _, err := admin.ConfigMaps().Create(ctx, configMap("late-config", map[string]string{"greeting": "at last"})); err != nil {
		t.Fatal(err)
	}
	framework.WaitPod(t, admin, 90*time.Second, "default", "late", "Running", framework.PodRunning)
	wantFile(t, cp, 30*time.Second, "late", "/etc/cfg/greeting", "at last")

	// The files go with the pod.
	dir := filepath.Join(k.Config.RootDir, "pods", created.GetMetadata().GetUid())
	if _, err := os.Stat(filepath.Join(dir, "volumes", "kubernetes.io~configmap", "cfg", "..data")); err != nil {
		t.Fatalf("the volume of pod cfg is not where Kubernetes keeps it: %v", err)
	}
	if _, _, err := admin.Pods().Delete(ctx, "default", "cfg", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "pod cfg and its volume gone", func() error {
		if _, err := admin.Pods().Get(ctx, "default", "cfg"); !errdefs.IsNotFound(err) {
			return fmt.Errorf("pod still there: %v", err)
		}
		if _, err := os.Stat(dir); err == nil {
			return fmt.Errorf("%s still there", dir)
		}
		return nil
	})
}
