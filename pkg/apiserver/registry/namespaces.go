package registry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
)

// Namespace phases.
const (
	NamespaceActive      = "Active"
	NamespaceTerminating = "Terminating"
)

// FinalizerKubernetes is the namespace finalizer (spec.finalizers) every
// namespace gets on create; the namespace controller removes it once the
// namespace is empty.
const FinalizerKubernetes = "kubernetes"

// nsEntry is what the cache knows of one namespace, as of revision rv.
// A gone entry is a namespace this registry removed, kept until the watch
// reports the removal too.
type nsEntry struct {
	uid   string
	phase string
	rv    int64
	gone  bool
}

// namespaceCache knows which namespaces exist and their phase, so that a
// create in a namespace costs a map lookup, not an etcd read. It is a
// list+watch of the namespaces; readers load an immutable map, writers
// replace it (namespaces change rarely). This registry's own namespace
// writes are applied at once (observe), so that a client that deleted a
// namespace sees its creates there refused right away; every entry
// carries the revision it describes, so that a watch event older than an
// observed write changes nothing.
type namespaceCache struct {
	store storage.Interface
	kind  *Kind
	lg    *zap.Logger

	mu     sync.Mutex // serializes writers of m
	m      atomic.Pointer[map[string]nsEntry]
	synced atomic.Bool
	// syncedCh is closed when the cache has been filled once.
	syncedCh   chan struct{}
	syncedOnce sync.Once
}

func newNamespaceCache(store storage.Interface, k *Kind, lg *zap.Logger) *namespaceCache {
	c := &namespaceCache{store: store, kind: k, lg: lg, syncedCh: make(chan struct{})}
	empty := map[string]nsEntry{}
	c.m.Store(&empty)
	return c
}

// isTerminating reports whether a namespace is being deleted.
func isTerminating(obj apis.Object) bool {
	if obj.GetMetadata().GetDeletionTimestamp() != nil {
		return true
	}
	ns, ok := obj.(*v1.Namespace)
	return ok && ns.GetStatus().GetPhase() == NamespaceTerminating
}

func entryOf(obj apis.Object) nsEntry {
	md := obj.GetMetadata()
	rv, _ := parseRV(md.GetResourceVersion())
	e := nsEntry{uid: md.GetUid(), phase: NamespaceActive, rv: rv}
	if isTerminating(obj) {
		e.phase = NamespaceTerminating
	}
	return e
}

// check is nil when a new object of kind k named name may be created in
// namespace ns: ns exists and is not being deleted. A namespace the cache
// does not hold is read from the store: it may be brand new.
func (c *namespaceCache) check(ctx context.Context, k *Kind, ns, name string) error {
	e, ok := (*c.m.Load())[ns]
	if !ok || e.gone {
		obj := c.kind.Resource.New()
		if err := c.store.Get(ctx, c.kind.Key("", ns), obj); err != nil {
			if errdefs.IsNotFound(err) {
				return errdefs.NotFound("namespaces %q not found", ns)
			}
			return err
		}
		e = entryOf(obj)
	}
	if e.phase == NamespaceTerminating {
		return errdefs.Forbidden("%s %q is forbidden: unable to create new content in namespace %s because it is being terminated", k.Resource.Name, name, ns)
	}
	return nil
}

// mutate replaces the map with a copy changed by f.
func (c *namespaceCache) mutate(f func(m map[string]nsEntry)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	next := make(map[string]nsEntry, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	f(next)
	c.m.Store(&next)
}

// set records what the cache learnt of namespace name, unless it already
// knows a later state.
func set(m map[string]nsEntry, name string, e nsEntry) {
	if cur, ok := m[name]; ok && cur.rv >= e.rv {
		return
	}
	m[name] = e
}

// observe applies a namespace this registry just wrote (removed: it is
// gone, obj's resourceVersion is the revision of the removal) before the
// watch reports it.
func (c *namespaceCache) observe(obj apis.Object, removed bool) {
	e := entryOf(obj)
	e.gone = removed
	c.mutate(func(m map[string]nsEntry) { set(m, obj.GetMetadata().GetName(), e) })
}

// run lists and watches the namespaces until ctx ends, relisting when the
// watch ends.
func (c *namespaceCache) run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := c.listWatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.lg.Info("Namespace watch ended, relisting", zap.Error(err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func (c *namespaceCache) listWatch(ctx context.Context) error {
	items, rev, err := c.store.List(ctx, c.kind.Prefix(""), 0, c.kind.Resource.New, nil)
	if err != nil {
		return err
	}
	c.mutate(func(m map[string]nsEntry) {
		// The list replaces what is older than it; later observations
		// stay.
		for name, e := range m {
			if e.rv <= rev {
				delete(m, name)
			}
		}
		for _, it := range items {
			set(m, it.GetMetadata().GetName(), entryOf(it))
		}
	})
	c.synced.Store(true)
	c.syncedOnce.Do(func() { close(c.syncedCh) })
	w, err := c.store.Watch(ctx, c.kind.Prefix(""), rev, nil)
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == storage.Bookmark || ev.Object == nil {
			continue
		}
		name := ev.Object.GetMetadata().GetName()
		e := entryOf(ev.Object)
		if ev.Type == storage.Deleted {
			e.gone, e.rv = true, ev.Revision
		}
		c.mutate(func(m map[string]nsEntry) {
			set(m, name, e)
			if m[name].gone && m[name].rv <= ev.Revision {
				// The watch saw the removal: no need to remember it.
				delete(m, name)
			}
		})
	}
	return w.Err()
}
