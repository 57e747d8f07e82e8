package garbagecollector

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/client"
	"minik8s/pkg/controller"
	"minik8s/pkg/controller/controllertest"
)

type env struct {
	t      *testing.T
	ds     *controllertest.Informer[*v1.Deployment]
	rss    *controllertest.Informer[*v1.ReplicaSet]
	pods   *controllertest.Informer[*v1.Pod]
	dAPI   *controllertest.Client[*v1.Deployment]
	rsAPI  *controllertest.Client[*v1.ReplicaSet]
	podAPI *controllertest.Client[*v1.Pod]
	gc     *GarbageCollector
}

// fakeClient dispatches the untyped verbs to the typed fakes.
type fakeClient struct{ e *env }

func lookup(name string) *apis.Resource {
	r, err := apis.Lookup(name)
	if err != nil {
		panic(err)
	}
	return r
}

func (f fakeClient) Get(ctx context.Context, res *apis.Resource, ns, name string) (apis.Object, error) {
	switch res.Name {
	case "deployments":
		return f.e.dAPI.Get(ctx, ns, name)
	case "replicasets":
		return f.e.rsAPI.Get(ctx, ns, name)
	case "pods":
		return f.e.podAPI.Get(ctx, ns, name)
	}
	return nil, fmt.Errorf("no %s", res.Name)
}

func (f fakeClient) Update(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	switch o := obj.(type) {
	case *v1.Deployment:
		return f.e.dAPI.Update(ctx, o)
	case *v1.ReplicaSet:
		return f.e.rsAPI.Update(ctx, o)
	case *v1.Pod:
		return f.e.podAPI.Update(ctx, o)
	}
	return nil, fmt.Errorf("no %s", res.Name)
}

func (f fakeClient) Delete(ctx context.Context, res *apis.Resource, ns, name string, opts client.DeleteOptions) error {
	var err error
	switch res.Name {
	case "deployments":
		_, _, err = f.e.dAPI.Delete(ctx, ns, name, opts)
	case "replicasets":
		_, _, err = f.e.rsAPI.Delete(ctx, ns, name, opts)
	case "pods":
		_, _, err = f.e.podAPI.Delete(ctx, ns, name, opts)
	}
	return err
}

func newEnv(t *testing.T, ds []*v1.Deployment, rss []*v1.ReplicaSet, pods []*v1.Pod) *env {
	t.Helper()
	clk := testclock.NewFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := &env{t: t}
	e.ds, e.rss, e.pods = controllertest.NewInformer[*v1.Deployment](), controllertest.NewInformer[*v1.ReplicaSet](), controllertest.NewInformer[*v1.Pod]()
	e.dAPI, e.rsAPI, e.podAPI = controllertest.NewClient(e.ds, clk), controllertest.NewClient(e.rss, clk), controllertest.NewClient(e.pods, clk)
	gc, err := New(Config{
		Monitors: []Monitor{NewMonitor(lookup("deployments"), e.ds), NewMonitor(lookup("replicasets"), e.rss), NewMonitor(lookup("pods"), e.pods)},
		Client:   fakeClient{e},
		Clock:    clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gc.Shutdown)
	e.gc = gc
	// The objects arrive through the informers, as at start-up.
	for _, d := range ds {
		e.dAPI.Put(d)
	}
	for _, rs := range rss {
		e.rsAPI.Put(rs)
	}
	for _, p := range pods {
		e.podAPI.Put(p)
	}
	e.flush()
	return e
}

func (e *env) flush() int { return e.dAPI.Flush() + e.rsAPI.Flush() + e.podAPI.Flush() }

// run processes queued items and delivers the writes until quiet.
func (e *env) run() {
	e.t.Helper()
	for round := 0; round < 50; round++ {
		worked := false
		for e.gc.queue.Len() > 0 {
			key, _ := e.gc.queue.Get()
			if err := e.gc.sync(context.Background(), key); err != nil {
				e.t.Fatalf("sync %s: %v", key, err)
			}
			e.gc.queue.Done(key)
			worked = true
		}
		if e.flush() == 0 && !worked {
			return
		}
	}
	e.t.Fatal("the collector did not settle")
}

func (e *env) names() []string {
	var out []string
	for _, d := range e.dAPI.Objects() {
		out = append(out, "deployment/"+d.GetMetadata().GetName())
	}
	for _, rs := range e.rsAPI.Objects() {
		out = append(out, "rs/"+rs.GetMetadata().GetName())
	}
	for _, p := range e.podAPI.Objects() {
		out = append(out, "pod/"+p.GetMetadata().GetName())
	}
	return out
}

func meta(name string, owners ...apis.Object) *v1.ObjectMeta {
	md := &v1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name}
	for _, o := range owners {
		md.OwnerReferences = append(md.OwnerReferences, controller.NewControllerRef(o))
	}
	return md
}

func tree() (*v1.Deployment, []*v1.ReplicaSet, []*v1.Pod) {
	d := &v1.Deployment{Metadata: meta("web")}
	rs := &v1.ReplicaSet{Metadata: meta("web-1", d)}
	pods := []*v1.Pod{{Metadata: meta("web-1-a", rs)}, {Metadata: meta("web-1-b", rs)}}
	return d, []*v1.ReplicaSet{rs}, pods
}

