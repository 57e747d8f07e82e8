package cacher_test

import (
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/cacher"
	"minik8s/pkg/storage/etcdtest"
	st "minik8s/pkg/storage/storagetest"
)

// An object that expires in etcd (its lease ends) leaves the cache and
// reaches watchers of the cache as a Deleted event with its last state.
func TestExpiredObjectIsDeletedFromCache(t *testing.T) {
	s := storage.NewEtcd(etcdtest.Start(t), storage.WithTTL("pods", 2*time.Second))
	c := start(t, s, cacher.Config{})
	ctx := st.Ctx(t)
	w, err := c.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	key := st.Key("default", "short")
	created := st.MustCreate(t, c, st.Pod("default", "short", map[string]string{"a": "b"}))
	st.CheckEvents(t, st.Collect(t, w, 1), []st.Change{{Type: storage.Added, Key: key, Revision: created}})

	// Generous: etcd checks for expired leases every half second, and a
	// loaded machine may be slower still.
	ev := st.Next(t, w, 60*time.Second)
	if ev.Type != storage.Deleted || ev.Key != key || ev.Revision <= created {
		t.Fatalf("got %s %s at %d, want DELETED %s after %d", ev.Type, ev.Key, ev.Revision, key, created)
	}
	st.CheckEvent(t, ev)
	if ev.Object.GetMetadata().GetLabels()["a"] != "b" {
		t.Fatalf("deleted object %v, want its last state", ev.Object.GetMetadata())
	}

	objs, rev, err := c.List(ctx, st.PodPrefix, ev.Revision, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 || rev < ev.Revision {
		t.Fatalf("cache at %d lists %d pods, want none from %d on", rev, len(objs), ev.Revision)
	}
	if err := c.Get(ctx, key, &v1.Pod{}); !errdefs.IsNotFound(err) {
		t.Fatalf("get after the expiry: got %v, want NotFound", err)
	}
	// A watch resuming from before the expiry replays it from the history.
	w2, err := c.Watch(ctx, st.PodPrefix, created, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	st.CheckEvents(t, st.Collect(t, w2, 1), []st.Change{{Type: storage.Deleted, Key: key, Revision: ev.Revision}})
}
