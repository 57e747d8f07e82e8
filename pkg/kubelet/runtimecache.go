package kubelet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/runtime"
)

// runtimeIndex knows which sandboxes and containers of the runtime belong
// to which pod (by pod UID), from relists, runtime events and the pod
// workers' own creations. A pod worker inspects just its pod's IDs for a
// fresh view, instead of listing the whole node.
type runtimeIndex struct {
	mu         sync.Mutex
	sandboxes  map[string]map[string]bool // pod UID -> sandbox IDs
	containers map[string]map[string]bool // pod UID -> container IDs
	refs       map[string]runtime.PodRef
	// fingerprints of the last relist, by pod UID, to find what changed.
	prints map[string]string
}

func newRuntimeIndex() *runtimeIndex {
	return &runtimeIndex{
		sandboxes:  map[string]map[string]bool{},
		containers: map[string]map[string]bool{},
		refs:       map[string]runtime.PodRef{},
		prints:     map[string]string{},
	}
}

func addID(m map[string]map[string]bool, uid, id string) {
	s, ok := m[uid]
	if !ok {
		s = map[string]bool{}
		m[uid] = s
	}
	s[id] = true
}

func removeID(m map[string]map[string]bool, uid, id string) {
	if s, ok := m[uid]; ok {
		delete(s, id)
		if len(s) == 0 {
			delete(m, uid)
		}
	}
}

func (x *runtimeIndex) add(ref runtime.PodRef, id string, sandbox bool) {
	if ref.UID == "" || id == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.refs[ref.UID] = ref
	if sandbox {
		addID(x.sandboxes, ref.UID, id)
	} else {
		addID(x.containers, ref.UID, id)
	}
}

func (x *runtimeIndex) remove(uid, id string, sandbox bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if sandbox {
		removeID(x.sandboxes, uid, id)
	} else {
		removeID(x.containers, uid, id)
	}
	x.forgetIfEmptyLocked(uid)
}

func (x *runtimeIndex) forgetIfEmptyLocked(uid string) {
	if len(x.sandboxes[uid]) == 0 && len(x.containers[uid]) == 0 {
		delete(x.refs, uid)
	}
}

func (x *runtimeIndex) ids(uid string) (sandboxes, containers []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for id := range x.sandboxes[uid] {
		sandboxes = append(sandboxes, id)
	}
	for id := range x.containers[uid] {
		containers = append(containers, id)
	}
	return sandboxes, containers
}

// pods lists the UIDs of every pod the runtime holds something of.
func (x *runtimeIndex) pods() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, 0, len(x.refs))
	for uid := range x.refs {
		out = append(out, uid)
	}
	return out
}

// inspect returns the current state of pod uid's sandboxes and
// containers, dropping IDs the runtime no longer has.
func (x *runtimeIndex) inspect(ctx context.Context, rt runtime.Runtime, uid string) ([]runtime.SandboxStatus, []runtime.ContainerStatus, error) {
	sbIDs, ctIDs := x.ids(uid)
	var sbs []runtime.SandboxStatus
	var cts []runtime.ContainerStatus
	for _, id := range sbIDs {
		st, err := rt.SandboxStatus(ctx, id)
		if errdefs.IsNotFound(err) {
			x.remove(uid, id, true)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("inspect sandbox %s: %w", id, err)
		}
		sbs = append(sbs, st)
	}
	for _, id := range ctIDs {
		st, err := rt.ContainerStatus(ctx, id)
		if errdefs.IsNotFound(err) {
			x.remove(uid, id, false)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("inspect container %s: %w", id, err)
		}
		cts = append(cts, st)
	}
	return sbs, cts, nil
}

// relisted merges a full list of the runtime and returns the UIDs of the
// pods whose sandboxes or containers changed since the last relist. IDs
// are only added here: a worker may have created one after the list was
// taken; IDs that are gone are dropped when a worker inspects them, or on
// their removal event.
func (x *runtimeIndex) relisted(sbs []runtime.SandboxStatus, cts []runtime.ContainerStatus) []string {
	prints := map[string][]string{}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, s := range sbs {
		if s.Pod.UID == "" {
			continue
		}
		x.refs[s.Pod.UID] = s.Pod
		addID(x.sandboxes, s.Pod.UID, s.ID)
		prints[s.Pod.UID] = append(prints[s.Pod.UID], "s/"+s.ID+"/"+string(s.State))
	}
	for _, c := range cts {
		if c.Pod.UID == "" {
			continue
		}
		x.refs[c.Pod.UID] = c.Pod
		addID(x.containers, c.Pod.UID, c.ID)
		prints[c.Pod.UID] = append(prints[c.Pod.UID], "c/"+c.ID+"/"+string(c.State)+"/"+c.FinishedAt.Format(time.RFC3339Nano))
	}
	var changed []string
	next := make(map[string]string, len(prints))
	for uid, p := range prints {
		sort.Strings(p)
		fp := strings.Join(p, ",")
		next[uid] = fp
		if x.prints[uid] != fp {
			changed = append(changed, uid)
		}
	}
	for uid := range x.prints {
		if _, ok := next[uid]; !ok {
			changed = append(changed, uid)
		}
	}
	x.prints = next
	return changed
}
