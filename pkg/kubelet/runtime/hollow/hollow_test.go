package hollow

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"minik8s/pkg/apis/errdefs"

	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/runtime/runtimetest"
)

func TestContract(t *testing.T) {
	runtimetest.RunSuite(t, func(t *testing.T) runtime.Runtime {
		h, err := New(Config{NodeName: "hollow-" + t.Name()})
		if err != nil {
			t.Fatal(err)
		}
		return h
	})
}

// TestManyNodesInOneProcess runs 500 hollow nodes with 20 pods each.
func TestManyNodesInOneProcess(t *testing.T) {
	const nodes, pods = 500, 20
	ctx := context.Background()
	start := time.Now()
	rts := make([]*Hollow, nodes)
	var wg sync.WaitGroup
	for i := range rts {
		h, err := New(Config{NodeName: fmt.Sprintf("hollow-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		rts[i] = h
		wg.Go(func() {
			for p := range pods {
				pod := runtime.PodRef{UID: fmt.Sprintf("%d-%d", i, p), Name: fmt.Sprintf("p%d", p), Namespace: "default"}
				sb, err := h.CreateSandbox(ctx, runtime.SandboxSpec{Pod: pod})
				if err != nil {
					t.Error(err)
					return
				}
				id, err := h.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "app", Image: TestappImage})
				if err != nil {
					t.Error(err)
					return
				}
				if err := h.StartContainer(ctx, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, h := range rts {
		cs, err := h.ListContainers(ctx)
		if err != nil || len(cs) != pods {
			t.Fatalf("%s lists %d containers, %v", h.node, len(cs), err)
		}
		for _, c := range cs {
			if c.State != runtime.ContainerRunning {
				t.Fatalf("container %+v does not run", c)
			}
		}
	}
	t.Logf("%d nodes x %d pods started in %v", nodes, pods, elapsed)
}

func TestFakeClockDrivesLogsAndExits(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h, err := New(Config{NodeName: "n", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	pod := runtime.PodRef{UID: "u", Name: "p", Namespace: "default"}
	sb, err := h.CreateSandbox(ctx, runtime.SandboxSpec{Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	id, err := h.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "app", Image: TestappImage, Args: []string{"log", "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	read := func(opts runtime.LogOptions) string {
		rc, err := h.Logs(ctx, id, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read(runtime.LogOptions{}); got != "hi\n" {
		t.Fatalf("at start: %q", got)
	}
	clock.Advance(2500 * time.Millisecond)
	if got := read(runtime.LogOptions{}); got != "hi\nhi\nhi\n" {
		t.Fatalf("after 2.5 s: %q", got)
	}
	if got := read(runtime.LogOptions{Timestamps: true, Since: clock.Now().Add(-time.Second)}); got != "2026-01-01T00:00:02Z hi\n" {
		t.Fatalf("since 1.5 s: %q", got)
	}

	// Following: each advance of the clock by a second brings a line.
	rc, err := h.Logs(ctx, id, runtime.LogOptions{Follow: true, TailLines: new(int64)})
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	clock.BlockUntil(1) // the follower waits on the clock
	clock.Advance(time.Second)
	if l := <-lines; l != "hi" {
		t.Fatalf("followed %q", l)
	}
	// The process ends by itself: the stream ends, the status says so.
	if err := h.ExitContainer(id, 3); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	rc.Close()
	st, err := h.ContainerStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.ContainerExited || st.ExitCode != 3 || !st.FinishedAt.Equal(clock.Now()) {
		t.Errorf("status %+v", st)
	}
	if err := h.ExitContainer(id, 1); !errdefs.IsPrecondition(err) {
		t.Errorf("ExitContainer of an exited container = %v", err)
	}
}

func TestPullsFollowTheSimulatedRegistry(t *testing.T) {
	ctx := context.Background()
	h, err := New(Config{NodeName: "n", Images: []string{"minik8s/testapp:v1", "busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := h.ImagePresent(ctx, "busybox:latest"); !ok {
		t.Errorf("busybox (implicit :latest) not present")
	}
	if err := h.PullImage(ctx, "nginx:1.27"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("pull of an unknown image = %v", err)
	}
	anyRT, err := New(Config{NodeName: "n", AnyImage: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := anyRT.PullImage(ctx, "nginx:1.27"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := anyRT.ImagePresent(ctx, "nginx:1.27"); !ok {
		t.Errorf("pulled image not present")
	}
}

// TestInitContainers: an init container of an image the simulation does
// not know exits 0 at once, where an ordinary one runs; one of the test
// image behaves as its arguments say (exit CODE sets the exit).
func TestInitContainers(t *testing.T) {
	ctx := context.Background()
	h, err := New(Config{NodeName: "n", Images: []string{PauseImage, TestappImage, "busybox:1.36"}})
	if err != nil {
		t.Fatal(err)
	}
	pod := runtime.PodRef{UID: "u", Name: "p", Namespace: "default"}
	sb, err := h.CreateSandbox(ctx, runtime.SandboxSpec{Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		spec      runtime.ContainerSpec
		wantState runtime.ContainerState
		wantCode  int
	}{
		{name: "init of an unknown image", spec: runtime.ContainerSpec{Name: "init-busybox", Image: "busybox:1.36", Init: true, Command: []string{"sh", "-c", "true"}},
			wantState: runtime.ContainerExited, wantCode: 0},
		{name: "ordinary of an unknown image", spec: runtime.ContainerSpec{Name: "busybox", Image: "busybox:1.36"},
			wantState: runtime.ContainerRunning},
		{name: "init of the test image, exit 3", spec: runtime.ContainerSpec{Name: "init-exit", Image: TestappImage, Init: true, Args: []string{"exit", "3"}},
			wantState: runtime.ContainerExited, wantCode: 3},
		{name: "init of the test image, sleep", spec: runtime.ContainerSpec{Name: "init-sleep", Image: TestappImage, Init: true, Args: []string{"sleep"}},
			wantState: runtime.ContainerRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Pod = pod
			id, err := h.CreateContainer(ctx, sb, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.StartContainer(ctx, id); err != nil {
				t.Fatal(err)
			}
			st, err := h.ContainerStatus(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.wantState || st.ExitCode != tt.wantCode {
				t.Errorf("state %s exit %d, want %s exit %d", st.State, st.ExitCode, tt.wantState, tt.wantCode)
			}
		})
	}
}
