package plugins

import v1 "minik8s/api/proto/minik8s/v1"

// Taint effects and toleration operators.
const (
	EffectNoSchedule       = "NoSchedule"
	EffectPreferNoSchedule = "PreferNoSchedule"
	EffectNoExecute        = "NoExecute"

	OpEqual  = "Equal"
	OpExists = "Exists"
)

// Well-known taints.
const (
	TaintControlPlane  = "node-role.kubernetes.io/control-plane"
	TaintUnschedulable = "node.kubernetes.io/unschedulable"
	TaintNotReady      = "node.kubernetes.io/not-ready"
)

// toleratesTaint is Kubernetes' Toleration.ToleratesTaint: an empty effect
// matches every effect, an empty key with Exists every key, Equal (or no
// operator) needs the same value.
func toleratesTaint(t *v1.Toleration, key, value, effect string) bool {
	if t.GetEffect() != "" && t.GetEffect() != effect {
		return false
	}
	if t.GetKey() != "" && t.GetKey() != key {
		return false
	}
	switch t.GetOperator() {
	case "", OpEqual:
		return t.GetValue() == value
	case OpExists:
		return true
	}
	return false
}

// tolerates reports whether any of tolerations tolerates the taint
// key=value:effect.
func tolerates(tolerations []*v1.Toleration, key, value, effect string) bool {
	for _, t := range tolerations {
		if toleratesTaint(t, key, value, effect) {
			return true
		}
	}
	return false
}
