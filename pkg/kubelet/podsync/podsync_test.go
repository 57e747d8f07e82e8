package podsync

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/kubelet/runtime"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// world is a tiny runtime the scenarios drive: it applies Compute's actions
// the way a pod worker would, at the scenario's fake time.
type world struct {
	t          *testing.T
	now        time.Time
	pod        *v1.Pod
	sandboxes  []runtime.SandboxStatus
	containers []runtime.ContainerStatus
	images     map[string]bool
	probes     map[string]ProbeResult
	state      State
	nextID     int
	// behaviour of started containers by name: exit code when they exit at
	// once; absent means they keep running.
	exitAtOnce map[string]int
	// pullFails: images whose pulls fail.
	pullFails map[string]string
	// createFails: container names whose creation fails.
	createFails map[string]string
	// log of the actions run, one line each, with the time offset.
	log []string
	// last result
	res Result
}

func newWorld(t *testing.T, pod *v1.Pod) *world {
	return &world{
		t: t, now: t0, pod: pod,
		images:      map[string]bool{"minik8s/testapp:v1": true},
		probes:      map[string]ProbeResult{},
		exitAtOnce:  map[string]int{},
		pullFails:   map[string]string{},
		createFails: map[string]string{},
	}
}

func (w *world) id() string {
	w.nextID++
	return fmt.Sprintf("c%02d", w.nextID)
}

func (w *world) compute() Result {
	var pod *v1.Pod
	if w.pod != nil {
		pod = w.pod
	}
	return Compute(Input{
		Pod:         pod,
		Sandboxes:   w.sandboxes,
		Containers:  w.containers,
		Images:      w.images,
		Probes:      w.probes,
		State:       w.state,
		Now:         w.now,
		RuntimeName: "docker",
		HostIP:      "192.0.2.10",
	})
}

// sync computes and runs actions until nothing is left (as one worker sync
// does), then reports the status to the pod as the apiserver would keep it.
func (w *world) sync() {
	w.t.Helper()
	for range 10 {
		r := w.compute()
		w.res = r
		w.state = r.State
		if w.pod != nil && r.Status != nil {
			w.pod.Status = r.Status
		}
		if len(r.Actions) == 0 {
			return
		}
		for _, a := range r.Actions {
			w.apply(a)
		}
	}
	w.t.Fatalf("sync did not settle: %s", String(w.res.Actions))
}

func (w *world) offset() string { return w.now.Sub(t0).String() }

func (w *world) apply(a Action) {
	w.log = append(w.log, fmt.Sprintf("%s %s", w.offset(), strings.TrimSpace(string(a.Type)+" "+a.Name)))
	switch a.Type {
	case CreateSandbox:
		w.sandboxes = append(w.sandboxes, runtime.SandboxStatus{
			ID: w.id(), Pod: PodRef(w.pod), Attempt: a.Attempt, State: runtime.SandboxReady,
			IP: netip.MustParseAddr("10.2.1.5"), CreatedAt: w.now,
			HostNetwork: w.pod.GetSpec().GetHostNetwork(),
			Annotations: SandboxSpec(w.pod, a.Attempt, netip.Addr{}).Annotations,
		})
	case StopSandbox:
		for i := range w.sandboxes {
			if w.sandboxes[i].ID == a.SandboxID {
				w.sandboxes[i].State = runtime.SandboxNotReady
			}
		}
	case RemoveSandbox:
		for i := range w.sandboxes {
			if w.sandboxes[i].ID == a.SandboxID {
				w.sandboxes = append(w.sandboxes[:i], w.sandboxes[i+1:]...)
				break
			}
		}
	case StartContainer:
		spec, err := ContainerSpec(w.pod, a.Name, a.Attempt, "/var/lib/kubelet")
		if err != nil {
			w.t.Fatalf("ContainerSpec: %v", err)
		}
		if a.Pull {
			if msg, ok := w.pullFails[spec.Image]; ok {
				w.state = w.state.PullFailed(spec.Image, msg, w.now)
				return
			}
			w.state = w.state.PullSucceeded(spec.Image)
			w.images[spec.Image] = true
		}
		if msg, ok := w.createFails[a.Name]; ok {
			w.state = w.state.StartFailed(a.Name, ReasonCreateContainerErr, msg, w.now)
			return
		}
		c := runtime.ContainerStatus{
			ID: w.id(), SandboxID: a.SandboxID, Pod: spec.Pod, Name: a.Name, Attempt: a.Attempt,
			Image: spec.Image, ImageRef: "sha256:abc", State: runtime.ContainerRunning,
			CreatedAt: w.now, StartedAt: w.now, Annotations: spec.Annotations,
		}
		if code, ok := w.exitAtOnce[a.Name]; ok {
			c.State, c.ExitCode, c.FinishedAt = runtime.ContainerExited, code, w.now
		}
		w.containers = append(w.containers, c)
	case KillContainer:
		for i := range w.containers {
			if w.containers[i].ID == a.ContainerID && w.containers[i].State == runtime.ContainerRunning {
				w.containers[i].State, w.containers[i].ExitCode, w.containers[i].FinishedAt = runtime.ContainerExited, 0, w.now
			}
		}
	case RemoveContainer:
		for i := range w.containers {
			if w.containers[i].ID == a.ContainerID {
				w.containers = append(w.containers[:i], w.containers[i+1:]...)
				break
			}
		}
	default:
		w.t.Fatalf("unknown action %v", a)
	}
}

// exit makes the running container name exit with code now.
func (w *world) exit(name string, code int) {
	for i := range w.containers {
		if w.containers[i].Name == name && w.containers[i].State == runtime.ContainerRunning {
			w.containers[i].State, w.containers[i].ExitCode, w.containers[i].FinishedAt = runtime.ContainerExited, code, w.now
		}
	}
}

func (w *world) running(name string) runtime.ContainerStatus {
	for _, c := range w.containers {
		if c.Name == name && c.State == runtime.ContainerRunning {
			return c
		}
	}
	w.t.Fatalf("no running container %s", name)
	return runtime.ContainerStatus{}
}

// summary is a one-line view of the pod's status: phase, then per
// container state[reason] restarts=N ready (init containers first, then
// "|"), then the Initialized condition of a pod with init containers and
// the Ready condition.
func summary(st *v1.PodStatus) string {
	var b strings.Builder
	b.WriteString(st.GetPhase())
	statuses := st.GetContainerStatuses()
	if len(st.GetInitContainerStatuses()) > 0 {
		statuses = slices.Concat(st.GetInitContainerStatuses(), []*v1.ContainerStatus{{Name: "|"}}, statuses)
	}
	for _, cs := range statuses {
		if cs.GetName() == "|" {
			b.WriteString(" |")
			continue
		}
		s := cs.GetState()
		switch {
		case s.GetWaiting() != nil:
			fmt.Fprintf(&b, " %s:waiting[%s]", cs.GetName(), s.GetWaiting().GetReason())
		case s.GetRunning() != nil:
			fmt.Fprintf(&b, " %s:running", cs.GetName())
		case s.GetTerminated() != nil:
			fmt.Fprintf(&b, " %s:terminated[%s/%d]", cs.GetName(), s.GetTerminated().GetReason(), s.GetTerminated().GetExitCode())
		}
		if lt := cs.GetLastState().GetTerminated(); lt != nil {
			fmt.Fprintf(&b, " last[%s/%d]", lt.GetReason(), lt.GetExitCode())
		}
		fmt.Fprintf(&b, " restarts=%d", cs.GetRestartCount())
		if cs.GetReady() {
			b.WriteString(" ready")
		}
	}
	for _, c := range st.GetConditions() {
		if c.GetType() == ConditionInitialized && len(st.GetInitContainerStatuses()) > 0 {
			fmt.Fprintf(&b, " Initialized=%s", c.GetStatus())
		}
	}
	for _, c := range st.GetConditions() {
		if c.GetType() == ConditionReady {
			fmt.Fprintf(&b, " Ready=%s", c.GetStatus())
		}
	}
	return b.String()
}

