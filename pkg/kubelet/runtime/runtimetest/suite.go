// Package runtimetest is the contract suite every runtime.Runtime passes:
// the Docker runtime against a real engine and the hollow runtime in memory.
// The containers it runs use the test application image (minik8s/testapp:v1)
// and its subcommands, which both runtimes understand.
package runtimetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/runtime"
)

// Images the suite uses; both must be present on the runtime's node.
const (
	TestappImage = "minik8s/testapp:v1"
	PauseImage   = "minik8s/pause:3.10"
	// MissingImage is an image no registry of ours has.
	MissingImage = "minik8s/does-not-exist:v0"
)

// Deadlines for conditions; generous, since a loaded CI machine is slow.
const (
	waitTimeout = 60 * time.Second
	testTimeout = 3 * time.Minute
)

// RunSuite runs the contract suite. newRuntime returns a fresh runtime for
// a node of its own (a new node name) each time it is called; the suite
// removes what it created through the runtime when each test ends. The
// runtime's pod network must be 10.2.0.0/16 (the default).
func RunSuite(t *testing.T, newRuntime func(t *testing.T) runtime.Runtime) {
	s := &suite{newRuntime: newRuntime}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"PingAndVersion", s.testPingAndVersion},
		{"Images", s.testImages},
		{"SandboxLifecycle", s.testSandboxLifecycle},
		{"HostNetworkSandbox", s.testHostNetworkSandbox},
		{"PreparedSandbox", s.testPreparedSandbox},
		{"ContainerLifecycle", s.testContainerLifecycle},
		{"CommandAndArgs", s.testCommandAndArgs},
		{"ExitCodes", s.testExitCodes},
		{"StopHonoursSIGTERM", s.testStopHonoursSIGTERM},
		{"Attempts", s.testAttempts},
		{"SharedNetworkNamespace", s.testSharedNetworkNamespace},
		{"Logs", s.testLogs},
		{"LogsFollow", s.testLogsFollow},
		{"Exec", s.testExec},
		{"Events", s.testEvents},
		{"NodeIsolation", s.testNodeIsolation},
		{"Missing", s.testMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t)
		})
	}
}

type suite struct {
	newRuntime func(t *testing.T) runtime.Runtime
}

// rt returns a fresh runtime whose sandboxes and containers are removed when
// t ends.
func (s *suite) rt(t *testing.T) runtime.Runtime {
	t.Helper()
	r := s.newRuntime(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := r.ListContainers(ctx)
		if err != nil {
			t.Errorf("cleanup: list containers: %v", err)
		}
		for _, c := range cs {
			if err := r.RemoveContainer(ctx, c.ID); err != nil {
				t.Errorf("cleanup: remove container %s: %v", c.ID, err)
			}
		}
		sbs, err := r.ListSandboxes(ctx)
		if err != nil {
			t.Errorf("cleanup: list sandboxes: %v", err)
		}
		for _, sb := range sbs {
			if err := r.RemoveSandbox(ctx, sb.ID); err != nil {
				t.Errorf("cleanup: remove sandbox %s: %v", sb.ID, err)
			}
		}
	})
	return r
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newPod returns a PodRef unique to this test.
func newPod(t *testing.T) runtime.PodRef {
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	name = strings.Trim(name, "-")
	return runtime.PodRef{
		UID:       fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rand.Uint32(), rand.Uint32N(1<<16), rand.Uint32N(1<<16), rand.Uint32N(1<<16), rand.Uint64N(1<<48)),
		Name:      name,
		Namespace: "default",
	}
}

func (s *suite) sandbox(t *testing.T, ctx context.Context, r runtime.Runtime, pod runtime.PodRef) string {
	t.Helper()
	id, _ := createSandbox(t, ctx, r, runtime.SandboxSpec{Pod: pod})
	return id
}

// createSandbox creates a sandbox; on the pod network it gives it a random
// address from the top of 10.2.0.0/16, where no node's podCIDR of a small
// test cluster lies, and retries when another test holds that address.
func createSandbox(t *testing.T, ctx context.Context, r runtime.Runtime, spec runtime.SandboxSpec) (string, netip.Addr) {
	t.Helper()
	for try := 0; ; try++ {
		if !spec.HostNetwork {
			spec.IP = netip.AddrFrom4([4]byte{10, 2, byte(200 + rand.IntN(55)), byte(2 + rand.IntN(250))})
		}
		id, err := r.CreateSandbox(ctx, spec)
		if err == nil {
			return id, spec.IP
		}
		if !errdefs.IsAlreadyExists(err) || try == 10 {
			t.Fatalf("CreateSandbox: %v", err)
		}
	}
}

