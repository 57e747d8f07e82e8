package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/test/integration/framework"
)

// TestInitContainersOnDocker: init containers run one at a time, in order,
// each to its successful exit, before the app starts; their logs stay
// readable; a failed init container of a restartPolicy Never pod fails the
// pod and its app is never created.
func TestInitContainersOnDocker(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n := startNode(t, cp, "e2e-init")

	initC := func(name string, args ...string) *v1.Container {
		return &v1.Container{Name: name, Image: framework.TestappImage, Args: args, ImagePullPolicy: "IfNotPresent"}
	}
	ok := pod("init", n.name, "Always", "sleep")
	ok.Spec.InitContainers = []*v1.Container{initC("init1", "echo", "hello-from-init1"), initC("init2", "echo", "hello-from-init2")}
	create(t, admin, ok)
	failing := pod("initfail", n.name, "Never", "sleep")
	failing.Spec.InitContainers = []*v1.Container{initC("init1", "exit", "1")}
	create(t, admin, failing)

	p := framework.WaitPod(t, admin, 60*time.Second, "default", "init", "Running", framework.PodRunning)
	st := p.GetStatus()
	ics := st.GetInitContainerStatuses()
	if len(ics) != 2 || ics[0].GetName() != "init1" || ics[1].GetName() != "init2" {
		t.Fatalf("init container statuses %v", ics)
	}
	for _, cs := range ics {
		term := cs.GetState().GetTerminated()
		if term == nil || term.GetExitCode() != 0 || term.GetReason() != "Completed" || !cs.GetReady() || cs.GetRestartCount() != 0 ||
			!strings.HasPrefix(cs.GetContainerId(), "docker://") || cs.GetImageId() == "" {
			t.Errorf("init container %s: %v", cs.GetName(), cs)
		}
	}
	// Ordering, from the runtime's own times: init2 starts after init1
	// finished, the app after init2 finished.
	first, second := ics[0].GetState().GetTerminated(), ics[1].GetState().GetTerminated()
	app := st.GetContainerStatuses()[0].GetState().GetRunning()
	if first == nil || second == nil || app == nil {
		t.Fatalf("states: init1 %v init2 %v app %v", first, second, app)
	}
	if second.GetStartedAt().AsTime().Before(first.GetFinishedAt().AsTime()) {
		t.Errorf("init2 started at %v, before init1 finished at %v", second.GetStartedAt().AsTime(), first.GetFinishedAt().AsTime())
	}
	if app.GetStartedAt().AsTime().Before(second.GetFinishedAt().AsTime()) {
		t.Errorf("app started at %v, before init2 finished at %v", app.GetStartedAt().AsTime(), second.GetFinishedAt().AsTime())
	}
	for _, c := range st.GetConditions() {
		if c.GetType() == "Initialized" && c.GetStatus() != "True" {
			t.Errorf("Initialized %v", c)
		}
	}
	// The exited init containers are kept, with their logs.
	if got := containersNamed(t, n.name, "init", "init1"); len(got) != 1 {
		t.Errorf("docker holds %d init1 containers of pod init, want 1", len(got))
	}
	framework.Eventually(t, 30*time.Second, "minictl logs -c init1", func() error {
		r := cp.Minictl(t, "", "logs", "init", "-c", "init1")
		if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "hello-from-init1" {
			return fmt.Errorf("exit %d stdout %q stderr %q", r.ExitCode, r.Stdout, r.Stderr)
		}
		return nil
	})

	f := framework.WaitPod(t, admin, 60*time.Second, "default", "initfail", "Failed", framework.PodPhase("Failed"))
	fics := f.GetStatus().GetInitContainerStatuses()
	if len(fics) != 1 {
		t.Fatalf("init container statuses %v", fics)
	}
	if term := fics[0].GetState().GetTerminated(); term == nil || term.GetExitCode() != 1 || term.GetReason() != "Error" || fics[0].GetReady() {
		t.Errorf("failed init container %v", fics[0])
	}
	if w := f.GetStatus().GetContainerStatuses()[0].GetState().GetWaiting(); w == nil || w.GetReason() != "PodInitializing" {
		t.Errorf("app of the failed pod: %v", f.GetStatus().GetContainerStatuses()[0])
	}
	if got := containersNamed(t, n.name, "initfail", "app"); len(got) != 0 {
		t.Errorf("the app of the failed pod was created: %v", got)
	}
	if got := containersNamed(t, n.name, "initfail", "init1"); len(got) != 1 {
		t.Errorf("docker holds %d init1 containers of pod initfail, want 1 (no restart under Never)", len(got))
	}
}

// containersNamed lists the Docker containers of node for container
// container of pod, by their labels.
func containersNamed(t *testing.T, node, pod, container string) []string {
	t.Helper()
	out := framework.Docker(t, "ps", "-aq", "--no-trunc",
		"--filter", "label=minik8s.io/node="+node,
		"--filter", "label=io.kubernetes.pod.name="+pod,
		"--filter", "label=io.kubernetes.container.name="+container)
	return strings.Fields(out)
}