func newPod(policy string, containers ...*v1.Container) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default", Uid: "uid-1"},
		Spec:     &v1.PodSpec{RestartPolicy: policy, Containers: containers, NodeName: "n1"},
		Status:   &v1.PodStatus{},
	}
}

func app(args ...string) *v1.Container {
	return &v1.Container{Name: "app", Image: "minik8s/testapp:v1", ImagePullPolicy: "IfNotPresent", Args: args}
}

// step is one moment of a scenario: advance the clock, change the world,
// sync, and check the summary.
type step struct {
	after  time.Duration
	do     func(w *world)
	want   string // summary after the sync; empty: not checked
	wantIn string // substring of the action log since the last step; empty: not checked
}

func runSteps(t *testing.T, w *world, steps []step) {
	t.Helper()
	for i, s := range steps {
		w.now = w.now.Add(s.after)
		if s.do != nil {
			s.do(w)
		}
		before := len(w.log)
		w.sync()
		got := summary(w.pod.GetStatus())
		if s.want != "" && got != s.want {
			t.Fatalf("step %d at %s: status\n  got  %s\n  want %s\nactions:\n%s", i, w.offset(), got, s.want, strings.Join(w.log, "\n"))
		}
		if s.wantIn != "" {
			logged := strings.Join(w.log[before:], "\n")
			if !strings.Contains(logged, s.wantIn) {
				t.Fatalf("step %d at %s: actions\n%s\nwant them to contain %q", i, w.offset(), logged, s.wantIn)
			}
		}
	}
}

func TestPodStartsAndRuns(t *testing.T) {
	w := newWorld(t, newPod("Always", app("serve")))
	w.sync()
	want := []string{"0s CreateSandbox", "0s StartContainer app"}
	if strings.Join(w.log, ",") != strings.Join(want, ",") {
		t.Fatalf("actions %v, want %v", w.log, want)
	}
	st := w.pod.GetStatus()
	if got := summary(st); got != "Running app:running restarts=0 ready Ready=True" {
		t.Errorf("summary %q", got)
	}
	if st.GetPodIp() != "10.2.1.5" || st.GetHostIp() != "192.0.2.10" || !st.GetStartTime().AsTime().Equal(t0) {
		t.Errorf("podIP %q hostIP %q startTime %v", st.GetPodIp(), st.GetHostIp(), st.GetStartTime().AsTime())
	}
	cs := st.GetContainerStatuses()[0]
	if !strings.HasPrefix(cs.GetContainerId(), "docker://c") || cs.GetImageId() != "sha256:abc" || !cs.GetStarted() {
		t.Errorf("container status %v", cs)
	}
	var types []string
	for _, c := range st.GetConditions() {
		types = append(types, c.GetType()+"="+c.GetStatus())
	}
	if got := strings.Join(types, ","); got != "Initialized=True,Ready=True,ContainersReady=True,PodScheduled=True" {
		t.Errorf("conditions %s", got)
	}
	// A second sync changes nothing: level-triggered and idempotent.
	before := len(w.log)
	w.now = w.now.Add(time.Minute)
	w.sync()
	if len(w.log) != before {
		t.Errorf("second sync acted: %v", w.log[before:])
	}
	for _, c := range w.pod.GetStatus().GetConditions() {
		if !c.GetLastTransitionTime().AsTime().Equal(t0) {
			t.Errorf("condition %s moved its transition time to %v", c.GetType(), c.GetLastTransitionTime().AsTime())
		}
	}
}