// run creates and starts a testapp container in the sandbox.
func (s *suite) run(t *testing.T, ctx context.Context, r runtime.Runtime, sandboxID string, pod runtime.PodRef, name string, args ...string) string {
	t.Helper()
	id, err := r.CreateContainer(ctx, sandboxID, runtime.ContainerSpec{Pod: pod, Name: name, Image: TestappImage, Args: args})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", name, err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer %s: %v", name, err)
	}
	return id
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last error: %v)", what, waitTimeout, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitState(t *testing.T, ctx context.Context, r runtime.Runtime, id string, want runtime.ContainerState) runtime.ContainerStatus {
	t.Helper()
	var st runtime.ContainerStatus
	waitFor(t, fmt.Sprintf("container %s in state %s", id, want), func() (bool, error) {
		var err error
		st, err = r.ContainerStatus(ctx, id)
		return err == nil && st.State == want, err
	})
	return st
}

// waitOutput waits until a container has written something, which shows
// that its process runs its own code.
func waitOutput(t *testing.T, ctx context.Context, r runtime.Runtime, id string) {
	t.Helper()
	waitFor(t, "output of container "+id, func() (bool, error) {
		return readLogs(t, ctx, r, id, runtime.LogOptions{}) != "", nil
	})
}

func readLogs(t *testing.T, ctx context.Context, r runtime.Runtime, id string, opts runtime.LogOptions) string {
	t.Helper()
	rc, err := r.Logs(ctx, id, opts)
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read logs: %v", err)
	}
	return string(b)
}

func (s *suite) testPingAndVersion(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	v, err := r.Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if v.Name == "" || v.Version == "" || !strings.HasPrefix(v.String(), v.Name+"://") {
		t.Errorf("Version = %+v (%s), want a name and a version", v, v)
	}
}

func (s *suite) testImages(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	for _, img := range []string{TestappImage, PauseImage} {
		ok, err := r.ImagePresent(ctx, img)
		if err != nil || !ok {
			t.Errorf("ImagePresent(%s) = %v, %v; want true (build the images first)", img, ok, err)
		}
	}
	ok, err := r.ImagePresent(ctx, MissingImage)
	if err != nil || ok {
		t.Errorf("ImagePresent(%s) = %v, %v; want false", MissingImage, ok, err)
	}
	err = r.PullImage(ctx, MissingImage)
	switch {
	case err == nil:
		t.Errorf("PullImage(%s) succeeded", MissingImage)
	case !errors.Is(err, runtime.ErrImageNotFound) && !errors.Is(err, runtime.ErrUnauthorized) && !errors.Is(err, runtime.ErrRegistryUnavailable):
		t.Errorf("PullImage(%s) = %v, want a classified pull error", MissingImage, err)
	}
	if ok, _ := r.ImagePresent(ctx, MissingImage); ok {
		t.Errorf("a failed pull left %s present", MissingImage)
	}
	if err := r.PullImage(ctx, "Not A Valid/Reference"); !errdefs.IsInvalid(err) {
		t.Errorf("PullImage of an invalid reference = %v, want Invalid", err)
	}
}

