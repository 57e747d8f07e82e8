// Package podsync decides what the kubelet does for one pod: a pure
// function from the pod's spec, what the runtime shows of it, the backoffs
// carried between syncs and the time, to the actions to take and the status
// to report. It does no I/O; the pod worker runs the actions, records their
// failures in the State and calls Compute again until nothing is left to do.
//
// It follows the kubelet's computePodActions and generateAPIPodStatus: a
// sandbox first, then the init containers one at a time, each to its
// successful exit, then the containers in spec order; restarts as the restart
// policy says, with the crash-loop backoff (10 s doubling to 5 min, reset
// after 10 min of running); image pull policies with ErrImagePull and
// ImagePullBackOff; the pod's phase and conditions as getPhase computes them.
package podsync

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/kubelet/runtime"
)

// Input is everything Compute looks at.
type Input struct {
	// Pod is the pod as the apiserver (or the manifest file) has it; nil when
	// it no longer exists, and then everything of it is killed and removed.
	Pod *v1.Pod
	// Sandboxes and Containers are the runtime's sandboxes and containers of
	// this pod (matched by pod UID), in any order.
	Sandboxes  []runtime.SandboxStatus
	Containers []runtime.ContainerStatus
	// Images tells which images are present on the node.
	Images map[string]bool
	// Probes are the prober's results by container ID.
	Probes map[string]ProbeResult
	// State is the State of the last Compute (with the worker's records).
	State State
	Now   time.Time
	// RuntimeName prefixes container IDs in the status ("docker://...").
	RuntimeName string
	// HostIP is the node's address.
	HostIP string
}

// ProbeResult is what the prober knows of a running container.
type ProbeResult struct {
	// Started: the startup probe has succeeded.
	Started bool
	// Ready: the readiness probe succeeds.
	Ready bool
	// Unhealthy: the liveness probe failed; the container is restarted.
	Unhealthy bool
}

// ActionType says what an Action does.
type ActionType string

// Action types, in the order the worker meets them in one Result.
const (
	// KillContainer stops a running container with a grace period.
	KillContainer ActionType = "KillContainer"
	// StopSandbox stops a sandbox with a grace period.
	StopSandbox ActionType = "StopSandbox"
	// RemoveContainer removes an exited container.
	RemoveContainer ActionType = "RemoveContainer"
	// RemoveSandbox removes a stopped sandbox.
	RemoveSandbox ActionType = "RemoveSandbox"
	// CreateSandbox creates and starts the pod's sandbox.
	CreateSandbox ActionType = "CreateSandbox"
	// StartContainer pulls the image if Pull is set, then creates and starts
	// the container in the sandbox; with ContainerID set it starts that
	// created container.
	StartContainer ActionType = "StartContainer"
)

// Action is one thing for the worker to do.
type Action struct {
	Type ActionType
	// ContainerID: KillContainer, RemoveContainer; StartContainer when it
	// starts a container that was created and not started (no pull, no
	// create).
	ContainerID string
	// SandboxID: StopSandbox, RemoveSandbox, StartContainer (where to start).
	SandboxID string
	// Name is the container's name in the spec (KillContainer, StartContainer).
	Name string
	// Attempt: CreateSandbox, StartContainer.
	Attempt int
	// Pull: StartContainer pulls the image first (imagePullPolicy).
	Pull bool
	// Grace: KillContainer, StopSandbox.
	Grace time.Duration
	// Reason says why, for logs and events.
	Reason string
}

