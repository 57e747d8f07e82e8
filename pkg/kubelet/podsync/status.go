package podsync

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/kubelet/runtime"
)

// Pod condition types, in the order Kubernetes lists them.
const (
	ConditionInitialized     = "Initialized"
	ConditionReady           = "Ready"
	ConditionContainersReady = "ContainersReady"
	ConditionPodScheduled    = "PodScheduled"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// status is the PodStatus to report.
func (c *computation) status() *v1.PodStatus {
	pod := c.in.Pod
	prev := pod.GetStatus()
	st := &v1.PodStatus{
		HostIp:    c.in.HostIP,
		PodIp:     prev.GetPodIp(),
		StartTime: prev.GetStartTime(),
		QosClass:  prev.GetQosClass(),
	}
	if st.StartTime == nil {
		st.StartTime = ts(c.in.Now)
	}
	if sb := c.sandbox; sb != nil || (len(c.sandboxes) > 0 && c.sandboxes[0].State == runtime.SandboxReady) {
		if sb == nil {
			sb = &c.sandboxes[0]
		}
		switch {
		case sb.HostNetwork:
			st.PodIp = c.in.HostIP
		case sb.IP.IsValid():
			st.PodIp = sb.IP.String()
		}
	}

	var incomplete []string
	for _, ct := range pod.GetSpec().GetInitContainers() {
		cs := c.containerStatus(ct)
		// An init container is ready once it has succeeded.
		t := cs.GetState().GetTerminated()
		cs.Ready = t != nil && t.GetExitCode() == 0
		if !cs.Ready {
			incomplete = append(incomplete, ct.GetName())
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	var unready []string
	for _, ct := range pod.GetSpec().GetContainers() {
		cs := c.containerStatus(ct)
		if !cs.GetReady() {
			unready = append(unready, ct.GetName())
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}

	st.Phase = getPhase(restartPolicy(pod), st.InitContainerStatuses, st.ContainerStatuses)
	if c.noSandboxAgain && !anyStarted(st.ContainerStatuses) {
		// The sandbox died before any container started (during
		// initialization) and, by the restart policy, is not created
		// again: the containers can never run.
		st.Phase = PhaseFailed
	}
	if p := prev.GetPhase(); p == PhaseSucceeded || p == PhaseFailed {
		st.Phase = p // terminal is forever
	} else if pod.GetMetadata().GetDeletionTimestamp() != nil && !c.anythingRuns() && st.Phase != PhaseSucceeded && st.Phase != PhaseFailed {
		// A deleted pod whose containers have all stopped is terminal.
		st.Phase = PhaseFailed
		if allSucceeded(st.ContainerStatuses) {
			st.Phase = PhaseSucceeded
		}
	}

	ready := condition{status: "True"}
	switch {
	case st.Phase == PhaseSucceeded || st.Phase == PhaseFailed:
		ready = condition{status: "False", reason: "PodCompleted"}
	case len(unready) > 0:
		ready = condition{status: "False", reason: "ContainersNotReady", message: fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))}
	}
	initialized := condition{status: "True"}
	switch {
	case st.Phase == PhaseSucceeded:
		initialized.reason = "PodCompleted"
	case len(incomplete) > 0 && !anyStarted(st.ContainerStatuses):
		initialized = condition{status: "False", reason: "ContainersNotInitialized", message: fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " "))}
	}
	st.Conditions = []*v1.Condition{
		c.condition(ConditionInitialized, initialized),
		c.condition(ConditionReady, ready),
		c.condition(ConditionContainersReady, ready),
		c.condition(ConditionPodScheduled, condition{status: "True"}),
	}
	return st
}

func (c *computation) anythingRuns() bool {
	for _, s := range c.in.Containers {
		if s.State == runtime.ContainerRunning {
			return true
		}
	}
	for _, sb := range c.in.Sandboxes {
		if sb.State == runtime.SandboxReady {
			return true
		}
	}
	return false
}

type condition struct{ status, reason, message string }

// condition builds a pod condition, keeping the previous transition time
// while its status holds.
func (c *computation) condition(typ string, want condition) *v1.Condition {
	cond := &v1.Condition{Type: typ, Status: want.status, Reason: want.reason, Message: want.message, LastTransitionTime: ts(c.in.Now)}
	for _, p := range c.in.Pod.GetStatus().GetConditions() {
		if p.GetType() == typ && p.GetStatus() == want.status && p.GetLastTransitionTime() != nil {
			cond.LastTransitionTime = p.GetLastTransitionTime()
		}
	}
	return cond
}