func (s *suite) testSandboxLifecycle(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	spec := runtime.SandboxSpec{
		Pod:         pod,
		Attempt:     2,
		Annotations: map[string]string{"minik8s.io/grace": "30"},
	}
	id, ip := createSandbox(t, ctx, r, spec)
	spec.IP = ip
	st, err := r.SandboxStatus(ctx, id)
	if err != nil {
		t.Fatalf("SandboxStatus: %v", err)
	}
	if st.ID != id || st.Pod != pod || st.Attempt != 2 || st.State != runtime.SandboxReady || st.HostNetwork ||
		st.IP != spec.IP || st.CreatedAt.IsZero() || st.Annotations["minik8s.io/grace"] != "30" {
		t.Errorf("SandboxStatus = %+v, want ready %s at %s attempt 2 with the annotation", st, pod, spec.IP)
	}
	list, err := r.ListSandboxes(ctx)
	if err != nil {
		t.Fatalf("ListSandboxes: %v", err)
	}
	i := slices.IndexFunc(list, func(s runtime.SandboxStatus) bool { return s.ID == id })
	if i < 0 {
		t.Fatalf("ListSandboxes = %+v, missing %s", list, id)
	}
	if l := list[i]; l.Pod != pod || l.State != runtime.SandboxReady || l.IP != spec.IP || l.Attempt != 2 || l.Annotations["minik8s.io/grace"] != "30" {
		t.Errorf("listed sandbox = %+v, want it as SandboxStatus showed it", l)
	}

	if err := r.StopSandbox(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("StopSandbox: %v", err)
	}
	if st, err := r.SandboxStatus(ctx, id); err != nil || st.State != runtime.SandboxNotReady {
		t.Errorf("after stop: %+v, %v; want not ready", st, err)
	}
	if err := r.StopSandbox(ctx, id, 10*time.Second); err != nil {
		t.Errorf("second StopSandbox: %v", err)
	}
	if err := r.RemoveSandbox(ctx, id); err != nil {
		t.Fatalf("RemoveSandbox: %v", err)
	}
	if _, err := r.SandboxStatus(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("SandboxStatus after remove = %v, want NotFound", err)
	}
	if err := r.RemoveSandbox(ctx, id); err != nil {
		t.Errorf("second RemoveSandbox: %v", err)
	}
	list, _ = r.ListSandboxes(ctx)
	if slices.ContainsFunc(list, func(s runtime.SandboxStatus) bool { return s.ID == id }) {
		t.Errorf("removed sandbox still listed")
	}
}

func (s *suite) testHostNetworkSandbox(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	id, err := r.CreateSandbox(ctx, runtime.SandboxSpec{Pod: pod, HostNetwork: true})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	st, err := r.SandboxStatus(ctx, id)
	if err != nil {
		t.Fatalf("SandboxStatus: %v", err)
	}
	if !st.HostNetwork || st.IP.IsValid() || st.State != runtime.SandboxReady {
		t.Errorf("SandboxStatus = %+v, want ready on the host network without a pod IP", st)
	}
}

// testPreparedSandbox: a sandbox prepared and started in two steps, with a
// container created in between (as the kubelet creates a pod's containers
// while its sandbox starts); a sandbox that cannot start is removed.
func (s *suite) testPreparedSandbox(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	var id, server string
	var ip netip.Addr
	for try := 0; ; try++ {
		ip = netip.AddrFrom4([4]byte{10, 2, byte(200 + rand.IntN(55)), byte(2 + rand.IntN(250))})
		var err error
		id, err = r.PrepareSandbox(ctx, runtime.SandboxSpec{Pod: pod, Attempt: try, IP: ip})
		if err != nil {
			t.Fatalf("PrepareSandbox: %v", err)
		}
		st, err := r.SandboxStatus(ctx, id)
		if err != nil {
			t.Fatalf("SandboxStatus of a prepared sandbox: %v", err)
		}
		if st.State != runtime.SandboxNotReady || st.IP.IsValid() || st.Attempt != try {
			t.Errorf("prepared sandbox = %+v, want not ready, without an IP", st)
		}
		// A container created before the sandbox starts.
		server, err = r.CreateContainer(ctx, id, runtime.ContainerSpec{Pod: pod, Name: "server", Attempt: try, Image: TestappImage, Args: []string{"serve", "--listen", "127.0.0.1:8082"}})
		if err != nil {
			t.Fatalf("CreateContainer in a prepared sandbox: %v", err)
		}
		err = r.StartSandbox(ctx, id)
		if err == nil {
			break
		}
		if !errdefs.IsAlreadyExists(err) || try == 10 {
			t.Fatalf("StartSandbox: %v", err)
		}
		// Another test holds the address: the sandbox is gone; the
		// container created in it is the caller's to remove.
		if _, err := r.SandboxStatus(ctx, id); !errdefs.IsNotFound(err) {
			t.Errorf("SandboxStatus of a sandbox that failed to start = %v, want NotFound", err)
		}
		if err := r.RemoveContainer(ctx, server); err != nil {
			t.Fatalf("RemoveContainer: %v", err)
		}
	}
	if err := r.StartContainer(ctx, server); err != nil {
		t.Fatalf("StartContainer created before its sandbox started: %v", err)
	}
	waitState(t, ctx, r, server, runtime.ContainerRunning)
	st, err := r.SandboxStatus(ctx, id)
	if err != nil || st.State != runtime.SandboxReady || st.IP != ip {
		t.Errorf("started sandbox = %+v, %v; want ready at %s", st, err, ip)
	}
	if err := r.StartSandbox(ctx, id); err != nil {
		t.Errorf("StartSandbox of a running sandbox = %v, want nil", err)
	}
	if err := r.StartSandbox(ctx, "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"); !errdefs.IsNotFound(err) {
		t.Errorf("StartSandbox of an unknown ID = %v, want NotFound", err)
	}

	// A second sandbox asking for the same address cannot start: it is
	// removed and the error is AlreadyExists.
	other := newPod(t)
	id2, err := r.PrepareSandbox(ctx, runtime.SandboxSpec{Pod: other, IP: ip})
	if err != nil {
		t.Fatalf("PrepareSandbox with a taken address: %v", err)
	}
	if err := r.StartSandbox(ctx, id2); !errdefs.IsAlreadyExists(err) {
		t.Errorf("StartSandbox with a taken address = %v, want AlreadyExists", err)
	}
	if _, err := r.SandboxStatus(ctx, id2); !errdefs.IsNotFound(err) {
		t.Errorf("SandboxStatus of a sandbox that failed to start = %v, want NotFound", err)
	}
}