func TestBackgroundDeletesTheTree(t *testing.T) {
	d, rss, pods := tree()
	e := newEnv(t, []*v1.Deployment{d}, rss, pods)
	e.run()
	if got := e.names(); len(got) != 4 {
		t.Fatalf("collected with every owner alive: %v", got)
	}
	if _, _, err := e.dAPI.Delete(context.Background(), "default", "web", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.run()
	if got := e.names(); len(got) != 0 {
		t.Fatalf("left after a background delete: %v", got)
	}
}

func TestOwnerMissingFromTheCacheIsLookedUp(t *testing.T) {
	d, rss, _ := tree()
	e := newEnv(t, nil, rss, nil)
	// The Deployment exists, but the collector's cache has not seen it.
	e.dAPI.Put(d)
	e.gc.queue.Add("replicasets/default/web-1")
	for e.gc.queue.Len() > 0 {
		key, _ := e.gc.queue.Get()
		if err := e.gc.sync(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		e.gc.queue.Done(key)
	}
	if got := e.rsAPI.Actions(); len(got) != 0 {
		t.Fatalf("acted on a replicaset whose owner exists: %v", got)
	}
}

func TestOrphanKeepsTheDependents(t *testing.T) {
	d, rss, pods := tree()
	e := newEnv(t, []*v1.Deployment{d}, rss, pods)
	if _, _, err := e.dAPI.Delete(context.Background(), "default", "web", client.DeleteOptions{PropagationPolicy: client.PropagationOrphan}); err != nil {
		t.Fatal(err)
	}
	e.run()
	if got, want := e.names(), []string{"rs/web-1", "pod/web-1-a", "pod/web-1-b"}; !slices.Equal(got, want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	rs := e.rsAPI.Objects()[0]
	if len(rs.GetMetadata().GetOwnerReferences()) != 0 {
		t.Fatalf("orphaned replicaset still owned: %v", rs.GetMetadata().GetOwnerReferences())
	}
	for _, p := range e.podAPI.Objects() {
		if controller.GetControllerOf(p).GetName() != "web-1" {
			t.Fatalf("pod %s lost its (live) owner", p.GetMetadata().GetName())
		}
	}
}

func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	d, rss, pods := tree()
	e := newEnv(t, []*v1.Deployment{d}, rss, pods)
	// Pods on a node terminate gracefully: they linger until removed.
	e.podAPI.Graceful = func(*v1.Pod) bool { return true }
	if _, _, err := e.dAPI.Delete(context.Background(), "default", "web", client.DeleteOptions{PropagationPolicy: client.PropagationForeground}); err != nil {
		t.Fatal(err)
	}
	e.run()
	got := e.names()
	if !slices.Contains(got, "deployment/web") || !slices.Contains(got, "rs/web-1") {
		t.Fatalf("owners gone before their dependents: %v", got)
	}
	rs := e.rsAPI.Objects()[0]
	if rs.GetMetadata().GetDeletionTimestamp() == nil || !slices.Contains(rs.GetMetadata().GetFinalizers(), FinalizerDeleteDependents) {
		t.Fatalf("replicaset %v, want deleting in the foreground too", rs.GetMetadata())
	}
	for _, p := range e.podAPI.Objects() {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			t.Fatalf("pod %s not being deleted", p.GetMetadata().GetName())
		}
	}
	// The kubelet finishes the pods.
	for _, p := range e.podAPI.Objects() {
		e.podAPI.Remove(apis.Key(p))
	}
	e.run()
	if got := e.names(); len(got) != 0 {
		t.Fatalf("left after the pods went: %v", got)
	}
}

func TestSolidOwnerKeepsTheDependent(t *testing.T) {
	a := &v1.ReplicaSet{Metadata: meta("a")}
	b := &v1.ReplicaSet{Metadata: meta("b")}
	p := &v1.Pod{Metadata: meta("shared", a, b)}
	p.Metadata.OwnerReferences[1].Controller = nil
	e := newEnv(t, nil, []*v1.ReplicaSet{a, b}, []*v1.Pod{p})
	e.run()
	if _, _, err := e.rsAPI.Delete(context.Background(), "default", "a", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.run()
	pods := e.podAPI.Objects()
	if len(pods) != 1 {
		t.Fatalf("pod with a live owner deleted")
	}
	refs := pods[0].GetMetadata().GetOwnerReferences()
	if len(refs) != 1 || refs[0].GetName() != "b" {
		t.Fatalf("references %v, want only b's", refs)
	}
}

func TestUnknownOwnerKindIsNeverCollected(t *testing.T) {
	p := &v1.Pod{Metadata: meta("static")}
	p.Metadata.OwnerReferences = []*v1.OwnerReference{{ApiVersion: "example.com/v1", Kind: "Widget", Name: "w", Uid: "uid-w"}}
	e := newEnv(t, nil, nil, []*v1.Pod{p})
	e.run()
	if got := e.names(); !slices.Equal(got, []string{"pod/static"}) {
		t.Fatalf("objects %v", got)
	}
}
