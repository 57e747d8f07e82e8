package kubelet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet/config"
	"minik8s/pkg/kubelet/metrics"
	"minik8s/pkg/kubelet/podsync"
	"minik8s/pkg/kubelet/podworkers"
	"minik8s/pkg/kubelet/prober"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/status"
)

// podState is what a pod's worker keeps between syncs.
type podState struct {
	sync      podsync.State
	firstSeen time.Time
	// started: the pod's start latency was observed.
	started bool
	// lastRV is the resourceVersion of the pod at the last sync.
	lastRV string
	// last is the last desired pod seen, for the cleanup after it is gone.
	last *v1.Pod
	// trace marks the steps of the pod's first start, for the debug log
	// "Pod started"; nil once logged.
	trace []traceMark
}

// traceMark is a step of a pod's first start and when it happened.
type traceMark struct {
	step string
	at   time.Time
}

// mark notes that the pod's first start passed step now.
func (ps *podState) mark(step string, at time.Time) {
	if ps.started {
		return
	}
	for i := range ps.trace {
		if ps.trace[i].step == step {
			ps.trace[i].at = at // of a pod's containers, the last one counts
			return
		}
	}
	ps.trace = append(ps.trace, traceMark{step: step, at: at})
}

// traceFields are the trace's steps as durations since the pod was seen.
func (ps *podState) traceFields() []zap.Field {
	fields := []zap.Field{zap.Time("seen", ps.firstSeen)}
	for _, m := range ps.trace {
		fields = append(fields, zap.Duration(m.step, m.at.Sub(ps.firstSeen)))
	}
	return fields
}

func (k *Kubelet) state(uid string) *podState {
	k.stateMu.Lock()
	defer k.stateMu.Unlock()
	st, ok := k.states[uid]
	if !ok {
		st = &podState{firstSeen: k.clk.Now()}
		k.states[uid] = st
	}
	return st
}

func (k *Kubelet) forget(uid string) {
	k.stateMu.Lock()
	delete(k.states, uid)
	k.stateMu.Unlock()
}

// maxRounds bounds the compute-act rounds of one sync; a pod that still
// has work after them is synced again at once.
const maxRounds = 8