func (a Action) String() string {
	switch a.Type {
	case KillContainer:
		return fmt.Sprintf("%s %s (%s) grace %v: %s", a.Type, a.Name, short(a.ContainerID), a.Grace, a.Reason)
	case StopSandbox:
		return fmt.Sprintf("%s %s grace %v: %s", a.Type, short(a.SandboxID), a.Grace, a.Reason)
	case RemoveContainer:
		return fmt.Sprintf("%s %s: %s", a.Type, short(a.ContainerID), a.Reason)
	case RemoveSandbox:
		return fmt.Sprintf("%s %s: %s", a.Type, short(a.SandboxID), a.Reason)
	case CreateSandbox:
		return fmt.Sprintf("%s attempt %d: %s", a.Type, a.Attempt, a.Reason)
	default:
		if a.ContainerID != "" {
			return fmt.Sprintf("%s %s (%s) attempt %d in %s: %s", a.Type, a.Name, short(a.ContainerID), a.Attempt, short(a.SandboxID), a.Reason)
		}
		return fmt.Sprintf("%s %s attempt %d in %s pull=%v: %s", a.Type, a.Name, a.Attempt, short(a.SandboxID), a.Pull, a.Reason)
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Result is what Compute decided.
type Result struct {
	// Actions, to run in order; the worker then relists and computes again.
	Actions []Action
	// Status to report; nil when Input.Pod is nil.
	Status *v1.PodStatus
	// State to pass to the next Compute.
	State State
	// NextSync is when a wait ends (a backoff); zero when no timer is needed.
	NextSync time.Time
	// Removed: the pod is deleted (or gone) and nothing of it is left in the
	// runtime; the worker may finish the deletion.
	Removed bool
}

// Container waiting and terminated reasons, as Kubernetes shows them.
const (
	ReasonContainerCreating  = "ContainerCreating"
	ReasonCrashLoopBackOff   = "CrashLoopBackOff"
	ReasonErrImagePull       = "ErrImagePull"
	ReasonImagePullBackOff   = "ImagePullBackOff"
	ReasonErrImageNeverPull  = "ErrImageNeverPull"
	ReasonCreateContainerErr = "CreateContainerError"
	ReasonRunContainerErr    = "RunContainerError"
	ReasonCompleted          = "Completed"
	ReasonError              = "Error"
	ReasonOOMKilled          = "OOMKilled"
	ReasonContainerCannotRun = "ContainerCannotRun"
	// ReasonPodInitializing: the container waits for the pod's init
	// containers (also an init container that has not started yet).
	ReasonPodInitializing = "PodInitializing"
)

// Pod phases.
const (
	PhasePending   = "Pending"
	PhaseRunning   = "Running"
	PhaseSucceeded = "Succeeded"
	PhaseFailed    = "Failed"
)

// Compute decides the next actions and the status of one pod.
func Compute(in Input) Result {
	c := &computation{in: in, st: in.State.Clone()}
	c.index()
	if in.Pod == nil || in.Pod.GetMetadata().GetDeletionTimestamp() != nil {
		c.terminate()
	} else {
		c.sync()
	}
	r := Result{Actions: c.actions, State: c.st, NextSync: c.nextSync, Removed: c.removed}
	if in.Pod != nil {
		r.Status = c.status()
	}
	return r
}

// computation is one Compute call's working state.
type computation struct {
	in       Input
	st       State
	actions  []Action
	nextSync time.Time
	removed  bool

	sandboxes []runtime.SandboxStatus              // latest first
	history   map[string][]runtime.ContainerStatus // by name, latest first
	sandbox   *runtime.SandboxStatus               // the ready sandbox in use, if any
	plans     map[string]plan                      // by spec container name
	// initFailed: an init container failed and the restart policy is
	// Never; the pod is Failed.
	initFailed bool
	// noSandboxAgain: the sandbox is gone and, by the restart policy,
	// is not created again.
	noSandboxAgain bool
}

// plan is what happens to one spec container in this sync.
type plan struct {
	// waiting, if set, is the reason the container does not run now.
	waiting, message string
	// starting: a StartContainer action is issued in this sync.
	starting bool
	// done: the container exited and will not restart.
	done bool
}

func (c *computation) index() {
	c.sandboxes = slices.Clone(c.in.Sandboxes)
	slices.SortFunc(c.sandboxes, func(a, b runtime.SandboxStatus) int {
		return cmp.Or(cmp.Compare(b.Attempt, a.Attempt), b.CreatedAt.Compare(a.CreatedAt))
	})
	c.history = make(map[string][]runtime.ContainerStatus)
	for _, s := range c.in.Containers {
		c.history[s.Name] = append(c.history[s.Name], s)
	}
	for _, h := range c.history {
		slices.SortFunc(h, func(a, b runtime.ContainerStatus) int {
			return cmp.Or(cmp.Compare(b.Attempt, a.Attempt), b.CreatedAt.Compare(a.CreatedAt))
		})
	}
	c.plans = make(map[string]plan)
}

func (c *computation) add(a Action) { c.actions = append(c.actions, a) }

func (c *computation) wakeAt(t time.Time) {
	if c.nextSync.IsZero() || t.Before(c.nextSync) {
		c.nextSync = t
	}
}

// grace is the termination grace period: the deletion's, the spec's, the
// one the sandbox was created with, or Kubernetes' default.
func (c *computation) grace() time.Duration {
	if p := c.in.Pod; p != nil {
		if p.GetMetadata().DeletionGracePeriodSeconds != nil {
			return time.Duration(p.GetMetadata().GetDeletionGracePeriodSeconds()) * time.Second
		}
		if p.GetSpec().TerminationGracePeriodSeconds != nil {
			return time.Duration(p.GetSpec().GetTerminationGracePeriodSeconds()) * time.Second
		}
	}
	for _, sb := range c.sandboxes {
		if v, err := strconv.ParseInt(sb.Annotations[AnnotationGrace], 10, 64); err == nil && v >= 0 {
			return time.Duration(v) * time.Second
		}
	}
	return time.Duration(defaults.TerminationGracePeriodSeconds) * time.Second
}

// killAll stops every running container, then every ready sandbox, and
// reports whether anything ran.
func (c *computation) killAll(reason string) bool {
	grace := c.grace()
	any := false
	for _, s := range c.in.Containers {
		if s.State == runtime.ContainerRunning {
			c.add(Action{Type: KillContainer, ContainerID: s.ID, Name: s.Name, Grace: grace, Reason: reason})
			any = true
		}
	}
	for _, sb := range c.sandboxes {
		if sb.State == runtime.SandboxReady {
			c.add(Action{Type: StopSandbox, SandboxID: sb.ID, Grace: grace, Reason: reason})
			any = true
		}
	}
	return any
}

// terminate handles a deleted (or vanished) pod: kill, then remove.
func (c *computation) terminate() {
	reason := "pod deleted"
	if c.in.Pod == nil {
		reason = "pod no longer exists"
	}
	if c.killAll(reason) {
		return
	}
	for _, s := range c.in.Containers {
		c.add(Action{Type: RemoveContainer, ContainerID: s.ID, Name: s.Name, Reason: reason})
	}
	for _, sb := range c.sandboxes {
		c.add(Action{Type: RemoveSandbox, SandboxID: sb.ID, Reason: reason})
	}
	c.removed = len(c.actions) == 0
}

func restartPolicy(p *v1.Pod) string {
	if rp := p.GetSpec().GetRestartPolicy(); rp != "" {
		return rp
	}
	return defaults.RestartPolicyAlways
}

// shouldRestart tells whether an exited container runs again.
func shouldRestart(policy string, exitCode int) bool {
	switch policy {
	case "Never":
		return false
	case "OnFailure":
		return exitCode != 0
	default:
		return true
	}
}

func (c *computation) sync() {
	pod := c.in.Pod
	spec := pod.GetSpec()
	policy := restartPolicy(pod)
	if prev := pod.GetStatus().GetPhase(); prev == PhaseSucceeded || prev == PhaseFailed {
		// A terminal pod stays terminal: stop what still runs, start nothing.
		c.planObserved()
		c.killAll("pod is " + prev)
		return
	}

	var latest *runtime.SandboxStatus
	if len(c.sandboxes) > 0 {
		latest = &c.sandboxes[0]
	}
	if latest != nil && latest.State == runtime.SandboxReady && latest.HostNetwork == spec.GetHostNetwork() {
		c.sandbox = latest
	}

	// Containers that do not belong: names not in the spec, or running in
	// another sandbox than the one in use.
	names := make(map[string]bool, len(spec.GetInitContainers())+len(spec.GetContainers()))
	for _, ct := range spec.GetInitContainers() {
		names[ct.GetName()] = true
	}
	for _, ct := range spec.GetContainers() {
		names[ct.GetName()] = true
	}
	grace := c.grace()
	for _, s := range c.in.Containers {
		if s.State != runtime.ContainerRunning {
			continue
		}
		switch {
		case !names[s.Name]:
			c.add(Action{Type: KillContainer, ContainerID: s.ID, Name: s.Name, Grace: grace, Reason: "container is not in the pod's spec"})
		case c.sandbox != nil && s.SandboxID != c.sandbox.ID:
			c.add(Action{Type: KillContainer, ContainerID: s.ID, Name: s.Name, Grace: grace, Reason: "container runs in an old sandbox"})
		}
	}

	if c.sandbox == nil {
		c.syncWithoutSandbox(latest, policy)
		return
	}
	if c.planInit(policy) {
		for _, ct := range spec.GetContainers() {
			c.plans[ct.GetName()] = c.planContainer(ct, policy)
		}
	} else {
		for _, ct := range spec.GetContainers() {
			c.plans[ct.GetName()] = plan{waiting: ReasonPodInitializing}
		}
	}
	c.collectGarbage(names)
	if c.initFailed {
		// Kubernetes kills a pod whose init container failed under
		// restartPolicy Never: nothing of it runs again.
		for _, s := range c.in.Containers {
			if s.State == runtime.ContainerRunning && s.SandboxID == c.sandbox.ID && names[s.Name] {
				c.add(Action{Type: KillContainer, ContainerID: s.ID, Name: s.Name, Grace: grace, Reason: "init container failed; restart policy Never"})
			}
		}
		c.add(Action{Type: StopSandbox, SandboxID: c.sandbox.ID, Grace: grace, Reason: "init container failed; restart policy Never"})
		return
	}

	// All containers done: the pod is terminal and its sandbox stops.
	allDone := len(spec.GetContainers()) > 0
	for _, ct := range spec.GetContainers() {
		allDone = allDone && c.plans[ct.GetName()].done
	}
	if allDone {
		c.add(Action{Type: StopSandbox, SandboxID: c.sandbox.ID, Grace: grace, Reason: "all containers have terminated"})
	}
}

// syncWithoutSandbox: the sandbox is missing, dead or of the wrong network
// kind. Kill what runs and create a new one, unless the pod is done.
func (c *computation) syncWithoutSandbox(latest *runtime.SandboxStatus, policy string) {
	c.planObserved()
	spec := c.in.Pod.GetSpec()
	ran := len(c.in.Containers) > 0
	if latest != nil && latest.State == runtime.SandboxReady {
		// Ready but of the wrong kind (host network changed).
		c.add(Action{Type: StopSandbox, SandboxID: latest.ID, Grace: c.grace(), Reason: "sandbox network changed"})
	}
	for _, s := range c.in.Containers {
		if s.State == runtime.ContainerRunning {
			c.add(Action{Type: KillContainer, ContainerID: s.ID, Name: s.Name, Grace: c.grace(), Reason: "pod sandbox changed"})
		}
	}
	// Kubernetes does not recreate the sandbox of a pod that must not
	// restart once its containers have run.
	if policy == "Never" && latest != nil && ran {
		c.noSandboxAgain = true
		return
	}
	// Nor when every container has completed as the policy wants.
	allDone := len(spec.GetContainers()) > 0
	for _, ct := range spec.GetContainers() {
		h := c.history[ct.GetName()]
		allDone = allDone && len(h) > 0 && h[0].State == runtime.ContainerExited && !shouldRestart(policy, h[0].ExitCode)
	}
	if allDone {
		return
	}
	attempt := 0
	reason := "no sandbox"
	if latest != nil {
		attempt = latest.Attempt + 1
		reason = "sandbox is not ready"
	}
	c.add(Action{Type: CreateSandbox, Attempt: attempt, Reason: reason})
}

// planObserved plans every container as what the runtime shows, without
// starting anything.
func (c *computation) planObserved() {
	spec := c.in.Pod.GetSpec()
	for _, ct := range slices.Concat(spec.GetInitContainers(), spec.GetContainers()) {
		h := c.history[ct.GetName()]
		switch {
		case len(h) == 0:
			c.plans[ct.GetName()] = plan{waiting: c.defaultWaiting()}
		case h[0].State == runtime.ContainerExited:
			c.plans[ct.GetName()] = plan{done: true}
		default:
			c.plans[ct.GetName()] = plan{}
		}
	}
}

// defaultWaiting is the reason of a container that has not run: as in
// Kubernetes, PodInitializing in a pod with init containers.
func (c *computation) defaultWaiting() string {
	if len(c.in.Pod.GetSpec().GetInitContainers()) > 0 {
		return ReasonPodInitializing
	}
	return ReasonContainerCreating
}

// planInit plans the init containers in the sandbox in use and reports
// whether all of them have succeeded, so that the containers may start.
// They run one at a time, in spec order, each to a successful exit; only
// exits in the sandbox in use count (a new sandbox runs them all again,
// as in Kubernetes). A running container in the sandbox in use means the
// pod was initialized (Kubernetes' findNextInitContainerToRun), also when
// the exited init containers are gone.
func (c *computation) planInit(policy string) bool {
	spec := c.in.Pod.GetSpec()
	inits := spec.GetInitContainers()
	if len(inits) == 0 {
		return true
	}
	for _, ct := range spec.GetContainers() {
		if h := c.history[ct.GetName()]; len(h) > 0 && h[0].State == runtime.ContainerRunning && h[0].SandboxID == c.sandbox.ID {
			for _, ic := range inits {
				c.plans[ic.GetName()] = c.observedInit(ic)
			}
			return true
		}
	}
	for i, ct := range inits {
		p, succeeded := c.planInitContainer(ct, policy)
		c.plans[ct.GetName()] = p
		if succeeded {
			continue
		}
		for _, rest := range inits[i+1:] {
			c.plans[rest.GetName()] = plan{waiting: ReasonPodInitializing}
		}
		return false
	}
	return true
}

// observedInit plans an init container of an initialized pod as what the
// runtime shows.
func (c *computation) observedInit(ct *v1.Container) plan {
	h := c.history[ct.GetName()]
	if len(h) > 0 && h[0].State == runtime.ContainerExited {
		return plan{done: true}
	}
	return plan{waiting: ReasonPodInitializing}
}

// planInitContainer plans one init container whose predecessors have
// succeeded and reports whether it has succeeded itself.
func (c *computation) planInitContainer(ct *v1.Container, policy string) (plan, bool) {
	name := ct.GetName()
	h := c.history[name]
	if len(h) == 0 {
		return c.start(ct, 0, nil, nil), false
	}
	cur := h[0]
	current := cur.SandboxID == c.sandbox.ID
	switch cur.State {
	case runtime.ContainerRunning:
		if current {
			delete(c.st.Starts, name)
		}
		// One in an old sandbox is killed above; it runs again once it
		// has stopped.
		return plan{}, false
	case runtime.ContainerCreated:
		if current && cur.Annotations[AnnotationHash] == Hash(ct) {
			return c.start(ct, cur.Attempt, nil, &cur), false
		}
		c.add(Action{Type: RemoveContainer, ContainerID: cur.ID, Name: name, Reason: "container was created but not started"})
		return c.start(ct, cur.Attempt, nil, nil), false
	case runtime.ContainerExited:
		switch {
		case current && cur.ExitCode == 0:
			return plan{done: true}, true
		case current && policy == "Never":
			c.initFailed = true
			return plan{done: true}, false
		case cur.ExitCode == 0:
			// Succeeded in an old sandbox: the new one runs it again.
			return c.start(ct, cur.Attempt+1, nil, nil), false
		}
		if b, ok := c.st.Crash[name]; ok && !b.expired(cur.FinishedAt) && c.in.Now.Sub(cur.FinishedAt) < b.Delay {
			c.wakeAt(cur.FinishedAt.Add(b.Delay))
			return plan{waiting: ReasonCrashLoopBackOff, message: c.crashMessage(name, b.Delay)}, false
		}
		return c.start(ct, cur.Attempt+1, &cur, nil), false
	default:
		return plan{}, false
	}
}

func (c *computation) planContainer(ct *v1.Container, policy string) plan {
	name := ct.GetName()
	h := c.history[name]
	if len(h) == 0 {
		return c.start(ct, 0, nil, nil)
	}
	cur := h[0]
	switch cur.State {
	case runtime.ContainerRunning:
		delete(c.st.Starts, name)
		grace := c.grace()
		if cur.SandboxID != c.sandbox.ID {
			return plan{} // killed above; restarts in a later sync
		}
		if want := Hash(ct); cur.Annotations[AnnotationHash] != "" && cur.Annotations[AnnotationHash] != want {
			c.add(Action{Type: KillContainer, ContainerID: cur.ID, Name: name, Grace: grace, Reason: "container spec changed"})
			return plan{}
		}
		if c.in.Probes[cur.ID].Unhealthy {
			c.add(Action{Type: KillContainer, ContainerID: cur.ID, Name: name, Grace: grace, Reason: "liveness probe failed"})
			return plan{}
		}
		return plan{}
	case runtime.ContainerCreated:
		// Created but never started: created while the sandbox started, or
		// left by a worker that stopped in between. Start it when it is of
		// this sandbox and this spec; otherwise replace it, under the same
		// attempt number.
		if cur.SandboxID == c.sandbox.ID && cur.Annotations[AnnotationHash] == Hash(ct) {
			return c.start(ct, cur.Attempt, nil, &cur)
		}
		c.add(Action{Type: RemoveContainer, ContainerID: cur.ID, Name: name, Reason: "container was created but not started"})
		return c.start(ct, cur.Attempt, nil, nil)
	case runtime.ContainerExited:
		if !shouldRestart(policy, cur.ExitCode) {
			return plan{done: true}
		}
		b, ok := c.st.Crash[name]
		if ok && !b.expired(cur.FinishedAt) && c.in.Now.Sub(cur.FinishedAt) < b.Delay {
			c.wakeAt(cur.FinishedAt.Add(b.Delay))
			return plan{waiting: ReasonCrashLoopBackOff, message: c.crashMessage(name, b.Delay)}
		}
		return c.start(ct, cur.Attempt+1, &cur, nil)
	default:
		return plan{}
	}
}

func pullPolicy(ct *v1.Container) string {
	if p := ct.GetImagePullPolicy(); p != "" {
		return p
	}
	return defaults.PullPolicyFor(ct.GetImage())
}

// Pulls reports whether starting ct pulls its image first, as its
// imagePullPolicy says, given whether the image is present.
func Pulls(ct *v1.Container, present bool) bool {
	return pullPolicy(ct) == "Always" || !present
}

func (c *computation) crashMessage(name string, delay time.Duration) string {
	m := c.in.Pod.GetMetadata()
	return fmt.Sprintf("back-off %v restarting failed container=%s pod=%s_%s(%s)", delay, name, m.GetName(), m.GetNamespace(), m.GetUid())
}

// start plans the start of attempt of ct, after the image and backoff
// checks. prev is the exited container it replaces, if any; created is a
// container of attempt created and not started, which is started unless
// the image is to be pulled first (then it is replaced).
func (c *computation) start(ct *v1.Container, attempt int, prev, created *runtime.ContainerStatus) plan {
	name, image := ct.GetName(), ct.GetImage()
	present := c.in.Images[image]
	if pullPolicy(ct) == "Never" && !present {
		return plan{waiting: ReasonErrImageNeverPull, message: fmt.Sprintf("Container image %q is not present with pull policy of Never", image)}
	}
	pull := Pulls(ct, present)
	if f, ok := c.st.Pulls[image]; ok && pull && c.in.Now.Sub(f.At) < f.Delay {
		c.wakeAt(f.At.Add(f.Delay))
		if !f.Reported {
			f.Reported = true
			c.st.Pulls[image] = f
			return plan{waiting: ReasonErrImagePull, message: f.Message}
		}
		return plan{waiting: ReasonImagePullBackOff, message: fmt.Sprintf("Back-off pulling image %q", image)}
	}
	if f, ok := c.st.Starts[name]; ok {
		if b := c.st.Crash[name]; c.in.Now.Sub(f.At) < b.Delay {
			c.wakeAt(f.At.Add(b.Delay))
			if !f.Reported {
				f.Reported = true
				c.st.Starts[name] = f
				return plan{waiting: f.Reason, message: f.Message}
			}
			return plan{waiting: ReasonCrashLoopBackOff, message: c.crashMessage(name, b.Delay)}
		}
	}
	if prev != nil {
		if c.st.Crash == nil {
			c.st.Crash = make(map[string]Backoff)
		}
		b, ok := c.st.Crash[name]
		c.st.Crash[name] = next(b, ok, prev.FinishedAt, c.in.Now)
	}
	reason := "container has not run"
	if prev != nil {
		reason = fmt.Sprintf("container exited with %d; restart policy %s", prev.ExitCode, restartPolicy(c.in.Pod))
	}
	if created != nil {
		if !pull {
			c.add(Action{Type: StartContainer, ContainerID: created.ID, Name: name, Attempt: attempt, SandboxID: c.sandbox.ID, Reason: "container was created and not started"})
			return plan{waiting: ReasonContainerCreating, starting: true}
		}
		c.add(Action{Type: RemoveContainer, ContainerID: created.ID, Name: name, Reason: "container was created before its image was pulled"})
	}
	c.add(Action{Type: StartContainer, Name: name, Attempt: attempt, SandboxID: c.sandbox.ID, Pull: pull, Reason: reason})
	return plan{waiting: ReasonContainerCreating, starting: true}
}

// collectGarbage removes exited containers beyond the latest two of each
// name (the latest gives the state, the one before the last state) and
// exited containers whose name left the spec.
func (c *computation) collectGarbage(names map[string]bool) {
	for name, h := range c.history {
		for i, s := range h {
			if s.State != runtime.ContainerExited {
				continue
			}
			if !names[name] || i >= 2 {
				c.add(Action{Type: RemoveContainer, ContainerID: s.ID, Name: name, Reason: "old exited container"})
			}
		}
	}
	// Old sandboxes that no container refers to any more.
	used := make(map[string]bool)
	for _, s := range c.in.Containers {
		used[s.SandboxID] = true
	}
	for _, sb := range c.sandboxes[1:] {
		if sb.State != runtime.SandboxReady && !used[sb.ID] {
			c.add(Action{Type: RemoveSandbox, SandboxID: sb.ID, Reason: "old sandbox"})
		}
	}
}
