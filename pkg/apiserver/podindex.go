package apiserver

import (
	"context"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apiserver/authz"
	"minik8s/pkg/apiserver/registry"
)

// podIndexTimeout bounds one lookup; the pod watch cache answers from
// memory once it is filled.
const podIndexTimeout = 5 * time.Second

// podIndex answers the authorization policy's questions about pods from
// the pod watch cache.
type podIndex struct{ s *Server }

var _ authz.PodIndex = podIndex{}

// NodeMountsConfigMap implements authz.PodIndex: a pod bound to node, in
// namespace, has a configMap volume of name. The cache is read as it is
// first (a kubelet learns of its pods through it, so the pod that makes
// it ask is usually there); only a "no" is checked again with a
// consistent read, so that a pod bound a moment ago counts.
func (p podIndex) NodeMountsConfigMap(node, namespace, name string) bool {
	reg := p.s.api.reg
	if reg == nil || node == "" || namespace == "" || name == "" {
		return false
	}
	k, err := reg.Kind("pods")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), podIndexTimeout)
	defer cancel()
	// ResourceVersion 1: whatever the cache holds, no etcd round trip;
	// then 0: as fresh as etcd.
	for _, rv := range []int64{1, 0} {
		pods, _, err := reg.List(ctx, k, registry.ListOptions{
			Namespace:       namespace,
			ResourceVersion: rv,
			Filter:          func(o apis.Object) bool { return mountsConfigMap(o, node, name) },
		})
		if err == nil && len(pods) > 0 {
			return true
		}
	}
	return false
}

// mountsConfigMap reports whether obj is a pod bound to node with a
// configMap volume of name.
func mountsConfigMap(obj apis.Object, node, name string) bool {
	pod, ok := obj.(*v1.Pod)
	if !ok || pod.GetSpec().GetNodeName() != node {
		return false
	}
	for _, v := range pod.GetSpec().GetVolumes() {
		if v.GetConfigMap().GetName() == name {
			return true
		}
	}
	return false
}