// syncPod is one level-triggered sync of pod uid: look at the desired pod
// and the runtime, let podsync decide, act, and repeat until nothing is
// left to do; then report the status.
func (k *Kubelet) syncPod(ctx context.Context, uid string) (podworkers.Outcome, error) {
	start := k.clk.Now()
	pod, desired := k.pods.Get(uid)
	st := k.state(uid)
	op := metrics.OperationSync
	switch {
	case st.lastRV == "" && desired:
		op = metrics.OperationCreate
	case desired && pod.GetMetadata().GetResourceVersion() != st.lastRV:
		op = metrics.OperationUpdate
	}
	defer func() { k.metrics.ObservePodWorker(op, k.clk.Since(start)) }()

	if !k.relisted.Load() {
		return podworkers.Outcome{RequeueAfter: k.cfg.RelistPeriod}, nil
	}
	if !desired && !k.sourcesReady() {
		// Not known (yet): maybe a pod of a source not read yet. Never
		// kill on incomplete knowledge.
		return podworkers.Outcome{RequeueAfter: time.Second}, nil
	}
	if desired {
		st.last = pod
		st.lastRV = pod.GetMetadata().GetResourceVersion()
		if pod.GetMetadata().GetResourceVersion() == "" {
			st.lastRV = "static"
		}
	}
	if desired {
		st.mark("syncStarted", start)
	}
	lg := k.lg.With(zap.String("podUID", uid))
	if p := st.last; p != nil {
		lg = lg.With(zap.String("pod", apis.Key(p)))
	}

	if desired && config.IsStatic(pod) && k.cfg.Client != nil {
		if err := k.syncMirror(ctx, pod); err != nil {
			lg.Warn("Could not sync the mirror pod", zap.Error(err))
		}
	}

	var res podsync.Result
	for round := 0; ; round++ {
		sbs, cts, err := k.index.inspect(ctx, k.rt, uid)
		if err != nil {
			return podworkers.Outcome{}, err
		}
		in := podsync.Input{
			Sandboxes:   sbs,
			Containers:  cts,
			State:       st.sync,
			Now:         k.clk.Now(),
			RuntimeName: k.runtimeName.Load().(string),
			HostIP:      k.hostIP,
		}
		var apiPod *v1.Pod // the pod as the apiserver shows it (the mirror for a static pod)
		var target status.Target
		if desired {
			in.Pod, apiPod, target = k.podForCompute(pod)
			in.Images = k.images.present(ctx, k.rt, pod)
			in.Probes = k.prober.Results(uid)
		}
		res = podsync.Compute(in)
		st.sync = res.State
		if desired && res.Status != nil {
			k.setStatus(lg, pod, apiPod, target, res.Status, st)
			k.syncProbes(uid, pod, cts, res.Status)
		}
		if !anySandboxReady(sbs) {
			k.releaseIP(uid)
		}
		if len(res.Actions) == 0 {
			break
		}
		if round >= maxRounds {
			return podworkers.Outcome{RequeueAfter: 10 * time.Millisecond}, nil
		}
		lg.Debug("Pod actions", zap.String("actions", strings.TrimSpace(podsync.String(res.Actions))))
		if err := k.act(ctx, pod, uid, res.Actions, st); err != nil {
			return podworkers.Outcome{}, err
		}
	}

	if desired && !res.Removed {
		k.refreshVolumes(ctx, pod)
	}
	if res.Removed {
		lg.Debug("Pod removed from the runtime", zap.Bool("desired", desired))
		return k.finish(ctx, uid, pod, desired, st)
	}
	out := podworkers.Outcome{}
	if !res.NextSync.IsZero() {
		out.RequeueAfter = max(res.NextSync.Sub(k.clk.Now()), 10*time.Millisecond)
	}
	if desired && showsFreshFailure(res.Status) && (out.RequeueAfter == 0 || out.RequeueAfter > failureReportDelay) {
		// ErrImagePull and friends show once; the next sync shows the
		// back-off (ImagePullBackOff, CrashLoopBackOff), as Kubernetes does.
		out.RequeueAfter = failureReportDelay
	}
	if desired && pod.GetMetadata().GetDeletionTimestamp() != nil {
		// Terminating: look again soon in case a stop returned early.
		if out.RequeueAfter == 0 || out.RequeueAfter > time.Second {
			out.RequeueAfter = time.Second
		}
	}
	return out, nil
}

// podForCompute returns the pod podsync should see (with the status last
// reported, so that transition times and terminal phases hold), the pod
// as the apiserver has it, and where its status is written.
func (k *Kubelet) podForCompute(pod *v1.Pod) (*v1.Pod, *v1.Pod, status.Target) {
	apiPod := pod
	target := status.Target{Namespace: pod.GetMetadata().GetNamespace(), Name: pod.GetMetadata().GetName(), UID: pod.GetMetadata().GetUid()}
	if config.IsStatic(pod) {
		apiPod = k.pods.Mirror(apis.Key(pod))
		target.UID = ""
		if apiPod != nil {
			target.UID = apiPod.GetMetadata().GetUid()
		}
	}
	var last *v1.PodStatus
	if k.statuses != nil && target.UID != "" {
		last, _ = k.statuses.Status(target.UID)
	}
	if last == nil && apiPod != nil {
		last = apiPod.GetStatus()
	}
	if last == nil {
		return pod, apiPod, target
	}
	c := proto.Clone(pod).(*v1.Pod)
	c.Status = last
	return c, apiPod, target
}