func (s *suite) testContainerLifecycle(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	spec := runtime.ContainerSpec{
		Pod:         pod,
		Name:        "web",
		Attempt:     0,
		Image:       TestappImage,
		Args:        []string{"serve", "--listen", ":8080"},
		WorkingDir:  "/",
		Env:         []runtime.EnvVar{{Name: "A", Value: "1"}},
		CPUMillis:   250,
		MemoryBytes: 64 << 20,
		Annotations: map[string]string{"minik8s.io/hash": "abc"},
	}
	id, err := r.CreateContainer(ctx, sb, spec)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	st, err := r.ContainerStatus(ctx, id)
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	if st.ID != id || st.SandboxID != sb || st.Pod != pod || st.Name != "web" || st.Attempt != 0 ||
		st.Image != TestappImage || st.State != runtime.ContainerCreated || st.CreatedAt.IsZero() ||
		!st.StartedAt.IsZero() || st.Annotations["minik8s.io/hash"] != "abc" {
		t.Errorf("created: %+v", st)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	st = waitState(t, ctx, r, id, runtime.ContainerRunning)
	waitOutput(t, ctx, r, id) // its SIGTERM handler is set up
	if st.StartedAt.IsZero() || !st.FinishedAt.IsZero() || st.ImageRef == "" {
		t.Errorf("running: %+v, want a start time, an image ref, no finish time", st)
	}
	list, err := r.ListContainers(ctx)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	i := slices.IndexFunc(list, func(c runtime.ContainerStatus) bool { return c.ID == id })
	if i < 0 {
		t.Fatalf("ListContainers misses %s: %+v", id, list)
	}
	if l := list[i]; l.State != runtime.ContainerRunning || l.Pod != pod || l.Name != "web" || l.SandboxID != sb || !l.StartedAt.Equal(st.StartedAt) {
		t.Errorf("listed: %+v, want it as ContainerStatus showed it: %+v", l, st)
	}
	// Sandboxes are not application containers.
	if slices.ContainsFunc(list, func(c runtime.ContainerStatus) bool { return c.ID == sb }) {
		t.Errorf("ListContainers lists the sandbox")
	}

	if err := r.StopContainer(ctx, id, 30*time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	st, err = r.ContainerStatus(ctx, id)
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	if st.State != runtime.ContainerExited || st.ExitCode != 0 || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("stopped: %+v, want exited 0 after its start", st)
	}
	if err := r.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("second StopContainer: %v", err)
	}
	list, _ = r.ListContainers(ctx)
	i = slices.IndexFunc(list, func(c runtime.ContainerStatus) bool { return c.ID == id })
	if i < 0 || list[i].State != runtime.ContainerExited || list[i].FinishedAt.IsZero() {
		t.Errorf("exited container listed as %+v", list)
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if _, err := r.ContainerStatus(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("ContainerStatus after remove = %v, want NotFound", err)
	}
	list, _ = r.ListContainers(ctx)
	if slices.ContainsFunc(list, func(c runtime.ContainerStatus) bool { return c.ID == id }) {
		t.Errorf("removed container still listed")
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Errorf("second RemoveContainer: %v", err)
	}
}

// testCommandAndArgs checks Kubernetes' rules: Command replaces the image's
// entrypoint and drops its arguments; Args replace the arguments only.
func (s *suite) testCommandAndArgs(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	tests := []struct {
		name     string
		command  []string
		args     []string
		wantCode int
		wantLog  string
	}{
		{name: "args", args: []string{"echo", "from", "args"}, wantCode: 0, wantLog: "from args\n"},
		{name: "command", command: []string{"/testapp", "echo", "from", "command"}, wantCode: 0, wantLog: "from command\n"},
		{name: "command-and-args", command: []string{"/testapp", "echo"}, args: []string{"split"}, wantCode: 0, wantLog: "split\n"},
		{name: "command-drops-image-args", command: []string{"/testapp"}, wantCode: 2},
		{name: "exit-via-command", command: []string{"/testapp", "exit", "4"}, wantCode: 4},
	}
	for _, tt := range tests {
		id, err := r.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: tt.name, Image: TestappImage, Command: tt.command, Args: tt.args})
		if err != nil {
			t.Fatalf("%s: CreateContainer: %v", tt.name, err)
		}
		if err := r.StartContainer(ctx, id); err != nil {
			t.Fatalf("%s: StartContainer: %v", tt.name, err)
		}
		st := waitState(t, ctx, r, id, runtime.ContainerExited)
		if st.ExitCode != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d", tt.name, st.ExitCode, tt.wantCode)
		}
		if tt.wantLog != "" {
			if got := readLogs(t, ctx, r, id, runtime.LogOptions{}); got != tt.wantLog {
				t.Errorf("%s: logs %q, want %q", tt.name, got, tt.wantLog)
			}
		}
	}
}

