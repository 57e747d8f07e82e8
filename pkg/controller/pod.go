package controller

import (
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
)

// Pod phases and condition values, as Kubernetes names them.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"

	PodReady = "Ready"

	ConditionTrue    = "True"
	ConditionFalse   = "False"
	ConditionUnknown = "Unknown"
)

// IsPodActive: the pod has not finished and is not being deleted, so it
// counts towards a controller's replicas.
func IsPodActive(p *v1.Pod) bool {
	phase := p.GetStatus().GetPhase()
	return phase != PodSucceeded && phase != PodFailed && p.GetMetadata().GetDeletionTimestamp() == nil
}

// PodReadyCondition returns the pod's Ready condition, or nil.
func PodReadyCondition(p *v1.Pod) *v1.Condition {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == PodReady {
			return c
		}
	}
	return nil
}

// IsPodReady: the pod's Ready condition is True.
func IsPodReady(p *v1.Pod) bool {
	c := PodReadyCondition(p)
	return c != nil && c.GetStatus() == ConditionTrue
}

// IsPodAvailable: the pod has been ready for at least minReadySeconds at
// now.
func IsPodAvailable(p *v1.Pod, minReadySeconds int32, now time.Time) bool {
	c := PodReadyCondition(p)
	if c == nil || c.GetStatus() != ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	since := c.GetLastTransitionTime()
	if since == nil {
		return false
	}
	return !since.AsTime().Add(time.Duration(minReadySeconds) * time.Second).After(now)
}