// setStatus hands a computed status to the status manager and observes
// the pod's start latency.
func (k *Kubelet) setStatus(lg *zap.Logger, pod, apiPod *v1.Pod, target status.Target, st *v1.PodStatus, ps *podState) {
	if !ps.started && st.GetPhase() == podsync.PhaseRunning && allRunning(st) {
		ps.mark("running", k.clk.Now())
		if ce := lg.Check(zap.DebugLevel, "Pod started"); ce != nil {
			ce.Write(ps.traceFields()...)
		}
		ps.started = true
		ps.trace = nil
		k.metrics.ObservePodStart(k.clk.Since(ps.firstSeen))
	}
	if k.statuses == nil || target.UID == "" {
		return
	}
	k.statuses.SetPodStatus(target, apiPod, st)
}

// failureReportDelay is how long a fresh failure shows before the
// back-off reason replaces it.
const failureReportDelay = time.Second

// showsFreshFailure reports whether a container waits with the reason of
// a failure that just happened.
func showsFreshFailure(st *v1.PodStatus) bool {
	for _, cs := range slices.Concat(st.GetInitContainerStatuses(), st.GetContainerStatuses()) {
		switch cs.GetState().GetWaiting().GetReason() {
		case podsync.ReasonErrImagePull, podsync.ReasonCreateContainerErr, podsync.ReasonRunContainerErr, "CreateContainerConfigError":
			return true
		}
	}
	return false
}

func allRunning(st *v1.PodStatus) bool {
	for _, cs := range st.GetContainerStatuses() {
		if cs.GetState().GetRunning() == nil {
			return false
		}
	}
	return len(st.GetContainerStatuses()) > 0
}

func anySandboxReady(sbs []runtime.SandboxStatus) bool {
	for _, sb := range sbs {
		if sb.State == runtime.SandboxReady {
			return true
		}
	}
	return false
}

// syncProbes points the prober at the pod's running containers.
func (k *Kubelet) syncProbes(uid string, pod *v1.Pod, cts []runtime.ContainerStatus, st *v1.PodStatus) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		k.prober.RemovePod(uid)
		return
	}
	host := st.GetPodIp()
	if pod.GetSpec().GetHostNetwork() {
		host = "127.0.0.1"
	}
	specs := map[string]*v1.Container{}
	for _, c := range pod.GetSpec().GetContainers() {
		specs[c.GetName()] = c
	}
	var targets []prober.Target
	for _, c := range cts {
		spec, ok := specs[c.Name]
		if !ok || c.State != runtime.ContainerRunning {
			continue
		}
		targets = append(targets, prober.Target{PodUID: uid, ContainerID: c.ID, Container: spec, Host: host, StartedAt: c.StartedAt})
	}
	k.prober.SyncPod(uid, targets)
}

// act runs one round of podsync's actions, in order; kills that follow
// each other run together (each may wait out a grace period). Failures of
// pulls and starts are recorded in the pod's state for podsync to show;
// other failures end the round with an error.
func (k *Kubelet) act(ctx context.Context, pod *v1.Pod, uid string, actions []podsync.Action, ps *podState) error {
	for i := 0; i < len(actions); {
		a := actions[i]
		if a.Type == podsync.KillContainer {
			j := i
			for j < len(actions) && actions[j].Type == podsync.KillContainer {
				j++
			}
			if err := k.killAll(ctx, pod, actions[i:j]); err != nil {
				return err
			}
			i = j
			continue
		}
		var err error
		switch a.Type {
		case podsync.StopSandbox:
			err = k.rt.StopSandbox(ctx, a.SandboxID, a.Grace)
		case podsync.RemoveContainer:
			err = k.rt.RemoveContainer(ctx, a.ContainerID)
			if err == nil {
				k.index.remove(uid, a.ContainerID, false)
			}
		case podsync.RemoveSandbox:
			err = k.rt.RemoveSandbox(ctx, a.SandboxID)
			if err == nil {
				k.index.remove(uid, a.SandboxID, true)
			}
		case podsync.CreateSandbox:
			err = k.createSandbox(ctx, pod, a, ps)
		case podsync.StartContainer:
			err = k.startContainer(ctx, pod, a, ps)
		}
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("%s: %w", a.Type, err)
		}
		i++
	}
	return nil
}

