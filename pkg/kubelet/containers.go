package kubelet

import (
	"cmp"
	"context"
	"slices"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/podsync"
	"minik8s/pkg/kubelet/runtime"
)

// ContainerID implements server.Pods: the runtime ID of a container of one
// of the node's pods, for logs and exec.
func (k *Kubelet) ContainerID(ctx context.Context, namespace, name, uid, container string, previous bool) (string, error) {
	pod, ok := k.pods.Find(namespace, name)
	if !ok {
		return "", errdefs.NotFound("pod %s/%s is not on node %s", namespace, name, k.cfg.NodeName)
	}
	podUID := pod.GetMetadata().GetUid()
	if uid != "" && uid != podUID {
		// A static pod is asked for by its mirror's UID.
		if m := k.pods.Mirror(namespace + "/" + name); m == nil || m.GetMetadata().GetUid() != uid {
			return "", errdefs.NotFound("pod %s/%s with uid %s is not on node %s", namespace, name, uid, k.cfg.NodeName)
		}
	}
	if container == "" {
		cs := pod.GetSpec().GetContainers()
		if len(cs) == 0 {
			return "", errdefs.NotFound("pod %s/%s has no containers", namespace, name)
		}
		container = cs[0].GetName()
	} else if !hasContainer(pod, container) {
		return "", errdefs.Invalid("container %s is not valid for pod %s", container, name)
	}
	_, cts, err := k.index.inspect(ctx, k.rt, podUID)
	if err != nil {
		return "", err
	}
	var mine []runtime.ContainerStatus
	for _, c := range cts {
		if c.Name == container {
			mine = append(mine, c)
		}
	}
	slices.SortFunc(mine, func(a, b runtime.ContainerStatus) int {
		return cmp.Or(cmp.Compare(b.Attempt, a.Attempt), b.CreatedAt.Compare(a.CreatedAt))
	})
	i := 0
	if previous {
		i = 1
	}
	if len(mine) <= i {
		if previous {
			return "", errdefs.Invalid("previous terminated container %q in pod %q not found", container, name)
		}
		return "", errdefs.Invalid("container %q in pod %q is waiting to start", container, name)
	}
	return mine[i].ID, nil
}

func hasContainer(pod *v1.Pod, name string) bool {
	c, _ := podsync.Container(pod, name)
	return c != nil
}
