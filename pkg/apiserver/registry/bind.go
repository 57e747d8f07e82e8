package registry

import (
	"context"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// Pod condition values Bind writes.
const (
	conditionPodScheduled = "PodScheduled"
	conditionTrue         = "True"
)

// Bind assigns a pod to a node in one read-modify-write that holds only
// while the pod is unbound, not being deleted and (when the binding names
// one) still has the binding's uid: of two schedulers binding the same pod
// one wins and the other gets FailedPrecondition. It sets spec.nodeName and
// the PodScheduled=True condition.
func (r *Registry) Bind(ctx context.Context, b *v1.Binding, check Check) (*v1.Pod, error) {
	k := r.kinds["pods"]
	md := b.GetMetadata()
	ns := objectNamespace(k, md.GetNamespace())
	name := md.GetName()
	if err := nameError("metadata.name", name); err != nil {
		return nil, err
	}
	if err := nameError("metadata.namespace", ns); err != nil {
		return nil, err
	}
	node := b.GetTarget().GetName()
	if err := nameError("target.name", node); err != nil {
		return nil, err
	}
	if kind := b.GetTarget().GetKind(); kind != "" && kind != "Node" {
		return nil, errdefs.Invalid("target.kind: Unsupported value: %q: supported values: \"Node\"", kind)
	}
	now := r.timestamp(r.now())
	out := &v1.Pod{}
	err := r.store.GuaranteedUpdate(ctx, k.Key(ns, name), out, func(cur apis.Object) (apis.Object, error) {
		pod := cur.(*v1.Pod)
		pmd := pod.GetMetadata()
		if uid := md.GetUid(); uid != "" && uid != pmd.GetUid() {
			return nil, errdefs.Conflict("Operation cannot be fulfilled on pods/binding %q: Precondition failed: UID in precondition: %s, UID in object meta: %s", name, uid, pmd.GetUid())
		}
		if check != nil {
			if err := check(cur, nil); err != nil {
				return nil, err
			}
		}
		if pmd.GetDeletionTimestamp() != nil {
			return nil, errdefs.Precondition("Operation cannot be fulfilled on pods/binding %q: pod %s is being deleted, cannot be assigned to a host", name, name)
		}
		if n := pod.GetSpec().GetNodeName(); n != "" {
			return nil, errdefs.Precondition("Operation cannot be fulfilled on pods/binding %q: pod %s is already assigned to node %q", name, name, n)
		}
		if pod.Spec == nil {
			pod.Spec = &v1.PodSpec{}
		}
		pod.Spec.NodeName = node
		if pod.Status == nil {
			pod.Status = &v1.PodStatus{}
		}
		setCondition(pod.Status, &v1.Condition{Type: conditionPodScheduled, Status: conditionTrue, LastTransitionTime: now})
		return pod, nil
	})
	if err != nil {
		return nil, storeError(k, name, err)
	}
	return out, nil
}

// setCondition replaces the condition of c's type, keeping its
// lastTransitionTime when the status does not change.
func setCondition(st *v1.PodStatus, c *v1.Condition) {
	for i, old := range st.Conditions {
		if old.GetType() != c.Type {
			continue
		}
		if old.GetStatus() == c.Status && old.LastTransitionTime != nil {
			c.LastTransitionTime = old.LastTransitionTime
		}
		st.Conditions[i] = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}
