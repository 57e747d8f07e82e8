package kubelet

import (
	"sync"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/kubelet/config"
)

// podManager holds the desired pods of the node, from two sources: the
// apiserver (pods bound to the node) and the manifest directory (static
// pods). Mirror pods at the apiserver are not run: they show static pods.
// Pods in it are shared and read-only.
type podManager struct {
	mu      sync.RWMutex
	api     map[string]*v1.Pod // by UID
	static  map[string]*v1.Pod // by UID
	mirrors map[string]*v1.Pod // by namespace/name
}

func newPodManager() *podManager {
	return &podManager{api: map[string]*v1.Pod{}, static: map[string]*v1.Pod{}, mirrors: map[string]*v1.Pod{}}
}

// Get returns the desired pod uid.
func (pm *podManager) Get(uid string) (*v1.Pod, bool) {
	pm.mu.RLock()
	defer pm.mu.RUnlock()
	if p, ok := pm.static[uid]; ok {
		return p, true
	}
	p, ok := pm.api[uid]
	return p, ok
}

// Mirror returns the mirror pod of the static pod named key.
func (pm *podManager) Mirror(key string) *v1.Pod {
	pm.mu.RLock()
	defer pm.mu.RUnlock()
	return pm.mirrors[key]
}

// UIDs lists every desired pod.
func (pm *podManager) UIDs() []string {
	pm.mu.RLock()
	defer pm.mu.RUnlock()
	out := make([]string, 0, len(pm.api)+len(pm.static))
	for uid := range pm.api {
		out = append(out, uid)
	}
	for uid := range pm.static {
		out = append(out, uid)
	}
	return out
}

// Find returns the desired pod namespace/name (static pods by their own
// name, which is also their mirror's).
func (pm *podManager) Find(namespace, name string) (*v1.Pod, bool) {
	pm.mu.RLock()
	defer pm.mu.RUnlock()
	for _, m := range []map[string]*v1.Pod{pm.static, pm.api} {
		for _, p := range m {
			if p.GetMetadata().GetNamespace() == namespace && p.GetMetadata().GetName() == name {
				return p, true
			}
		}
	}
	return nil, false
}

// setAPI records an apiserver pod; it returns the UIDs to wake.
func (pm *podManager) setAPI(p *v1.Pod) []string {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if config.IsMirror(p) {
		pm.mirrors[apis.Key(p)] = p
		return []string{p.GetMetadata().GetAnnotations()[config.AnnotationConfigMirror]}
	}
	pm.api[p.GetMetadata().GetUid()] = p
	return []string{p.GetMetadata().GetUid()}
}

// deleteAPI forgets an apiserver pod; it returns the UIDs to wake.
func (pm *podManager) deleteAPI(obj any) []string {
	p, ok := informer.DeletedObject[*v1.Pod](obj)
	if !ok || p == nil {
		return nil
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if config.IsMirror(p) {
		if cur, ok := pm.mirrors[apis.Key(p)]; ok && cur.GetMetadata().GetUid() == p.GetMetadata().GetUid() {
			delete(pm.mirrors, apis.Key(p))
		}
		return []string{p.GetMetadata().GetAnnotations()[config.AnnotationConfigMirror]}
	}
	delete(pm.api, p.GetMetadata().GetUid())
	return []string{p.GetMetadata().GetUid()}
}

// setStatic replaces the static pods; it returns the UIDs to wake.
func (pm *podManager) setStatic(pods []*v1.Pod) []string {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	var wake []string
	next := make(map[string]*v1.Pod, len(pods))
	for _, p := range pods {
		next[p.GetMetadata().GetUid()] = p
		wake = append(wake, p.GetMetadata().GetUid())
	}
	for uid := range pm.static {
		if _, ok := next[uid]; !ok {
			wake = append(wake, uid)
		}
	}
	pm.static = next
	return wake
}