func (s *suite) testExitCodes(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	for _, code := range []int{0, 1, 42, 255} {
		id := s.run(t, ctx, r, sb, pod, fmt.Sprintf("exit-%d", code), "exit", fmt.Sprint(code))
		st := waitState(t, ctx, r, id, runtime.ContainerExited)
		if st.ExitCode != code || st.StartedAt.IsZero() || st.FinishedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
			t.Errorf("exit %d: status %+v", code, st)
		}
	}
	// A command the image does not have cannot run.
	id, err := r.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "nobinary", Image: TestappImage, Command: []string{"/no/such/binary"}})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := r.StartContainer(ctx, id); err == nil {
		t.Errorf("StartContainer of a missing binary succeeded")
	}
	st := waitState(t, ctx, r, id, runtime.ContainerExited)
	if st.ExitCode == 0 || st.Message == "" {
		t.Errorf("missing binary: %+v, want a non-zero exit code and a message", st)
	}
}

func (s *suite) testStopHonoursSIGTERM(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	// A signal that arrives before the process has set up its handler is
	// lost (PID 1 ignores SIGTERM by default), so wait for the first output.
	for _, args := range [][]string{{"log", "x"}, {"serve"}} {
		id := s.run(t, ctx, r, sb, pod, args[0], args...)
		waitOutput(t, ctx, r, id)
		start := time.Now()
		if err := r.StopContainer(ctx, id, time.Minute); err != nil {
			t.Fatalf("StopContainer: %v", err)
		}
		// testapp exits on SIGTERM: the minute of grace is not used.
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: stop took %v: SIGTERM not honoured", args[0], d)
		}
		if st, _ := r.ContainerStatus(ctx, id); st.State != runtime.ContainerExited || st.ExitCode != 0 {
			t.Errorf("%s after SIGTERM: %+v, want exited 0", args[0], st)
		}
	}
	// The sandbox itself stops on SIGTERM too.
	start := time.Now()
	if err := r.StopSandbox(ctx, sb, time.Minute); err != nil {
		t.Fatalf("StopSandbox: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("sandbox stop took %v: SIGTERM not honoured", d)
	}
}

func (s *suite) testAttempts(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	first := s.run(t, ctx, r, sb, pod, "app", "exit", "1")
	waitState(t, ctx, r, first, runtime.ContainerExited)
	// The same attempt again is a name conflict.
	if _, err := r.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "app", Image: TestappImage}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second attempt 0 = %v, want AlreadyExists", err)
	}
	second, err := r.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "app", Attempt: 1, Image: TestappImage, Args: []string{"sleep"}})
	if err != nil {
		t.Fatalf("attempt 1: %v", err)
	}
	if err := r.StartContainer(ctx, second); err != nil {
		t.Fatalf("start attempt 1: %v", err)
	}
	waitState(t, ctx, r, second, runtime.ContainerRunning)
	list, err := r.ListContainers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	attempts := map[int]runtime.ContainerState{}
	for _, c := range list {
		if c.Pod.UID == pod.UID && c.Name == "app" {
			attempts[c.Attempt] = c.State
		}
	}
	if len(attempts) != 2 || attempts[0] != runtime.ContainerExited || attempts[1] != runtime.ContainerRunning {
		t.Errorf("attempts listed: %v, want 0 exited and 1 running", attempts)
	}
	// A container needs an existing sandbox.
	id, err := r.CreateContainer(ctx, "no-such-sandbox", runtime.ContainerSpec{Pod: pod, Name: "orphan", Image: TestappImage})
	if err == nil {
		err = r.StartContainer(ctx, id)
	}
	if err == nil {
		t.Errorf("a container without a sandbox started")
	}
	// A container needs its image present.
	if _, err := r.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "noimage", Image: MissingImage}); err == nil {
		t.Errorf("a container of a missing image was created")
	}
}

