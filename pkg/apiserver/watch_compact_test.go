package apiserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/embedetcd"
	"minik8s/pkg/storage/etcdtest"
)

// A compaction of etcd at its current revision, with the connection to
// etcd broken so that every watch cache must resume (the busy pod cache
// from its last event, the idle node cache from where it loaded, now
// compacted): client watches go on, see every later change once, and
// never get OutOfRange.
func TestClientWatchSurvivesCompaction(t *testing.T) {
	// etcd's own progress reports are too rare to move the idle caches.
	etcd := etcdtest.StartServer(t, func(c *embedetcd.Config) { c.ProgressNotifyInterval = time.Hour })
	proxy := etcdtest.NewProxy(t, etcd.Endpoint())
	direct := storage.NewEtcd(etcd.Client())
	e := startEnv(t, func(cfg *Config) {
		cfg.EtcdServers = []string{proxy.Endpoint()}
		cfg.DataDir = ""
	})
	c := e.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pods, err := c.Watch(ctx, &v1.WatchRequest{Resource: "pods"})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := c.Watch(ctx, &v1.WatchRequest{Resource: "nodes"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		createPod(t, c, newPod("default", fmt.Sprintf("p%d", i)))
	}
	collect(t, pods, 3)

	proxy.Break()
	rev, err := direct.CurrentRevision(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := direct.Compact(ctxT(t), rev); err != nil {
		t.Fatal(err)
	}
	proxy.Resume()

	var want []seen
	for i := 3; i < 6; i++ {
		p := createPod(t, c, newPod("default", fmt.Sprintf("p%d", i)))
		want = append(want, seen{v1.EventType_EVENT_TYPE_ADDED, p.GetMetadata().GetName(), p.GetMetadata().GetResourceVersion()})
	}
	resp, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "nodes", Object: wrap(t, &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}})})
	if err != nil {
		t.Fatal(err)
	}
	node := unwrap[*v1.Node](t, resp.GetObject())

	got := collect(t, pods, 3)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pod event %d: got %v, want %v", i, got[i], want[i])
		}
	}
	for {
		ev, err := nodes.Recv()
		if err != nil {
			t.Fatalf("node watch: %v", err)
		}
		if ev.GetType() == v1.EventType_EVENT_TYPE_BOOKMARK {
			continue
		}
		n := unwrap[*v1.Node](t, ev.GetObject())
		if ev.GetType() != v1.EventType_EVENT_TYPE_ADDED || n.GetMetadata().GetName() != "n1" || ev.GetResourceVersion() != node.GetMetadata().GetResourceVersion() {
			t.Fatalf("node watch: got %v %s at %s, want ADDED n1 at %s", ev.GetType(), n.GetMetadata().GetName(), ev.GetResourceVersion(), node.GetMetadata().GetResourceVersion())
		}
		break
	}
}