func TestAdoptsRunningContainers(t *testing.T) {
	pod := newPod("Always", app("serve"))
	w := newWorld(t, pod)
	spec, err := ContainerSpec(pod, "app", 0, "/r")
	if err != nil {
		t.Fatal(err)
	}
	// What a kubelet that restarted finds.
	w.sandboxes = []runtime.SandboxStatus{{ID: "sb", Pod: PodRef(pod), State: runtime.SandboxReady, IP: netip.MustParseAddr("10.2.1.9"), CreatedAt: t0}}
	w.containers = []runtime.ContainerStatus{{ID: "c1", SandboxID: "sb", Pod: PodRef(pod), Name: "app", State: runtime.ContainerRunning,
		Image: spec.Image, CreatedAt: t0, StartedAt: t0, Annotations: spec.Annotations}}
	w.now = t0.Add(time.Hour)
	w.sync()
	if len(w.log) != 0 {
		t.Fatalf("adoption acted: %v", w.log)
	}
	if got := summary(w.pod.GetStatus()); got != "Running app:running restarts=0 ready Ready=True" {
		t.Errorf("summary %q", got)
	}
	if w.pod.GetStatus().GetPodIp() != "10.2.1.9" {
		t.Errorf("podIP %q", w.pod.GetStatus().GetPodIp())
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	w := newWorld(t, newPod("Always", app("exit", "1")))
	w.exitAtOnce["app"] = 1
	// Kubernetes restarts at once after the first crash, then waits 10 s,
	// 20 s, 40 s, ... up to 5 min.
	steps := []step{
		{want: "Running app:waiting[CrashLoopBackOff] last[Error/1] restarts=1 Ready=False", wantIn: "0s StartContainer app\n0s StartContainer app"},
		{after: 9 * time.Second, want: "Running app:waiting[CrashLoopBackOff] last[Error/1] restarts=1 Ready=False"},
		{after: time.Second, want: "Running app:waiting[CrashLoopBackOff] last[Error/1] restarts=2 Ready=False", wantIn: "10s StartContainer app"},
		{after: 19 * time.Second, want: "Running app:waiting[CrashLoopBackOff] last[Error/1] restarts=2 Ready=False"},
		{after: time.Second, wantIn: "30s StartContainer app"},
		{after: 40 * time.Second, wantIn: "1m10s StartContainer app"},
		{after: 80 * time.Second, wantIn: "2m30s StartContainer app"},
		{after: 160 * time.Second, wantIn: "5m10s StartContainer app"},
		{after: 300 * time.Second, wantIn: "10m10s StartContainer app"},
		{after: 300 * time.Second, wantIn: "15m10s StartContainer app", want: "Running app:waiting[CrashLoopBackOff] last[Error/1] restarts=8 Ready=False"},
	}
	runSteps(t, w, steps)
	if got := w.res.NextSync; !got.Equal(w.now.Add(300 * time.Second)) {
		t.Errorf("NextSync %v, want the end of the 5 min backoff", got.Sub(t0))
	}
	cs := w.pod.GetStatus().GetContainerStatuses()[0]
	if msg := cs.GetState().GetWaiting().GetMessage(); msg != "back-off 5m0s restarting failed container=app pod=web_default(uid-1)" {
		t.Errorf("message %q", msg)
	}
	// Old attempts are removed; two are kept (state and last state).
	var kept int
	for _, c := range w.containers {
		if c.Name == "app" {
			kept++
		}
	}
	if kept != 2 {
		t.Errorf("%d containers kept, want 2", kept)
	}
}

func TestBackoffResetsAfterTenMinutesOfRunning(t *testing.T) {
	w := newWorld(t, newPod("Always", app("serve")))
	steps := []step{
		{wantIn: "0s StartContainer app"},
		{after: time.Second, do: func(w *world) { w.exit("app", 2) }, wantIn: "1s StartContainer app"}, // first: at once
		{after: time.Second, do: func(w *world) { w.exit("app", 2) }, want: "Running app:waiting[CrashLoopBackOff] last[Error/2] restarts=1 Ready=False"},
		{after: 10 * time.Second, wantIn: "12s StartContainer app"},
		{after: time.Second, do: func(w *world) { w.exit("app", 2) }, want: "Running app:waiting[CrashLoopBackOff] last[Error/2] restarts=2 Ready=False"},
		{after: 19 * time.Second, want: "Running app:waiting[CrashLoopBackOff] last[Error/2] restarts=2 Ready=False"}, // 20 s now
		{after: time.Second, wantIn: "33s StartContainer app", want: "Running app:running last[Error/2] restarts=3 ready Ready=True"},
		// It runs for more than ten minutes, then crashes: restart at once.
		{after: 11 * time.Minute, do: func(w *world) { w.exit("app", 2) }, wantIn: "11m33s StartContainer app", want: "Running app:running last[Error/2] restarts=4 ready Ready=True"},
		// And the next crash waits the initial 10 s again.
		{after: time.Second, do: func(w *world) { w.exit("app", 2) }, want: "Running app:waiting[CrashLoopBackOff] last[Error/2] restarts=4 Ready=False"},
		{after: 10 * time.Second, wantIn: "11m44s StartContainer app"},
	}
	runSteps(t, w, steps)
}

// TestBackoffAfterARun: how long a container ran before it crashed
// decides whether its backoff starts over (more than ten minutes: restart
// at once, then 10 s) or keeps doubling (40 s, then 80 s).
func TestBackoffAfterARun(t *testing.T) {
	tests := []struct {
		ran       time.Duration
		want      string        // after the crash that ends the run
		wantWait  time.Duration // the CrashLoopBackOff delay; 0: restarted at once
		wantAfter time.Duration // the delay after one more, quick, crash
	}{
		{ran: 9*time.Minute + 59*time.Second, want: "Running app:waiting[CrashLoopBackOff] last[Error/2] restarts=3 Ready=False", wantWait: 40 * time.Second, wantAfter: 80 * time.Second},
		{ran: 10*time.Minute + time.Second, want: "Running app:running last[Error/2] restarts=4 ready Ready=True", wantAfter: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.ran.String(), func(t *testing.T) {
			w := newWorld(t, newPod("Always", app("serve")))
			// Three quick crashes: the backoff is 40 s when restart 3 runs.
			runSteps(t, w, []step{
				{wantIn: "0s StartContainer app"},
				{after: time.Second, do: func(w *world) { w.exit("app", 2) }, wantIn: "1s StartContainer app"},
				{after: time.Second, do: func(w *world) { w.exit("app", 2) }, want: "Running app:waiting[CrashLoopBackOff] last[Error/2] restarts=1 Ready=False"},
				{after: 10 * time.Second, wantIn: "12s StartContainer app"},
				{after: time.Second, do: func(w *world) { w.exit("app", 2) }},
				{after: 20 * time.Second, wantIn: "33s StartContainer app", want: "Running app:running last[Error/2] restarts=3 ready Ready=True"},
			})
			if b := w.state.Crash["app"].Delay; b != 40*time.Second {
				t.Fatalf("backoff %v before the run, want 40s", b)
			}
			w.now = w.now.Add(tt.ran)
			w.exit("app", 2)
			w.sync()
			if got := summary(w.pod.GetStatus()); got != tt.want {
				t.Fatalf("after running %v: %s, want %s", tt.ran, got, tt.want)
			}
			if tt.wantWait > 0 {
				if wait := w.res.NextSync.Sub(w.now); wait != tt.wantWait {
					t.Fatalf("waits %v, want %v", wait, tt.wantWait)
				}
				w.now = w.now.Add(tt.wantWait)
				w.sync()
			}
			// One more quick crash waits the delay after that.
			w.now = w.now.Add(time.Second)
			w.exit("app", 2)
			w.sync()
			if wait := w.res.NextSync.Sub(w.now); wait != tt.wantAfter {
				t.Errorf("the next crash waits %v, want %v", wait, tt.wantAfter)
			}
		})
	}
}

// TestImagePullBackOffCaps: failed pulls are retried after 10 s doubling
// to 5 min, and no further.
func TestImagePullBackOffCaps(t *testing.T) {
	c := app("serve")
	c.Image = "minik8s/missing:v1"
	w := newWorld(t, newPod("Always", c))
	w.pullFails["minik8s/missing:v1"] = "pull image minik8s/missing:v1: image not found"
	w.sync()
	var waits []time.Duration
	for range 8 {
		wait := w.res.NextSync.Sub(w.now)
		waits = append(waits, wait)
		w.now = w.now.Add(wait)
		w.sync()
		if got := summary(w.pod.GetStatus()); got != "Pending app:waiting[ErrImagePull] restarts=0 Ready=False" {
			t.Fatalf("after %v: %s", w.offset(), got)
		}
	}
	if fmt.Sprint(waits) != "[10s 20s 40s 1m20s 2m40s 5m0s 5m0s 5m0s]" {
		t.Errorf("waits %v", waits)
	}
	if got := strings.Count(strings.Join(w.log, "\n"), "StartContainer app"); got != 9 {
		t.Errorf("%d pulls, want 9", got)
	}
}

func TestRestartPolicies(t *testing.T) {
	tests := []struct {
		name       string
		policy     string
		exitCode   int
		want       string
		wantAgain  bool // a new attempt starts
		wantSbStop bool
	}{
		{name: "Never, exit 1", policy: "Never", exitCode: 1, want: "Failed app:terminated[Error/1] restarts=0 Ready=False", wantSbStop: true},
		{name: "Never, exit 0", policy: "Never", exitCode: 0, want: "Succeeded app:terminated[Completed/0] restarts=0 Ready=False", wantSbStop: true},
		{name: "OnFailure, exit 0", policy: "OnFailure", exitCode: 0, want: "Succeeded app:terminated[Completed/0] restarts=0 Ready=False", wantSbStop: true},
		{name: "OnFailure, exit 3", policy: "OnFailure", exitCode: 3, want: "Running app:running last[Error/3] restarts=1 ready Ready=True", wantAgain: true},
		{name: "Always, exit 0", policy: "Always", exitCode: 0, want: "Running app:running last[Completed/0] restarts=1 ready Ready=True", wantAgain: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, newPod(tt.policy, app("sleep")))
			w.sync()
			w.now = w.now.Add(5 * time.Second)
			w.exit("app", tt.exitCode)
			before := len(w.log)
			w.sync()
			if got := summary(w.pod.GetStatus()); got != tt.want {
				t.Errorf("summary %q, want %q", got, tt.want)
			}
			logged := strings.Join(w.log[before:], ",")
			if again := strings.Contains(logged, "StartContainer"); again != tt.wantAgain {
				t.Errorf("actions %s: restarted %v, want %v", logged, again, tt.wantAgain)
			}
			if stopped := strings.Contains(logged, "StopSandbox"); stopped != tt.wantSbStop {
				t.Errorf("actions %s: sandbox stopped %v, want %v", logged, stopped, tt.wantSbStop)
			}
			// A terminal pod stays as it is.
			before = len(w.log)
			w.now = w.now.Add(time.Hour)
			w.sync()
			if tt.wantSbStop && len(w.log) != before {
				t.Errorf("terminal pod acted again: %v", w.log[before:])
			}
		})
	}
}