func (s *suite) testSharedNetworkNamespace(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	srv := s.run(t, ctx, r, sb, pod, "server", "serve", "--listen", "127.0.0.1:8081")
	waitState(t, ctx, r, srv, runtime.ContainerRunning)
	// The client reaches the server over the pod's loopback; it retries
	// until the server listens.
	for attempt := 0; ; attempt++ {
		id := s.run(t, ctx, r, sb, pod, "client", "get", "http://127.0.0.1:8081/hello")
		st := waitState(t, ctx, r, id, runtime.ContainerExited)
		if st.ExitCode == 0 {
			if got := readLogs(t, ctx, r, id, runtime.LogOptions{}); !strings.HasPrefix(got, "ok ") || !strings.Contains(got, "/hello") {
				t.Errorf("client output %q", got)
			}
			return
		}
		if attempt == 20 {
			t.Fatalf("client could not reach the server over localhost: %s", readLogs(t, ctx, r, id, runtime.LogOptions{}))
		}
		if err := r.RemoveContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (s *suite) testLogs(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	echo := s.run(t, ctx, r, sb, pod, "echo", "echo", "hello", "world")
	waitState(t, ctx, r, echo, runtime.ContainerExited)
	if got := readLogs(t, ctx, r, echo, runtime.LogOptions{}); got != "hello world\n" {
		t.Errorf("echo logs %q", got)
	}
	// Errors go to the same stream.
	bad := s.run(t, ctx, r, sb, pod, "bad", "bogus")
	waitState(t, ctx, r, bad, runtime.ContainerExited)
	if got := readLogs(t, ctx, r, bad, runtime.LogOptions{}); !strings.Contains(got, `unknown command "bogus"`) {
		t.Errorf("stderr not in logs: %q", got)
	}

	lg := s.run(t, ctx, r, sb, pod, "log", "log", "tick")
	waitFor(t, "three log lines", func() (bool, error) {
		return strings.Count(readLogs(t, ctx, r, lg, runtime.LogOptions{}), "tick\n") >= 3, nil
	})
	one := int64(1)
	if got := readLogs(t, ctx, r, lg, runtime.LogOptions{TailLines: &one}); got != "tick\n" {
		t.Errorf("tail 1: %q", got)
	}
	zero := int64(0)
	if got := readLogs(t, ctx, r, lg, runtime.LogOptions{TailLines: &zero}); got != "" {
		t.Errorf("tail 0: %q", got)
	}
	stamped := readLogs(t, ctx, r, lg, runtime.LogOptions{Timestamps: true})
	lines := strings.Split(strings.TrimSuffix(stamped, "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("timestamped logs %q", stamped)
	}
	var times []time.Time
	for _, l := range lines {
		ts, text, ok := strings.Cut(l, " ")
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil || text != "tick" {
			t.Fatalf("line %q is not '<RFC 3339 time> tick'", l)
		}
		times = append(times, tm)
	}
	// Since the second line: the first is left out.
	got := readLogs(t, ctx, r, lg, runtime.LogOptions{Timestamps: true, Since: times[1]})
	if !strings.HasPrefix(got, lines[1]+"\n") {
		t.Errorf("since %v: %q, want it to start with %q", times[1], got, lines[1])
	}
	if got := readLogs(t, ctx, r, lg, runtime.LogOptions{Since: time.Now().Add(time.Hour)}); got != "" {
		t.Errorf("since the future: %q", got)
	}
	if _, err := r.Logs(ctx, "no-such-container", runtime.LogOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("Logs of a missing container = %v, want NotFound", err)
	}
}

func (s *suite) testLogsFollow(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	id := s.run(t, ctx, r, sb, pod, "log", "log", "beat")
	rc, err := r.Logs(ctx, id, runtime.LogOptions{Follow: true})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	lines := make(chan string)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
		done <- sc.Err()
	}()
	for i := range 2 {
		select {
		case l := <-lines:
			if l != "beat" {
				t.Errorf("line %d = %q", i, l)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("no line %d while following", i)
		}
	}
	// The stream ends when the container does.
	if err := r.StopContainer(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case <-lines:
			continue
		case err := <-done:
			if err != nil {
				t.Errorf("follow ended with %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("follow did not end with the container")
		}
		break
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	// Closing the reader ends a follow early.
	id2 := s.run(t, ctx, r, sb, pod, "sleeper", "sleep")
	rc2, err := r.Logs(ctx, id2, runtime.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- rc2.Close() }()
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatal("Close of a follow did not return")
	}
}

func (s *suite) testExec(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	sb := s.sandbox(t, ctx, r, pod)
	id := s.run(t, ctx, r, sb, pod, "app", "sleep")
	waitState(t, ctx, r, id, runtime.ContainerRunning)
	tests := []struct {
		name       string
		opts       runtime.ExecOptions
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "echo", opts: runtime.ExecOptions{Cmd: []string{"/testapp", "echo", "hi", "there"}}, wantStdout: "hi there\n"},
		{name: "exit", opts: runtime.ExecOptions{Cmd: []string{"/testapp", "exit", "3"}}, wantCode: 3},
		{name: "stderr", opts: runtime.ExecOptions{Cmd: []string{"/testapp", "bogus"}}, wantCode: 2, wantStderr: `unknown command "bogus"`},
		{name: "stdin", opts: runtime.ExecOptions{Cmd: []string{"/testapp", "echo", "in"}, Stdin: strings.NewReader("ignored\n")}, wantStdout: "in\n"},
		{name: "tty", opts: runtime.ExecOptions{Cmd: []string{"/testapp", "echo", "tty"}, TTY: true}, wantStdout: "tty"},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		tt.opts.Stdout, tt.opts.Stderr = &stdout, &stderr
		code, err := r.Exec(ctx, id, tt.opts)
		if err != nil {
			t.Errorf("%s: Exec: %v", tt.name, err)
			continue
		}
		if code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d", tt.name, code, tt.wantCode)
		}
		if tt.opts.TTY {
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("%s: stdout %q, want it to contain %q", tt.name, stdout.String(), tt.wantStdout)
			}
		} else if stdout.String() != tt.wantStdout {
			t.Errorf("%s: stdout %q, want %q", tt.name, stdout.String(), tt.wantStdout)
		}
		if !strings.Contains(stderr.String(), tt.wantStderr) {
			t.Errorf("%s: stderr %q, want it to contain %q", tt.name, stderr.String(), tt.wantStderr)
		}
	}
	// A missing binary is a failed command, not a failed call.
	code, err := r.Exec(ctx, id, runtime.ExecOptions{Cmd: []string{"/no/such/binary"}})
	if err != nil || code == 0 {
		t.Errorf("exec of a missing binary = %d, %v; want a non-zero code", code, err)
	}
	// A long command ends with ctx.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := r.Exec(short, id, runtime.ExecOptions{Cmd: []string{"/testapp", "sleep"}}); err == nil {
		t.Errorf("exec of sleep returned without error after its ctx ended")
	}
	if err := r.StopContainer(ctx, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec(ctx, id, runtime.ExecOptions{Cmd: []string{"/testapp", "echo"}}); err == nil {
		t.Errorf("exec in an exited container succeeded")
	}
	if _, err := r.Exec(ctx, "no-such-container", runtime.ExecOptions{Cmd: []string{"/testapp", "echo"}}); !errdefs.IsNotFound(err) {
		t.Errorf("exec in a missing container = %v, want NotFound", err)
	}
}

// eventLog collects the events of one Events call.
type eventLog struct {
	mu     sync.Mutex
	events []runtime.Event
}

func (l *eventLog) add(ev runtime.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *eventLog) has(match func(runtime.Event) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.events, match)
}