func (k *Kubelet) killAll(ctx context.Context, pod *v1.Pod, kills []podsync.Action) error {
	var wg sync.WaitGroup
	errs := make([]error, len(kills))
	for i, a := range kills {
		if pod != nil {
			k.event(pod, "Normal", "Killing", fmt.Sprintf("Stopping container %s", a.Name))
		}
		wg.Go(func() {
			if err := k.rt.StopContainer(ctx, a.ContainerID, a.Grace); err != nil && !errdefs.IsNotFound(err) {
				errs[i] = fmt.Errorf("stop container %s: %w", a.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (k *Kubelet) createSandbox(ctx context.Context, pod *v1.Pod, a podsync.Action, ps *podState) error {
	uid := pod.GetMetadata().GetUid()
	if err := k.makeVolumes(ctx, pod); err != nil {
		return err
	}
	var alloc interface {
		Allocate(string) (netip.Addr, error)
		Release(string)
		Reserve(string, netip.Addr) error
	}
	if !pod.GetSpec().GetHostNetwork() {
		a, err := k.allocator(ctx)
		if err != nil {
			return err
		}
		if a != nil {
			alloc = a
		}
	}
	for attempt := 0; ; attempt++ {
		var ip netip.Addr
		if alloc != nil {
			var err error
			if ip, err = alloc.Allocate(uid); err != nil {
				return err
			}
		}
		err := k.runSandbox(ctx, pod, podsync.SandboxSpec(pod, a.Attempt, ip), ps)
		if err == nil {
			return nil
		}
		if alloc != nil && errdefs.IsAlreadyExists(err) && strings.Contains(strings.ToLower(err.Error()), "address") && attempt < 5 {
			// Someone else (another kubelet on a shared engine) holds
			// the address: mark it taken and try another.
			alloc.Release(uid)
			_ = alloc.Reserve("taken/"+ip.String(), ip)
			continue
		}
		k.event(pod, "Warning", "FailedCreatePodSandBox", fmt.Sprintf("Failed to create pod sandbox: %v", err))
		return err
	}
}

// runSandbox prepares and starts the pod's sandbox. While it starts (the
// longest step of a pod's start: the engine sets up its network), the
// containers of a pod that has none yet are created in it, so that their
// creation costs no time; podsync starts them once it sees the sandbox
// ready. When the sandbox cannot start, the runtime removes it and the
// containers created in it are removed here.
func (k *Kubelet) runSandbox(ctx context.Context, pod *v1.Pod, spec runtime.SandboxSpec, ps *podState) error {
	// The containers mount the pod's /etc/hosts, with the pod IP when the
	// kubelet chose it (without a podCIDR the runtime does; the file gets
	// the IP once the sandbox runs).
	if err := k.writeEtcHosts(pod, spec.IP); err != nil {
		return err
	}
	id, err := k.rt.PrepareSandbox(ctx, spec)
	if err != nil {
		return err
	}
	ref := podsync.PodRef(pod)
	k.index.add(ref, id, true)
	var created []createdAhead
	var wg sync.WaitGroup
	if _, cts := k.index.ids(ref.UID); len(cts) == 0 {
		wg.Go(func() { created = k.createAhead(ctx, pod, id) })
	}
	err = k.rt.StartSandbox(ctx, id)
	wg.Wait()
	if err != nil {
		k.index.remove(ref.UID, id, true)
		for _, c := range created {
			if rmErr := k.rt.RemoveContainer(ctx, c.id); rmErr != nil {
				k.lg.Warn("Could not remove a container of a sandbox that failed to start", zap.String("pod", apis.Key(pod)), zap.String("containerID", c.id), zap.Error(rmErr))
				continue
			}
			k.index.remove(ref.UID, c.id, false)
		}
		return err
	}
	if !spec.IP.IsValid() && !spec.HostNetwork {
		if st, err := k.rt.SandboxStatus(ctx, id); err == nil {
			if err := k.writeEtcHosts(pod, st.IP); err != nil {
				return err
			}
		}
	}
	ps.mark("sandboxCreated", k.clk.Now())
	for _, c := range created {
		ps.mark("containerCreated", c.at)
		k.event(pod, "Normal", "Created", fmt.Sprintf("Created container %s", c.name))
	}
	return nil
}

// createdAhead is a container created while its sandbox started.
type createdAhead struct {
	id, name string
	at       time.Time
}

// createAhead creates, in the prepared sandbox sandboxID, the containers of
// pod that podsync will start as soon as the sandbox runs: those whose
// image is present and needs no pull; of a pod with init containers only
// the first init container, as the others wait for it. A container it
// cannot create is left to podsync, which creates it (and reports why it
// cannot) as usual.
func (k *Kubelet) createAhead(ctx context.Context, pod *v1.Pod, sandboxID string) []createdAhead {
	images := k.images.present(ctx, k.rt, pod)
	var out []createdAhead
	first := pod.GetSpec().GetContainers()
	if inits := pod.GetSpec().GetInitContainers(); len(inits) > 0 {
		first = inits[:1]
	}
	for _, ct := range first {
		if podsync.Pulls(ct, images[ct.GetImage()]) {
			continue
		}
		spec, err := podsync.ContainerSpec(pod, ct.GetName(), 0, k.cfg.RootDir)
		if err != nil {
			continue
		}
		id, err := k.rt.CreateContainer(ctx, sandboxID, spec)
		if err != nil {
			k.lg.Debug("Could not create a container while its sandbox started", zap.String("pod", apis.Key(pod)), zap.String("containerName", ct.GetName()), zap.Error(err))
			continue
		}
		k.index.add(spec.Pod, id, false)
		out = append(out, createdAhead{id: id, name: ct.GetName(), at: k.clk.Now()})
	}
	return out
}

// makeVolumes sets up the pod's volumes before its sandbox is made: the
// emptyDir directories and the files of the configMap volumes. A volume
// that cannot be set up (a ConfigMap missing and not optional, an
// apiserver that is away) is a FailedMount event and an error: nothing of
// the pod is created, its containers wait as ContainerCreating, and its
// worker retries with back-off.
func (k *Kubelet) makeVolumes(ctx context.Context, pod *v1.Pod) error {
	for _, v := range pod.GetSpec().GetVolumes() {
		if v.GetEmptyDir() == nil {
			continue
		}
		dir := podsync.EmptyDirPath(k.cfg.RootDir, pod.GetMetadata().GetUid(), v.GetName())
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return fmt.Errorf("make emptyDir volume %s: %w", v.GetName(), err)
		}
		_ = os.Chmod(dir, 0o777)
	}
	errs := k.configMapVolumes().setUp(ctx, pod, false)
	for _, err := range errs {
		k.event(pod, "Warning", "FailedMount", err.Error())
	}
	return errors.Join(errs...)
}

func (k *Kubelet) releaseIP(uid string) {
	k.ipamMu.Lock()
	a := k.ipam
	k.ipamMu.Unlock()
	if a != nil {
		a.Release(uid)
	}
}

// startContainer pulls (as podsync says), creates and starts a container.
// Pull and start failures go into the pod's state (podsync shows them as
// ErrImagePull, CreateContainerError, ...); a runtime that is away is an
// error.
func (k *Kubelet) startContainer(ctx context.Context, pod *v1.Pod, a podsync.Action, ps *podState) error {
	ct, _ := podsync.Container(pod, a.Name)
	if ct == nil {
		return nil
	}
	if a.ContainerID != "" {
		// Created while the sandbox started: only the start is left.
		return k.runContainer(ctx, pod, a, a.ContainerID, ps)
	}
	image := ct.GetImage()
	if a.Pull {
		k.event(pod, "Normal", "Pulling", fmt.Sprintf("Pulling image %q", image))
		pullStart := k.clk.Now()
		if err := k.rt.PullImage(ctx, image); err != nil {
			if errdefs.IsUnavailable(err) || ctx.Err() != nil {
				return err
			}
			ps.sync = ps.sync.PullFailed(image, fmt.Sprintf("Failed to pull image %q: %v", image, err), k.clk.Now())
			k.event(pod, "Warning", "Failed", fmt.Sprintf("Failed to pull image %q: %v", image, err))
			return nil
		}
		ps.sync = ps.sync.PullSucceeded(image)
		k.images.set(image)
		k.event(pod, "Normal", "Pulled", fmt.Sprintf("Successfully pulled image %q in %v", image, k.clk.Since(pullStart).Round(time.Millisecond)))
	}
	spec, err := podsync.ContainerSpec(pod, a.Name, a.Attempt, k.cfg.RootDir)
	if err != nil {
		ps.sync = ps.sync.StartFailed(a.Name, "CreateContainerConfigError", err.Error(), k.clk.Now())
		k.event(pod, "Warning", "Failed", fmt.Sprintf("Error: %v", err))
		return nil
	}
	if err := k.ensureEtcHosts(ctx, pod, a.SandboxID); err != nil {
		return err
	}
	id, err := k.rt.CreateContainer(ctx, a.SandboxID, spec)
	if err != nil {
		if errdefs.IsUnavailable(err) || ctx.Err() != nil {
			return err
		}
		if errdefs.IsPrecondition(err) && strings.Contains(err.Error(), "not present") {
			k.images.unset(image)
		}
		ps.sync = ps.sync.StartFailed(a.Name, podsync.ReasonCreateContainerErr, err.Error(), k.clk.Now())
		k.event(pod, "Warning", "Failed", fmt.Sprintf("Error: %v", err))
		return nil
	}
	k.index.add(podsync.PodRef(pod), id, false)
	ps.mark("containerCreated", k.clk.Now())
	k.event(pod, "Normal", "Created", fmt.Sprintf("Created container %s", a.Name))
	return k.runContainer(ctx, pod, a, id, ps)
}

// runContainer starts the created container id of action a.
func (k *Kubelet) runContainer(ctx context.Context, pod *v1.Pod, a podsync.Action, id string, ps *podState) error {
	if err := k.rt.StartContainer(ctx, id); err != nil {
		if errdefs.IsUnavailable(err) || ctx.Err() != nil {
			return err
		}
		ps.sync = ps.sync.StartFailed(a.Name, podsync.ReasonRunContainerErr, err.Error(), k.clk.Now())
		k.event(pod, "Warning", "Failed", fmt.Sprintf("Error: %v", err))
		return nil
	}
	ps.mark("containerStarted", k.clk.Now())
	k.event(pod, "Normal", "Started", fmt.Sprintf("Started container %s", a.Name))
	return nil
}

// finish completes a pod that podsync reports removed from the runtime:
// its volumes and IP go, a deleted API pod is deleted for good (grace 0,
// only this incarnation), the mirror of a static pod that left its
// directory is deleted, and the worker ends once the pod is no longer
// desired.
func (k *Kubelet) finish(ctx context.Context, uid string, pod *v1.Pod, desired bool, ps *podState) (podworkers.Outcome, error) {
	if err := k.removePodDir(uid); err != nil {
		return podworkers.Outcome{}, err
	}
	k.releaseIP(uid)
	k.prober.RemovePod(uid)
	if desired {
		// Deleted at the apiserver and stopped here: finish the delete.
		if config.IsStatic(pod) || k.cfg.Client == nil {
			return podworkers.Outcome{}, nil
		}
		zero := int64(0)
		_, _, err := k.cfg.Client.Pods().Delete(ctx, pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), client.DeleteOptions{
			GracePeriodSeconds: &zero,
			Preconditions:      &client.Preconditions{UID: uid},
		})
		if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
			return podworkers.Outcome{}, fmt.Errorf("delete pod %s: %w", apis.Key(pod), err)
		}
		k.lg.Debug("Pod deleted", zap.String("pod", apis.Key(pod)), zap.String("podUID", uid))
		// The informer's delete wakes the worker, which then ends.
		return podworkers.Outcome{RequeueAfter: 5 * time.Second}, nil
	}
	if last := ps.last; last != nil && config.IsStatic(last) && k.cfg.Client != nil {
		if err := k.deleteMirror(ctx, last, ""); err != nil {
			return podworkers.Outcome{}, err
		}
	}
	if k.statuses != nil {
		k.statuses.Forget(uid)
		if last := ps.last; last != nil && config.IsStatic(last) {
			if m := k.pods.Mirror(apis.Key(last)); m != nil {
				k.statuses.Forget(m.GetMetadata().GetUid())
			}
		}
	}
	k.forget(uid)
	return podworkers.Outcome{Done: true}, nil
}

func (k *Kubelet) event(pod *v1.Pod, typ, reason, msg string) {
	if k.recorder == nil || pod == nil {
		return
	}
	obj := pod
	if config.IsStatic(pod) {
		if m := k.pods.Mirror(apis.Key(pod)); m != nil {
			obj = m
		} else {
			return
		}
	}
	k.recorder.Event(obj, typ, reason, msg)
}

// syncMirror makes the apiserver show the static pod as a mirror pod: it
// creates a missing one and replaces one of another manifest or one being
// deleted.
func (k *Kubelet) syncMirror(ctx context.Context, static *v1.Pod) error {
	m := k.pods.Mirror(apis.Key(static))
	if m != nil {
		stale := m.GetMetadata().GetAnnotations()[config.AnnotationConfigMirror] != static.GetMetadata().GetUid()
		if !stale && m.GetMetadata().GetDeletionTimestamp() == nil {
			return nil
		}
		if err := k.deleteMirror(ctx, static, m.GetMetadata().GetUid()); err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := k.cfg.Client.Pods().Create(cctx, config.MirrorPod(static))
	if err != nil && !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("create mirror pod %s: %w", apis.Key(static), err)
	}
	return nil
}

// deleteMirror deletes the mirror pod of static (only the incarnation uid
// when it is set).
func (k *Kubelet) deleteMirror(ctx context.Context, static *v1.Pod, uid string) error {
	if uid == "" {
		m := k.pods.Mirror(apis.Key(static))
		if m == nil {
			return nil
		}
		uid = m.GetMetadata().GetUid()
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	zero := int64(0)
	_, _, err := k.cfg.Client.Pods().Delete(cctx, static.GetMetadata().GetNamespace(), static.GetMetadata().GetName(), client.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &client.Preconditions{UID: uid},
	})
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
		return fmt.Errorf("delete mirror pod %s: %w", apis.Key(static), err)
	}
	return nil
}

// imageCache remembers which images are present, for a while.
type imageCache struct {
	clk interface{ Now() time.Time }
	mu  sync.Mutex
	at  map[string]time.Time
}

const imagePresentTTL = 30 * time.Second

func newImageCache(clk interface{ Now() time.Time }) *imageCache {
	return &imageCache{clk: clk, at: map[string]time.Time{}}
}

func (c *imageCache) set(image string) {
	c.mu.Lock()
	c.at[image] = c.clk.Now()
	c.mu.Unlock()
}

func (c *imageCache) unset(image string) {
	c.mu.Lock()
	delete(c.at, image)
	c.mu.Unlock()
}

// present answers for every image of pod whether it is on the node.
func (c *imageCache) present(ctx context.Context, rt runtime.Runtime, pod *v1.Pod) map[string]bool {
	out := map[string]bool{}
	for _, ct := range slices.Concat(pod.GetSpec().GetInitContainers(), pod.GetSpec().GetContainers()) {
		img := ct.GetImage()
		if _, done := out[img]; done {
			continue
		}
		c.mu.Lock()
		t, ok := c.at[img]
		c.mu.Unlock()
		if ok && c.clk.Now().Sub(t) < imagePresentTTL {
			out[img] = true
			continue
		}
		ok, err := rt.ImagePresent(ctx, img)
		out[img] = err == nil && ok
		if out[img] {
			c.set(img)
		}
	}
	return out
}