func TestImagePulls(t *testing.T) {
	t.Run("ErrImagePull then ImagePullBackOff, doubling", func(t *testing.T) {
		c := app("serve")
		c.Image = "minik8s/missing:v1"
		w := newWorld(t, newPod("Always", c))
		w.pullFails["minik8s/missing:v1"] = "pull image minik8s/missing:v1: image not found"
		steps := []step{
			{want: "Pending app:waiting[ErrImagePull] restarts=0 Ready=False", wantIn: "0s StartContainer app"},
			{after: time.Second, want: "Pending app:waiting[ImagePullBackOff] restarts=0 Ready=False"},
			{after: 9 * time.Second, want: "Pending app:waiting[ErrImagePull] restarts=0 Ready=False", wantIn: "10s StartContainer app"},
			{after: 19 * time.Second, want: "Pending app:waiting[ImagePullBackOff] restarts=0 Ready=False"},
			{after: time.Second, want: "Pending app:waiting[ErrImagePull] restarts=0 Ready=False", wantIn: "30s StartContainer app"},
			// The registry gets the image: the next retry (after 40 s) runs it.
			{after: 39 * time.Second, do: func(w *world) { delete(w.pullFails, "minik8s/missing:v1") }, want: "Pending app:waiting[ImagePullBackOff] restarts=0 Ready=False"},
			{after: time.Second, want: "Running app:running restarts=0 ready Ready=True", wantIn: "1m10s StartContainer app"},
		}
		runSteps(t, w, steps)
		if len(w.state.Pulls) != 0 {
			t.Errorf("pull failures kept after a success: %v", w.state.Pulls)
		}
	})
	t.Run("ErrImageNeverPull", func(t *testing.T) {
		c := app("serve")
		c.Image, c.ImagePullPolicy = "minik8s/missing:v1", "Never"
		w := newWorld(t, newPod("Always", c))
		runSteps(t, w, []step{{want: "Pending app:waiting[ErrImageNeverPull] restarts=0 Ready=False"}})
		if strings.Contains(strings.Join(w.log, ","), "StartContainer") {
			t.Errorf("started with a missing image under Never: %v", w.log)
		}
		if msg := w.pod.GetStatus().GetContainerStatuses()[0].GetState().GetWaiting().GetMessage(); !strings.Contains(msg, "pull policy of Never") {
			t.Errorf("message %q", msg)
		}
	})
	tests := []struct {
		policy   string
		image    string
		present  bool
		wantPull bool
	}{
		{policy: "Always", image: "minik8s/testapp:v1", present: true, wantPull: true},
		{policy: "IfNotPresent", image: "minik8s/testapp:v1", present: true, wantPull: false},
		{policy: "IfNotPresent", image: "minik8s/testapp:v1", present: false, wantPull: true},
		{policy: "Never", image: "minik8s/testapp:v1", present: true, wantPull: false},
		{policy: "", image: "minik8s/testapp:latest", present: true, wantPull: true}, // defaulted Always
		{policy: "", image: "minik8s/testapp:v1", present: true, wantPull: false},    // defaulted IfNotPresent
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("policy %q %s present=%v", tt.policy, tt.image, tt.present), func(t *testing.T) {
			c := app("serve")
			c.Image, c.ImagePullPolicy = tt.image, tt.policy
			pod := newPod("Always", c)
			r := Compute(Input{
				Pod:       pod,
				Sandboxes: []runtime.SandboxStatus{{ID: "sb", Pod: PodRef(pod), State: runtime.SandboxReady}},
				Images:    map[string]bool{tt.image: tt.present},
				Now:       t0,
			})
			if len(r.Actions) != 1 || r.Actions[0].Type != StartContainer || r.Actions[0].Pull != tt.wantPull {
				t.Errorf("actions %s, want one StartContainer with pull=%v", String(r.Actions), tt.wantPull)
			}
		})
	}
}

func TestStartFailure(t *testing.T) {
	w := newWorld(t, newPod("Always", app("serve")))
	w.createFails["app"] = "invalid memory limit"
	steps := []step{
		{want: "Pending app:waiting[CreateContainerError] restarts=0 Ready=False"},
		{after: time.Second, want: "Pending app:waiting[CrashLoopBackOff] restarts=0 Ready=False"},
		{after: 9 * time.Second, wantIn: "10s StartContainer app", want: "Pending app:waiting[CreateContainerError] restarts=0 Ready=False"},
		{after: 19 * time.Second, do: func(w *world) { delete(w.createFails, "app") }, want: "Pending app:waiting[CrashLoopBackOff] restarts=0 Ready=False"},
		{after: time.Second, wantIn: "30s StartContainer app", want: "Running app:running restarts=0 ready Ready=True"},
	}
	runSteps(t, w, steps)
	if len(w.state.Starts) != 0 {
		t.Errorf("start failures kept after a start: %v", w.state.Starts)
	}
}

func TestProbes(t *testing.T) {
	c := app("serve")
	c.ReadinessProbe = &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "8080"}}
	c.LivenessProbe = &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "8080"}}
	c.StartupProbe = &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "8080"}}
	w := newWorld(t, newPod("Always", c))
	steps := []step{
		{want: "Running app:running restarts=0 Ready=False"},
		{do: func(w *world) { w.probes[w.running("app").ID] = ProbeResult{Started: true} }, want: "Running app:running restarts=0 Ready=False"},
		{do: func(w *world) { w.probes[w.running("app").ID] = ProbeResult{Started: true, Ready: true} }, want: "Running app:running restarts=0 ready Ready=True"},
		{after: time.Minute, do: func(w *world) { w.probes[w.running("app").ID] = ProbeResult{Started: true, Ready: false} }, want: "Running app:running restarts=0 Ready=False"},
		// A liveness failure kills the container; it restarts (the first
		// restart at once) with a fresh probe state.
		{after: time.Minute, do: func(w *world) { w.probes[w.running("app").ID] = ProbeResult{Started: true, Unhealthy: true} },
			wantIn: "2m0s KillContainer app\n2m0s StartContainer app", want: "Running app:running last[Completed/0] restarts=1 Ready=False"},
	}
	runSteps(t, w, steps)
	for _, cond := range w.pod.GetStatus().GetConditions() {
		if cond.GetType() == ConditionContainersReady && cond.GetMessage() != "containers with unready status: [app]" {
			t.Errorf("ContainersReady message %q", cond.GetMessage())
		}
	}
}

func TestSandboxDiesAndIsReplaced(t *testing.T) {
	w := newWorld(t, newPod("Always", app("serve")))
	steps := []step{
		{want: "Running app:running restarts=0 ready Ready=True"},
		{after: time.Minute, do: func(w *world) { w.sandboxes[0].State = runtime.SandboxNotReady },
			wantIn: "1m0s KillContainer app\n1m0s CreateSandbox\n1m0s StartContainer app",
			want:   "Running app:running last[Completed/0] restarts=1 ready Ready=True"},
	}
	runSteps(t, w, steps)
	// The old sandbox stays while the exited container of the last state
	// refers to it.
	if n := len(w.sandboxes); n != 2 || w.sandboxes[1].Attempt != 1 || w.sandboxes[1].State != runtime.SandboxReady {
		t.Fatalf("sandboxes %+v, want the old one and attempt 1 ready", w.sandboxes)
	}
	if w.running("app").SandboxID != w.sandboxes[1].ID {
		t.Errorf("container runs outside the new sandbox")
	}
	// Once that container is collected (two more restarts), the old sandbox goes.
	w.now = w.now.Add(time.Minute)
	w.exit("app", 1)
	w.sync()
	w.now = w.now.Add(time.Minute)
	w.exit("app", 1)
	w.sync()
	if n := len(w.sandboxes); n != 1 || w.sandboxes[0].Attempt != 1 {
		t.Errorf("sandboxes %+v, want only attempt 1", w.sandboxes)
	}
}

func TestNeverPodWithDeadSandboxIsNotRecreated(t *testing.T) {
	w := newWorld(t, newPod("Never", app("serve")))
	w.sync()
	w.now = w.now.Add(time.Minute)
	w.sandboxes[0].State = runtime.SandboxNotReady
	before := len(w.log)
	w.sync()
	if got := strings.Join(w.log[before:], ","); got != "1m0s KillContainer app" {
		t.Errorf("actions %s, want only the kill", got)
	}
	if got := summary(w.pod.GetStatus()); got != "Succeeded app:terminated[Completed/0] restarts=0 Ready=False" {
		t.Errorf("summary %q", got)
	}
}