// watch runs r.Events until t ends and returns what it collected.
func watch(t *testing.T, r runtime.Runtime) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &eventLog{}
	done := make(chan error, 1)
	go func() { done <- r.Events(ctx, l.add) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Events ended with %v, want context.Canceled", err)
		}
	})
	return l
}

// subscribed waits until l receives events: it creates sandboxes until the
// creation of one shows up, and returns that sandbox.
func (s *suite) subscribed(t *testing.T, ctx context.Context, r runtime.Runtime, l *eventLog, pod runtime.PodRef) string {
	t.Helper()
	for attempt := 0; attempt < 30; attempt++ {
		id, _ := createSandbox(t, ctx, r, runtime.SandboxSpec{Pod: pod, Attempt: attempt})
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			if l.has(func(ev runtime.Event) bool { return ev.ContainerID == id && ev.Type == runtime.EventStarted }) {
				return id
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Fatal("Events delivered nothing")
	return ""
}

func (s *suite) testEvents(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	pod := newPod(t)
	l := watch(t, r)
	sb := s.subscribed(t, ctx, r, l, pod)
	if !l.has(func(ev runtime.Event) bool {
		return ev.ContainerID == sb && ev.Sandbox && ev.Pod == pod && ev.ContainerName == "" && !ev.Time.IsZero()
	}) {
		t.Errorf("sandbox events lack their pod: %+v", l.events)
	}
	id := s.run(t, ctx, r, sb, pod, "app", "exit", "1")
	waitState(t, ctx, r, id, runtime.ContainerExited)
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, want := range []runtime.EventType{runtime.EventCreated, runtime.EventStarted, runtime.EventDied, runtime.EventRemoved} {
		waitFor(t, fmt.Sprintf("event %s of the container", want), func() (bool, error) {
			return l.has(func(ev runtime.Event) bool {
				return ev.ContainerID == id && ev.Type == want && !ev.Sandbox && ev.Pod == pod && ev.ContainerName == "app"
			}), nil
		})
	}
	if err := r.StopSandbox(ctx, sb, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sandbox died event", func() (bool, error) {
		return l.has(func(ev runtime.Event) bool { return ev.ContainerID == sb && ev.Type == runtime.EventDied && ev.Sandbox }), nil
	})
}

func (s *suite) testNodeIsolation(t *testing.T) {
	ctx := testCtx(t)
	a, b := s.rt(t), s.rt(t)
	lb := watch(t, b)
	la := watch(t, a)
	pod := newPod(t)
	sb := s.subscribed(t, ctx, a, la, pod)
	id := s.run(t, ctx, a, sb, pod, "app", "sleep")
	waitState(t, ctx, a, id, runtime.ContainerRunning)

	sbs, err := b.ListSandboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := b.ListContainers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(sbs, func(s runtime.SandboxStatus) bool { return s.Pod.UID == pod.UID }) ||
		slices.ContainsFunc(cs, func(c runtime.ContainerStatus) bool { return c.Pod.UID == pod.UID }) {
		t.Errorf("another node lists this node's pod")
	}
	if _, err := b.SandboxStatus(ctx, sb); !errdefs.IsNotFound(err) {
		t.Errorf("another node's SandboxStatus = %v, want NotFound", err)
	}
	if _, err := b.ContainerStatus(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("another node's ContainerStatus = %v, want NotFound", err)
	}
	if lb.has(func(ev runtime.Event) bool { return ev.Pod.UID == pod.UID }) {
		t.Errorf("another node received this node's events")
	}
}

func (s *suite) testMissing(t *testing.T) {
	ctx, r := testCtx(t), s.rt(t)
	const missing = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if _, err := r.ContainerStatus(ctx, missing); !errdefs.IsNotFound(err) {
		t.Errorf("ContainerStatus = %v, want NotFound", err)
	}
	if _, err := r.SandboxStatus(ctx, missing); !errdefs.IsNotFound(err) {
		t.Errorf("SandboxStatus = %v, want NotFound", err)
	}
	if err := r.StartContainer(ctx, missing); !errdefs.IsNotFound(err) {
		t.Errorf("StartContainer = %v, want NotFound", err)
	}
	if err := r.StopContainer(ctx, missing, time.Second); !errdefs.IsNotFound(err) {
		t.Errorf("StopContainer = %v, want NotFound", err)
	}
	if err := r.RemoveContainer(ctx, missing); err != nil {
		t.Errorf("RemoveContainer = %v, want nil", err)
	}
	if err := r.RemoveSandbox(ctx, missing); err != nil {
		t.Errorf("RemoveSandbox = %v, want nil", err)
	}
	if _, err := r.CreateSandbox(ctx, runtime.SandboxSpec{}); !errdefs.IsInvalid(err) {
		t.Errorf("CreateSandbox without a pod = %v, want Invalid", err)
	}
}
