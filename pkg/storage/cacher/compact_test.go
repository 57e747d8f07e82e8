package cacher_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/cacher"
	"minik8s/pkg/storage/embedetcd"
	"minik8s/pkg/storage/etcdtest"
	st "minik8s/pkg/storage/storagetest"
)

// compactEnv is a pod and a node cache on an etcd member reached through
// a proxy (so the connection can break), with etcd's own progress
// notifications and the caches' bookmarks too rare to matter: an idle
// cache's revision stays where its last event left it.
type compactEnv struct {
	group  *cacher.Group
	proxy  *etcdtest.Proxy
	direct *storage.Etcd // the member without the proxy
}

func newCompactEnv(t *testing.T) *compactEnv {
	t.Helper()
	srv := etcdtest.StartServer(t, func(c *embedetcd.Config) { c.ProgressNotifyInterval = time.Hour })
	proxy := etcdtest.NewProxy(t, srv.Endpoint())
	cli, err := storage.NewClient(storage.ClientConfig{Endpoints: []string{proxy.Endpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	var resources []*apis.Resource
	for _, name := range []string{"pods", "nodes"} {
		r, err := apis.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		resources = append(resources, r)
	}
	g, err := cacher.NewGroup(cacher.GroupConfig{
		Store:     storage.NewEtcd(cli),
		Resources: resources,
		Cacher:    cacher.Config{BookmarkInterval: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if err := g.WaitReady(st.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	return &compactEnv{group: g, proxy: proxy, direct: storage.NewEtcd(srv.Client())}
}

func (e *compactEnv) watch(t *testing.T, prefix string) storage.Watcher {
	t.Helper()
	w, err := e.group.Watch(st.Ctx(t), prefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// compactNow compacts etcd at its current revision while the caches are
// cut off, then lets them reconnect: a cache whose last revision is older
// must resume from a revision that is gone.
func (e *compactEnv) compactNow(t *testing.T, whileCut func()) {
	t.Helper()
	e.proxy.Break()
	whileCut()
	rev, err := e.direct.CurrentRevision(st.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.direct.Compact(st.Ctx(t), rev); err != nil {
		t.Fatal(err)
	}
	e.proxy.Resume()
}

func createNode(t *testing.T, s storage.Interface, name string) int64 {
	t.Helper()
	n := &v1.Node{Metadata: &v1.ObjectMeta{Name: name}}
	if err := s.Create(st.Ctx(t), "/registry/nodes/"+name, n); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	return st.RV(t, n)
}

func added(key string, rev int64) st.Change {
	return st.Change{Type: storage.Added, Key: key, Revision: rev}
}

// waitEnded waits until w ends and returns why.
func waitEnded(t *testing.T, w storage.Watcher) error {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				return w.Err()
			}
		case <-deadline:
			t.Fatal("the watch did not end")
		}
	}
}

// A compaction at the current revision, while the pod cache is busy and
// the node cache idle, followed by a broken connection: both caches must
// go on from their own revision, and their watchers see every event once
// and never Expired. Only a cache that really missed a change reloads.
func TestCompactionDoesNotEndWatches(t *testing.T) {
	e := newCompactEnv(t)
	pods := e.watch(t, st.PodPrefix)
	nodes := e.watch(t, "/registry/nodes/")

	var want []st.Change
	for i := range 5 {
		rev := st.MustCreate(t, e.group, st.Pod("default", fmt.Sprint(i), nil))
		want = append(want, added(st.Key("default", fmt.Sprint(i)), rev))
	}
	st.CheckEvents(t, st.Collect(t, pods, 5), want)

	// Nothing changes while the caches are cut off. The node cache, idle
	// since it loaded, finds its revision compacted; it lists, sees it
	// missed nothing, and goes on. Writes made meanwhile reach it through
	// its next watch.
	e.compactNow(t, func() {})
	want = nil
	for i := 5; i < 10; i++ {
		rev := st.MustCreate(t, e.direct, st.Pod("default", fmt.Sprint(i), nil))
		want = append(want, added(st.Key("default", fmt.Sprint(i)), rev))
	}
	n1 := createNode(t, e.direct, "n1")
	st.CheckEvents(t, st.Collect(t, pods, 5), want)
	if ev := st.Next(t, nodes, 30*time.Second); ev.Type != storage.Added || ev.Key != "/registry/nodes/n1" || ev.Revision != n1 {
		t.Fatalf("node watch: got %s %s at %d, want ADDED n1 at %d", ev.Type, ev.Key, ev.Revision, n1)
	}

	// Nodes change while the caches are cut off and the changes are
	// compacted away: the node cache cannot tell its watchers what
	// happened, so they relist; the pod cache missed nothing.
	var n3 int64
	e.compactNow(t, func() {
		createNode(t, e.direct, "n2")
		n3 = createNode(t, e.direct, "n3")
	})
	if err := waitEnded(t, nodes); !errdefs.IsExpired(err) {
		t.Fatalf("node watch ended with %v, want Expired", err)
	}
	objs, _, err := e.group.List(st.Ctx(t), "/registry/nodes/", n3, nil, nil)
	if err != nil || len(objs) != 3 {
		t.Fatalf("nodes after the reload: %d, err %v; want 3", len(objs), err)
	}
	rev := st.MustCreate(t, e.direct, st.Pod("default", "10", nil))
	st.CheckEvents(t, st.Collect(t, pods, 1), []st.Change{added(st.Key("default", "10"), rev)})
	st.ExpectQuiet(t, pods, 200*time.Millisecond)
}