func TestDeletion(t *testing.T) {
	pod := newPod("Always", app("serve"), &v1.Container{Name: "side", Image: "minik8s/testapp:v1", Args: []string{"sleep"}})
	grace := int64(7)
	pod.Spec.TerminationGracePeriodSeconds = &grace
	w := newWorld(t, pod)
	w.sync()
	w.now = w.now.Add(time.Minute)
	w.pod.Metadata.DeletionTimestamp = timestamppb.New(w.now)
	r := w.compute()
	want := "KillContainer app (c02) grace 7s: pod deleted\nKillContainer side (c03) grace 7s: pod deleted\nStopSandbox c01 grace 7s: pod deleted\n"
	if got := String(r.Actions); got != want {
		t.Errorf("actions\n%s\nwant\n%s", got, want)
	}
	w.sync()
	if !w.res.Removed || len(w.containers) != 0 || len(w.sandboxes) != 0 {
		t.Errorf("after deletion: removed %v, %d containers, %d sandboxes", w.res.Removed, len(w.containers), len(w.sandboxes))
	}
	if got := w.pod.GetStatus().GetPhase(); got != PhaseSucceeded {
		t.Errorf("phase %s, want Succeeded (all exited 0 on SIGTERM)", got)
	}

	// A deletion with its own grace period uses it.
	w2 := newWorld(t, newPod("Always", app("serve")))
	w2.sync()
	w2.pod.Metadata.DeletionTimestamp = timestamppb.New(w2.now)
	zero := int64(0)
	w2.pod.Metadata.DeletionGracePeriodSeconds = &zero
	if r := w2.compute(); len(r.Actions) == 0 || r.Actions[0].Grace != 0 {
		t.Errorf("actions %s, want grace 0", String(r.Actions))
	}
}

func TestOrphanedPod(t *testing.T) {
	pod := newPod("Always", app("serve"))
	grace := int64(12)
	pod.Spec.TerminationGracePeriodSeconds = &grace
	w := newWorld(t, pod)
	w.sync()
	// The pod is gone from the apiserver; its sandbox remembers the grace.
	w.pod = nil
	r := Compute(Input{Sandboxes: w.sandboxes, Containers: w.containers, Now: w.now})
	if r.Status != nil || len(r.Actions) != 2 || r.Actions[0].Type != KillContainer || r.Actions[0].Grace != 12*time.Second {
		t.Fatalf("actions %s status %v", String(r.Actions), r.Status)
	}
	for _, a := range r.Actions {
		w.apply(a)
	}
	r = Compute(Input{Sandboxes: w.sandboxes, Containers: w.containers, Now: w.now})
	if got := String(r.Actions); !strings.Contains(got, "RemoveContainer") || !strings.Contains(got, "RemoveSandbox") || r.Removed {
		t.Fatalf("actions %s removed %v", got, r.Removed)
	}
	for _, a := range r.Actions {
		w.apply(a)
	}
	if r = Compute(Input{Sandboxes: w.sandboxes, Containers: w.containers, Now: w.now}); !r.Removed || len(r.Actions) != 0 {
		t.Errorf("after removal: %s removed %v", String(r.Actions), r.Removed)
	}
}

func TestUnknownAndStaleContainers(t *testing.T) {
	pod := newPod("Always", app("serve"))
	spec, err := ContainerSpec(pod, "app", 0, "/r")
	if err != nil {
		t.Fatal(err)
	}
	ref := PodRef(pod)
	in := Input{
		Pod:       pod,
		Sandboxes: []runtime.SandboxStatus{{ID: "sb1", Pod: ref, Attempt: 1, State: runtime.SandboxReady}, {ID: "sb0", Pod: ref, State: runtime.SandboxNotReady}},
		Containers: []runtime.ContainerStatus{
			{ID: "old", SandboxID: "sb0", Pod: ref, Name: "app", State: runtime.ContainerRunning, Annotations: spec.Annotations},
			{ID: "gone", SandboxID: "sb1", Pod: ref, Name: "removed-from-spec", State: runtime.ContainerRunning},
			{ID: "gone-exited", SandboxID: "sb1", Pod: ref, Name: "removed-from-spec", Attempt: 0, State: runtime.ContainerExited},
			{ID: "created", SandboxID: "sb1", Pod: ref, Name: "app", Attempt: 1, State: runtime.ContainerCreated, Annotations: spec.Annotations},
		},
		Images: map[string]bool{"minik8s/testapp:v1": true},
		Now:    t0,
	}
	got := String(Compute(in).Actions)
	want := strings.Join([]string{
		"KillContainer app (old) grace 30s: container runs in an old sandbox",
		"KillContainer removed-from-spec (gone) grace 30s: container is not in the pod's spec",
		"StartContainer app (created) attempt 1 in sb1: container was created and not started",
		"RemoveContainer gone-exited: old exited container",
		"",
	}, "\n")
	if got != want {
		t.Errorf("actions\n%s\nwant\n%s", got, want)
	}
}

// TestCreatedContainer: a container created and not started (created while
// its sandbox started, or left by a worker that stopped in between) is
// started when it belongs to the sandbox in use, has the spec's hash and
// needs no pull; otherwise it is replaced under the same attempt.
func TestCreatedContainer(t *testing.T) {
	pod := newPod("Always", app("serve"))
	spec, err := ContainerSpec(pod, "app", 0, "/r")
	if err != nil {
		t.Fatal(err)
	}
	ref := PodRef(pod)
	tests := []struct {
		name      string
		sandboxID string
		hash      string
		policy    string
		want      string
	}{
		{name: "fits: started", sandboxID: "sb1", hash: spec.Annotations[AnnotationHash], policy: "IfNotPresent",
			want: "StartContainer app (created) attempt 0 in sb1: container was created and not started\n"},
		{name: "of an old sandbox: replaced", sandboxID: "sb0", hash: spec.Annotations[AnnotationHash], policy: "IfNotPresent",
			want: "RemoveContainer created: container was created but not started\nStartContainer app attempt 0 in sb1 pull=false: container has not run\n"},
		{name: "of another spec: replaced", sandboxID: "sb1", hash: "0", policy: "IfNotPresent",
			want: "RemoveContainer created: container was created but not started\nStartContainer app attempt 0 in sb1 pull=false: container has not run\n"},
		{name: "image to pull first: replaced", sandboxID: "sb1", hash: "", policy: "Always",
			want: "RemoveContainer created: container was created before its image was pulled\nStartContainer app attempt 0 in sb1 pull=true: container has not run\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod("Always", app("serve"))
			p.Spec.Containers[0].ImagePullPolicy = tt.policy
			hash := tt.hash
			if hash == "" {
				hash = Hash(p.Spec.Containers[0])
			}
			sbs := []runtime.SandboxStatus{{ID: "sb1", Pod: ref, Attempt: 1, State: runtime.SandboxReady}}
			if tt.sandboxID == "sb0" {
				sbs = append(sbs, runtime.SandboxStatus{ID: "sb0", Pod: ref, State: runtime.SandboxNotReady})
			}
			in := Input{
				Pod:       p,
				Sandboxes: sbs,
				Containers: []runtime.ContainerStatus{{ID: "created", SandboxID: tt.sandboxID, Pod: ref, Name: "app", State: runtime.ContainerCreated,
					Annotations: map[string]string{AnnotationHash: hash}}},
				Images: map[string]bool{"minik8s/testapp:v1": true},
				Now:    t0,
			}
			r := Compute(in)
			if got := String(r.Actions); got != tt.want {
				t.Errorf("actions\n%s\nwant\n%s", got, tt.want)
			}
			if got := summary(r.Status); got != "Pending app:waiting[ContainerCreating] restarts=0 Ready=False" {
				t.Errorf("summary %q", got)
			}
		})
	}
}

