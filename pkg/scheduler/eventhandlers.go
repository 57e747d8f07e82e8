package scheduler

import (
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/scheduler/framework"
	"minik8s/pkg/scheduler/queue"
)

// podHandler routes pod notifications: unassigned pods this scheduler is
// responsible for go to the queue, assigned ones to the cache; finished
// pods count nowhere.
type podHandler struct{ s *Scheduler }

var _ informer.ResourceEventHandler[*v1.Pod] = podHandler{}

func assigned(p *v1.Pod) bool { return p.GetSpec().GetNodeName() != "" }

func terminated(p *v1.Pod) bool {
	ph := p.GetStatus().GetPhase()
	return ph == phaseSucceeded || ph == phaseFailed
}

func (h podHandler) responsible(p *v1.Pod) bool {
	n := p.GetSpec().GetSchedulerName()
	return n == "" || n == h.s.cfg.SchedulerName
}

// OnAdd implements informer.ResourceEventHandler.
func (h podHandler) OnAdd(pod *v1.Pod, _ bool) {
	switch {
	case terminated(pod):
	case assigned(pod):
		h.s.cache.AddPod(framework.NewPodInfo(pod))
	case h.responsible(pod):
		if !h.s.cache.IsAssumedPod(podKey(pod), pod.GetMetadata().GetUid()) {
			h.s.queue.Add(pod)
		}
	}
}

// OnUpdate implements informer.ResourceEventHandler.
func (h podHandler) OnUpdate(oldPod, newPod *v1.Pod) {
	s := h.s
	key := podKey(newPod)
	switch {
	case terminated(newPod):
		// Finished: its resources are free.
		s.queue.Delete(key)
		if s.cache.RemovePod(key) {
			s.queue.MoveAllToActiveOrBackoffQueue(queue.EventAssignedPodDelete)
		}
	case assigned(newPod):
		if !assigned(oldPod) {
			// Bound, by us or by another scheduler: no longer ours to
			// place.
			s.queue.Delete(key)
		}
		s.cache.AddPod(framework.NewPodInfo(newPod))
		if assigned(oldPod) && requestsShrank(oldPod, newPod) {
			s.queue.MoveAllToActiveOrBackoffQueue(queue.EventAssignedPodUpdate)
		}
	case h.responsible(newPod):
		if !s.cache.IsAssumedPod(key, newPod.GetMetadata().GetUid()) {
			s.queue.Update(newPod)
		}
	default:
		// Handed to another scheduler.
		s.queue.Delete(key)
	}
}

// OnDelete implements informer.ResourceEventHandler.
func (h podHandler) OnDelete(obj any) {
	key := informer.KeyOf(obj)
	if key == "" {
		return
	}
	h.s.queue.Delete(key)
	if h.s.cache.RemovePod(key) {
		h.s.queue.MoveAllToActiveOrBackoffQueue(queue.EventAssignedPodDelete)
	}
}

func podKey(p *v1.Pod) string {
	return p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
}

// requestsShrank: a bound pod now asks for less (room freed).
func requestsShrank(oldPod, newPod *v1.Pod) bool {
	o, n := framework.NewPodInfo(oldPod), framework.NewPodInfo(newPod)
	return n.Requests.MilliCPU < o.Requests.MilliCPU || n.Requests.Memory < o.Requests.Memory
}

// nodeHandler keeps the cache's nodes and moves unschedulable pods when a
// node appears or changes in a way that could make them fit.
type nodeHandler struct{ s *Scheduler }

var _ informer.ResourceEventHandler[*v1.Node] = nodeHandler{}

// OnAdd implements informer.ResourceEventHandler.
func (h nodeHandler) OnAdd(node *v1.Node, _ bool) {
	h.s.cache.AddNode(node)
	h.s.queue.MoveAllToActiveOrBackoffQueue(queue.EventNodeAdd)
}

// OnUpdate implements informer.ResourceEventHandler.
func (h nodeHandler) OnUpdate(oldNode, newNode *v1.Node) {
	h.s.cache.UpdateNode(newNode)
	if nodeSchedulingChanged(oldNode, newNode) {
		h.s.queue.MoveAllToActiveOrBackoffQueue(queue.EventNodeUpdate)
	}
}

// OnDelete implements informer.ResourceEventHandler.
func (h nodeHandler) OnDelete(obj any) {
	if key := informer.KeyOf(obj); key != "" {
		h.s.cache.RemoveNode(key)
	}
}

// nodeSchedulingChanged: something a filter reads changed (not a
// heartbeat): allocatable, labels, taints, unschedulable, readiness.
func nodeSchedulingChanged(o, n *v1.Node) bool {
	if o.GetSpec().GetUnschedulable() != n.GetSpec().GetUnschedulable() {
		return true
	}
	if !mapsEqual(o.GetStatus().GetAllocatable(), n.GetStatus().GetAllocatable()) ||
		!mapsEqual(o.GetMetadata().GetLabels(), n.GetMetadata().GetLabels()) {
		return true
	}
	ot, nt := o.GetSpec().GetTaints(), n.GetSpec().GetTaints()
	if len(ot) != len(nt) {
		return true
	}
	for i := range ot {
		if !proto.Equal(ot[i], nt[i]) {
			return true
		}
	}
	return readyStatus(o) != readyStatus(n)
}

func readyStatus(n *v1.Node) string {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus()
		}
	}
	return ""
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