func (c *computation) containerStatus(ct *v1.Container) *v1.ContainerStatus {
	name := ct.GetName()
	h := c.history[name]
	p := c.plans[name]
	cs := &v1.ContainerStatus{Name: name, Image: ct.GetImage()}
	if p.waiting == ReasonContainerCreating {
		p.waiting = c.defaultWaiting()
	}
	started := false
	if len(h) == 0 {
		reason := p.waiting
		if reason == "" {
			reason = c.defaultWaiting()
		}
		cs.State = &v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: p.message}}
		cs.Started = &started
		return cs
	}
	cur := h[0]
	cs.RestartCount = int32(cur.Attempt)
	cs.ContainerId = c.containerID(cur.ID)
	cs.ImageId = cur.ImageRef
	if len(h) > 1 && h[1].State == runtime.ContainerExited {
		cs.LastState = &v1.ContainerState{Terminated: c.terminated(h[1])}
	}
	switch cur.State {
	case runtime.ContainerRunning:
		cs.State = &v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: ts(cur.StartedAt)}}
		probe := c.in.Probes[cur.ID]
		started = ct.GetStartupProbe() == nil || probe.Started
		cs.Ready = started && (ct.GetReadinessProbe() == nil || probe.Ready)
	case runtime.ContainerExited:
		if p.waiting != "" {
			// Waiting to run again: the exit becomes the last state.
			cs.LastState = &v1.ContainerState{Terminated: c.terminated(cur)}
			cs.State = &v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: p.waiting, Message: p.message}}
		} else {
			cs.State = &v1.ContainerState{Terminated: c.terminated(cur)}
		}
	default:
		reason := p.waiting
		if reason == "" {
			reason = ReasonContainerCreating
		}
		cs.State = &v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: p.message}}
	}
	cs.Started = &started
	return cs
}

func (c *computation) containerID(id string) string {
	if c.in.RuntimeName == "" {
		return id
	}
	return c.in.RuntimeName + "://" + id
}

func (c *computation) terminated(s runtime.ContainerStatus) *v1.ContainerStateTerminated {
	reason := s.Reason
	if reason == "" {
		reason = ReasonCompleted
		if s.ExitCode != 0 {
			reason = ReasonError
		}
	}
	return &v1.ContainerStateTerminated{
		ExitCode:    int32(s.ExitCode),
		Reason:      reason,
		Message:     s.Message,
		StartedAt:   ts(s.StartedAt),
		FinishedAt:  ts(s.FinishedAt),
		ContainerId: c.containerID(s.ID),
	}
}

func allSucceeded(statuses []*v1.ContainerStatus) bool {
	for _, cs := range statuses {
		t := cs.GetState().GetTerminated()
		if t == nil || t.GetExitCode() != 0 {
			return false
		}
	}
	return len(statuses) > 0
}

// anyStarted reports whether a container has run (Kubernetes'
// HasAnyRegularContainerStarted): then the pod was initialized.
func anyStarted(statuses []*v1.ContainerStatus) bool {
	for _, cs := range statuses {
		if cs.GetState().GetRunning() != nil || cs.GetState().GetTerminated() != nil {
			return true
		}
	}
	return false
}

// getPhase is the kubelet's getPhase (for init containers without their
// own restart policy).
func getPhase(policy string, initStatuses, statuses []*v1.ContainerStatus) string {
	var pendingInit, failedInit int
	for _, cs := range initStatuses {
		switch s := cs.GetState(); {
		case s.GetTerminated() != nil:
			if s.GetTerminated().GetExitCode() != 0 {
				failedInit++
			}
		case s.GetWaiting() != nil && cs.GetLastState().GetTerminated() != nil:
			if cs.GetLastState().GetTerminated().GetExitCode() != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	if failedInit > 0 && policy == "Never" {
		return PhaseFailed
	}
	if pendingInit > 0 && !anyStarted(statuses) {
		return PhasePending
	}
	var waiting, running, stopped, succeeded, failed int
	for _, cs := range statuses {
		switch s := cs.GetState(); {
		case s.GetRunning() != nil:
			running++
		case s.GetTerminated() != nil:
			stopped++
			if s.GetTerminated().GetExitCode() == 0 {
				succeeded++
			} else {
				failed++
			}
		case s.GetWaiting() != nil:
			if cs.GetLastState().GetTerminated() != nil {
				stopped++
			} else {
				waiting++
			}
		}
	}
	switch {
	case waiting > 0:
		return PhasePending
	case running > 0:
		return PhaseRunning
	case stopped > 0:
		if policy == "Always" {
			return PhaseRunning
		}
		if stopped == succeeded {
			return PhaseSucceeded
		}
		if policy == "Never" {
			return PhaseFailed
		}
		return PhaseRunning
	default:
		return PhasePending
	}
}
