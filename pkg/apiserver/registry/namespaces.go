package registry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
)

// namespaceCache knows which namespaces exist, so that a create in a
// namespace costs a map lookup, not an etcd read. It is a list+watch of
// the namespaces; readers load an immutable map, the one writer replaces
// it (namespaces change rarely).
type namespaceCache struct {
	store  storage.Interface
	kind   *Kind
	lg     *zap.Logger
	m      atomic.Pointer[map[string]bool] // name -> terminating
	synced atomic.Bool
	// syncedCh is closed when the cache has been filled once.
	syncedCh   chan struct{}
	syncedOnce sync.Once
}

func newNamespaceCache(store storage.Interface, k *Kind, lg *zap.Logger) *namespaceCache {
	c := &namespaceCache{store: store, kind: k, lg: lg, syncedCh: make(chan struct{})}
	empty := map[string]bool{}
	c.m.Store(&empty)
	return c
}

func terminating(obj apis.Object) bool {
	return obj.GetMetadata().GetDeletionTimestamp() != nil
}

// check is nil when ns exists and is not being deleted. A namespace the
// cache has not seen yet is read from the store: it may be brand new.
func (c *namespaceCache) check(ctx context.Context, ns string) error {
	term, ok := (*c.m.Load())[ns]
	if !ok {
		obj := c.kind.Resource.New()
		if err := c.store.Get(ctx, c.kind.Key("", ns), obj); err != nil {
			if errdefs.IsNotFound(err) {
				return errdefs.NotFound("namespaces %q not found", ns)
			}
			return err
		}
		term = terminating(obj)
	}
	if term {
		return errdefs.Forbidden("unable to create new content in namespace %s because it is being terminated", ns)
	}
	return nil
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
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it.GetMetadata().GetName()] = terminating(it)
	}
	c.m.Store(&m)
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
		old := *c.m.Load()
		next := make(map[string]bool, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		name := ev.Object.GetMetadata().GetName()
		if ev.Type == storage.Deleted {
			delete(next, name)
		} else {
			next[name] = terminating(ev.Object)
		}
		c.m.Store(&next)
	}
	return w.Err()
}