func TestSpecChangeRestarts(t *testing.T) {
	w := newWorld(t, newPod("Always", app("serve")))
	w.sync()
	w.now = w.now.Add(time.Minute)
	w.pod.Spec.Containers[0].Image = "minik8s/testapp:v2"
	w.images["minik8s/testapp:v2"] = true
	before := len(w.log)
	w.sync()
	if got := strings.Join(w.log[before:], ","); got != "1m0s KillContainer app,1m0s StartContainer app" {
		t.Errorf("actions %s", got)
	}
	if img := w.running("app").Image; img != "minik8s/testapp:v2" {
		t.Errorf("running image %s", img)
	}
}

func TestMultipleContainersPhase(t *testing.T) {
	pod := newPod("OnFailure", app("serve"), &v1.Container{Name: "job", Image: "minik8s/testapp:v1", ImagePullPolicy: "IfNotPresent", Args: []string{"exit", "0"}})
	w := newWorld(t, pod)
	w.exitAtOnce["job"] = 0
	runSteps(t, w, []step{
		{want: "Running app:running restarts=0 ready job:terminated[Completed/0] restarts=0 Ready=False"},
		{after: time.Minute, do: func(w *world) { w.exit("app", 0) }, want: "Succeeded app:terminated[Completed/0] restarts=0 job:terminated[Completed/0] restarts=0 Ready=False", wantIn: "StopSandbox"},
	})
}

func TestHostNetwork(t *testing.T) {
	pod := newPod("Always", app("serve"))
	pod.Spec.HostNetwork = true
	w := newWorld(t, pod)
	w.sync()
	if ip := w.pod.GetStatus().GetPodIp(); ip != "192.0.2.10" {
		t.Errorf("podIP %q, want the host's", ip)
	}
}

func TestBackoffNext(t *testing.T) {
	var b Backoff
	ok := false
	var got []time.Duration
	now := t0
	for range 8 {
		b = next(b, ok, now, now)
		ok = true
		got = append(got, b.Delay)
		now = now.Add(time.Second)
	}
	if fmt.Sprint(got) != "[10s 20s 40s 1m20s 2m40s 5m0s 5m0s 5m0s]" {
		t.Errorf("delays %v", got)
	}
	// An event more than ten minutes after the last update starts over.
	b = next(b, true, b.LastUpdate.Add(10*time.Minute+time.Second), now)
	if b.Delay != InitialBackoff {
		t.Errorf("after ten quiet minutes: %v", b.Delay)
	}
	b = next(Backoff{Delay: 40 * time.Second, LastUpdate: t0}, true, t0.Add(10*time.Minute), t0)
	if b.Delay != 80*time.Second {
		t.Errorf("at exactly ten minutes: %v", b.Delay)
	}
}

func TestStateIsNotShared(t *testing.T) {
	s0 := State{}
	s1 := s0.PullFailed("img", "boom", t0)
	if s0.Pulls != nil {
		t.Fatalf("PullFailed changed its receiver")
	}
	s2 := s1.StartFailed("app", ReasonRunContainerErr, "x", t0)
	if len(s1.Starts) != 0 || len(s1.Crash) != 0 {
		t.Fatalf("StartFailed changed its receiver")
	}
	// Compute returns a new State and leaves its input alone.
	pod := newPod("Always", app("serve"))
	pod.Spec.Containers[0].Image = "img"
	in := Input{Pod: pod, Sandboxes: []runtime.SandboxStatus{{ID: "sb", Pod: PodRef(pod), State: runtime.SandboxReady}}, State: s2, Now: t0}
	r := Compute(in)
	if s2.Pulls["img"].Reported || !r.State.Pulls["img"].Reported {
		t.Errorf("Reported: input %v, output %v", s2.Pulls["img"].Reported, r.State.Pulls["img"].Reported)
	}
}

func initC(name string, args ...string) *v1.Container {
	return &v1.Container{Name: name, Image: "minik8s/testapp:v1", ImagePullPolicy: "IfNotPresent", Args: args}
}

// initPod is a pod with the init containers inits and the container app.
func initPod(policy string, inits ...*v1.Container) *v1.Pod {
	p := newPod(policy, app("serve"))
	p.Spec.InitContainers = inits
	return p
}

func podCondition(st *v1.PodStatus, typ string) *v1.Condition {
	for _, c := range st.GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

// TestInitContainersRunInOrder: init containers run one at a time, in
// order, each to its successful exit; the containers wait (PodInitializing)
// until all have succeeded, and the pod is Pending and not Initialized
// meanwhile.
func TestInitContainersRunInOrder(t *testing.T) {
	w := newWorld(t, initPod("Always", initC("init1", "sleep"), initC("init2", "sleep")))
	runSteps(t, w, []step{
		{want: "Pending init1:running restarts=0 init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"},
		// Nothing else starts while init1 runs.
		{after: time.Minute, want: "Pending init1:running restarts=0 init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"},
		{after: time.Second, do: func(w *world) { w.exit("init1", 0) }, wantIn: "1m1s StartContainer init2",
			want: "Pending init1:terminated[Completed/0] restarts=0 ready init2:running restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"},
		{after: time.Second, do: func(w *world) { w.exit("init2", 0) }, wantIn: "1m2s StartContainer app",
			want: "Running init1:terminated[Completed/0] restarts=0 ready init2:terminated[Completed/0] restarts=0 ready | app:running restarts=0 ready Initialized=True Ready=True"},
	})
	want := "0s CreateSandbox,0s StartContainer init1,1m1s StartContainer init2,1m2s StartContainer app"
	if got := strings.Join(w.log, ","); got != want {
		t.Errorf("actions %s\nwant %s", got, want)
	}
	// The exited init containers stay (their logs remain readable) and a
	// later sync changes nothing.
	before := len(w.log)
	w.now = w.now.Add(time.Hour)
	w.sync()
	if len(w.log) != before {
		t.Errorf("sync of an initialized pod acted: %v", w.log[before:])
	}
	if len(w.containers) != 3 {
		t.Errorf("%d containers kept, want both init containers and the app", len(w.containers))
	}
	if c := podCondition(w.pod.GetStatus(), ConditionInitialized); c.GetStatus() != "True" || !c.GetLastTransitionTime().AsTime().Equal(t0.Add(62*time.Second)) {
		t.Errorf("Initialized %v", c)
	}
}

func TestInitContainerStatus(t *testing.T) {
	w := newWorld(t, initPod("Always", initC("init1", "sleep"), initC("init2", "sleep")))
	w.sync()
	st := w.pod.GetStatus()
	c := podCondition(st, ConditionInitialized)
	if c.GetStatus() != "False" || c.GetReason() != "ContainersNotInitialized" || c.GetMessage() != "containers with incomplete status: [init1 init2]" {
		t.Errorf("Initialized %v", c)
	}
	ics := st.GetInitContainerStatuses()
	if len(ics) != 2 || ics[0].GetName() != "init1" || ics[1].GetName() != "init2" {
		t.Fatalf("init container statuses %v", ics)
	}
	if !strings.HasPrefix(ics[0].GetContainerId(), "docker://c") || ics[0].GetImageId() != "sha256:abc" || ics[0].GetImage() != "minik8s/testapp:v1" ||
		ics[0].GetReady() || !ics[0].GetStarted() {
		t.Errorf("running init container status %v", ics[0])
	}
	if ics[1].GetContainerId() != "" || ics[1].GetStarted() {
		t.Errorf("waiting init container status %v", ics[1])
	}
	w.now = w.now.Add(time.Second)
	w.exit("init1", 0)
	w.sync()
	st = w.pod.GetStatus()
	if c := podCondition(st, ConditionInitialized); c.GetMessage() != "containers with incomplete status: [init2]" {
		t.Errorf("Initialized %v", c)
	}
	term := st.GetInitContainerStatuses()[0].GetState().GetTerminated()
	if !term.GetStartedAt().AsTime().Equal(t0) || !term.GetFinishedAt().AsTime().Equal(t0.Add(time.Second)) || term.GetContainerId() == "" {
		t.Errorf("terminated %v", term)
	}
	if !st.GetInitContainerStatuses()[0].GetReady() || st.GetInitContainerStatuses()[0].GetStarted() {
		t.Errorf("succeeded init container %v: want ready and not started", st.GetInitContainerStatuses()[0])
	}
	if app := st.GetContainerStatuses()[0]; app.GetStarted() || app.GetReady() || app.GetState().GetWaiting().GetReason() != ReasonPodInitializing {
		t.Errorf("app %v", app)
	}
	if c := podCondition(st, ConditionReady); c.GetReason() != "ContainersNotReady" || c.GetMessage() != "containers with unready status: [app]" {
		t.Errorf("Ready %v", c)
	}
}

// TestInitContainersThatExitAtOnce: one sync runs them all, then the app.
func TestInitContainersThatExitAtOnce(t *testing.T) {
	w := newWorld(t, initPod("Never", initC("init1", "echo", "one"), initC("init2", "echo", "two")))
	w.exitAtOnce["init1"], w.exitAtOnce["init2"] = 0, 0
	w.sync()
	want := "0s CreateSandbox,0s StartContainer init1,0s StartContainer init2,0s StartContainer app"
	if got := strings.Join(w.log, ","); got != want {
		t.Errorf("actions %s\nwant %s", got, want)
	}
	if got := summary(w.pod.GetStatus()); got != "Running init1:terminated[Completed/0] restarts=0 ready init2:terminated[Completed/0] restarts=0 ready | app:running restarts=0 ready Initialized=True Ready=True" {
		t.Errorf("summary %q", got)
	}
	// The app completes: Succeeded, and Initialized says PodCompleted.
	w.now = w.now.Add(time.Minute)
	w.exit("app", 0)
	w.sync()
	if got := w.pod.GetStatus().GetPhase(); got != PhaseSucceeded {
		t.Errorf("phase %s", got)
	}
	if c := podCondition(w.pod.GetStatus(), ConditionInitialized); c.GetStatus() != "True" || c.GetReason() != "PodCompleted" {
		t.Errorf("Initialized %v", c)
	}
}

// TestInitContainerFailure: a failed init container restarts with the
// crash-loop backoff under Always and OnFailure, and fails the pod under
// Never; the containers never start either way.
func TestInitContainerFailure(t *testing.T) {
	crashLoop := []step{
		// The first failure restarts at once, the next waits 10 s, then 20 s.
		{want: "Pending init1:waiting[CrashLoopBackOff] last[Error/1] restarts=1 init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False",
			wantIn: "0s StartContainer init1\n0s StartContainer init1"},
		{after: 9 * time.Second, want: "Pending init1:waiting[CrashLoopBackOff] last[Error/1] restarts=1 init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"},
		{after: time.Second, wantIn: "10s StartContainer init1",
			want: "Pending init1:waiting[CrashLoopBackOff] last[Error/1] restarts=2 init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"},
		{after: 19 * time.Second, want: "Pending init1:waiting[CrashLoopBackOff] last[Error/1] restarts=2 init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"},
		{after: time.Second, wantIn: "30s StartContainer init1"},
		// It succeeds at last: init2, then the app run.
		{after: 40 * time.Second, do: func(w *world) { w.exitAtOnce["init1"] = 0 }, wantIn: "1m10s StartContainer init1\n1m10s StartContainer init2\n1m10s RemoveContainer init1\n1m10s StartContainer app",
			want: "Running init1:terminated[Completed/0] last[Error/1] restarts=4 ready init2:terminated[Completed/0] restarts=0 ready | app:running restarts=0 ready Initialized=True Ready=True"},
	}
	for _, policy := range []string{"Always", "OnFailure"} {
		t.Run(policy, func(t *testing.T) {
			w := newWorld(t, initPod(policy, initC("init1", "exit", "1"), initC("init2", "exit", "0")))
			w.exitAtOnce["init1"], w.exitAtOnce["init2"] = 1, 0
			runSteps(t, w, crashLoop[:5])
			if strings.Contains(strings.Join(w.log, ","), "StartContainer init2") || strings.Contains(strings.Join(w.log, ","), "StartContainer app") {
				t.Fatalf("started past a failing init container: %v", w.log)
			}
			cs := w.pod.GetStatus().GetInitContainerStatuses()[0]
			if msg := cs.GetState().GetWaiting().GetMessage(); msg != "back-off 40s restarting failed container=init1 pod=web_default(uid-1)" {
				t.Errorf("message %q", msg)
			}
			runSteps(t, w, crashLoop[5:])
			// Old attempts are collected as the containers' are: two kept.
			var kept int
			for _, c := range w.containers {
				if c.Name == "init1" {
					kept++
				}
			}
			if kept != 2 {
				t.Errorf("%d attempts of init1 kept, want 2", kept)
			}
		})
	}
	t.Run("Never", func(t *testing.T) {
		w := newWorld(t, initPod("Never", initC("init1", "exit", "1"), initC("init2", "exit", "0")))
		w.exitAtOnce["init1"] = 1
		runSteps(t, w, []step{{
			want:   "Failed init1:terminated[Error/1] restarts=0 init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False",
			wantIn: "0s StartContainer init1\n0s StopSandbox",
		}})
		if c := podCondition(w.pod.GetStatus(), ConditionInitialized); c.GetReason() != "ContainersNotInitialized" || c.GetMessage() != "containers with incomplete status: [init1 init2]" {
			t.Errorf("Initialized %v", c)
		}
		if c := podCondition(w.pod.GetStatus(), ConditionReady); c.GetReason() != "PodCompleted" {
			t.Errorf("Ready %v", c)
		}
		// Failed for good: nothing runs again, the init container is kept.
		before := len(w.log)
		w.now = w.now.Add(time.Hour)
		w.sync()
		if len(w.log) != before {
			t.Errorf("failed pod acted again: %v", w.log[before:])
		}
		if len(w.containers) != 1 || w.containers[0].Name != "init1" {
			t.Errorf("containers %+v, want only init1", w.containers)
		}
	})
	t.Run("Never, a running init container is killed with the pod", func(t *testing.T) {
		w := newWorld(t, initPod("Never", initC("init1", "sleep")))
		w.sync()
		w.now = w.now.Add(time.Second)
		w.exit("init1", 2)
		before := len(w.log)
		w.sync()
		if got := strings.Join(w.log[before:], ","); got != "1s StopSandbox" {
			t.Errorf("actions %s", got)
		}
		if got := summary(w.pod.GetStatus()); got != "Failed init1:terminated[Error/2] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False" {
			t.Errorf("summary %q", got)
		}
	})
}

// TestInitContainersNotRunAgain: what the runtime shows of a sandbox (a
// kubelet that restarted, or a later sync) counts; init containers that
// succeeded in the sandbox in use do not run again.
func TestInitContainersNotRunAgain(t *testing.T) {
	pod := initPod("Always", initC("init1", "echo", "one"), initC("init2", "echo", "two"))
	ref := PodRef(pod)
	exited := func(id, name string, attempt, code int) runtime.ContainerStatus {
		spec, err := ContainerSpec(pod, name, attempt, "/r")
		if err != nil {
			t.Fatal(err)
		}
		return runtime.ContainerStatus{ID: id, SandboxID: "sb", Pod: ref, Name: name, Attempt: attempt, State: runtime.ContainerExited, ExitCode: code,
			CreatedAt: t0, StartedAt: t0, FinishedAt: t0.Add(time.Second), Annotations: spec.Annotations}
	}
	running := func(id, name string) runtime.ContainerStatus {
		c := exited(id, name, 0, 0)
		c.State, c.FinishedAt = runtime.ContainerRunning, time.Time{}
		return c
	}
	tests := []struct {
		name       string
		containers []runtime.ContainerStatus
		want       string
	}{
		{name: "both succeeded, app not started: the app starts",
			containers: []runtime.ContainerStatus{exited("i1", "init1", 0, 0), exited("i2", "init2", 0, 0)},
			want:       "StartContainer app attempt 0 in sb pull=false: container has not run\n"},
		{name: "both succeeded, app runs: nothing",
			containers: []runtime.ContainerStatus{exited("i1", "init1", 0, 0), exited("i2", "init2", 0, 0), running("a", "app")}},
		{name: "init1 succeeded: init2 starts",
			containers: []runtime.ContainerStatus{exited("i1", "init1", 0, 0)},
			want:       "StartContainer init2 attempt 0 in sb pull=false: container has not run\n"},
		{name: "init1 succeeded after a failure: init2 starts",
			containers: []runtime.ContainerStatus{exited("i0", "init1", 0, 1), exited("i1", "init1", 1, 0)},
			want:       "StartContainer init2 attempt 0 in sb pull=false: container has not run\n"},
		{name: "init2 runs: nothing",
			containers: []runtime.ContainerStatus{exited("i1", "init1", 0, 0), running("i2", "init2")}},
		{name: "the exited init containers are gone but the app runs: initialized",
			containers: []runtime.ContainerStatus{running("a", "app")}},
		{name: "the app crashed: it restarts, the init containers do not",
			containers: []runtime.ContainerStatus{exited("i1", "init1", 0, 0), exited("i2", "init2", 0, 0), exited("a", "app", 0, 1)},
			want:       "StartContainer app attempt 1 in sb pull=false: container exited with 1; restart policy Always\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute(Input{
				Pod:        pod,
				Sandboxes:  []runtime.SandboxStatus{{ID: "sb", Pod: ref, State: runtime.SandboxReady, CreatedAt: t0}},
				Containers: tt.containers,
				Images:     map[string]bool{"minik8s/testapp:v1": true},
				Now:        t0.Add(time.Hour),
			})
			if got := String(r.Actions); got != tt.want {
				t.Errorf("actions\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestInitContainerCreatedAhead: the first init container, created while
// the sandbox started, is started; no container is created ahead of it.
func TestInitContainerCreatedAhead(t *testing.T) {
	pod := initPod("Always", initC("init1", "sleep"))
	spec, err := ContainerSpec(pod, "init1", 0, "/r")
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Init {
		t.Errorf("ContainerSpec of an init container is not marked Init")
	}
	if app, _ := ContainerSpec(pod, "app", 0, "/r"); app.Init {
		t.Errorf("ContainerSpec of the app is marked Init")
	}
	ref := PodRef(pod)
	r := Compute(Input{
		Pod:        pod,
		Sandboxes:  []runtime.SandboxStatus{{ID: "sb", Pod: ref, State: runtime.SandboxReady}},
		Containers: []runtime.ContainerStatus{{ID: "created", SandboxID: "sb", Pod: ref, Name: "init1", State: runtime.ContainerCreated, Annotations: spec.Annotations}},
		Images:     map[string]bool{"minik8s/testapp:v1": true},
		Now:        t0,
	})
	if got, want := String(r.Actions), "StartContainer init1 (created) attempt 0 in sb: container was created and not started\n"; got != want {
		t.Errorf("actions\n%s\nwant\n%s", got, want)
	}
	if got := summary(r.Status); got != "Pending init1:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False" {
		t.Errorf("summary %q", got)
	}
}

// TestInitContainersRunAgainInANewSandbox: a new sandbox runs every init
// container again before the containers, as in Kubernetes.
func TestInitContainersRunAgainInANewSandbox(t *testing.T) {
	w := newWorld(t, initPod("Always", initC("init1", "echo", "one"), initC("init2", "echo", "two")))
	w.exitAtOnce["init1"], w.exitAtOnce["init2"] = 0, 0
	runSteps(t, w, []step{
		{want: "Running init1:terminated[Completed/0] restarts=0 ready init2:terminated[Completed/0] restarts=0 ready | app:running restarts=0 ready Initialized=True Ready=True"},
		{after: time.Minute, do: func(w *world) { w.sandboxes[0].State = runtime.SandboxNotReady },
			wantIn: "1m0s KillContainer app\n1m0s CreateSandbox\n1m0s StartContainer init1\n1m0s StartContainer init2\n1m0s StartContainer app",
			want:   "Running init1:terminated[Completed/0] last[Completed/0] restarts=1 ready init2:terminated[Completed/0] last[Completed/0] restarts=1 ready | app:running last[Completed/0] restarts=1 ready Initialized=True Ready=True"},
	})
	// While the init containers of the new sandbox run, the old exits do
	// not count.
	w2 := newWorld(t, initPod("Always", initC("init1", "echo", "one"), initC("init2", "sleep")))
	w2.exitAtOnce["init1"] = 0
	w2.sync()
	w2.exit("init2", 0)
	w2.sync()
	w2.now = w2.now.Add(time.Minute)
	w2.sandboxes[0].State = runtime.SandboxNotReady
	w2.sync()
	if got := summary(w2.pod.GetStatus()); got != "Pending init1:terminated[Completed/0] last[Completed/0] restarts=1 ready init2:running last[Completed/0] restarts=1 | app:waiting[PodInitializing] last[Completed/0] restarts=0 Initialized=False Ready=False" {
		t.Errorf("summary %q", got)
	}
}

// TestInitContainerImagePull: init containers follow the pull policies
// and show ErrImagePull, then ImagePullBackOff, as containers do.
func TestInitContainerImagePull(t *testing.T) {
	ic := initC("init1", "echo", "one")
	ic.Image = "minik8s/missing:v1"
	w := newWorld(t, initPod("Always", ic))
	w.exitAtOnce["init1"] = 0
	w.pullFails["minik8s/missing:v1"] = "pull image minik8s/missing:v1: image not found"
	runSteps(t, w, []step{
		{want: "Pending init1:waiting[ErrImagePull] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False", wantIn: "0s StartContainer init1"},
		{after: time.Second, want: "Pending init1:waiting[ImagePullBackOff] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"},
		{after: 9 * time.Second, do: func(w *world) { delete(w.pullFails, "minik8s/missing:v1") }, wantIn: "10s StartContainer init1\n10s StartContainer app",
			want: "Running init1:terminated[Completed/0] restarts=0 ready | app:running restarts=0 ready Initialized=True Ready=True"},
	})
	for _, a := range w.log {
		if strings.HasSuffix(a, "StartContainer app") && !strings.HasPrefix(a, "10s") {
			t.Errorf("app started before its init container: %v", w.log)
		}
	}
	// A Never pull policy with a missing image.
	ic2 := initC("init1", "echo", "one")
	ic2.Image, ic2.ImagePullPolicy = "minik8s/missing:v1", "Never"
	w2 := newWorld(t, initPod("Always", ic2))
	runSteps(t, w2, []step{{want: "Pending init1:waiting[ErrImageNeverPull] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False"}})
}

// TestNeverPodWithDeadSandboxDuringInit: the sandbox dies while an init
// container runs; under Never it is not created again, so the pod fails.
func TestNeverPodWithDeadSandboxDuringInit(t *testing.T) {
	w := newWorld(t, initPod("Never", initC("init1", "sleep"), initC("init2", "sleep")))
	w.sync()
	w.now = w.now.Add(time.Minute)
	w.sandboxes[0].State = runtime.SandboxNotReady
	before := len(w.log)
	w.sync()
	if got := strings.Join(w.log[before:], ","); got != "1m0s KillContainer init1" {
		t.Errorf("actions %s, want only the kill", got)
	}
	if got := summary(w.pod.GetStatus()); got != "Failed init1:terminated[Completed/0] restarts=0 ready init2:waiting[PodInitializing] restarts=0 | app:waiting[PodInitializing] restarts=0 Initialized=False Ready=False" {
		t.Errorf("summary %q", got)
	}
}
